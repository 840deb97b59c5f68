// Which HardState a member writes and when (src/server/hard-state.ts), on a real RawNode driven as
// the member's loop drives it. The rule as a whole (never a commit index beyond the durable log,
// at a clean stop included) is checked on whole members in test/sim/member/holes.test.ts.
import { describe, expect, it } from 'vitest';
import { EntryType, MemoryStorage, MessageType, RawNode, type Entry, type HardState, type Message } from '../../src/raft/index.js';
import { HardStateKeeper } from '../../src/server/hard-state.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function entries(term: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: EntryType.Normal, data: enc(`t${term}i${i}`) });
  return out;
}

function msg(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return { logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...m };
}

/** A follower (id 2 of 1..3) whose disk holds `onDisk` entries and `hs`. */
function follower(onDisk: Entry[], hs: HardState): { rn: RawNode; disk: MemoryStorage; keeper: HardStateKeeper } {
  const disk = new MemoryStorage();
  disk.setConfState({ voters: [1n, 2n, 3n], learners: [] });
  disk.append(onDisk);
  disk.setHardState(hs);
  const rn = new RawNode({ id: 2n, storage: disk, random: () => 0.5, applied: hs.commit });
  return { rn, disk, keeper: new HardStateKeeper(hs, 1000) };
}

describe('the commit index a member writes (hard-state.ts)', () => {
  it('every batch that carries entries carries the whole HardState (raft leaves an unchanged one out)', () => {
    const f = follower([], { term: 0, vote: 0n, commit: 0 });
    const written: HardState[] = [];
    const round = (): void => {
      const rd = f.rn.ready();
      const w = f.keeper.onReady(rd);
      if (w !== undefined) {
        written.push(w.hardState);
        f.disk.setHardState(w.hardState);
        f.disk.append(rd.entries);
      }
      f.keeper.onReadyPersisted(w);
      f.rn.advance(rd);
    };
    // Term 1: entries 1..3 arrive, then a commit-only heartbeat (commit 3), then entries 4..5 with
    // the same commit index: raft's Ready for those has no HardState, the batch must still carry it.
    f.rn.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, entries: entries(1, 1, 3), commit: 0 }));
    round();
    f.rn.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, commit: 3 }));
    round(); // commit-only: no write of its own
    expect(written.map((h) => h.commit)).toEqual([0]);
    f.rn.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 3, logTerm: 1, entries: entries(1, 4, 5), commit: 3 }));
    const rd = f.rn.ready();
    expect(rd.hardState).toBeUndefined(); // unchanged since the last Ready: raft leaves it out
    const w = f.keeper.onReady(rd);
    expect(w?.hardState).toEqual({ term: 1, vote: 0n, commit: 3 });
  });

  it("a leader's snapshot is written with fsync even when raft asks for none (it is acknowledged after this batch)", () => {
    const keeper = new HardStateKeeper({ term: 2, vote: 1n, commit: 10 }, 1000);
    const snapshot = { data: Uint8Array.of(1), metadata: { index: 50, term: 2, confState: { voters: [1n, 2n, 3n], learners: [] } } };
    expect(keeper.onReady({ hardState: { term: 2, vote: 1n, commit: 50 }, entries: [], snapshot, mustSync: false })).toEqual({ hardState: { term: 2, vote: 1n, commit: 50 }, sync: true });
    // without one, a commit-only write stays unsynced
    expect(keeper.onReady({ hardState: { term: 2, vote: 1n, commit: 2000 }, entries: [], mustSync: false })?.sync).toBe(false);
  });

  it('a commit index that moved without entries is written once it lags (bounded)', () => {
    const keeper = new HardStateKeeper({ term: 1, vote: 1n, commit: 0 }, 10);
    const noEntries = { entries: [] as Entry[], mustSync: false };
    for (let c = 1; c < 10; c++) {
      const w = keeper.onReady({ ...noEntries, hardState: { term: 1, vote: 1n, commit: c } });
      expect(w).toBeUndefined();
      keeper.onReadyPersisted(w);
    }
    expect(keeper.lagging()).toEqual({ hardState: { term: 1, vote: 1n, commit: 9 }, sync: false });
    const w = keeper.onReady({ ...noEntries, hardState: { term: 1, vote: 1n, commit: 10 } });
    expect(w).toEqual({ hardState: { term: 1, vote: 1n, commit: 10 }, sync: false });
    keeper.onReadyPersisted(w);
    expect(keeper.lagging()).toBeUndefined();
    expect(keeper.atStop()).toBeUndefined();
  });
});
