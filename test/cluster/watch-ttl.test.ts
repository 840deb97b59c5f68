// Watches served by followers fire for writes made elsewhere, and TTL expiry (proposed by the
// leader, applied by every member) is seen on every member: the key disappears everywhere and a
// watcher on each follower gets the same expire event.
import { describe, expect, it } from 'vitest';
import { waitValueEverywhere } from '../helpers/cluster-reads.js';
import { openWatch } from '../helpers/watch-client.js';
import { useCluster } from './use-cluster.js';

describe('watches on followers and TTL expiry on every member', () => {
  const cluster = useCluster({ label: 'watch-ttl' });

  it('a watch on each follower fires for a write made through the leader', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const followers = c.live().filter((m) => m !== leader);
    const watches = followers.map((f) => openWatch(`${f.clientURL}/v2/keys/watched/k?wait=true`, 10_000));
    try {
      for (const head of await Promise.all(watches.map((w) => w.registered))) expect(head.status).toBe(200);
      const put = await c.client.put(leader.clientURL, '/watched/k', 'hello');
      if (put.kind !== 'acknowledged') throw new Error(`write not acknowledged: ${JSON.stringify(put)}`);
      const events = await Promise.all(watches.map((w) => w.event));
      for (const e of events) {
        expect(e.action).toBe('set');
        expect(e.node).toMatchObject({ key: '/watched/k', value: 'hello', modifiedIndex: put.modifiedIndex });
      }
    } finally {
      for (const w of watches) w.close();
    }
  });

  it('a follower replays writes made through every member, in order, to a watcher walking waitIndex (as etcdctl watch --forever)', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const indexes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const via = c.members[i % c.members.length];
      if (!via) throw new Error('no member');
      const put = await c.client.put(via.clientURL, `/watched/dir/k${i}`, `v${i}`);
      if (put.kind !== 'acknowledged') throw new Error(`write ${i} not acknowledged: ${JSON.stringify(put)}`);
      indexes.push(put.modifiedIndex);
    }
    const seen: Array<[string | undefined, string | undefined, number | undefined]> = [];
    let waitIndex = indexes[0] as number;
    for (let i = 0; i < 6; i++) {
      const w = openWatch(`${follower.clientURL}/v2/keys/watched/dir?wait=true&recursive=true&waitIndex=${waitIndex}`, 10_000);
      const e = await w.event;
      seen.push([e.node.key, e.node.value, e.node.modifiedIndex]);
      waitIndex = (e.node.modifiedIndex ?? 0) + 1;
    }
    expect(seen).toEqual(indexes.map((idx, i) => [`/watched/dir/k${i}`, `v${i}`, idx]));
  });

  it('a key with ttl=2 disappears from every member, and a watcher on each follower gets the same expire event', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const followers = c.live().filter((m) => m !== leader);
    const put = await c.client.put(leader.clientURL, '/ttl/k', 'short-lived', { ttl: 2 });
    if (put.kind !== 'acknowledged') throw new Error(`write not acknowledged: ${JSON.stringify(put)}`);
    const writtenAt = Date.now();
    await waitValueEverywhere(c.client, c.members, '/ttl/k', 'short-lived', 1500);
    const watches = followers.map((f) => openWatch(`${f.clientURL}/v2/keys/ttl/k?wait=true&waitIndex=${put.modifiedIndex + 1}`, 15_000));
    try {
      const events = await Promise.all(watches.map((w) => w.event));
      const seenAfterMs = Date.now() - writtenAt;
      for (const e of events) {
        expect(e.action).toBe('expire');
        expect(e.node.key).toBe('/ttl/k');
        expect(e.prevNode?.value).toBe('short-lived');
      }
      expect(new Set(events.map((e) => e.node.modifiedIndex)).size).toBe(1);
      await waitValueEverywhere(c.client, c.members, '/ttl/k', null, 5000);
      console.info(`[${c.label}] ttl=2 key: expire events on both followers ${seenAfterMs} ms after the write (index ${events[0]?.node.modifiedIndex})`);
    } finally {
      for (const w of watches) w.close();
    }
  });

  it('a TTL directory expires with its children on every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const dir = await c.client.write('PUT', `${leader.clientURL}/v2/keys/ttldir?dir=true`, { ttl: '3' });
    expect(dir.kind, JSON.stringify(dir)).toBe('acknowledged');
    expect((await c.client.put(leader.clientURL, '/ttldir/child', 'c')).kind).toBe('acknowledged');
    await waitValueEverywhere(c.client, c.members, '/ttldir/child', 'c', 2000);
    await waitValueEverywhere(c.client, c.members, '/ttldir/child', null, 10_000);
  });

  it('no member exited on its own', () => {
    expect(cluster().crashes()).toEqual([]);
  });
});
