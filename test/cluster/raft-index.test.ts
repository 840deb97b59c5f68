// X-Raft-Index is at least X-Etcd-Index on every answer (issue 11), as on etcd: a new cluster's
// log starts with one committed entry per initial member, and applying each writes that member's
// raftAttributes into the store, so the raft index is never behind the etcd index. Before the
// bootstrap entries, etcd-ts's raft index ran n-1 below the etcd index (the first entry of the
// log wrote all n raftAttributes).
//
// On fresh clusters of 3 members and of 1, a sequence of writes, reads, watches and errors on
// every member; every answer that carries both headers has X-Raft-Index >= X-Etcd-Index (error
// answers carry X-Etcd-Index alone, as etcd's; every success carries both).
// Runs on both targets.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import { useCluster } from './use-cluster.js';

interface Seen {
  what: string;
  status: number;
  etcdIndex: number;
  raftIndex: number | undefined;
}

async function call(what: string, url: string, init: RequestInit = {}, seen: Seen[]): Promise<Response> {
  const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(10_000) });
  const etcd = res.headers.get('x-etcd-index');
  const raft = res.headers.get('x-raft-index');
  if (etcd !== null) seen.push({ what, status: res.status, etcdIndex: Number(etcd), raftIndex: raft === null ? undefined : Number(raft) });
  return res;
}

function form(fields: Record<string, string>): RequestInit {
  return { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
}

/**
 * Answers whose X-Raft-Index is below X-Etcd-Index, or missing from a success (errors carry
 * X-Etcd-Index alone, on etcd too).
 */
function behind(seen: readonly Seen[]): Seen[] {
  return seen.filter((s) => (s.raftIndex === undefined ? s.status < 400 : !(s.raftIndex >= s.etcdIndex)));
}

async function exercise(c: Cluster, tag: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  const leader = await c.waitLeader();
  const members = c.live();
  // Fresh: nothing was written yet beyond the publishes and the cluster version (2n+1 on etcd).
  for (const m of members) {
    const root = await call(`${m.name} fresh GET /`, `${m.clientURL}/v2/keys/`, {}, seen);
    expect(root.status).toBe(200);
    await root.text();
  }
  const k = `${leader.clientURL}/v2/keys/raftindex/${tag}`;
  const put = await call('PUT', `${k}/a`, { method: 'PUT', ...form({ value: '1' }) }, seen);
  expect(put.status).toBe(201);
  const putIndex = Number(put.headers.get('x-etcd-index'));
  await put.text();
  await (await call('POST in-order', `${k}/q`, { method: 'POST', ...form({ value: 'x' }) }, seen)).text();
  await (await call('PUT ttl', `${k}/t`, { method: 'PUT', ...form({ value: 't', ttl: '60' }) }, seen)).text();
  await (await call('CAS fails (412)', `${k}/a?prevValue=nope`, { method: 'PUT', ...form({ value: '2' }) }, seen)).text();
  await (await call('create exists (412)', `${k}/a?prevExist=false`, { method: 'PUT', ...form({ value: '2' }) }, seen)).text();
  await (await call('bad ttl (400)', `${k}/b`, { method: 'PUT', ...form({ value: '2', ttl: 'abc' }) }, seen)).text();
  await (await call('DELETE', `${k}/q?recursive=true`, { method: 'DELETE' }, seen)).text();
  await (await call('DELETE missing (404)', `${k}/missing`, { method: 'DELETE' }, seen)).text();
  await (await call('mkdir', `${k}/dir`, { method: 'PUT', ...form({ dir: 'true' }) }, seen)).text();
  // A write through a follower: its 307 (or, on etcd, its own answer) too.
  const follower = members.find((m) => m !== leader);
  if (follower !== undefined) await (await call(`PUT via ${follower.name}`, `${follower.clientURL}/v2/keys/raftindex/${tag}/f`, { method: 'PUT', ...form({ value: 'f' }) }, seen)).text();
  for (const m of members) {
    const base = `${m.clientURL}/v2/keys/raftindex/${tag}`;
    await (await call(`${m.name} GET`, `${base}/a`, {}, seen)).text();
    await (await call(`${m.name} GET quorum`, `${base}/a?quorum=true`, {}, seen)).text();
    await (await call(`${m.name} GET missing (404)`, `${base}/missing`, {}, seen)).text();
    await (await call(`${m.name} GET dir recursive`, `${base}?recursive=true&sorted=true`, {}, seen)).text();
    await (await call(`${m.name} watch from history`, `${base}/a?wait=true&waitIndex=${putIndex}`, {}, seen)).text();
    await (await call(`${m.name} watch cleared (401)`, `${base}/a?wait=true&waitIndex=1`, {}, seen)).text();
    await (await call(`${m.name} GET on a file as dir (404/400)`, `${base}/a/b`, {}, seen)).text();
    // A watch that waits, answered by a write.
    const watch = call(`${m.name} watch fired`, `${base}/w?wait=true`, {}, seen).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const w = await call('PUT for watch', `${k}/w`, { method: 'PUT', ...form({ value: m.name }) }, seen);
    expect(w.status).toBeLessThan(300);
    await w.text();
    await watch;
  }
  return seen;
}

describe('X-Raft-Index >= X-Etcd-Index on every answer: a fresh 3-member cluster', () => {
  const cluster = useCluster({ label: 'raft-index-3' });

  it('writes, reads, watches and errors on every member', async () => {
    const seen = await exercise(cluster(), 'three');
    expect(seen.filter((x) => x.raftIndex !== undefined).length).toBeGreaterThan(25);
    expect(behind(seen)).toEqual([]);
  });
});

describe('X-Raft-Index >= X-Etcd-Index on every answer: a fresh one-member cluster', () => {
  const cluster = useCluster({ label: 'raft-index-1', size: 1 });

  it('writes, reads, watches and errors', async () => {
    const seen = await exercise(cluster(), 'one');
    expect(seen.filter((x) => x.raftIndex !== undefined).length).toBeGreaterThan(12);
    expect(behind(seen)).toEqual([]);
  });
});
