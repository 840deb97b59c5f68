// The RawNode contract the member runtime codes against: the Ready cycle (persist, then send,
// then apply, then advance), typed refusals with a leader hint, restart from storage, peer input
// validation, status, and the snapshot seam (a leader whose log is compacted sends MsgSnap).
import { describe, expect, it } from 'vitest';
import {
  EntryType,
  MemoryStorage,
  MessageType,
  NONE,
  ProposalDroppedError,
  RaftConfigError,
  RawNode,
  ReadIndexDroppedError,
  Role,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready,
} from '../../src/raft/index.js';
import { mulberry32 } from '../sim/prng.js';
import { msg } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Member {
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readCtxs: string[];
}

function newMember(id: NodeId, peers: NodeId[], opts: Partial<RaftConfig> = {}, storage = new MemoryStorage()): Member {
  if (storage.initialState().confState.voters.length === 0) storage.setConfState({ voters: peers, learners: [] });
  const rn = new RawNode({ id, storage, random: mulberry32(Number(id) * 101), checkQuorum: true, preVote: true, ...opts });
  return { rn, storage, applied: [], readCtxs: [] };
}

/** The runtime's loop body: persist, send (into outbox), apply, advance. */
function handleReady(m: Member, outbox: Message[]): Ready {
  const rd = m.rn.ready();
  if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
  if (rd.snapshot !== undefined) {
    m.storage.applySnapshot(rd.snapshot);
    m.applied = JSON.parse(dec(rd.snapshot.data)) as Entry[];
  }
  m.storage.append(rd.entries);
  outbox.push(...rd.messages, ...rd.messagesAfterPersist);
  for (const e of rd.committedEntries) if (e.data.length > 0) m.applied.push(e);
  for (const rs of rd.readStates) m.readCtxs.push(`${dec(rs.requestCtx)}@${rs.index}`);
  m.rn.advance(rd);
  return rd;
}

class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly down = new Set<NodeId>();
  constructor(n: number, opts: Partial<RaftConfig> = {}) {
    const ids = Array.from({ length: n }, (_, i) => BigInt(i + 1));
    for (const id of ids) this.members.set(id, newMember(id, ids, opts));
  }
  m(id: NodeId): Member {
    return this.members.get(id) as Member;
  }
  /** Processes Readys and delivers messages until the cluster is quiet. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      const outbox: Message[] = [];
      for (const [id, m] of this.members) while (!this.down.has(id) && m.rn.hasReady()) handleReady(m, outbox);
      if (outbox.length === 0) return;
      for (const msg of outbox) if (!this.down.has(msg.to) && !this.down.has(msg.from)) this.m(msg.to).rn.step(msg);
    }
    throw new Error('cluster did not settle');
  }
  elect(id: NodeId): void {
    this.m(id).rn.campaign();
    this.settle();
    expect(this.m(id).rn.role).toBe(Role.Leader);
  }
}

describe('RawNode', () => {
  it('validates its configuration', () => {
    const storage = new MemoryStorage();
    expect(() => new RawNode({ id: 0n, storage, peers: [1n], random: Math.random })).toThrow(RaftConfigError);
    expect(() => new RawNode({ id: 1n, storage, peers: [1n], electionTicks: 1, heartbeatTicks: 1, random: Math.random })).toThrow(RaftConfigError);
    // No peers and an empty storage: a member that joins a running cluster (no voters until it learns them).
    expect(new RawNode({ id: 1n, storage, random: Math.random }).confState()).toEqual({ voters: [], learners: [] });
  });

  it('a Ready carries the state to persist with its messages; the vote is counted after advance', () => {
    const m = newMember(1n, [1n, 2n, 3n], { preVote: false });
    m.rn.campaign();
    expect(m.rn.hasReady()).toBe(true);
    const rd = m.rn.ready();
    expect(rd.softState).toEqual({ lead: NONE, role: Role.Candidate });
    expect(rd.hardState).toEqual({ term: 1, vote: 1n, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((x) => [x.type, x.to])).toEqual([
      [MessageType.MsgVote, 2n],
      [MessageType.MsgVote, 3n],
    ]);
    // Nothing more until this Ready is advanced.
    expect(m.rn.hasReady()).toBe(false);
    expect(() => m.rn.ready()).toThrow(/before advance/);
    m.storage.setHardState(rd.hardState ?? { term: 0, vote: 0n, commit: 0 });
    m.rn.advance(rd);
    expect(m.rn.raft.tracker.votes.get(1n)).toBe(true);
  });

  it('commits, applies in order, and reports commit-only changes without a sync', () => {
    const c = new Cluster(3);
    c.elect(1n);
    const leader = c.m(1n);
    const tickets = ['a', 'b', 'c'].map((s) => leader.rn.propose(enc(s)));
    expect(tickets.map((t) => t.index)).toEqual([2, 3, 4]);
    expect(new Set(tickets.map((t) => t.term))).toEqual(new Set([leader.rn.term]));
    c.settle();
    for (const id of [1n, 2n, 3n]) expect(c.m(id).applied.map((e) => dec(e.data))).toEqual(['a', 'b', 'c']);
    expect(leader.rn.commitIndex).toBe(4);
    expect(leader.rn.appliedIndex).toBe(4);
    // A heartbeat that only moves the follower's commit index needs no fsync.
    leader.rn.propose(enc('d'));
    const outbox: Message[] = [];
    handleReady(leader, outbox);
    for (const msg of outbox) c.m(msg.to).rn.step(msg);
    const f = c.m(2n);
    const rd = handleReady(f, []);
    expect(rd.mustSync).toBe(true); // entries to append
  });

  it('refuses proposals off the leader with the leader’s id, and without one with none', () => {
    const c = new Cluster(3);
    expect(() => c.m(2n).rn.propose(enc('x'))).toThrow(ProposalDroppedError);
    try {
      c.m(2n).rn.propose(enc('x'));
    } catch (e) {
      expect((e as ProposalDroppedError).reason).toBe('no-leader');
      expect((e as ProposalDroppedError).leaderId).toBe(NONE);
      expect((e as ProposalDroppedError).code).toBe('ProposalDropped');
    }
    c.elect(1n);
    try {
      c.m(2n).rn.propose(enc('x'));
      expect.unreachable();
    } catch (e) {
      expect((e as ProposalDroppedError).reason).toBe('not-leader');
      expect((e as ProposalDroppedError).leaderId).toBe(1n);
    }
  });

  it('refuses proposals beyond maxUncommittedEntriesBytes and accepts again once they apply', () => {
    const c = new Cluster(3, { maxUncommittedEntriesBytes: 1000 });
    c.elect(1n);
    const leader = c.m(1n).rn;
    c.down.add(2n);
    c.down.add(3n);
    leader.propose(new Uint8Array(600));
    leader.propose(new Uint8Array(400));
    try {
      leader.propose(new Uint8Array(1));
      expect.unreachable();
    } catch (e) {
      expect((e as ProposalDroppedError).reason).toBe('uncommitted-limit');
      expect((e as ProposalDroppedError).leaderId).toBe(1n);
    }
    c.down.clear();
    c.m(1n).rn.tick();
    c.settle();
    expect(() => leader.propose(new Uint8Array(1))).not.toThrow();
  });

  it('serves ReadIndex on the leader and through a follower', () => {
    const c = new Cluster(3);
    c.elect(1n);
    c.m(1n).rn.propose(enc('w'));
    c.settle();
    c.m(1n).rn.readIndex(enc('L1'));
    c.m(3n).rn.readIndex(enc('F3'));
    c.settle();
    expect(c.m(1n).readCtxs).toEqual([`L1@${c.m(1n).rn.commitIndex}`]);
    expect(c.m(3n).readCtxs).toEqual([`F3@${c.m(1n).rn.commitIndex}`]);
    expect(() => new Cluster(3).m(1n).rn.readIndex(enc('x'))).toThrow(ReadIndexDroppedError);
  });

  it('restarts from storage: term, vote and log survive, committed entries are re-applied after `applied`', () => {
    const c = new Cluster(3);
    c.elect(1n);
    for (const s of ['a', 'b', 'c']) c.m(1n).rn.propose(enc(s));
    c.settle();
    const old = c.m(2n);
    const term = old.rn.term;
    const restarted = new RawNode({ id: 2n, storage: old.storage, random: mulberry32(7), applied: 2 });
    expect(restarted.term).toBe(term);
    expect(restarted.raft.vote).toBe(old.rn.raft.vote);
    expect(restarted.commitIndex).toBe(old.rn.commitIndex);
    expect(restarted.role).toBe(Role.Follower);
    const rd = restarted.ready();
    // Entries after `applied` come back for application; nothing to persist again.
    expect(rd.committedEntries.map((e) => dec(e.data))).toEqual(['b', 'c']);
    expect(rd.entries).toEqual([]);
  });

  it('drops messages a peer should never send', () => {
    const c = new Cluster(3);
    const rn = c.m(1n).rn;
    const base = msg({ type: MessageType.MsgHeartbeat, to: 1n, from: 2n, term: 1 });
    expect(rn.step({ ...base, type: MessageType.MsgHup })).toBe(false); // local only
    expect(rn.step({ ...base, to: 3n })).toBe(false); // not for us
    expect(rn.step({ ...base, type: MessageType.MsgAppResp, from: 9n })).toBe(false); // unknown peer
    const bad: Entry = { term: 1, index: 5, type: EntryType.Normal, data: enc('x') };
    expect(rn.step({ ...base, type: MessageType.MsgApp, index: 0, entries: [bad] })).toBe(false); // gap
    expect(rn.step({ ...base, type: MessageType.MsgApp, term: 1, index: 0, entries: [{ ...bad, index: 1, term: 2 }] })).toBe(false); // entry term > message term
    expect(rn.step(base)).toBe(true);
    expect(rn.leaderId).toBe(2n);
  });

  it('reports status, with per-peer progress on the leader', () => {
    const c = new Cluster(3);
    c.elect(2n);
    const s = c.m(2n).rn.status();
    expect(s).toMatchObject({ id: 2n, role: Role.Leader, lead: 2n, commit: 1, applied: 1 });
    expect(s.progress.map((p) => [p.id, p.match])).toEqual([
      [1n, 1],
      [2n, 1],
      [3n, 1],
    ]);
    expect(c.m(1n).rn.status().progress).toEqual([]);
  });

  it('an unreachable peer goes back to probing', () => {
    const c = new Cluster(3);
    c.elect(1n);
    c.m(1n).rn.propose(enc('x'));
    c.settle();
    expect(c.m(1n).rn.status().progress.find((p) => p.id === 2n)?.state).toBe('replicate');
    c.m(1n).rn.reportUnreachable(2n);
    expect(c.m(1n).rn.status().progress.find((p) => p.id === 2n)?.state).toBe('probe');
  });

  it('a leader whose log is compacted sends the follower a snapshot, and replication resumes', () => {
    const c = new Cluster(3);
    c.elect(1n);
    c.down.add(3n);
    for (let i = 0; i < 10; i++) c.m(1n).rn.propose(enc(`v${i}`));
    c.settle();
    // The leader snapshots its state machine and compacts its log.
    const leader = c.m(1n);
    const applied = leader.rn.appliedIndex;
    leader.storage.createSnapshot(applied, undefined, enc(JSON.stringify(leader.applied.map((e) => ({ ...e, data: Array.from(e.data) })))));
    leader.storage.compact(applied);
    c.down.delete(3n);
    // Make node 3 recently active so the leader may send it a snapshot.
    leader.rn.tick();
    c.settle();
    const f = c.m(3n);
    expect(f.rn.commitIndex).toBe(leader.rn.commitIndex);
    expect(f.storage.snapshot().metadata.index).toBe(applied);
    expect(f.rn.appliedIndex).toBeGreaterThanOrEqual(applied);
    leader.rn.reportSnapshot(3n, 'finish');
    leader.rn.propose(enc('after'));
    c.settle();
    expect(f.rn.commitIndex).toBe(leader.rn.commitIndex);
    expect(dec(f.applied.at(-1)?.data ?? new Uint8Array())).toBe('after');
  });
});
