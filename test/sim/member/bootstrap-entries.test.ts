// Issue 11: a new cluster's log starts with one committed entry per initial member (indexes 1..n,
// term 1, in member id order), the same on every member, as etcd-io/raft's Bootstrap writes
// etcd's ConfChangeAddNode entries; so X-Raft-Index (the commit index) is never below the etcd
// index. Whole members on the simulator's disk, network and clock.
import { describe, expect, it } from 'vitest';
import { EntryType } from '../../../src/raft/index.js';
import { decodeEntry, decodeHardState } from '../../../src/storage/codec.js';
import { entryKey, HARD_STATE_KEY } from '../../../src/storage/keys.js';
import { decodeEntryCommand } from '../../../src/server/entry-codec.js';
import type { RaftMember } from '../../../src/server/raft-member.js';
import { MemberCluster, type MemberSlot } from './member-cluster.js';
import { simKeyString } from './sim-disk.js';

function diskEntry(slot: MemberSlot, index: number): { term: number; type: EntryType; cmd: unknown } | undefined {
  const v = slot.disk.view().get(simKeyString(entryKey(index)));
  if (v === undefined) return undefined;
  const e = decodeEntry(v);
  return { term: e.term, type: e.type, cmd: e.data.length === 0 ? null : decodeEntryCommand(e.data) };
}

describe('issue 11: the bootstrap entries', () => {
  for (const members of [1, 3, 5]) {
    it(`${members} member(s): every member writes the same ${members} committed entries at 1..${members}, term 1, and its raft index is never below its etcd index`, async () => {
      const c = new MemberCluster({ members, seed: 11 + members, diskMaxLatencyMs: 2 });
      for (const s of c.slots) c.start(s);
      const ids = c.slots.map((s) => s.id).sort((a, b) => a - b);
      const expected = ids.map((id) => ({ term: 1, type: EntryType.Normal, cmd: { kind: 'bootstrap-member', memberId: id, peerURLs: c.slots.find((s) => s.id === id)?.config.initialCluster.find((m) => m.id === id)?.peerURLs } }));
      // Right after the start, before any election: the bootstrap entries and HardState alone.
      const created = await c.world.runUntilTrue(() => c.slots.every((s) => s.disk.view().get(simKeyString(HARD_STATE_KEY)) !== undefined), 5_000);
      expect(created, c.describe()).toBe(true);
      for (const s of c.slots) {
        expect(ids.map((_, i) => diskEntry(s, i + 1)), s.name).toEqual(expected);
        const hs = decodeHardState(s.disk.view().get(simKeyString(HARD_STATE_KEY)) as Uint8Array);
        expect(hs.commit, s.name).toBeGreaterThanOrEqual(members);
        expect(hs.term, s.name).toBeGreaterThanOrEqual(1);
      }
      // Once healthy (every member published, the cluster version set): the store is at 2n+1, as
      // etcd's, and every member's raft index is at least its etcd index, at every step.
      let worst = Infinity;
      const ok = await c.world.runUntilTrue(() => {
        for (const s of c.running()) {
          const m = s.member as RaftMember;
          worst = Math.min(worst, m.raftIndex() - m.store.index());
        }
        return c.stableLeader() !== undefined && c.running().every((s) => s.member?.isReady() === true && s.member.store.index() === 2 * members + 1);
      }, 20_000);
      expect(ok, c.describe()).toBe(true);
      expect(worst).toBeGreaterThanOrEqual(0);
      for (const s of c.slots) {
        expect(ids.map((_, i) => diskEntry(s, i + 1)), s.name).toEqual(expected);
        const m = s.member as RaftMember;
        expect(m.raftIndex()).toBeGreaterThanOrEqual(m.store.index());
      }
    });
  }
});
