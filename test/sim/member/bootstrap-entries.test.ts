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
import { encodeEntryCommand } from '../../../src/server/entry-codec.js';
import { ETCD_CLUSTER_VERSION } from '../../../src/server/version.js';
import { RaftLogStore } from '../../../src/storage/index.js';
import { v2Request } from '../../../src/store/command.js';
import type { Entry } from '../../../src/raft/index.js';
import { MemberCluster, type MemberSlot } from './member-cluster.js';
import { simKeyString } from './sim-disk.js';
import { Owner } from './world.js';

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
      const ids = c.slots.map((s) => s.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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

describe('issue 11: the bootstrap check keeps seeing a new cluster as new', () => {
  it('a member that runs on its bootstrap entries alone (term 1) answers /members at X-Raft-Term 0; once it saw an election, at its term', async () => {
    const c = new MemberCluster({ members: 3, seed: 5, diskMaxLatencyMs: 2 });
    const [first, second] = c.slots as [MemberSlot, MemberSlot];
    const ask = async (s: MemberSlot): Promise<string | undefined> => {
      const res = await (s.member as RaftMember).peerApi({ method: 'GET', path: '/members', headers: {}, body: new Uint8Array() });
      expect(res?.status).toBe(200);
      return res?.headers?.['x-raft-term'];
    };
    // Two members start (a fresh member's bootstrap check needs one answer from a fresh peer);
    // right after, before the first election timeout, the first runs at term 1.
    c.start(first);
    c.start(second);
    expect(await c.world.runUntilTrue(() => first.state === 'running', 5_000)).toBe(true);
    expect(first.member?.raftStatus().term).toBe(1);
    expect(await ask(first)).toBe('0');
    // Then an election (term 2 at least): it answers with its term.
    expect(await c.world.runUntilTrue(() => c.stableLeader() !== undefined, 20_000), c.describe()).toBe(true);
    const term = first.member?.raftStatus().term ?? 0;
    expect(term).toBeGreaterThanOrEqual(2);
    expect(await ask(first)).toBe(String(term));
  });
});

describe('issue 11: a data dir written before the bootstrap entries', () => {
  it('restarts and replays to the same store (its first entry, the first leader\'s empty entry, stands for the raftAttributes)', async () => {
    const c = new MemberCluster({ members: 3, seed: 7, diskMaxLatencyMs: 2 });
    const ids = c.slots.map((s) => s.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const initial = c.slots[0]?.config.initialCluster ?? [];
    // The old layout, as etcd-ts wrote it: metadata and ConfState at creation, no bootstrap
    // entries; entry 1 is the first leader's empty entry (term 1), then the publishes, the cluster
    // version and two writes, all committed.
    const data = (cmd: Parameters<typeof encodeEntryCommand>[0]): Uint8Array => encodeEntryCommand(cmd);
    const log: Entry[] = [
      { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array() },
      ...ids.map((id, i) => ({ term: 1, index: 2 + i, type: EntryType.Normal, data: data({ kind: 'attrs', memberId: id, name: initial.find((m) => m.id === id)?.name ?? '', clientURLs: [`http://client-${i}:2379`] }) })),
      { term: 1, index: 5, type: EntryType.Normal, data: data({ kind: 'version', version: ETCD_CLUSTER_VERSION }) },
      { term: 1, index: 6, type: EntryType.Normal, data: data({ kind: 'v2', req: v2Request({ method: 'PUT', path: '/old/a', val: 'A', time: 0 }) }) },
      { term: 1, index: 7, type: EntryType.Normal, data: data({ kind: 'v2', req: v2Request({ method: 'PUT', path: '/old/b', val: 'B', time: 0 }) }) },
    ];
    for (const s of c.slots) {
      const owner = new Owner(`${s.name}#old`);
      let done = false;
      void (async () => {
        const opened = await RaftLogStore.open({
          dataDir: s.config.dataDir,
          clusterId: s.config.clusterId,
          memberId: s.config.memberId,
          name: s.config.name,
          initialConfState: { voters: ids, learners: [] },
          openKv: async (location) => s.disk.open(owner, location),
        });
        await opened.store.save({ entries: log, hardState: { term: 1, vote: 0n, commit: 7 } });
        await opened.store.close();
        done = true;
      })();
      expect(await c.world.runUntilTrue(() => done, 5_000)).toBe(true);
    }
    for (const s of c.slots) c.start(s);
    const ok = await c.world.runUntilTrue(() => c.stableLeader() !== undefined && c.running().length === 3 && c.running().every((s) => s.member?.isReady() === true), 20_000);
    expect(ok, c.describe()).toBe(true);
    for (const s of c.slots) {
      const m = s.member as RaftMember;
      // As the old code replayed it: 3 raftAttributes (entry 1), 3 publishes, the version: 7.
      expect(m.store.get('/old/a', false, false, 0), s.name).toMatchObject({ ok: true, event: { node: { value: 'A', modifiedIndex: 8 } } });
      expect(m.store.get('/old/b', false, false, 0), s.name).toMatchObject({ ok: true, event: { node: { value: 'B', modifiedIndex: 9 } } });
      expect(diskEntry(s, 1), s.name).toEqual({ term: 1, type: EntryType.Normal, cmd: null });
    }
  });
});
