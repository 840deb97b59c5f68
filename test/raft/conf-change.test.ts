// Membership changes in the raft core (thesis §4.1, one server at a time; etcd-io/raft's
// applyConfChange): adding a voter, removing one, removing the leader, and a node that joins
// with no configuration of its own.
import { describe, expect, it } from 'vitest';
import { ConfChangeType, EntryType, MemoryStorage, MessageType } from '../../src/raft/index.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { Role } from '../../src/raft/role.js';
import { Network, newTestRaft, newTestStorage, persist, takeCommitted } from './helpers.js';

function leaderOfThree(): Network {
  const n = new Network([undefined, undefined, undefined]);
  n.sendLocal(MessageType.MsgHup, 1n);
  expect(n.raft(1n).role).toBe(Role.Leader);
  return n;
}

describe('raft conf changes', () => {
  it('a new voter is probed, caught up, and then counts towards the quorum', () => {
    const n = leaderOfThree();
    const leader = n.raft(1n);
    // Node 4 joins with an empty storage and no peers: no configuration of its own.
    const joiner = newTestRaft(4n, 10, 1, new MemoryStorage());
    expect(joiner.tracker.voters).toEqual([]);
    expect(joiner.promotable()).toBe(false);
    n.peers.set(4n, joiner);
    for (const id of [1n, 2n, 3n]) n.raft(id).applyConfChange({ type: ConfChangeType.AddNode, nodeId: 4n });
    expect(leader.tracker.voters).toEqual([1n, 2n, 3n, 4n]);
    n.sendLocal(MessageType.MsgBeat, 1n);
    n.propose(1n, 'after-add');
    expect(joiner.log.lastIndex()).toBe(leader.log.lastIndex());
    expect(leader.tracker.progress.get(4n)?.match).toBe(leader.log.lastIndex());
    // With 4 voters, 3 are a quorum: 2 and 3 down, 1 and 4 cannot commit.
    n.isolate(2n);
    n.isolate(3n);
    const before = leader.log.committed;
    n.propose(1n, 'two of four');
    expect(leader.log.committed).toBe(before);
  });

  it('a removed voter no longer counts: the remaining majority commits, and it cannot campaign', () => {
    const n = leaderOfThree();
    const leader = n.raft(1n);
    n.isolate(3n);
    for (const id of [1n, 2n, 3n]) n.raft(id).applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3n });
    expect(leader.tracker.voters).toEqual([1n, 2n]);
    n.isolate(2n);
    const before = leader.log.committed;
    n.propose(1n, 'one of two');
    expect(leader.log.committed).toBe(before); // 1 of 2 is no majority
    n.recover();
    n.propose(1n, 'two of two');
    expect(leader.log.committed).toBe(leader.log.lastIndex());
    const removed = n.raft(3n);
    expect(removed.promotable()).toBe(false);
    const term = removed.term;
    for (let i = 0; i < 40; i++) removed.tick();
    expect(removed.term).toBe(term); // never campaigns
  });

  it('removing a voter that held back the commit index commits at once', () => {
    const n = leaderOfThree();
    const leader = n.raft(1n);
    n.isolate(2n);
    n.isolate(3n);
    n.propose(1n, 'stuck');
    const stuck = leader.log.lastIndex();
    expect(leader.log.committed).toBeLessThan(stuck);
    // Remove 2 and 3 on the leader: it alone is the quorum, so what it holds is committed.
    persist(leader);
    leader.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3n });
    leader.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 2n });
    expect(leader.log.committed).toBe(stuck);
  });

  it('a leader that removes itself stops counting itself and takes no proposals; the others commit what it replicated', () => {
    const n = leaderOfThree();
    const leader = n.raft(1n);
    n.isolate(3n);
    n.propose(1n, 'before self-removal'); // on 1 and 2 only: committed by 2 of 3
    const last = leader.log.lastIndex();
    n.recover();
    for (const id of [1n, 2n, 3n]) n.raft(id).applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1n });
    expect(leader.tracker.voters).toEqual([2n, 3n]);
    expect(leader.promotable()).toBe(false);
    expect(() => leader.propose(new Uint8Array([1]))).toThrow(/not-voter/);
    n.sendLocal(MessageType.MsgBeat, 1n);
    expect(n.raft(3n).log.lastIndex()).toBe(last);
    expect(n.raft(3n).log.committed).toBe(last);
  });

  it('only one conf change may be pending: a second proposal before the first is applied is refused', () => {
    const n = leaderOfThree();
    const leader = n.raft(1n);
    persist(leader);
    takeCommitted(leader);
    leader.propose(new Uint8Array([1]), EntryType.ConfChange);
    expect(() => leader.propose(new Uint8Array([2]), EntryType.ConfChange)).toThrow(ProposalDroppedError);
  });

  it('a node with an empty storage and no peers starts without voters, but one with a log and no ConfState is refused', () => {
    expect(() => newTestRaft(5n, 10, 1, new MemoryStorage())).not.toThrow();
    const s = new MemoryStorage();
    s.append([{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) }]);
    expect(() => newTestRaft(5n, 10, 1, s)).toThrow(/no ConfState/);
    void newTestStorage;
  });
});
