// What a member refuses on its peer port before raft sees it (src/server/peer-guard.ts). For every
// refusal rule: a message that breaks it (the reason names the cause) and the closest legitimate
// message that must still pass, because refusing real traffic drops a whole batch of a well-behaved
// peer. Then a property: every message a simulated raft cluster delivers (crashes, partitions,
// lossy and reordering links, leadership transfers, ReadIndex reads) passes the guard with the
// receiver's view at delivery time.
import { describe, expect, it } from 'vitest';
import {
  EntryType,
  MemoryStorage,
  MessageType,
  NONE,
  RaftInvariantError,
  RawNode,
  Role,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../../src/raft/index.js';
import { raftGuardView, refusePeerBatch, type GuardView } from '../../src/server/peer-guard.js';
import { Cluster } from '../sim/cluster.js';
import { deriveSeed, mulberry32, Rng } from '../sim/prng.js';
import { Workload } from '../sim/workload.js';

const SELF = 1n;
const LEADER = 2n;
const PEER = 3n;
const STRANGER = 0x9fn;
const MEMBERS = new Set<NodeId>([SELF, LEADER, PEER]);
const CTX = Uint8Array.of(1, 2, 3, 4);

/** A follower of LEADER in term 5 whose log ends at index 10, unless overridden. */
/** Snapshot data the view's state machine takes: the bytes [7, index]. */
const snapData = (index: number): Uint8Array => Uint8Array.of(7, index);
function refuseData(data: Uint8Array, index: number): string | null {
  return data.length === 2 && data[0] === 7 && data[1] === index ? null : `not a snapshot at ${index}`;
}

function view(over: Partial<Pick<GuardView, 'term' | 'lead' | 'role' | 'lastIndex' | 'commitIndex'>> = {}): GuardView {
  return { selfId: SELF, isMember: (id) => MEMBERS.has(id), term: 5, lead: LEADER, role: Role.Follower, lastIndex: 10, commitIndex: 6, refuseSnapshotData: refuseData, ...over };
}

/** This member leading term 5 with its log ending at index 10. */
const leaderView = (over: Partial<Pick<GuardView, 'term' | 'lastIndex'>> = {}): GuardView => view({ role: Role.Leader, lead: SELF, ...over });

function msg(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return { to: SELF, from: LEADER, term: 5, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...m };
}

function ents(firstIndex: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: firstIndex + i, type: EntryType.Normal, data: Uint8Array.of(i) }));
}

/** The guard's answer for one message sent by its own `from`. */
const check = (m: Message, v: GuardView = view()): string | null => refusePeerBatch([m], m.from, v);

/**
 * One legitimate message of every wire type but MsgSnap, each with a view in which a well-behaved
 * member sends it to SELF.
 */
const LEGIT: { name: string; m: Message; v: GuardView }[] = [
  { name: 'MsgApp', m: msg({ type: MessageType.MsgApp, index: 10, logTerm: 5, entries: ents(11, 5, 5), commit: 10 }), v: view() },
  { name: 'MsgAppResp', m: msg({ type: MessageType.MsgAppResp, from: PEER, index: 10 }), v: leaderView() },
  { name: 'MsgVote', m: msg({ type: MessageType.MsgVote, from: PEER, term: 6, logTerm: 5, index: 12 }), v: view() },
  { name: 'MsgVoteResp', m: msg({ type: MessageType.MsgVoteResp, from: PEER }), v: view({ role: Role.Candidate, lead: NONE }) },
  { name: 'MsgHeartbeat', m: msg({ type: MessageType.MsgHeartbeat, commit: 10, context: CTX }), v: view() },
  { name: 'MsgHeartbeatResp', m: msg({ type: MessageType.MsgHeartbeatResp, from: PEER, context: CTX }), v: leaderView() },
  { name: 'MsgTransferLeader', m: msg({ type: MessageType.MsgTransferLeader, from: PEER }), v: leaderView() },
  { name: 'MsgTimeoutNow', m: msg({ type: MessageType.MsgTimeoutNow }), v: view() },
  { name: 'MsgReadIndex', m: msg({ type: MessageType.MsgReadIndex, from: PEER, term: 0, context: CTX }), v: leaderView() },
  { name: 'MsgReadIndexResp', m: msg({ type: MessageType.MsgReadIndexResp, index: 9, context: CTX }), v: view() },
  { name: 'MsgPreVote', m: msg({ type: MessageType.MsgPreVote, from: PEER, term: 6, logTerm: 5, index: 10 }), v: view() },
  { name: 'MsgPreVoteResp', m: msg({ type: MessageType.MsgPreVoteResp, from: PEER, term: 6 }), v: view({ role: Role.PreCandidate, lead: NONE }) },
];

/** Types only the leader of a term sends in it. */
const FROM_LEADER = [MessageType.MsgApp, MessageType.MsgHeartbeat, MessageType.MsgSnap, MessageType.MsgTimeoutNow, MessageType.MsgReadIndexResp];

/** A message of a leader-only type that is well formed for the default view (commit and index covered). */
function leaderOnly(type: MessageType, over: Partial<Message> = {}): Message {
  return msg({ type, index: 10, logTerm: 5, commit: 10, context: CTX, ...over });
}

describe('refusePeerBatch: who may send', () => {
  it('passes a legitimate message of every type members send each other', () => {
    for (const { name, m, v } of LEGIT) expect(check(m, v), name).toBeNull();
  });

  it('refuses a batch from a sender that is not a member of this cluster (any message in it)', () => {
    const hb = msg({ type: MessageType.MsgHeartbeat, commit: 1 });
    expect(refusePeerBatch([hb], STRANGER, view())).toBe('9f is not a member of this cluster');
    // even an empty batch: the sender alone is enough
    expect(refusePeerBatch([], STRANGER, view())).toBe('9f is not a member of this cluster');
    expect(refusePeerBatch([hb], LEADER, view())).toBeNull();
    expect(refusePeerBatch([], LEADER, view())).toBeNull();
  });

  it('refuses a batch claiming to come from this member itself', () => {
    expect(refusePeerBatch([msg({ type: MessageType.MsgHeartbeat, from: SELF })], SELF, view())).toBe('1 is not a member of this cluster');
  });

  it("refuses a message whose own sender is a stranger or this member, even in a member's batch", () => {
    // A forwarded read keeps its original requester as `from`, so `from` can differ from the
    // batch's sender; it must still name another member.
    const fwd = (from: NodeId): Message => msg({ type: MessageType.MsgReadIndex, from, term: 0, context: CTX });
    expect(refusePeerBatch([fwd(STRANGER)], PEER, leaderView())).toBe('MsgReadIndex from 9f (term 0): 9f is not a member of this cluster');
    expect(refusePeerBatch([msg({ type: MessageType.MsgHeartbeatResp, from: SELF })], PEER, leaderView())).toBe('MsgHeartbeatResp from 1 (term 5): 1 is not a member of this cluster');
    // the closest legitimate case: a read of member 2 forwarded to the leader by member 3
    expect(refusePeerBatch([fwd(LEADER)], PEER, leaderView())).toBeNull();
  });

  it('refuses a whole batch for one bad message, naming that message', () => {
    const good = msg({ type: MessageType.MsgHeartbeat, commit: 10 });
    const bad = msg({ type: MessageType.MsgHeartbeat, commit: 11 });
    expect(refusePeerBatch([good, good, bad, good], LEADER, view())).toBe("MsgHeartbeat from 2 (term 5): commit 11 is beyond this member's last index 10");
    expect(refusePeerBatch([good, good, good], LEADER, view())).toBeNull();
  });
});

describe('refusePeerBatch: types that never cross the wire', () => {
  it('refuses MsgProp: proposals are not forwarded between members', () => {
    expect(check(msg({ type: MessageType.MsgProp, entries: ents(11, 5) }))).toBe('MsgProp from 2 (term 5): this type is never sent between members');
    expect(check(msg({ type: MessageType.MsgProp, term: 0 }))).toMatch(/MsgProp .*never sent between members/);
  });

  it('refuses every local type, in any term', () => {
    for (const type of [MessageType.MsgHup, MessageType.MsgBeat, MessageType.MsgUnreachable, MessageType.MsgSnapStatus, MessageType.MsgCheckQuorum]) {
      for (const term of [0, 4, 5, 6]) {
        expect(check(msg({ type, term })), `${MessageType[type]} term ${term}`).toBe(`${MessageType[type]} from 2 (term ${term}): this type is never sent between members`);
      }
    }
  });

  it('refuses a type number raft does not know', () => {
    expect(check(msg({ type: 99 as MessageType }))).toBe('type 99 from 2 (term 5): this type is never sent between members');
  });
});

describe('refusePeerBatch: term 0', () => {
  it('refuses term 0 on every type but a forwarded MsgReadIndex (raft would treat it as local)', () => {
    const types = [...LEGIT.map((l) => l.m), leaderOnly(MessageType.MsgSnap)].filter((m) => m.type !== MessageType.MsgReadIndex);
    expect(types).toHaveLength(LEGIT.length); // every wire type but MsgReadIndex, MsgSnap included
    for (const m of types) {
      const v = LEGIT.find((l) => l.m.type === m.type)?.v ?? view();
      expect(check({ ...m, term: 0 }, v), MessageType[m.type]).toBe(`${MessageType[m.type]} from ${m.from.toString(16)} (term 0): term 0 is only for local messages`);
    }
  });

  it('passes a term-0 MsgReadIndex forwarded by a member, whatever the role or term of this member', () => {
    const read = msg({ type: MessageType.MsgReadIndex, from: PEER, term: 0, context: CTX });
    expect(check(read, leaderView())).toBeNull();
    // a leader that just lost its leadership may still get it: raft forwards or drops it
    expect(check(read, view({ term: 9 }))).toBeNull();
    expect(check(read, view({ role: Role.Candidate, lead: NONE }))).toBeNull();
  });

  it('refuses a MsgReadIndex with a term, or without a context', () => {
    expect(check(msg({ type: MessageType.MsgReadIndex, from: PEER, term: 5, context: CTX }), leaderView())).toBe(
      'MsgReadIndex from 3 (term 5): a forwarded read request carries no term',
    );
    expect(check(msg({ type: MessageType.MsgReadIndex, from: PEER, term: 0 }), leaderView())).toBe('MsgReadIndex from 3 (term 0): a read request needs a context');
    expect(check(msg({ type: MessageType.MsgReadIndex, from: PEER, term: 0, context: new Uint8Array(0) }), leaderView())).toMatch(/needs a context/);
  });
});

describe('refusePeerBatch: one leader per term (§5.2)', () => {
  it('refuses leader-only messages of the current term from a member that is not the leader this member follows', () => {
    for (const type of FROM_LEADER) {
      expect(check(leaderOnly(type, { from: PEER })), MessageType[type]).toBe(`${MessageType[type]} from 3 (term 5): 2 leads term 5`);
    }
  });

  it('refuses leader-only messages of the current term when this member leads it', () => {
    for (const type of FROM_LEADER) {
      for (const from of [LEADER, PEER]) {
        expect(check(leaderOnly(type, { from }), leaderView()), MessageType[type]).toBe(`${MessageType[type]} from ${from} (term 5): this member leads term 5`);
      }
    }
  });

  it('passes them from the leader this member follows', () => {
    for (const type of FROM_LEADER.filter((t) => t !== MessageType.MsgSnap)) expect(check(leaderOnly(type)), MessageType[type]).toBeNull();
  });

  it("passes a candidate's (or a leaderless follower's) MsgApp and heartbeat of the current term: it learns the leader from them", () => {
    for (const role of [Role.Candidate, Role.PreCandidate, Role.Follower]) {
      const v = view({ role, lead: NONE });
      expect(check(leaderOnly(MessageType.MsgApp, { from: PEER, entries: ents(11, 5) }), v), role).toBeNull();
      expect(check(leaderOnly(MessageType.MsgHeartbeat, { from: PEER }), v), role).toBeNull();
    }
  });

  it('passes leader-only messages of a newer term from another member (a new leader was elected)', () => {
    expect(check(leaderOnly(MessageType.MsgApp, { from: PEER, term: 6, entries: ents(11, 6) }))).toBeNull();
    expect(check(leaderOnly(MessageType.MsgHeartbeat, { from: PEER, term: 6 }))).toBeNull();
    expect(check(leaderOnly(MessageType.MsgReadIndexResp, { from: PEER, term: 6 }))).toBeNull();
    // this member led term 5; the leader of term 6 deposes it
    expect(check(leaderOnly(MessageType.MsgApp, { from: PEER, term: 6 }), leaderView())).toBeNull();
  });

  it('passes leader-only messages of an older term from anyone, even malformed ones: raft ignores them', () => {
    // MsgApp and heartbeats of an old term make raft tell the sender the newer term; a refusal
    // would keep a deposed leader from learning it.
    for (const type of FROM_LEADER.filter((t) => t !== MessageType.MsgSnap)) {
      expect(check(leaderOnly(type, { from: PEER, term: 4 })), MessageType[type]).toBeNull();
      expect(check(leaderOnly(type, { from: PEER, term: 4 }), leaderView()), MessageType[type]).toBeNull();
    }
    expect(check(msg({ type: MessageType.MsgHeartbeat, term: 4, commit: 1000 }))).toBeNull();
    expect(check(msg({ type: MessageType.MsgApp, term: 4, index: 3, logTerm: 9, entries: ents(7, 4, 2) }))).toBeNull();
  });

  it('passes the other types of the current term from any member, also when this member leads', () => {
    for (const from of [LEADER, PEER]) {
      expect(check(msg({ type: MessageType.MsgAppResp, from, index: 10 }), leaderView())).toBeNull();
      expect(check(msg({ type: MessageType.MsgHeartbeatResp, from }), leaderView())).toBeNull();
      expect(check(msg({ type: MessageType.MsgTransferLeader, from }), leaderView())).toBeNull();
      expect(check(msg({ type: MessageType.MsgVote, from, logTerm: 5, index: 10 }), view())).toBeNull();
    }
  });
});

describe('refusePeerBatch: MsgApp entries (§5.3)', () => {
  const app = (over: Partial<Message>): Message => msg({ type: MessageType.MsgApp, index: 10, logTerm: 3, commit: 10, ...over });

  it('passes contiguous entries whose terms never decrease, from the previous term up to the message term', () => {
    expect(check(app({ entries: ents(11, 3, 4, 4, 5) }))).toBeNull();
    expect(check(app({ entries: [] }))).toBeNull();
    // a probe beyond this log is legitimate: raft rejects it with a hint
    expect(check(app({ index: 500, logTerm: 5, entries: ents(501, 5) }))).toBeNull();
    // an append at the start of the log
    expect(check(app({ index: 0, logTerm: 0, entries: ents(1, 1, 5) }))).toBeNull();
  });

  it("refuses a previous entry's term newer than the message's term", () => {
    expect(check(app({ logTerm: 6, entries: [] }))).toBe("MsgApp from 2 (term 5): previous entry's term 6 is newer than the message's term");
    expect(check(app({ logTerm: 5, entries: [] }))).toBeNull();
  });

  it('refuses entries that are not contiguous after the append index', () => {
    expect(check(app({ entries: ents(12, 5) }))).toBe('MsgApp from 2 (term 5): entry 0 has index 12, expected 11');
    expect(check(app({ entries: [...ents(11, 5), ...ents(13, 5)] }))).toBe('MsgApp from 2 (term 5): entry 1 has index 13, expected 12');
    expect(check(app({ entries: [...ents(11, 5), ...ents(11, 5)] }))).toMatch(/entry 1 has index 11, expected 12/);
    expect(check(app({ entries: ents(10, 5) }))).toMatch(/entry 0 has index 10, expected 11/);
  });

  it('refuses entry terms that go backwards, fall below the previous entry, or exceed the message term', () => {
    expect(check(app({ entries: ents(11, 4, 3) }))).toBe('MsgApp from 2 (term 5): entry 12 has term 3 (previous 4, message 5)');
    expect(check(app({ logTerm: 4, entries: ents(11, 3) }))).toBe('MsgApp from 2 (term 5): entry 11 has term 3 (previous 4, message 5)');
    expect(check(app({ entries: ents(11, 5, 6) }))).toBe('MsgApp from 2 (term 5): entry 12 has term 6 (previous 5, message 5)');
    // the same terms in order, bounded by the message's term, pass
    expect(check(app({ entries: ents(11, 3, 4) }))).toBeNull();
    expect(check(app({ term: 6, entries: ents(11, 5, 6) }), view({ lead: NONE }))).toBeNull();
  });

  it('refuses indexes beyond 2^53', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(check(app({ index: max, logTerm: 5, entries: [{ term: 5, index: max + 1, type: EntryType.Normal, data: new Uint8Array(0) }] }))).toBe(
      'MsgApp from 2 (term 5): indexes beyond 2^53',
    );
    expect(check(app({ index: max - 1, logTerm: 5, entries: ents(max, 5) }))).toBeNull();
  });
});

describe('refusePeerBatch: heartbeats commit only what this member has', () => {
  const hb = (commit: number, over: Partial<Message> = {}): Message => msg({ type: MessageType.MsgHeartbeat, commit, ...over });
  const app = (index: number, n: number, over: Partial<Message> = {}): Message =>
    msg({ type: MessageType.MsgApp, index, logTerm: 5, entries: ents(index + 1, ...Array<number>(n).fill(5)), commit: 0, ...over });

  it("refuses a heartbeat committing beyond this member's last index, passes one up to it", () => {
    expect(check(hb(11))).toBe("MsgHeartbeat from 2 (term 5): commit 11 is beyond this member's last index 10");
    expect(check(hb(10))).toBeNull();
    expect(check(hb(0))).toBeNull();
  });

  it('refuses it in a newer term too (a new leader commits only what this member acknowledged)', () => {
    expect(check(hb(11, { from: PEER, term: 6 }))).toMatch(/commit 11 is beyond this member's last index 10/);
  });

  it('passes it when an append earlier in the same batch brings the entries it commits (checked on the live log, message by message)', () => {
    // A follower in term 5 whose log ends at 10 (term 5), following LEADER: each message is checked
    // after the ones before it were stepped, so the bound is what raft really holds.
    const follower = (): RawNode => {
      const disk = new MemoryStorage();
      disk.setConfState({ voters: [...MEMBERS], learners: [] });
      disk.append(ents(1, ...Array<number>(10).fill(5)));
      disk.setHardState({ term: 5, vote: LEADER, commit: 0 });
      return new RawNode({ id: SELF, storage: disk, random: () => 0.5 });
    };
    const run = (batch: Message[]): string | null => {
      const rn = follower();
      return refusePeerBatch(batch, LEADER, viewOf(rn, MEMBERS), (m) => rn.step(m));
    };
    expect(run([app(10, 3), hb(13)])).toBeNull();
    // two appends, the second one overlapping: the log reaches the furthest of them
    expect(run([app(10, 5), app(12, 1), hb(15)])).toBeNull();
    expect(run([app(10, 3), hb(14)])).toMatch(/commit 14 is beyond this member's last index 13/);
  });

  it('refuses it when the append comes after it in the batch, or is of an older term (raft ignores that one)', () => {
    expect(refusePeerBatch([hb(13), app(10, 3)], LEADER, view())).toMatch(/MsgHeartbeat .*commit 13 is beyond this member's last index 10/);
    const staleApp = app(10, 3, { term: 4, logTerm: 4, entries: ents(11, 4, 4, 4) });
    expect(refusePeerBatch([staleApp, hb(13)], LEADER, view())).toMatch(/commit 13 is beyond this member's last index 10/);
  });

  it('stops at the first refused message: it and the rest are not stepped, the ones before it are', () => {
    const stepped: MessageType[] = [];
    const why = refusePeerBatch([hb(3), hb(13), hb(4)], LEADER, view(), (m) => stepped.push(m.type));
    expect(why).toMatch(/commit 13/);
    expect(stepped).toEqual([MessageType.MsgHeartbeat]);
  });
});

describe('refusePeerBatch: what the other leader-only types must carry', () => {
  it('refuses a MsgTimeoutNow of a newer term: only the leader of this term hands leadership over', () => {
    expect(check(msg({ type: MessageType.MsgTimeoutNow, term: 6 }))).toBe("MsgTimeoutNow from 2 (term 6): a leadership transfer comes from the leader of this member's term");
    expect(check(msg({ type: MessageType.MsgTimeoutNow, term: 6, from: PEER }), view({ lead: NONE }))).toMatch(/leadership transfer/);
    expect(check(msg({ type: MessageType.MsgTimeoutNow, term: 5 }))).toBeNull();
    // a leaderless follower of term 5 may get it from the leader it has not heard of yet
    expect(check(msg({ type: MessageType.MsgTimeoutNow, term: 5, from: PEER }), view({ lead: NONE }))).toBeNull();
  });

  it('refuses a read answer without a context', () => {
    expect(check(msg({ type: MessageType.MsgReadIndexResp, index: 9 }))).toBe('MsgReadIndexResp from 2 (term 5): a read answer needs a context');
    expect(check(msg({ type: MessageType.MsgReadIndexResp, index: 9, context: new Uint8Array(0) }))).toMatch(/needs a context/);
    expect(check(msg({ type: MessageType.MsgReadIndexResp, index: 9, context: CTX }))).toBeNull();
  });

  it('refuses a snapshot whose metadata cannot be or whose data the state machine cannot install; passes a good one', () => {
    const snap = (index: number, data: Uint8Array, over: Partial<Message> = {}, meta: { term?: number; voters?: bigint[] } = {}): Message =>
      msg({ type: MessageType.MsgSnap, snapshot: { data, metadata: { index, term: meta.term ?? 5, confState: { voters: meta.voters ?? [1n, 2n, 3n], learners: [] } } }, ...over });
    expect(check(snap(8, snapData(8)))).toBeNull();
    expect(check(snap(8, Uint8Array.of(1, 2, 3)))).toBe('MsgSnap from 2 (term 5): the snapshot\'s data cannot be installed: not a snapshot at 8');
    expect(check(snap(8, snapData(9)))).toMatch(/not a snapshot at 8/);
    expect(check(snap(0, snapData(0)))).toMatch(/index 0, term 5 cannot be/);
    expect(check(snap(8, snapData(8), {}, { term: 6 }))).toMatch(/term 6 cannot come in term 5/);
    expect(check(snap(8, snapData(8), {}, { voters: [] }))).toMatch(/without voters/);
    // a member this one does not know yet is fine (it was added since: the snapshot brings it);
    // a snapshot whose voters leave out its own sender cannot come from the leader
    expect(check(snap(8, snapData(8), {}, { voters: [1n, 2n, 99n] }))).toBeNull();
    expect(check(snap(8, snapData(8), {}, { voters: [1n, 3n, 99n] }))).toMatch(/voters do not include its sender 2/);
    // still only from the leader of this term
    expect(check(snap(8, snapData(8), { from: PEER }))).toMatch(/leads term 5/);
    // raft ignores a snapshot at or below its commit index (or of an older term): no decoding
    expect(check(snap(6, Uint8Array.of(1)))).toBeNull();
    expect(check(snap(8, Uint8Array.of(1), { term: 4 }, { term: 4 }))).toBeNull();
    expect(refusePeerBatch([msg({ type: MessageType.MsgHeartbeat, commit: 1 }), snap(8, Uint8Array.of(1))], LEADER, view())).toMatch(/^MsgSnap .*cannot be installed/);
  });
});

describe('refusePeerBatch: acknowledgements and rejections', () => {
  const resp = (over: Partial<Message>): Message => msg({ type: MessageType.MsgAppResp, from: PEER, ...over });

  it("refuses an acknowledgement beyond the leader's last index, passes one up to it", () => {
    expect(check(resp({ index: 11 }), leaderView())).toBe("MsgAppResp from 3 (term 5): acknowledges index 11, beyond this leader's last index 10");
    expect(check(resp({ index: 10 }), leaderView())).toBeNull();
    expect(check(resp({ index: 0 }), leaderView())).toBeNull();
  });

  it('passes acknowledgements the leader cannot check: not leading, another term, or a rejection', () => {
    // a follower or candidate ignores MsgAppResp of its term; an older term is stale
    expect(check(resp({ index: 50 }), view())).toBeNull();
    expect(check(resp({ index: 50 }), view({ role: Role.Candidate, lead: NONE }))).toBeNull();
    expect(check(resp({ index: 50, term: 4 }), leaderView())).toBeNull();
    // a newer term deposes this leader (raft answers an old leader's append with its term and index 0)
    expect(check(resp({ index: 0, term: 6 }), leaderView())).toBeNull();
    // a rejection is only checked for its hint (the leader ignores one that answers no probe of its)
    expect(check(resp({ index: 50, reject: true, rejectHint: 7 }), leaderView())).toBeNull();
  });

  it('refuses a reject hint beyond the rejected index, in any role', () => {
    expect(check(resp({ index: 7, reject: true, rejectHint: 8 }), leaderView())).toBe('MsgAppResp from 3 (term 5): reject hint 8 is beyond the rejected index 7');
    expect(check(resp({ index: 7, reject: true, rejectHint: 8 }), view())).toMatch(/reject hint 8 is beyond the rejected index 7/);
    expect(check(resp({ index: 7, reject: true, rejectHint: 7, logTermHint: 4 }), leaderView())).toBeNull();
    // without `reject` the hint means nothing
    expect(check(resp({ index: 7, rejectHint: 8 }), leaderView())).toBeNull();
  });
});

describe('refusePeerBatch: vote requests and entries on types that carry none', () => {
  it("refuses a vote request whose last log term is newer than the candidate's term", () => {
    expect(check(msg({ type: MessageType.MsgVote, from: PEER, term: 6, logTerm: 7, index: 12 }))).toBe("MsgVote from 3 (term 6): the candidate's last log term 7 is newer than its term 6");
    expect(check(msg({ type: MessageType.MsgPreVote, from: PEER, term: 6, logTerm: 7, index: 12 }))).toMatch(/MsgPreVote .*last log term 7 is newer than its term 6/);
    // equal terms pass (a candidate that led before, or a pre-vote for the next term)
    expect(check(msg({ type: MessageType.MsgVote, from: PEER, term: 6, logTerm: 6, index: 12 }))).toBeNull();
    expect(check(msg({ type: MessageType.MsgPreVote, from: PEER, term: 6, logTerm: 5, index: 12 }))).toBeNull();
  });

  it('passes vote requests of the current term and from a candidate far behind (raft denies them)', () => {
    expect(check(msg({ type: MessageType.MsgVote, from: PEER, term: 5, logTerm: 2, index: 3 }))).toBeNull();
    expect(check(msg({ type: MessageType.MsgPreVote, from: PEER, term: 3, logTerm: 1, index: 1 }))).toBeNull();
  });

  it('refuses a vote request with entries', () => {
    for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
      expect(check(msg({ type, from: PEER, term: 6, logTerm: 5, index: 10, entries: ents(11, 5) })), MessageType[type]).toBe(
        `${MessageType[type]} from 3 (term 6): only an append carries entries`,
      );
    }
  });

  it('refuses entries on answers and transfer requests', () => {
    const cases: [MessageType, GuardView][] = [
      [MessageType.MsgVoteResp, view({ role: Role.Candidate, lead: NONE })],
      [MessageType.MsgPreVoteResp, view({ role: Role.PreCandidate, lead: NONE })],
      [MessageType.MsgHeartbeatResp, leaderView()],
      [MessageType.MsgTransferLeader, leaderView()],
    ];
    for (const [type, v] of cases) {
      const m = msg({ type, from: PEER, term: type === MessageType.MsgPreVoteResp ? 6 : 5 });
      expect(check(m, v), MessageType[type]).toBeNull();
      expect(check({ ...m, entries: ents(11, 5) }, v), MessageType[type]).toBe(`${MessageType[type]} from 3 (term ${m.term}): only an append carries entries`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Legitimate traffic never refused

/** The guard's view of a RawNode, read the way the member reads its raft. */
/** The member's own live view of a node (its fields are read at each check). */
function viewOf(rn: RawNode, members: ReadonlySet<NodeId>): GuardView {
  return raftGuardView(rn.id, members, rn.raft, () => null);
}


interface GuardedRun {
  /** Messages checked one by one at delivery. */
  checked: number;
  /** Messages of one Ready to one peer, checked together when the first of them is delivered. */
  batches: number;
  byType: Map<string, number>;
  refused: { where: string; why: string }[];
}

/**
 * One random schedule on the simulator (test/sim/cluster.ts, no log compaction: this member
 * cannot install snapshots) with every delivered message checked by the guard before raft steps it.
 * The hooks wrap each incarnation's RawNode: ready() records who produced each message (the
 * batch's sender; a forwarded read's `from` is another member) and its Ready-and-recipient group,
 * step() checks the message, and the first delivered message of a group checks the whole group as
 * one batch (as the transport sends a Ready's messages to a peer together).
 */
function runGuarded(seed: number, nodes: number, steps: number): GuardedRun {
  const rng = new Rng(deriveSeed(seed, 991));
  const cluster = new Cluster({
    nodes,
    seed,
    compactEveryEntries: 0,
    // raft's own structural checks are sim.test.ts's business; the safety checker still runs
    checkInvariants: false,
    maxDelayMs: rng.pick([5, 10, 30]),
    diskMaxMs: rng.pick([0, 2, 10]),
    maxInflightMsgs: rng.pick([4, 64]),
    maxSizePerMsgBytes: rng.pick([64, 4096]),
  });
  const workload = new Workload(cluster);
  const run: GuardedRun = { checked: 0, batches: 0, byType: new Map(), refused: [] };
  const producer = new WeakMap<Message, NodeId>();
  const groupOf = new WeakMap<Message, Message[]>();
  const groupsChecked = new WeakSet<Message[]>();
  const wrapped = new WeakSet<RawNode>();
  const members = new Set(cluster.ids);
  const group = (from: NodeId, msgs: readonly Message[]): void => {
    const byTo = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      producer.set(m, from);
      let g = byTo.get(m.to);
      if (g === undefined) byTo.set(m.to, (g = []));
      g.push(m);
      groupOf.set(m, g);
    }
  };
  const instrument = (): void => {
    for (const node of cluster.nodes) {
      const rn = node.rn;
      if (rn === undefined || wrapped.has(rn)) continue;
      wrapped.add(rn);
      const ready = rn.ready.bind(rn);
      rn.ready = (): Ready => {
        const rd = ready();
        group(node.id, rd.messages);
        group(node.id, rd.messagesAfterPersist);
        return rd;
      };
      const step = rn.step.bind(rn);
      rn.step = (m: Message): boolean => {
        const v = viewOf(rn, members);
        const sender = producer.get(m) ?? m.from;
        const where = (): string => `seed ${seed} (${nodes} nodes) t=${cluster.nowMs}ms ${sender}->${node.id} [${v.role} term=${v.term} lead=${v.lead} last=${v.lastIndex}]`;
        const why = refusePeerBatch([m], sender, v);
        run.checked++;
        const t = MessageType[m.type] ?? String(m.type);
        run.byType.set(t, (run.byType.get(t) ?? 0) + 1);
        if (why !== null) run.refused.push({ where: where(), why });
        const g = groupOf.get(m);
        if (g !== undefined && g.length > 1 && !groupsChecked.has(g)) {
          groupsChecked.add(g);
          run.batches++;
          const whyBatch = refusePeerBatch(g, sender, v);
          if (whyBatch !== null) run.refused.push({ where: `${where()} batch of ${g.length}`, why: whyBatch });
        }
        return step(m);
      };
    }
  };
  instrument();
  const ids = cluster.ids;
  const restartAt = new Map<NodeId, number>();
  const crashForAWhile = (id: NodeId, s: number): void => {
    cluster.crash(id);
    workload.onCrash(id);
    restartAt.set(id, s + rng.int(1, 30));
  };
  for (let s = 0; s < steps; s++) {
    for (const [id, at] of restartAt) {
      if (at <= s) {
        restartAt.delete(id);
        cluster.start(id);
      }
    }
    instrument();
    workload.sweepLost();
    const alive = ids.filter((id) => cluster.node(id).alive);
    if (alive.length > 0) {
      if (rng.chance(0.6)) workload.newValues(rng.int(1, 3));
      workload.proposePending(rng.pick(alive));
      if (rng.chance(0.3)) workload.read(rng.pick(alive));
      if (rng.chance(0.02)) crashForAWhile(rng.pick(alive), s);
      const leader = cluster.leaders()[0];
      if (leader !== undefined && rng.chance(0.01)) crashForAWhile(leader.id, s);
      else if (leader !== undefined && rng.chance(0.02)) {
        const to = rng.pick(ids.filter((id) => id !== leader.id));
        cluster.withNode(leader.id, (rn) => rn.transferLeader(to));
      }
    }
    if (rng.chance(0.02)) {
      const shuffled = rng.shuffle([...ids]);
      const cut = rng.int(1, ids.length - 1);
      cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    }
    if (rng.chance(0.01)) {
      const from = rng.pick(ids);
      cluster.cutLink(from, rng.pick(ids.filter((id) => id !== from)));
    }
    if (rng.chance(0.05)) cluster.healLinks();
    if (rng.chance(0.03)) {
      cluster.setReliable(rng.chance(0.5));
      cluster.setLongReordering(rng.chance(0.2));
    }
    cluster.runFor(cluster.tickMs);
  }
  // Heal everything and let the cluster settle (catch-up traffic after partitions).
  cluster.healLinks();
  for (const id of ids) cluster.start(id);
  instrument();
  cluster.setReliable(true);
  cluster.setLongReordering(false);
  for (let s = 0; s < 100; s++) {
    workload.sweepLost();
    workload.proposePending(cluster.leaders()[0]?.id ?? rng.pick(ids));
    if (rng.chance(0.3)) workload.read(rng.pick(ids));
    cluster.runFor(cluster.tickMs);
  }
  return run;
}

/** Schedules per cluster size (PEER_GUARD_SEEDS=N for more). */
const SEEDS = Number(process.env['PEER_GUARD_SEEDS'] ?? 8);

describe('refusePeerBatch on legitimate traffic', () => {
  it('refuses nothing raft members send each other (simulated clusters with crashes, partitions, transfers, reads)', () => {
    const total: GuardedRun = { checked: 0, batches: 0, byType: new Map(), refused: [] };
    for (const nodes of [3, 5]) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runGuarded(seed * 13 + nodes, nodes, 300);
        total.checked += r.checked;
        total.batches += r.batches;
        for (const [t, n] of r.byType) total.byType.set(t, (total.byType.get(t) ?? 0) + n);
        total.refused.push(...r.refused);
      }
    }
    expect(total.refused.map((x) => `${x.where}: ${x.why}`)).toEqual([]);
    // The schedules exercised every type members send (MsgSnap aside: no compaction here).
    expect(total.checked).toBeGreaterThan(50_000);
    expect(total.batches).toBeGreaterThan(1_000);
    for (const type of LEGIT.map((l) => l.name).filter((t) => t !== 'MsgTransferLeader')) {
      expect(total.byType.get(type) ?? 0, type).toBeGreaterThan(0);
    }
  }, Math.max(20_000, SEEDS * 2_000));
});

// ---------------------------------------------------------------------------------------------
// Two bugs this file found in the guard's first version (now fixed; the tests keep them fixed).

/** A tiny synchronous cluster of RawNodes: every Ready is persisted and its messages queued. */
class MiniNet {
  readonly nodes = new Map<NodeId, { rn: RawNode; disk: MemoryStorage }>();
  /** Messages sent and not yet delivered, with the member that sent them. */
  queue: { sender: NodeId; m: Message }[] = [];
  /** What the guard refused (and so was not stepped), as `sender->receiver: reason`. */
  readonly refusals: string[] = [];
  readonly members: ReadonlySet<NodeId>;

  constructor(ids: NodeId[]) {
    this.members = new Set(ids);
    for (const id of ids) {
      const disk = new MemoryStorage();
      disk.setConfState({ voters: ids, learners: [] });
      this.nodes.set(id, { rn: new RawNode({ id, storage: disk, random: mulberry32(Number(id)), preVote: true, checkQuorum: true }), disk });
    }
  }

  rn(id: NodeId): RawNode {
    return (this.nodes.get(id) as { rn: RawNode }).rn;
  }

  /** Takes every node's Ready, persists it and queues its messages. */
  private flush(): void {
    for (;;) {
      let any = false;
      for (const [id, { rn, disk }] of this.nodes) {
        if (!rn.hasReady()) continue;
        any = true;
        const rd = rn.ready();
        if (rd.hardState !== undefined) disk.setHardState(rd.hardState);
        if (rd.entries.length > 0) disk.append(rd.entries);
        for (const m of [...rd.messages, ...rd.messagesAfterPersist]) this.queue.push({ sender: id, m });
        rn.advance(rd);
      }
      if (!any) return;
    }
  }

  /**
   * Delivers, each message through the guard as a batch of its own (a refused one is dropped, as
   * the member drops it), until nothing is left but what `hold` keeps back; returns that.
   */
  run(hold: (m: Message) => boolean = () => false): { sender: NodeId; m: Message }[] {
    const held: { sender: NodeId; m: Message }[] = [];
    for (let rounds = 0; rounds < 1000; rounds++) {
      this.flush();
      const q = this.queue;
      if (q.length === 0) return held;
      this.queue = [];
      for (const item of q) {
        if (hold(item.m)) {
          held.push(item);
          continue;
        }
        const rn = this.rn(item.m.to);
        const why = refusePeerBatch([item.m], item.sender, viewOf(rn, this.members), (m) => rn.step(m));
        if (why !== null) this.refusals.push(`${item.sender}->${item.m.to}: ${why}`);
      }
    }
    throw new Error('MiniNet: no quiescence');
  }
}

/**
 * Member 2 asks leader 1 for a read; before the request arrives, 1 hands leadership to 2. Member 1,
 * now following 2, forwards the read to its leader keeping the requester as `from`: member 2
 * receives its own read request in member 1's batch.
 */
function readArrivingAfterTransfer(): { net: MiniNet; read: { sender: NodeId; m: Message }[]; whenItArrives: string } {
  const net = new MiniNet([1n, 2n, 3n]);
  net.rn(1n).campaign();
  net.run();
  net.rn(2n).readIndex(CTX);
  const read = net.run((m) => m.type === MessageType.MsgReadIndex);
  net.rn(1n).transferLeader(2n);
  net.run();
  const whenItArrives = `1: ${net.rn(1n).role} of ${net.rn(1n).leaderId}, 2: ${net.rn(2n).role}`;
  net.queue.push(...read);
  net.run();
  return { net, read, whenItArrives };
}

describe('refusePeerBatch: found by the tests above', () => {
  it('(the scenario of the next test) a read request reaches the old leader after it handed leadership to the requester', () => {
    const { net, read, whenItArrives } = readArrivingAfterTransfer();
    expect(read.map((r) => [r.sender, r.m.from, r.m.to, r.m.term])).toEqual([[2n, 2n, 1n, 0]]);
    expect(whenItArrives).toBe(`1: ${Role.Follower} of 2, 2: ${Role.Leader}`);
    // every message of the election and replication passed the guard
    expect(net.refusals).toEqual([]);
  });

  // Member 1 forwards the read to its leader keeping the requester as `from` (as raft's follower
  // forwards every read), so member 2 gets `MsgReadIndex from 2` in member 1's batch. The first
  // guard refused the WHOLE batch for it (acks in it lost, a 400 for two well-behaved members); raft
  // drops that one message itself.
  it('refuses nothing in that scenario', () => {
    const { net } = readArrivingAfterTransfer();
    expect(net.refusals).toEqual([]);
  });

  // The first guard counted an append earlier in the batch toward a heartbeat's commit bound even
  // when raft rejected that append: raft then committed beyond its last index and the member stopped.
  it('never lets through a batch that makes raft throw: a heartbeat committing entries of an append raft rejects', () => {
    const disk = new MemoryStorage();
    disk.setConfState({ voters: [1n, 2n, 3n], learners: [] });
    disk.append(ents(1, ...Array<number>(10).fill(1))); // indexes 1..10, term 1
    disk.setHardState({ term: 5, vote: 0n, commit: 0 });
    const rn = new RawNode({ id: SELF, storage: disk, random: () => 0.5 });
    const batch = [
      msg({ type: MessageType.MsgApp, from: PEER, term: 6, index: 50, logTerm: 6, entries: ents(51, 6, 6), commit: 0 }),
      msg({ type: MessageType.MsgHeartbeat, from: PEER, term: 6, commit: 52 }),
    ];
    let why: string | null = null;
    expect(() => {
      why = refusePeerBatch(batch, PEER, viewOf(rn, MEMBERS), (m) => rn.step(m));
    }).not.toThrow(RaftInvariantError);
    expect(why).toMatch(/commit 52 is beyond this member's last index 10/);
  });
});
