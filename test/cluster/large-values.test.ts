// A value near --max-request-bytes, above the peer transport's default request bound, must still
// replicate: the member sizes peer requests from --max-request-bytes on both ends.
//
// The election timeout is raised, as etcd's tuning guide says to for large requests: a 10 MB write
// costs the leader about half a second of CPU (the form, the entry, two peer requests, the disk
// batch, the answer), and on a machine running the whole suite (2 cores, three clusters) that can
// keep its event loop from sending heartbeats for longer than the default 1 s.
import { describe, expect, it } from 'vitest';
import { useCluster } from './use-cluster.js';

const maxRequestBytes = 12 * 1024 * 1024;

describe('large values', () => {
  const cluster = useCluster({ label: 'large-values', heartbeatMs: 250, electionMs: 5000, extraFlags: ['--max-request-bytes', String(maxRequestBytes)] });

  it('commits a 10 MB value through the leader and every member serves it', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const value = 'v'.repeat(10_000_000);
    const put = await c.client.http.send({ method: 'PUT', url: `${leader.clientURL}/v2/keys/big`, form: { value }, timeoutMs: 30_000 });
    expect(put.status).toBe(201);
    for (const m of c.live()) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/keys/big`, timeoutMs: 10_000 });
        if (res.status === 200) {
          expect((JSON.parse(res.body) as { node: { value: string } }).node.value.length).toBe(10_000_000);
          break;
        }
        if (Date.now() > deadline) throw new Error(`${m.name} never served /big (last status ${res.status})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
});
