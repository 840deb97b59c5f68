// Writes on a member that does not lead (docs §9.2, DESIGN §2): a 307 with an absolute Location to
// the leader's client URL plus the same path and query, never to itself; with no leader known, a
// bounded wait then etcd's 500 errorCode 300; proposal failures and timeouts the same way.
import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError, ProposalError } from '../../src/server/backend.js';
import { FakeBackend, leaderMember, self } from './fake-backend.js';
import { request, serveBackend, type TestServer } from './harness.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(backend: FakeBackend, leaderWaitMs = 300, requestTimeoutMs = 1000): Promise<TestServer> {
  server = await serveBackend(backend, { leaderWaitMs, requestTimeoutMs });
  return server;
}

describe('307 to the leader', () => {
  it.each(['PUT', 'POST', 'DELETE'])('redirects a %s with the absolute leader URL, path and query, naming this member (read-your-writes)', async (method) => {
    const s = await serve(new FakeBackend());
    const res = await request(s.url, '/v2/keys/redir/a?prevExist=false&ttl=5', { method, form: 'value=x' });
    expect(res.status).toBe(307);
    expect(res.headers['location']).toBe(`http://127.0.0.1:22379/v2/keys/redir/a?prevExist=false&ttl=5&redirectedBy=${self.id}`);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('redirects a quorum GET, with Go redirect body', async () => {
    const s = await serve(new FakeBackend());
    const res = await request(s.url, '/v2/keys/k?quorum=true');
    expect(res.status).toBe(307);
    expect(res.headers['location']).toBe('http://127.0.0.1:22379/v2/keys/k?quorum=true');
    expect(res.body).toBe('<a href="http://127.0.0.1:22379/v2/keys/k?quorum=true">Temporary Redirect</a>.\n\n');
  });

  it('keeps the first member that redirected a write when the write is redirected again', async () => {
    const s = await serve(new FakeBackend());
    const res = await request(s.url, '/v2/keys/a?redirectedBy=f00', { method: 'PUT', form: 'value=x' });
    expect(res.headers['location']).toBe('http://127.0.0.1:22379/v2/keys/a?redirectedBy=f00');
  });

  it('serves plain GETs and watches locally, never redirecting them', async () => {
    const s = await serve(new FakeBackend());
    expect((await request(s.url, '/v2/keys/')).status).toBe(200);
  });

  it('validates locally before redirecting: bad input is answered here', async () => {
    const backend = new FakeBackend();
    const s = await serve(backend);
    const res = await request(s.url, '/v2/keys/a?ttl=abc', { method: 'PUT', form: 'value=x' });
    expect(res.status).toBe(400);
    expect(backend.proposals).toBe(0);
  });

  it('never redirects to itself or to a relative URL: it waits for a real leader instead', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new NotLeaderError([...self.clientURLs, '/v2/keys']));
    backend.currentLeader = null;
    setTimeout(() => (backend.currentLeader = leaderMember), 100);
    const s = await serve(backend, 2000);
    const res = await request(s.url, '/v2/keys/a', { method: 'PUT', form: 'value=x' });
    expect(res.status).toBe(307);
    expect(res.headers['location']).toBe(`http://127.0.0.1:22379/v2/keys/a?redirectedBy=${self.id}`);
  });

  it('retries here when this member becomes the leader during the wait', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new NotLeaderError([]));
    backend.currentLeader = null;
    setTimeout(() => {
      backend.currentLeader = self;
      backend.proposeImpl = (req) => Promise.resolve(backend.store.apply(req));
    }, 100);
    const s = await serve(backend, 2000);
    const res = await request(s.url, '/v2/keys/a', { method: 'PUT', form: 'value=x' });
    expect(res.status).toBe(201);
    expect(res.headers['x-raft-index']).toBe('7');
    expect(res.headers['x-raft-term']).toBe('3');
  });
});

describe('failures are etcd 500 errorCode 300, bounded in time', () => {
  it('answers "etcdserver: no leader" after the bounded wait when no leader appears', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new NotLeaderError([]));
    backend.currentLeader = null;
    const s = await serve(backend, 300);
    const started = Date.now();
    const res = await request(s.url, '/v2/keys/a', { method: 'PUT', form: 'value=x' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(500);
    expect(res.body).toBe('{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: no leader","index":0}\n');
    expect(res.headers['x-etcd-index']).toBe('0');
    expect(res.headers['x-raft-index']).toBeUndefined();
  });

  it('passes a ProposalError reason as the cause', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new ProposalError('etcdserver: leader changed'));
    const s = await serve(backend);
    const res = await request(s.url, '/v2/keys/a', { method: 'DELETE' });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ errorCode: 300, message: 'Raft Internal Error', cause: 'etcdserver: leader changed', index: 0 });
  });

  it('answers "etcdserver: request timed out" when a proposal never completes', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => new Promise(() => undefined);
    const s = await serve(backend, 300, 300);
    const res = await request(s.url, '/v2/keys/a', { method: 'PUT', form: 'value=x' });
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ errorCode: 300, cause: 'etcdserver: request timed out', index: 0 });
  });

  it('fails a quorum read the same way when the read barrier fails', async () => {
    const backend = new FakeBackend();
    backend.barrierImpl = () => Promise.reject(new ProposalError('etcdserver: request timed out'));
    const s = await serve(backend);
    const res = await request(s.url, '/v2/keys/a?quorum=true');
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ errorCode: 300, cause: 'etcdserver: request timed out' });
  });

  it('answers /health 503 {"health":"false"} without a leader', async () => {
    const backend = new FakeBackend();
    backend.currentLeader = null;
    const s = await serve(backend);
    const res = await request(s.url, '/health');
    expect(res.status).toBe(503);
    expect(res.body).toBe('{"health":"false"}\n');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const leader = await request(s.url, '/v2/members/leader');
    expect(leader.status).toBe(503);
    expect(leader.body).toBe('{"message":"During election"}');
  });

  it('turns an unexpected exception into an etcd-shaped 500 without a stack trace', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new Error('boom at /secret/path.ts:12'));
    const s = await serve(backend);
    const res = await request(s.url, '/v2/keys/a', { method: 'PUT', form: 'value=x' });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ errorCode: 300, message: 'Raft Internal Error', cause: 'etcd-ts: internal error', index: 0 });
    expect(res.body).not.toContain('secret');
    const stats = await request(s.url, '/v2/stats/self');
    expect(stats.status).toBe(500);
    expect(stats.body).toBe('{"message":"Internal Server Error"}');
  });

  it('answers /v2/stats/leader 403 on a member that does not lead', async () => {
    const s = await serve(new FakeBackend());
    const res = await request(s.url, '/v2/stats/leader');
    expect(res.status).toBe(403);
    expect(res.body).toBe('{"message":"not current leader"}');
  });
});
