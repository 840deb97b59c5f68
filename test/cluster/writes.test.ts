// Writes through every member of a three-member cluster, with curl-style requests, etcdctl v2 and
// node-etcd pointed at a follower. Where the servers differ on purpose (etcd-ts redirects a write on
// a follower with 307, the real etcd forwards it internally), the expectation says so explicitly.
import Etcd from 'node-etcd';
import { describe, expect, it } from 'vitest';
import { waitValueEverywhere } from '../helpers/cluster-reads.js';
import { describeRun, etcdctl } from '../helpers/etcdctl.js';
import type { EtcdEvent } from '../helpers/kv-client.js';
import { useCluster } from './use-cluster.js';
import { leaderRedirect } from '../helpers/redirect-location.js';

function nodeEtcd<T>(call: (cb: (err: Error | null, body: unknown) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node-etcd gave no answer within 10 s')), 10_000);
    call((err, body) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(body as T);
    });
  });
}

describe('writes through every member', () => {
  const cluster = useCluster({ label: 'writes' });

  it('a PUT sent to a follower is redirected to the leader (etcd-ts: 307 + absolute Location) or applied (etcd), then visible on every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const [follower] = c.live().filter((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const path = '/v2/keys/redirect/curl?prevExist=false';
    const first = await c.client.http.send({ method: 'PUT', url: `${follower.clientURL}${path}`, form: { value: 'curl-1' }, timeoutMs: 5000 });
    let answer = first;
    if (c.target === 'etcd-ts') {
      expect(first.status).toBe(307);
      expect(first.headers['location']).toMatch(leaderRedirect(leader.clientURL, path));
      answer = await c.client.http.send({ method: 'PUT', url: first.headers['location'] as string, form: { value: 'curl-1' }, timeoutMs: 5000 });
    }
    expect(answer.status).toBe(201);
    expect((JSON.parse(answer.body) as EtcdEvent).action).toBe('create');
    await waitValueEverywhere(c.client, c.members, '/redirect/curl', 'curl-1');
  });

  it('a DELETE sent to a follower keeps its query in the redirect (etcd-ts) and removes the key everywhere', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    expect((await c.client.put(leader.clientURL, '/redirect/del', 'x')).kind).toBe('acknowledged');
    const path = '/v2/keys/redirect/del?prevValue=x';
    const first = await c.client.http.send({ method: 'DELETE', url: `${follower.clientURL}${path}`, timeoutMs: 5000 });
    if (c.target === 'etcd-ts') {
      expect(first.status).toBe(307);
      expect(first.headers['location']).toMatch(leaderRedirect(leader.clientURL, path));
    } else {
      expect(first.status).toBe(200);
    }
    const outcome = c.target === 'etcd-ts' ? await c.client.write('DELETE', first.headers['location'] as string, undefined) : null;
    if (outcome) expect(outcome).toMatchObject({ kind: 'acknowledged', action: 'compareAndDelete' });
    await waitValueEverywhere(c.client, c.members, '/redirect/del', null);
  });

  it('a write through each member is acknowledged, and every write is visible on every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    for (const m of c.members) {
      const outcome = await c.client.put(m.clientURL, `/through/${m.name}`, `via-${m.name}`);
      expect(outcome.kind, JSON.stringify(outcome)).toBe('acknowledged');
      if (c.target === 'etcd-ts') expect(outcome.hops.map((h) => new URL(h).origin)).toEqual(m === leader ? [m.clientURL] : [m.clientURL, leader.clientURL]);
    }
    for (const m of c.members) await waitValueEverywhere(c.client, c.members, `/through/${m.name}`, `via-${m.name}`);
  });

  it('etcdctl v2 pointed at a follower (--no-sync) can set, get, mk and rm', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const run = (...args: string[]) => etcdctl(args, { endpoints: follower.clientURL, noSync: true });
    const checks: Array<[string[], number, RegExp]> = [
      [['set', '/ctl/a', 'one'], 0, /^one\n$/],
      [['get', '/ctl/a'], 0, /^one\n$/],
      [['mk', '/ctl/b', 'two'], 0, /^two\n$/],
      [['mk', '/ctl/b', 'again'], 4, /105: Key already exists/],
      [['set', '--ttl', '60', '/ctl/c', 'three'], 0, /^three\n$/],
      [['update', '/ctl/c', 'three-updated'], 0, /^three-updated\n$/],
      [['rm', '/ctl/a'], 0, /PrevNode.Value: one/],
      [['get', '/ctl/a'], 4, /100: Key not found/],
    ];
    for (const [args, code, output] of checks) {
      const r = await run(...args);
      expect(r.code, describeRun(args, r)).toBe(code);
      expect(r.stdout + r.stderr, describeRun(args, r)).toMatch(output);
    }
    await waitValueEverywhere(c.client, c.members, '/ctl/a', null);
    await waitValueEverywhere(c.client, c.members, '/ctl/b', 'two');
    await waitValueEverywhere(c.client, c.members, '/ctl/c', 'three-updated');
  });

  it('etcdctl v2 that syncs the member list first (no --no-sync) writes through a follower endpoint', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const args = ['set', '/ctl/synced', 'yes'];
    const r = await etcdctl(args, { endpoints: follower.clientURL });
    expect(r.code, describeRun(args, r)).toBe(0);
    expect(r.stdout).toBe('yes\n');
    await waitValueEverywhere(c.client, c.members, '/ctl/synced', 'yes');
  });

  it('node-etcd pointed at a follower can set, get and delete (it follows 307 with the method and body)', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const etcd = new Etcd([follower.clientURL]);
    const set = await nodeEtcd<EtcdEvent>((cb) => etcd.set('/node-etcd/a', 'alpha', {}, cb));
    expect(set.action).toBe('set');
    expect(set.node.value).toBe('alpha');
    // The write went to the leader (307); a plain GET on this follower may not have applied it
    // yet (v2 reads are local), so reading one's own write through a follower takes quorum=true.
    const got = await nodeEtcd<EtcdEvent>((cb) => etcd.get('/node-etcd/a', { quorum: true }, cb));
    expect(got.node.value).toBe('alpha');
    await waitValueEverywhere(c.client, c.members, '/node-etcd/a', 'alpha');
    const cas = await nodeEtcd<EtcdEvent>((cb) => etcd.set('/node-etcd/a', 'beta', { prevValue: 'alpha' }, cb));
    expect(cas.action).toBe('compareAndSwap');
    const del = await nodeEtcd<EtcdEvent>((cb) => etcd.del('/node-etcd/a', {}, cb));
    expect(del.action).toBe('delete');
    expect(del.prevNode?.value).toBe('beta');
    const missing = await nodeEtcd<EtcdEvent>((cb) => etcd.get('/node-etcd/a', { quorum: true }, cb)).catch((e: Error & { errorCode?: number }) => e);
    expect(missing).toMatchObject({ errorCode: 100 });
    await waitValueEverywhere(c.client, c.members, '/node-etcd/a', null);
  });

  it('no member exited on its own', () => {
    expect(cluster().crashes()).toEqual([]);
  });
});
