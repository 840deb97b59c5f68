// How the clients the cluster tests rely on follow a follower's 307, checked against stub servers
// (no cluster needed): the test KvClient, etcdctl v2 and node-etcd must re-send the same method,
// path, query and body to an absolute Location; the KvClient reports a write whose redirect cannot
// be followed (relative Location, redirect loop) as failed, never as acknowledged.
import Etcd from 'node-etcd';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeRun, etcdctl } from '../helpers/etcdctl.js';
import { KvClient } from '../helpers/kv-client.js';
import { startRedirectStub, type RedirectStub } from '../helpers/redirect-stub.js';

let stub: RedirectStub;
const client = new KvClient({ timeoutMs: 5000 });

beforeAll(async () => {
  stub = await startRedirectStub();
});

afterAll(async () => {
  await client.close();
  await stub?.close();
});

beforeEach(() => {
  stub.mode = 'absolute';
  stub.leaderReceived.length = 0;
  stub.followerReceived.length = 0;
});

describe('following a 307 from a follower', () => {
  it('the test client re-sends a PUT with its query and body to the absolute Location and reports it acknowledged', async () => {
    const outcome = await client.put(stub.followerURL, '/a/b', 'v 1&2', { ttl: 30, query: { prevExist: 'false' } });
    expect(outcome).toMatchObject({ kind: 'acknowledged', action: 'set' });
    expect(outcome.hops).toEqual([`${stub.followerURL}/v2/keys/a/b?prevExist=false`, `${stub.leaderURL}/v2/keys/a/b?prevExist=false`]);
    expect(stub.leaderReceived).toEqual([{ method: 'PUT', url: '/v2/keys/a/b?prevExist=false', body: 'value=v+1%262&ttl=30' }]);
  });

  it('the test client reports a write redirected to a relative Location as failed (not applied anywhere)', async () => {
    stub.mode = 'relative';
    const outcome = await client.put(stub.followerURL, '/rel', 'x');
    expect(outcome.kind).toBe('failed');
    expect(stub.leaderReceived).toEqual([]);
  });

  it('the test client gives up on a redirect loop after a bounded number of hops and reports failed', async () => {
    stub.mode = 'self';
    const outcome = await client.put(stub.followerURL, '/loop', 'x');
    expect(outcome).toMatchObject({ kind: 'failed' });
    expect(stub.followerReceived.length).toBe(6);
  });

  it('the test client follows a redirected GET', async () => {
    const res = await client.get(stub.followerURL, '/g', { quorum: true });
    expect(res.status).toBe(200);
    expect(res.hops).toHaveLength(2);
    expect(stub.leaderReceived).toEqual([{ method: 'GET', url: '/v2/keys/g?quorum=true', body: '' }]);
  });

  it('etcdctl v2 (--no-sync) follows 307 for set and rm with the same method, query and body', async () => {
    const set = ['set', '--ttl', '30', '/ctl/k', 'val'];
    const r1 = await etcdctl(set, { endpoints: stub.followerURL, noSync: true });
    expect(r1.code, describeRun(set, r1)).toBe(0);
    const rm = ['rm', '--with-value', 'old', '/ctl/k'];
    const r2 = await etcdctl(rm, { endpoints: stub.followerURL, noSync: true });
    expect(r2.code, describeRun(rm, r2)).toBe(0);
    expect(stub.leaderReceived).toEqual([
      { method: 'PUT', url: '/v2/keys/ctl/k', body: 'ttl=30&value=val' },
      { method: 'DELETE', url: '/v2/keys/ctl/k?prevValue=old', body: '' },
    ]);
  });

  it('node-etcd follows 307 for set and del with the same method, query and body', async () => {
    const etcd = new Etcd([stub.followerURL]);
    const call = (f: (cb: (err: Error | null, body: unknown) => void) => void): Promise<unknown> =>
      new Promise((resolve, reject) => f((err, body) => (err ? reject(err) : resolve(body))));
    await expect(call((cb) => etcd.set('/ne/k', 'val', { ttl: 30 }, cb))).resolves.toMatchObject({ action: 'set' });
    await expect(call((cb) => etcd.del('/ne/k', { prevValue: 'old' }, cb))).resolves.toMatchObject({ action: 'delete' });
    expect(stub.leaderReceived.map((r) => [r.method, r.url.split('?')[0], new URLSearchParams(r.body).get('value'), r.url.includes('prevValue=old')])).toEqual([
      ['PUT', '/v2/keys/ne/k', 'val', false],
      ['DELETE', '/v2/keys/ne/k', null, true],
    ]);
  });
});
