// Real etcd v2 clients against the client API: etcdctl (ETCDCTL_API=2) and node-etcd, including
// following our 307 from a member that does not lead to the one that does (docs §9).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from './fake-backend.js';
import { request, serveBackend, startTestMember, type TestMember, type TestServer } from './harness.js';

const run = promisify(execFile);
const hasEtcdctl = await run('etcdctl', ['--version'], { env: { ...process.env, ETCDCTL_API: '2' } }).then(
  () => true,
  () => false,
);

let leader: TestMember;
let follower: TestServer;
beforeAll(async () => {
  leader = await startTestMember();
  follower = await serveBackend(new FakeBackend(leader.member.self));
});
afterAll(async () => {
  await follower.close();
  await leader.close();
});

async function etcdctl(endpoint: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('etcdctl', ['--no-sync', '--endpoints', endpoint, ...args], {
      env: { ...process.env, ETCDCTL_API: '2' },
      timeout: 10_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err: unknown) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe.skipIf(!hasEtcdctl)('etcdctl v2', () => {
  it('sets, reads, creates, updates and removes', async () => {
    expect((await etcdctl(leader.url, 'set', '/ctl/a', '1')).out).toBe('1\n');
    expect((await etcdctl(leader.url, 'get', '/ctl/a')).out).toBe('1\n');
    expect((await etcdctl(leader.url, 'mk', '/ctl/b', '2')).code).toBe(0);
    const again = await etcdctl(leader.url, 'mk', '/ctl/b', '2');
    expect(again.code).toBe(4);
    expect(again.out).toMatch(/^Error: {2}105: Key already exists \(\/ctl\/b\) \[\d+\]\n$/);
    expect((await etcdctl(leader.url, 'update', '/ctl/a', '3')).out).toBe('3\n');
    await etcdctl(leader.url, 'mkdir', '/ctl/d');
    await etcdctl(leader.url, 'set', '--ttl', '30', '/ctl/d/x', 'y');
    expect((await etcdctl(leader.url, 'ls', '--recursive', '--sort', '/ctl')).out).toBe('/ctl/a\n/ctl/b\n/ctl/d\n/ctl/d/x\n');
    expect((await etcdctl(leader.url, 'rmdir', '/ctl/d')).code).toBe(4);
    expect((await etcdctl(leader.url, 'rm', '--recursive', '/ctl/d')).code).toBe(0);
  });

  it('follows the 307 of a member that does not lead, body included', async () => {
    const res = await etcdctl(follower.url, 'set', '/via/follower', 'redirected');
    expect(res).toEqual({ code: 0, out: 'redirected\n' });
    expect((await request(leader.url, '/v2/keys/via/follower')).json).toMatchObject({ node: { value: 'redirected' } });
  });

  it('watches until the next change', async () => {
    const watching = etcdctl(leader.url, 'watch', '/ctl/w');
    await new Promise((r) => setTimeout(r, 300));
    await etcdctl(leader.url, 'set', '/ctl/w', 'hello');
    expect((await watching).out).toBe('hello\n');
  });
});

describe('node-etcd', () => {
  const require = createRequire(import.meta.url);
  type Callback = (err: { errorCode?: number } | null, body: { node?: { value?: string } }) => void;
  interface NodeEtcd {
    set(key: string, value: string, cb: Callback): void;
    get(key: string, cb: Callback): void;
  }
  const Etcd = require('node-etcd') as new (hosts: string) => NodeEtcd;
  const call = (f: (cb: Callback) => void) =>
    new Promise<{ err: { errorCode?: number } | null; body: { node?: { value?: string } } }>((resolve) => f((err, body) => resolve({ err, body })));

  it('sets and gets, and reports a missing key as errorCode 100', async () => {
    const client = new Etcd(leader.url);
    expect((await call((cb) => client.set('ne/k', 'v', cb))).err).toBeNull();
    expect((await call((cb) => client.get('ne/k', cb))).body.node?.value).toBe('v');
    expect((await call((cb) => client.get('ne/missing', cb))).err?.errorCode).toBe(100);
  });

  it('follows the 307 of a member that does not lead', async () => {
    const client = new Etcd(follower.url);
    expect((await call((cb) => client.set('ne/redirected', 'yes', cb))).err).toBeNull();
    expect((await request(leader.url, '/v2/keys/ne/redirected')).json).toMatchObject({ node: { value: 'yes' } });
  });
});
