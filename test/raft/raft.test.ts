// Scenario tests of the core on a synchronous network (after etcd-io/raft's raft_test.go):
// elections between competing candidates, log repair, Figure 8, fast backtracking.
import { describe, expect, it } from 'vitest';
import { MessageType, NONE, Role, type Message } from '../../src/raft/index.js';
import type { Raft } from '../../src/raft/raft.js';
import { allEntries, entriesFrom, msg, Network, newTestRaft, newTestStorage, readMessages, terms } from './helpers.js';

function raftWithLog(id: bigint, peers: bigint[], logTerms: number[], term: number, opts = {}): Raft {
  const storage = newTestStorage(peers);
  storage.append(entriesFrom(1, ...logTerms));
  storage.setHardState({ term, vote: NONE, commit: 0 });
  return newTestRaft(id, 10, 1, storage, opts);
}

describe('elections', () => {
  it('a single node elects itself once its vote is durable', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n]));
    r.step({ ...msg({ type: MessageType.MsgHup }), from: 1n, to: 1n });
    // The vote for itself counts only after it is persisted (readMessages persists first).
    expect(r.role).toBe(Role.Candidate);
    readMessages(r);
    expect(r.role).toBe(Role.Leader);
    // The leader's no-op is committed by its own durable ack.
    expect(r.log.committed).toBe(1);
  });

  it('dueling candidates: the one with the less up-to-date log cannot win', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.cut(1n, 3n);
    n.sendLocal(MessageType.MsgHup, 1n);
    n.sendLocal(MessageType.MsgHup, 3n);
    // 1 wins with 2's vote; 3 cannot (2 already voted in this term).
    expect(n.raft(1n).role).toBe(Role.Leader);
    expect(n.raft(3n).role).toBe(Role.Candidate);
    n.recover();
    // 3 campaigns again at a higher term but its log lacks the leader's no-op: it loses, and
    // everyone moves to its term.
    n.sendLocal(MessageType.MsgHup, 3n);
    expect(n.raft(3n).role).toBe(Role.Follower);
    expect(n.raft(1n).role).toBe(Role.Follower);
    expect(n.raft(3n).term).toBe(2);
    // A new election settles it.
    n.sendLocal(MessageType.MsgHup, 1n);
    expect(n.raft(1n).role).toBe(Role.Leader);
    expect(terms(allEntries(n.raft(3n)))).toBe(terms(allEntries(n.raft(1n))));
  });

  it('a candidate with an older log concedes to the leader that has its entries', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.isolate(1n);
    n.sendLocal(MessageType.MsgHup, 1n);
    n.sendLocal(MessageType.MsgHup, 3n);
    n.recover();
    // 3 is leader; 1 is a candidate at the same term.
    n.sendLocal(MessageType.MsgBeat, 3n);
    expect(n.raft(1n).role).toBe(Role.Follower);
    n.propose(3n, 'force follower');
    n.sendLocal(MessageType.MsgBeat, 3n);
    for (const id of [1n, 2n]) expect(terms(allEntries(n.raft(id)))).toBe(terms(allEntries(n.raft(3n))));
  });

  it('a candidate with a newer last term wins over a longer log, and its log overwrites it (§5.4.1)', () => {
    // 1 has the longest log but of an older last term; 2's last entry is of term 2.
    const n = new Network([raftWithLog(1n, [1n, 2n, 3n], [1, 1], 2), raftWithLog(2n, [1n, 2n, 3n], [2], 2), raftWithLog(3n, [1n, 2n, 3n], [1], 2)]);
    n.sendLocal(MessageType.MsgHup, 2n);
    expect(n.raft(2n).role).toBe(Role.Leader);
    // 1's uncommitted 1/1 1/2 gave way to the leader's 2/1 and no-op 3/2.
    for (const id of [1n, 3n]) expect(terms(allEntries(n.raft(id)))).toBe('2/1 3/2');
  });
});

describe('Figure 8', () => {
  it('a leader does not commit an old-term entry it replicated on a majority; a later leader may overwrite it', () => {
    // S1 led term 2 and appended 2/2; S2 led term 3 and appended 3/2; neither replicated.
    // S1 wins term 4 with S3's vote and replicates 2/2 to S3 one entry at a time: 2/2 is on a
    // majority (S1, S3) but must not count as committed while S1's term-4 entry is not.
    const peers = [1n, 2n, 3n];
    const s1 = raftWithLog(1n, peers, [1, 2], 3, { maxSizePerMsgBytes: 1 });
    const s2 = raftWithLog(2n, peers, [1, 3], 3);
    const s3 = raftWithLog(3n, peers, [1], 3);
    for (const r of [s1, s2, s3]) r.log.commitTo(1);
    const n = new Network([s1, s2, s3]);
    n.cut(1n, 2n);
    // Deliver to S3 only the entries of term 2, never S1's term-4 no-op.
    n.intercept = (m: Message) => {
      if (m.type === MessageType.MsgApp) m.entries = m.entries.filter((e) => e.term !== 4);
      return true;
    };
    n.sendLocal(MessageType.MsgHup, 1n);
    expect([s1.role, s1.term]).toEqual([Role.Leader, 4]);
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(terms(allEntries(s3))).toBe('1/1 2/2');
    expect(s1.tracker.progress.get(3n)?.match).toBe(2);
    expect(s1.log.committed).toBe(1); // §5.4.2: not committed by counting replicas
    // S1 crashes; S2 (last term 3) wins term 5 with S3's vote (last term 2) and overwrites 2/2.
    n.intercept = undefined;
    n.recover();
    n.isolate(1n);
    n.sendLocal(MessageType.MsgHup, 2n); // term 4: S3 already voted for S1
    n.sendLocal(MessageType.MsgHup, 2n); // term 5
    expect([s2.role, s2.term]).toEqual([Role.Leader, 5]);
    expect(terms(allEntries(s3)).startsWith('1/1 3/2')).toBe(true);
    expect(s3.log.committed).toBeGreaterThanOrEqual(3);
  });
});

describe('log repair', () => {
  it('the leader backs up over a divergent follower tail in one round trip per term', () => {
    // Follower has a long tail of term 2 the leader (term 3 entries) does not have.
    const peers = [1n, 2n];
    const leader = raftWithLog(1n, peers, [1, ...Array<number>(50).fill(3)], 3);
    const follower = raftWithLog(2n, peers, [1, ...Array<number>(80).fill(2)], 3);
    const n = new Network([leader, follower]);
    let rejections = 0;
    n.intercept = (m) => {
      if (m.type === MessageType.MsgAppResp && m.reject) rejections++;
      return true;
    };
    n.sendLocal(MessageType.MsgHup, 1n);
    expect(leader.role).toBe(Role.Leader);
    expect(terms(allEntries(follower))).toBe(terms(allEntries(leader)));
    // One rejection from the probe at the leader's last index; the hint (index 1, term 1) lands
    // the next probe right at the match instead of walking back 80 entries.
    expect(rejections).toBeLessThanOrEqual(2);
  });

  it('a follower with a longer tail of higher terms hints the leader past it', () => {
    // etcd's example: leader 1 3 3 3 3 3 3 3 7; follower 1 3 3 4 4 5 5 5 6.
    const peers = [1n, 2n];
    const leader = raftWithLog(1n, peers, [1, 3, 3, 3, 3, 3, 3, 3, 7], 7);
    const follower = raftWithLog(2n, peers, [1, 3, 3, 4, 4, 5, 5, 5, 6], 7);
    leader.becomeCandidate();
    leader.becomeLeader();
    readMessages(leader);
    const n = new Network([leader, follower]);
    const rejects: Message[] = [];
    n.intercept = (m) => {
      if (m.type === MessageType.MsgAppResp && m.reject) rejects.push(m);
      return true;
    };
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(terms(allEntries(follower))).toBe(terms(allEntries(leader)));
    // First probe at 10 (after the no-op) is rejected with hint 9/6; the leader skips to 3;
    // the probe at 9 ... collapses into at most a few round trips.
    expect(rejects.length).toBeLessThanOrEqual(3);
    expect(rejects[rejects.length - 1]?.rejectHint).toBe(3);
  });
});

describe('terms and stale messages', () => {
  it('a stale-term heartbeat gets an answer that brings the old leader up to date (CheckQuorum/PreVote)', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]), { checkQuorum: true });
    r.becomeFollower(5, 2n);
    r.step(msg({ type: MessageType.MsgHeartbeat, from: 3n, to: 1n, term: 4 }));
    const out = readMessages(r);
    expect(out.map((m) => [m.type, m.to, m.term])).toEqual([[MessageType.MsgAppResp, 3n, 5]]);
  });

  it('a node ignores old-term messages otherwise', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    r.becomeFollower(5, 2n);
    r.step(msg({ type: MessageType.MsgApp, from: 3n, to: 1n, term: 4, entries: entriesFrom(1, 4) }));
    expect(readMessages(r)).toEqual([]);
    expect(r.log.lastIndex()).toBe(0);
  });
});
