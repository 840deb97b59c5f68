import { describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/messages.js';
import { ProposalDroppedError, RawNode } from '../../src/raft/index.js';
import { MemoryStorage } from '../../src/raft/storage.js';

function leaderOfThree(): { rn: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.setConfState({ voters: [1, 2, 3], learners: [] });
  const rn = new RawNode({ id: 1, storage, random: () => 0, preVote: false });
  rn.campaign();
  // persist the vote, then grant it from a peer
  let rd = rn.ready();
  if (rd.hardState) storage.setHardState(rd.hardState);
  rn.advance(rd);
  rn.step({ type: MessageType.MsgVoteResp, to: 1, from: 2, term: rn.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
  expect(rn.isLeader()).toBe(true);
  rd = rn.ready();
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  rn.advance(rd);
  // Both followers acknowledge the leader's no-op: their progress moves to replicate.
  const index = rn.raft.log.lastIndex();
  for (const from of [2, 3]) {
    rn.step({ type: MessageType.MsgAppResp, to: 1, from, term: rn.term, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 });
  }
  rd = rn.ready();
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  rn.advance(rd);
  return { rn, storage };
}

describe('proposeBatch', () => {
  it('appends consecutive entries and sends them in one MsgApp per follower', () => {
    const { rn } = leaderOfThree();
    const last = rn.raft.log.lastIndex();
    const tickets = rn.proposeBatch([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]);
    expect(tickets).toEqual([1, 2, 3].map((i) => ({ index: last + i, term: rn.term })));
    const rd = rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual(tickets.map((t) => t.index));
    const appends = rd.messages.filter((m) => m.type === MessageType.MsgApp && m.entries.length > 0);
    expect(appends.map((m) => [m.to, m.entries.length])).toEqual([
      [2, 3],
      [3, 3],
    ]);
  });

  it('refuses the whole batch on a follower, naming no leader when none is known', () => {
    const storage = new MemoryStorage();
    storage.setConfState({ voters: [1, 2, 3], learners: [] });
    const rn = new RawNode({ id: 1, storage, random: () => 0 });
    expect(() => rn.proposeBatch([new Uint8Array([1]), new Uint8Array([2])])).toThrow(ProposalDroppedError);
    expect(rn.raft.log.lastIndex()).toBe(0);
  });
});
