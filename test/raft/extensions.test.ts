// The extensions of Ongaro's thesis: Pre-Vote (§9.6), CheckQuorum and the leader lease (§6.2,
// §4.2.3), leadership transfer (§3.10) and ReadIndex (§6.4).
import { describe, expect, it } from 'vitest';
import { EntryType, MemoryStorage, MessageType, NONE, ProposalDroppedError, RawNode, Role, type ReadState } from '../../src/raft/index.js';
import type { Raft } from '../../src/raft/raft.js';
import { allEntries, msg, Network, readMessages, terms, type TestRaftOptions } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function ticks(r: Raft, n: number): void {
  for (let i = 0; i < n; i++) r.tick();
}

/** A 3-node network where node 1 is the elected leader. */
function clusterWithLeader(opts: TestRaftOptions): Network {
  const n = new Network([undefined, undefined, undefined], opts);
  n.sendLocal(MessageType.MsgHup, 1n);
  expect(n.raft(1n).role).toBe(Role.Leader);
  return n;
}

describe('Pre-Vote (thesis §9.6)', () => {
  it('a partitioned node rejoining does not disrupt a stable leader', () => {
    const n = clusterWithLeader({ preVote: true });
    const term = n.raft(1n).term;
    n.isolate(3n);
    // Node 3 times out again and again; its pre-votes get no answer, so its term stays put.
    for (let i = 0; i < 100; i++) {
      n.raft(3n).tick();
      readMessages(n.raft(3n));
    }
    expect(n.raft(3n).term).toBe(term);
    expect(n.raft(3n).role).toBe(Role.PreCandidate);
    n.recover();
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(n.raft(1n).role).toBe(Role.Leader);
    expect(n.raft(1n).term).toBe(term);
    expect(n.raft(3n).role).toBe(Role.Follower);
    expect(n.raft(3n).lead).toBe(1n);
  });

  it('without Pre-Vote the same rejoin deposes the leader (the problem Pre-Vote solves)', () => {
    const n = clusterWithLeader({ preVote: false });
    const term = n.raft(1n).term;
    n.isolate(3n);
    for (let i = 0; i < 100; i++) {
      n.raft(3n).tick();
      readMessages(n.raft(3n));
    }
    expect(n.raft(3n).term).toBeGreaterThan(term);
    n.recover();
    n.sendLocal(MessageType.MsgBeat, 1n);
    n.sendLocal(MessageType.MsgHup, 3n);
    expect(n.raft(1n).term).toBeGreaterThan(term);
  });

  it('a pre-vote does not change the voter’s term or vote', () => {
    const n = clusterWithLeader({ preVote: true });
    const r2 = n.raft(2n);
    const before = { term: r2.term, vote: r2.vote };
    // A pre-vote for a future term from a node with an up-to-date log.
    r2.step(msg({ type: MessageType.MsgPreVote, from: 3n, to: 2n, term: before.term + 1, index: r2.log.lastIndex(), logTerm: r2.log.lastTerm() }));
    const out = readMessages(r2);
    expect(out.map((m) => [m.type, m.term, m.reject])).toEqual([[MessageType.MsgPreVoteResp, before.term + 1, false]]);
    expect({ term: r2.term, vote: r2.vote }).toEqual(before);
  });

  it('a pre-candidate that wins the pre-vote campaigns for real at term+1', () => {
    const n = new Network([undefined, undefined, undefined], { preVote: true });
    n.sendLocal(MessageType.MsgHup, 1n);
    expect(n.raft(1n).role).toBe(Role.Leader);
    expect(n.raft(1n).term).toBe(1);
  });
});

describe('CheckQuorum (thesis §6.2)', () => {
  it('a leader that cannot reach a quorum steps down within two election timeouts', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    const leader = n.raft(1n);
    n.isolate(1n);
    // The first check may still count what it heard before the partition; the second cannot.
    ticks(leader, 2 * leader.electionTicks);
    readMessages(leader);
    expect(leader.role).toBe(Role.Follower);
    expect(leader.lead).toBe(NONE);
  });

  it('a leader hearing from a quorum stays leader', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    const leader = n.raft(1n);
    n.isolate(3n);
    for (let i = 0; i < 3 * leader.electionTicks; i++) {
      leader.tick();
      n.send(...readMessages(leader));
    }
    expect(leader.role).toBe(Role.Leader);
  });

  it('a follower that heard from the leader recently ignores a disruptive vote request (lease)', () => {
    const n = clusterWithLeader({ checkQuorum: true, preVote: false });
    const r2 = n.raft(2n);
    const term = r2.term;
    r2.step(msg({ type: MessageType.MsgVote, from: 3n, to: 2n, term: term + 5, index: 100, logTerm: 100 }));
    expect(readMessages(r2)).toEqual([]);
    expect(r2.term).toBe(term);
    expect(r2.lead).toBe(1n);
  });

  it('a stuck candidate of a higher term is freed by the leader’s reply to its stale-term answer', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    const [r1, r3] = [n.raft(1n), n.raft(3n)];
    n.isolate(1n);
    // 2 and 3 time out; 3 campaigns (without Pre-Vote here) and goes ahead in term.
    ticks(n.raft(2n), 2 * r1.electionTicks);
    readMessages(n.raft(2n));
    n.sendLocal(MessageType.MsgHup, 3n);
    expect(r3.role).toBe(Role.Candidate);
    expect(r3.term).toBe(r1.term + 1);
    n.recover();
    // The old leader's heartbeat gets a higher-term MsgAppResp, which deposes it.
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(r1.term).toBe(r3.term);
    expect(r1.role).toBe(Role.Follower);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('to an up-to-date follower: it campaigns at once and wins', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 2n, to: 1n });
    expect(n.raft(2n).role).toBe(Role.Leader);
    expect(n.raft(1n).role).toBe(Role.Follower);
    expect(n.raft(1n).lead).toBe(2n);
  });

  it('to a lagging follower: the leader catches it up first, then hands over', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.isolate(3n);
    n.propose(1n, 'a');
    n.propose(1n, 'b');
    n.recover();
    // Node 3 lags; the transfer sends it the missing entries before MsgTimeoutNow.
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 3n, to: 1n });
    expect(n.raft(3n).role).toBe(Role.Leader);
    expect(terms(allEntries(n.raft(3n))).split(' ').length).toBeGreaterThanOrEqual(3);
  });

  it('proposals are refused during a transfer, naming the transferee', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.isolate(3n);
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 3n, to: 1n });
    const leader = n.raft(1n);
    expect(leader.leadTransferee).toBe(3n);
    let err: unknown;
    try {
      leader.propose(enc('x'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect((err as ProposalDroppedError).reason).toBe('leadership-transfer');
    expect((err as ProposalDroppedError).leaderId).toBe(3n);
  });

  it('a transfer that does not finish within an election timeout is abandoned', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.isolate(3n);
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 3n, to: 1n });
    const leader = n.raft(1n);
    for (let i = 0; i < leader.electionTicks; i++) {
      leader.tick();
      n.send(...readMessages(leader));
    }
    expect(leader.role).toBe(Role.Leader);
    expect(leader.leadTransferee).toBe(NONE);
    expect(() => leader.propose(enc('x'))).not.toThrow();
  });

  it('a follower forwards a transfer request to the leader', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 3n, to: 2n });
    expect(n.raft(3n).role).toBe(Role.Leader);
  });

  it('transferring to the leader itself does nothing', () => {
    const n = clusterWithLeader({ checkQuorum: true });
    n.send({ ...msg({ type: MessageType.MsgTransferLeader }), from: 1n, to: 1n });
    expect(n.raft(1n).role).toBe(Role.Leader);
    expect(n.raft(1n).leadTransferee).toBe(NONE);
  });
});

describe('ReadIndex (thesis §6.4)', () => {
  const ctx = (s: string): Uint8Array => enc(s);

  it('the leader answers once a heartbeat round confirms its leadership, at its commit index', () => {
    const n = clusterWithLeader({});
    n.propose(1n, 'x');
    const leader = n.raft(1n);
    leader.readIndex(ctx('r1'));
    n.send(...readMessages(leader));
    expect(leader.readStates.map((rs) => [rs.index, new TextDecoder().decode(rs.requestCtx)])).toEqual([[leader.log.committed, 'r1']]);
  });

  it('a follower forwards the request and gets the leader’s read index', () => {
    const n = clusterWithLeader({});
    n.propose(1n, 'x');
    const f = n.raft(2n);
    f.readIndex(ctx('r2'));
    n.send(...readMessages(f));
    expect(f.readStates.map((rs) => rs.index)).toEqual([n.raft(1n).log.committed]);
  });

  it('a new leader defers reads until it has committed an entry of its own term', () => {
    const n = new Network([undefined, undefined, undefined]);
    n.ignore(MessageType.MsgApp); // the no-op cannot commit yet
    n.sendLocal(MessageType.MsgHup, 1n);
    const leader = n.raft(1n);
    expect(leader.role).toBe(Role.Leader);
    leader.readIndex(ctx('early'));
    n.send(...readMessages(leader));
    expect(leader.readStates).toEqual([]);
    expect(leader.pendingReadIndexMessages.length).toBe(1);
    n.recover();
    n.sendLocal(MessageType.MsgBeat, 1n); // heartbeat responses trigger appends; the no-op commits
    expect(leader.committedEntryInCurrentTerm()).toBe(true);
    expect(leader.readStates.map((rs) => rs.index)).toEqual([leader.log.committed]);
  });

  it('a deposed leader cannot serve a stale read', () => {
    const n = clusterWithLeader({ checkQuorum: false, preVote: false });
    const old = n.raft(1n);
    n.isolate(1n);
    // 2 becomes leader of a newer term and commits writes that the old leader never sees.
    n.sendLocal(MessageType.MsgHup, 2n);
    expect(n.raft(2n).role).toBe(Role.Leader);
    n.propose(2n, 'new write');
    const newCommit = n.raft(2n).log.committed;
    expect(old.role).toBe(Role.Leader); // it does not know yet
    expect(old.log.committed).toBeLessThan(newCommit);
    old.readIndex(ctx('stale?'));
    n.send(...readMessages(old)); // the heartbeats go nowhere
    expect(old.readStates).toEqual([]);
    // Reconnected, its old-term heartbeats are ignored (no acks, no answer); the new leader's
    // heartbeat deposes it, and the read is dropped rather than answered with a stale index.
    n.recover();
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(old.readStates).toEqual([]);
    n.sendLocal(MessageType.MsgBeat, 2n);
    expect(old.role).toBe(Role.Follower);
    expect(old.readStates).toEqual([]);
  });

  it('a lone voter restarted with an old commit index answers only after committing an entry of its own term', () => {
    // Its disk holds entries 1..5 of term 1 but an older commit index (2): writes 3..5 were
    // acknowledged before the crash. Answering at 2 would let a read miss them (thesis §6.4 asks
    // every leader, whatever the cluster size, to commit in its term first).
    const storage = new MemoryStorage();
    storage.setConfState({ voters: [1n], learners: [] });
    storage.append([1, 2, 3, 4, 5].map((index) => ({ term: 1, index, type: EntryType.Normal, data: enc(`w${index}`) })));
    storage.setHardState({ term: 1, vote: 1n, commit: 2 });
    const rn = new RawNode({ id: 1n, storage, random: () => 0.5, applied: 0 });
    rn.campaign();
    const persist = (): ReadState[] => {
      const rd = rn.ready();
      if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
      storage.append(rd.entries);
      rn.advance(rd);
      return rd.readStates;
    };
    const seen: ReadState[] = [];
    while (rn.role !== Role.Leader) seen.push(...persist()); // the self-vote, once durable
    rn.readIndex(ctx('after restart'));
    expect(rn.commitIndex).toBe(2);
    for (let i = 0; i < 4 && rn.hasReady(); i++) seen.push(...persist());
    expect(rn.commitIndex).toBe(6); // the no-op of term 2 committed, and everything before it
    expect(seen.map((rs) => rs.index)).toEqual([6]);
  });

  it('a node without a known leader refuses the read at once', () => {
    const n = new Network([undefined, undefined, undefined]);
    expect(() => n.raft(2n).readIndex(ctx('x'))).toThrow(/no-leader/);
  });
});
