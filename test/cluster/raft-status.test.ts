// GET /debug/raft/status (issue 14's first step): the member's raft status in the shape etcd prints
// as `raft.status` in its /debug/vars, checked against a real etcd 3.4 cluster started beside it;
// then etcd-ts's extras (last index and term, snapshot index, election timer), and an answer at
// once from a member that has lost its quorum (the route does not wait as client requests do).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';

type RaftStatus = Record<string, unknown> & { progress: Record<string, Record<string, unknown>>; raftState: string; lead: string; id: string };

async function getJSON(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('/debug/raft/status', () => {
  let etcd: Cluster | undefined;
  let ours: Cluster | undefined;
  beforeAll(async () => {
    [etcd, ours] = await Promise.all([
      startCluster({ target: 'etcd', label: 'raft-status', startTimeoutMs: 40_000 }),
      startCluster({ target: 'etcd-ts', label: 'raft-status', startTimeoutMs: 40_000 }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([etcd?.stopAll(), ours?.stopAll()]);
  }, 30_000);

  it("has etcd's raft.status keys in etcd's order, on the leader (with each peer's progress) and on a follower", async () => {
    const e = etcd as Cluster;
    const o = ours as Cluster;
    for (const role of ['leader', 'follower'] as const) {
      const eLeader = await e.waitLeader();
      const oLeader = await o.waitLeader();
      const eMember = role === 'leader' ? eLeader : (e.live().find((m) => m !== eLeader) as typeof eLeader);
      const oMember = role === 'leader' ? oLeader : (o.live().find((m) => m !== oLeader) as typeof oLeader);
      const reference = (await getJSON(`${eMember.clientURL}/debug/vars`)).json['raft.status'] as RaftStatus;
      const got = await getJSON(`${oMember.clientURL}/debug/raft/status`);
      expect(got.status).toBe(200);
      const mine = got.json as RaftStatus;
      const etcdKeys = Object.keys(reference);
      // etcd's keys first, in its order; etcd-ts's extras after them
      expect(Object.keys(mine).slice(0, etcdKeys.length)).toEqual(etcdKeys);
      expect(Object.keys(mine).slice(etcdKeys.length)).toEqual(['lastIndex', 'lastTerm', 'snapshotIndex', 'electionTimeoutRemainingMs']);
      for (const k of etcdKeys) expect(typeof mine[k], k).toBe(typeof reference[k]);
      expect(mine.raftState).toBe(reference.raftState);
      // ids in hex, as etcd prints them; the leader as /v2/members/leader names it
      const leaderId = ((await getJSON(`${oMember.clientURL}/v2/members/leader`)).json['id'] as string).replace(/^0+/, '');
      expect(mine.lead).toBe(leaderId);
      if (role === 'leader') {
        expect(Object.keys(mine.progress)).toHaveLength(Object.keys(reference.progress).length);
        for (const [id, p] of Object.entries(mine.progress)) {
          expect(id).toMatch(/^[0-9a-f]+$/);
          expect(Object.keys(p)).toEqual(Object.keys(Object.values(reference.progress)[0] as object));
          expect(p['state']).toBe('StateReplicate');
        }
        expect(mine['electionTimeoutRemainingMs']).toBeNull();
      } else {
        expect(mine.progress).toEqual({});
        expect(reference.progress).toEqual({});
        const remaining = mine['electionTimeoutRemainingMs'] as number;
        expect(remaining).toBeGreaterThanOrEqual(0);
        expect(remaining).toBeLessThanOrEqual(2 * 1000);
      }
      expect(mine['lastIndex'] as number).toBeGreaterThanOrEqual(mine['commit'] as number);
      expect(mine['lastTerm']).toBe(mine['term']);
      expect(mine['snapshotIndex']).toBe(0);
    }
  });

  it('answers at once on a member that lost its quorum (where writes and quorum reads cannot succeed)', async () => {
    const o = ours as Cluster;
    const leader = await o.waitLeader();
    const others = o.live().filter((m) => m !== leader);
    for (const m of others) await o.kill(m.name, 'SIGKILL');
    // CheckQuorum: the lone leader steps down within an election timeout or two
    let last: RaftStatus | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const started = Date.now();
      const got = await getJSON(`${leader.clientURL}/debug/raft/status`);
      expect(Date.now() - started).toBeLessThan(2000); // answered at once, not held as client requests are
      last = got.json as RaftStatus;
      if (last.raftState !== 'StateLeader') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last?.raftState).not.toBe('StateLeader');
    expect(last?.lead).toBe('0');
  }, 30_000);
});
