// RawNode.proposeBatch: the proposals of one event-loop turn become consecutive entries of one
// append, replicated in one MsgApp per follower; a refusal refuses the whole batch.
import { describe, expect, it } from 'vitest';
import { MemoryStorage, MessageType, NONE, ProposalDroppedError, RawNode } from '../../src/raft/index.js';
import { msg } from './helpers.js';

function leaderOfThree(): { rn: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.setConfState({ voters: [1n, 2n, 3n], learners: [] });
  const rn = new RawNode({ id: 1n, storage, random: () => 0, preVote: false });
  const persistAndAdvance = (): void => {
    const rd = rn.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    rn.advance(rd);
  };
  rn.campaign();
  // persist the vote, then grant it from a peer
  persistAndAdvance();
  rn.step(msg({ type: MessageType.MsgVoteResp, to: 1n, from: 2n, term: rn.term }));
  expect(rn.isLeader()).toBe(true);
  persistAndAdvance();
  // Both followers acknowledge the leader's no-op: their progress moves to replicate.
  const index = rn.raft.log.lastIndex();
  for (const from of [2n, 3n]) rn.step(msg({ type: MessageType.MsgAppResp, to: 1n, from, term: rn.term, index }));
  persistAndAdvance();
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
      [2n, 3],
      [3n, 3],
    ]);
  });

  it('refuses the whole batch on a follower, naming no leader when none is known', () => {
    const storage = new MemoryStorage();
    storage.setConfState({ voters: [1n, 2n, 3n], learners: [] });
    const rn = new RawNode({ id: 1n, storage, random: () => 0 });
    expect(() => rn.proposeBatch([new Uint8Array([1]), new Uint8Array([2])])).toThrow(ProposalDroppedError);
    expect(() => rn.proposeBatch([new Uint8Array([1])])).toThrow(expect.objectContaining({ reason: 'no-leader', leaderId: NONE }));
    expect(rn.raft.log.lastIndex()).toBe(0);
  });
});
