// quorum=true reads are linearizable on every member: right after a write is acknowledged (through
// any member), a quorum GET on any member returns it, even on a follower whose local copy may lag.
import { describe, expect, it } from 'vitest';
import { useCluster } from './use-cluster.js';

describe('quorum reads', () => {
  const cluster = useCluster({ label: 'quorum' });

  it('a quorum GET on any member returns the latest acknowledged value, whichever member took the write', async () => {
    const c = cluster();
    for (let i = 0; i < 30; i++) {
      const via = c.members[i % c.members.length];
      if (!via) throw new Error('no member');
      const value = `v${i}`;
      const put = await c.client.put(via.clientURL, '/quorum/k', value);
      if (put.kind !== 'acknowledged') throw new Error(`write ${i} via ${via.name} not acknowledged: ${JSON.stringify(put)}`);
      for (const m of c.members) {
        const res = await c.client.get(m.clientURL, '/quorum/k', { quorum: true });
        expect(res.status, `quorum GET on ${m.name} after write ${i} via ${via.name}`).toBe(200);
        expect(res.json?.node.value, `quorum GET on ${m.name} after write ${i} via ${via.name}`).toBe(value);
        expect(res.json?.node.modifiedIndex).toBe(put.modifiedIndex);
      }
    }
  });

  it('a quorum GET on any member answers 404 right after a delete acknowledged through another member', async () => {
    const c = cluster();
    for (let i = 0; i < c.members.length; i++) {
      const via = c.members[i] as (typeof c.members)[number];
      const key = `/quorum/del${i}`;
      expect((await c.client.put(via.clientURL, key, 'x')).kind).toBe('acknowledged');
      const del = await c.client.delete(via.clientURL, key);
      expect(del.kind, JSON.stringify(del)).toBe('acknowledged');
      for (const m of c.members) {
        const res = await c.client.get(m.clientURL, key, { quorum: true });
        expect(res.status, `quorum GET of ${key} on ${m.name}`).toBe(404);
        expect(res.json?.errorCode).toBe(100);
      }
    }
  });

  it('no member exited on its own', () => {
    expect(cluster().crashes()).toEqual([]);
  });
});
