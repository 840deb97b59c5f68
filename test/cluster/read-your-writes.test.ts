// Read-your-writes through a follower (issue 11): a client that writes through a member — here
// always a follower, which answers 307 — and then reads or watches on that same member sees its own
// write and its own delete, as on etcd (where the follower answers only once it applied the write).
// The leader answers a redirected write only once the member named in `redirectedBy` has applied it.
// Runs on both targets: on the real etcd the follower forwards the write itself.
import Etcd from 'node-etcd';
import { describe, expect, it } from 'vitest';
import { useCluster } from './use-cluster.js';

const ROUNDS = 50;

describe('read-your-writes through a follower', () => {
  const cluster = useCluster({ label: 'read-your-writes' });

  it(`curl -L style: ${ROUNDS} PUTs then a GET, and a DELETE then a GET, on the same follower, never stale`, async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const stale: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const path = `/ryw/curl/${i % 5}`;
      const put = await c.client.put(follower.clientURL, path, `v${i}`);
      expect(put.kind, JSON.stringify(put)).toBe('acknowledged');
      const got = await c.client.get(follower.clientURL, path);
      if (got.json?.node?.value !== `v${i}`) stale.push(`GET ${path} after PUT v${i}: ${got.status} ${got.body.slice(0, 120)}`);
      if (i % 2 === 1) {
        const del = await c.client.write('DELETE', `${follower.clientURL}/v2/keys${path}`, undefined);
        expect(del.kind, JSON.stringify(del)).toBe('acknowledged');
        const after = await c.client.get(follower.clientURL, path);
        if (after.status !== 404) stale.push(`GET ${path} after DELETE: ${after.status} ${after.body.slice(0, 120)}`);
      }
    }
    expect(stale).toEqual([]);
  });

  it('a watch on the follower right after a write through it starts after that write', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    for (let i = 0; i < 10; i++) {
      const put = await c.client.put(follower.clientURL, '/ryw/watch', `w${i}`);
      expect(put.kind).toBe('acknowledged');
      const index = put.kind === 'acknowledged' ? put.modifiedIndex : 0;
      // Without read-your-writes the follower could still be before the write: the watch would
      // report the client's own write as the next change.
      const watch = c.client.get(follower.clientURL, '/ryw/watch', { wait: true, timeoutMs: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await c.client.put(leader.clientURL, '/ryw/watch', `next${i}`)).kind).toBe('acknowledged');
      const event = await watch;
      expect(event.json?.node?.value, `watch after w${i} (index ${index})`).toBe(`next${i}`);
    }
  });

  it('auth changes through a follower: a user created (by following the 307) is there on the follower at once, and gone after its delete', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const stale: string[] = [];
    for (let i = 0; i < 20; i++) {
      const url = `${follower.clientURL}/v2/auth/users/ryw${i}`;
      const put = await fetch(url, { method: 'PUT', body: JSON.stringify({ user: `ryw${i}`, password: 'pw' }), headers: { 'content-type': 'application/json' }, redirect: 'follow', signal: AbortSignal.timeout(10_000) });
      expect(put.status, await put.text()).toBe(201);
      const got = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      await got.arrayBuffer();
      if (got.status !== 200) stale.push(`GET ryw${i} after its creation: ${got.status}`);
      const del = await fetch(url, { method: 'DELETE', redirect: 'follow', signal: AbortSignal.timeout(10_000) });
      await del.arrayBuffer();
      expect(del.status).toBe(200);
      const gone = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      await gone.arrayBuffer();
      if (gone.status !== 404) stale.push(`GET ryw${i} after its delete: ${gone.status}`);
    }
    expect(stale).toEqual([]);
  });

  it('node-etcd pointed at a follower: set then get, 200 times, never stale', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const etcd = new Etcd(follower.clientURL);
    let stale = 0;
    for (let i = 0; i < 200; i++) {
      const set = etcd.setSync('/ryw/node', `n${i}`) as { err: unknown };
      expect(set.err).toBeNull();
      const got = etcd.getSync('/ryw/node') as { err: unknown; body: { node?: { value?: string } } };
      if (got.body?.node?.value !== `n${i}`) stale++;
    }
    expect(stale).toBe(0);
  }, 60_000);
});
