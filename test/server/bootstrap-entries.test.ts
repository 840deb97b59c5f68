// Issue 11: the bootstrap entries at the head of a new cluster's log (one per initial member,
// indexes 1..n, term 1, committed), what applying them writes, what a log written before them
// replays to, and the term a member reports to a peer's bootstrap check.
import { describe, expect, it, vi } from 'vitest';
import type { InitialMember } from '../../src/config.js';
import { EntryType, MemoryStorage, type Entry } from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/log.js';
import { bootstrapEntries, bootstrapHardState, reportedTerm } from '../../src/server/bootstrap.js';
import { decodeEntryCommand, encodeEntryCommand, type EntryCommand } from '../../src/server/entry-codec.js';
import { formatId } from '../../src/server/ids.js';
import { Membership } from '../../src/server/membership.js';
import { MemberStateMachine } from '../../src/server/state-machine.js';
import { v2Request } from '../../src/store/command.js';

const INITIAL: InitialMember[] = [
  { name: 'm3', id: 0x3an, peerURLs: ['http://10.0.0.3:2380'] },
  { name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'm2', id: 0x2bn, peerURLs: ['http://10.0.0.2:2380', 'http://10.0.1.2:2380'] },
];

const entry = (index: number, term: number, cmd?: EntryCommand): Entry => ({ index, term, type: EntryType.Normal, data: cmd === undefined ? new Uint8Array() : encodeEntryCommand(cmd) });

/** The rest of a fresh cluster's log after its head: publishes, the cluster version, two writes. */
function tail(from: number, term: number): Entry[] {
  const ids = INITIAL.map((m) => m.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    ...ids.map((id, i) => entry(from + i, term, { kind: 'attrs', memberId: id, name: `n${id}`, clientURLs: [`http://c${i}:2379`] })),
    entry(from + 3, term, { kind: 'version', version: '3.4.0' }),
    entry(from + 4, term, { kind: 'v2', req: v2Request({ method: 'PUT', path: '/a', val: 'A', time: 0 }) }),
    entry(from + 5, term, { kind: 'v2', req: v2Request({ method: 'PUT', path: '/b', val: 'B', time: 0 }) }),
  ];
}

/** Applies the log; returns the internal writes (key, value, etcd index) and the indexes after each entry. */
function replay(log: readonly Entry[], initial: readonly InitialMember[] = INITIAL, forcedNewClusterAt?: number) {
  const sm = new MemberStateMachine({ membership: new Membership(initial), onPeerURLsChanged: () => undefined, ...(forcedNewClusterAt !== undefined ? { forcedNewClusterAt } : {}) }, 0);
  const internal: Array<[string, string, number]> = [];
  const real = sm.store.applyInternal.bind(sm.store);
  vi.spyOn(sm.store, 'applyInternal').mockImplementation((k, v) => {
    real(k, v);
    internal.push([k, v, sm.store.index()]);
  });
  const after: Array<{ raft: number; etcd: number }> = [];
  for (const e of log) {
    sm.apply(e);
    after.push({ raft: e.index, etcd: sm.store.index() });
  }
  const index = (p: string): number | undefined => {
    const r = sm.store.get(p, false, false, 0);
    return r.ok ? r.event?.node.modifiedIndex : undefined;
  };
  return { sm, internal, after, index };
}

describe('bootstrapEntries', () => {
  it('one entry per initial member, in member id order (etcd orders its initial ConfChanges so), at 1..n, term 1, committed', () => {
    const ents = bootstrapEntries(INITIAL);
    expect(ents.map((e) => [e.index, e.term, e.type])).toEqual([[1, 1, EntryType.Normal], [2, 1, EntryType.Normal], [3, 1, EntryType.Normal]]);
    expect(ents.map((e) => decodeEntryCommand(e.data))).toEqual([
      { kind: 'bootstrap-member', memberId: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
      { kind: 'bootstrap-member', memberId: 0x2bn, peerURLs: ['http://10.0.0.2:2380', 'http://10.0.1.2:2380'] },
      { kind: 'bootstrap-member', memberId: 0x3an, peerURLs: ['http://10.0.0.3:2380'] },
    ]);
    expect(bootstrapHardState(INITIAL)).toEqual({ term: 1, vote: 0n, commit: 3 });
    // The same on every member, whatever order its --initial-cluster lists them in.
    const again = bootstrapEntries([...INITIAL].reverse());
    expect(again.map((e) => [e.index, e.term, Buffer.from(e.data).toString('hex')])).toEqual(ents.map((e) => [e.index, e.term, Buffer.from(e.data).toString('hex')]));
  });
});

describe('applying the head of the log', () => {
  const newLog = [...bootstrapEntries(INITIAL), entry(4, 2), ...tail(5, 2)];
  const oldLog = [entry(1, 1), ...tail(2, 1)];

  it('a new log: each bootstrap entry writes its member\'s raftAttributes; the raft index is never below the etcd index', () => {
    const { internal, after, index } = replay(newLog);
    expect(internal.slice(0, 3)).toEqual([
      [`0/members/${formatId(0x1cn)}/raftAttributes`, '{"peerURLs":["http://10.0.0.1:2380"]}', 1],
      [`0/members/${formatId(0x2bn)}/raftAttributes`, '{"peerURLs":["http://10.0.0.2:2380","http://10.0.1.2:2380"]}', 2],
      [`0/members/${formatId(0x3an)}/raftAttributes`, '{"peerURLs":["http://10.0.0.3:2380"]}', 3],
    ]);
    expect(after.slice(0, 4)).toEqual([{ raft: 1, etcd: 1 }, { raft: 2, etcd: 2 }, { raft: 3, etcd: 3 }, { raft: 4, etcd: 3 }]);
    for (const a of after) expect(a.raft).toBeGreaterThanOrEqual(a.etcd);
    // etcd's indexes: 2n+1 after the publishes and the version, then the writes.
    expect(after[7]).toEqual({ raft: 8, etcd: 7 });
    expect([index('/a'), index('/b')]).toEqual([8, 9]);
  });

  it('a log written before the bootstrap entries (entry 1 is the first leader\'s empty entry) replays to the same store', () => {
    const n = replay(newLog);
    const o = replay(oldLog);
    expect(o.internal).toEqual(n.internal);
    expect([o.index('/a'), o.index('/b')]).toEqual([8, 9]);
    expect(o.sm.store.index()).toBe(n.sm.store.index());
    expect(o.after[0]).toEqual({ raft: 1, etcd: 3 });
  });

  it('after --force-new-cluster: a member the bootstrap entries do not name gets its raftAttributes at the first entry after them; old members are skipped', () => {
    const alone: InitialMember[] = [{ name: 'new', id: 0x77n, peerURLs: ['http://10.9.9.9:2380'] }];
    const r = replay(newLog, alone, newLog.length);
    expect(r.after.slice(0, 4)).toEqual([{ raft: 1, etcd: 0 }, { raft: 2, etcd: 0 }, { raft: 3, etcd: 0 }, { raft: 4, etcd: 1 }]);
    expect(r.internal[0]).toEqual([`0/members/${formatId(0x77n)}/raftAttributes`, '{"peerURLs":["http://10.9.9.9:2380"]}', 1]);
    // The old layout gives the same store.
    expect(replay(oldLog, alone, oldLog.length).internal).toEqual(r.internal);
    // A member that was one of the initial ones keeps its entry.
    const kept = replay(newLog, [INITIAL[2] as InitialMember], newLog.length);
    expect(kept.internal[0]).toEqual([`0/members/${formatId(0x2bn)}/raftAttributes`, '{"peerURLs":["http://10.0.0.2:2380","http://10.0.1.2:2380"]}', 1]);
    expect(replay(oldLog, [INITIAL[2] as InitialMember], oldLog.length).internal.map(([k, v]) => [k, v])).toEqual(kept.internal.map(([k, v]) => [k, v]));
  });

  it('a bootstrap entry anywhere but the head of the log changes nothing', () => {
    const log = [...bootstrapEntries(INITIAL), entry(4, 2), entry(5, 2, { kind: 'bootstrap-member', memberId: 0x99n, peerURLs: ['http://x:2380'] })];
    const r = replay(log, [...INITIAL, { name: 'x', id: 0x99n, peerURLs: ['http://x:2380'] }]);
    // 0x99 is in the membership but named by no head entry: written once, at entry 4; entry 5 is ignored.
    expect(r.after.map((a) => a.etcd)).toEqual([1, 2, 3, 4, 4]);
  });
});

describe('reportedTerm (X-Raft-Term on /members: 0 while the member never saw an election)', () => {
  function raftLog(ents: Entry[]): RaftLog {
    const s = new MemoryStorage();
    s.append(ents);
    return new RaftLog(s, Number.MAX_SAFE_INTEGER);
  }
  const head = bootstrapEntries(INITIAL);

  it('0 for a member with only the bootstrap entries, at term 1 without a vote', () => {
    expect(reportedTerm(1, 0n, raftLog(head))).toBe(0);
  });
  it('its term once it voted, saw a later term, or holds any other entry', () => {
    expect(reportedTerm(1, 0x1cn, raftLog(head))).toBe(1);
    expect(reportedTerm(2, 0n, raftLog(head))).toBe(2);
    expect(reportedTerm(1, 0n, raftLog([...head, entry(4, 1)]))).toBe(1);
  });
  it('a log of the layout before bootstrap entries: 0 only at term 0', () => {
    expect(reportedTerm(0, 0n, raftLog([]))).toBe(0);
    expect(reportedTerm(1, 0n, raftLog([]))).toBe(1);
    expect(reportedTerm(1, 0n, raftLog([entry(1, 1)]))).toBe(1);
  });
});
