// RawNode: the API the member runtime drives (etcd-io/raft rawnode.go, synchronous-storage mode).
//
// The runtime owns the only thread of control. A typical loop:
//
//   const node = new RawNode({ id, peers, storage, random });
//   every tickMs:           node.tick();
//   on a peer message:      node.step(msg);
//   on a client write:      const { index, term } = node.propose(data);   // or ProposalDroppedError
//   on a quorum read:       node.readIndex(uniqueCtx);                    // answered in a Ready
//   whenever node.hasReady():
//     const rd = node.ready();
//     0. rd.messages may be sent at once, in parallel with the write of step 1 (thesis §10.2.1:
//        the leader replicates while it writes to its own disk; it counts its own entries only
//        after advance(), i.e. once they are durable);
//     1. persist rd.snapshot (if any), rd.entries and rd.hardState in ONE atomic write, fsync if
//        rd.mustSync, then mirror them into the MemoryStorage raft reads from (applySnapshot, then
//        append, setHardState); a snapshot also replaces the state machine;
//     2. only then send rd.messagesAfterPersist (the acks and votes that promise durable state);
//     3. apply rd.committedEntries in order (a proposal made at (index, term) committed iff the
//        entry applied at `index` has that term; otherwise it was lost and may be retried);
//        serve rd.readStates once applied >= readState.index;
//     4. node.advance(rd).
//
// tick/step/propose/readIndex may be called between ready() and advance() (e.g. while the write of
// step 1 is in flight): their effects come out in the next Ready, which must be persisted after
// this one. hasReady() is false while a Ready is outstanding.
import {
  isNodeId,
  EntryType,
  isEmptyHardState,
  isLocalMessage,
  isResponseMessage,
  MessageType,
  NONE,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Snapshot,
} from './messages.js';
import { assert } from './assert.js';
import { resolveConfig, type RaftConfig } from './config.js';
import { entriesSizeBytes, payloadBytes } from './log.js';
import { localMessage, Raft, type ProposalTicket } from './raft.js';
import { Role, type ReadState, type SoftState } from './role.js';
import { appliedSnapshot } from './snapshot.js';
import { getStatus, type Status } from './status.js';

/**
 * The work raft hands to the application: send `messages`, persist, then send
 * `messagesAfterPersist`, apply, and advance() — in that order (see the loop above).
 */
export interface Ready {
  /** Present when the known leader or this node's role changed. Volatile: not persisted. */
  softState?: SoftState;
  /** Present when term, vote or commit changed: persist it atomically with `entries`. */
  hardState?: HardState;
  /** Entries to append to durable storage; they may overwrite a conflicting uncommitted suffix. */
  entries: Entry[];
  /** A snapshot from the leader to persist and load into the state machine (snapshot seam). */
  snapshot?: Snapshot;
  /** Committed entries to apply to the state machine, in log order. */
  committedEntries: Entry[];
  /**
   * May be sent as soon as the Ready is taken (MsgApp, heartbeats, vote requests, ...): they do
   * not vouch for this node's durable state.
   */
  messages: Message[];
  /**
   * Answers that vouch for this Ready's state (MsgAppResp, MsgVoteResp, MsgPreVoteResp): to send
   * only once hardState, entries and snapshot of this Ready are durable.
   */
  messagesAfterPersist: Message[];
  /** Answers to readIndex() requests. */
  readStates: ReadState[];
  /** Whether the write must be synced: entries, term or vote changed (a commit-only change need not be). */
  mustSync: boolean;
}

interface Outstanding {
  ready: Ready;
  /** Responses to ourselves (own vote, own append ack): stepped once the Ready is durable. */
  selfMessages: Message[];
  /** The last unstable entry when the Ready was taken, with the term at that time. */
  stable?: { index: number; logTerm: number; term: number };
  appliedIndex: number;
  appliedSizeBytes: number;
  appliedPayloadBytes: number;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Upper bound on the entries of one incoming MsgApp we accept (sanity bound on peer input). */
const MAX_ENTRIES_PER_MSG = 1 << 20;

export class RawNode {
  /** The state machine itself. Exposed for tests and the simulator; the runtime uses the methods. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Outstanding | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(resolveConfig(config));
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (elections, heartbeats, CheckQuorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with Pre-Vote if enabled). */
  campaign(): void {
    this.raft.step(localMessage(MessageType.MsgHup, this.raft.id));
  }

  /**
   * Proposes `data` for the log. On the leader, returns where the entry was appended; the
   * proposal committed iff the entry later applied at `index` has `term`. Throws
   * ProposalDroppedError (with the leader's id when known) otherwise: on a follower or candidate,
   * during a leadership transfer, or beyond maxUncommittedEntriesBytes. Nothing is forwarded.
   */
  propose(data: Uint8Array): ProposalTicket {
    assert(data instanceof Uint8Array, 'proposal data must be a Uint8Array');
    return this.raft.propose(data);
  }

  /**
   * Proposes several payloads as consecutive entries of one append (one MsgApp per follower
   * instead of one per proposal). All or nothing: throws ProposalDroppedError as propose() does.
   * Returns one ticket per payload, in order.
   */
  proposeBatch(datas: readonly Uint8Array[]): ProposalTicket[] {
    assert(datas.length > 0, 'proposeBatch needs at least one payload');
    for (const d of datas) assert(d instanceof Uint8Array, 'proposal data must be a Uint8Array');
    return this.raft.proposeBatch(datas);
  }

  /**
   * Proposes a membership change (an entry of type ConfChange with the application's encoding of
   * it). One at a time: throws ProposalDroppedError('conf-change-pending') while an earlier one
   * is not applied yet, as well as every reason propose() throws.
   */
  proposeConfChange(data: Uint8Array): ProposalTicket {
    assert(data instanceof Uint8Array, 'proposal data must be a Uint8Array');
    return this.raft.propose(data, EntryType.ConfChange);
  }

  /**
   * Applies a committed membership change to raft's configuration; the application calls it when
   * it applies the ConfChange entry (in log order, on every member, also when replaying the log
   * at a restart). Returns the configuration afterwards.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** The current configuration (voters and learners). */
  confState(): ConfState {
    return this.raft.tracker.confState();
  }

  /**
   * Steps a message received from a peer. Returns false (and drops it) when it cannot come from a
   * well-behaved peer: a local-only type, addressed to another node, from an unknown peer, or
   * malformed. Never throws on bad input.
   */
  step(m: Message): boolean {
    const r = this.raft;
    if (isLocalMessage(m.type) || m.type === MessageType.MsgProp || MessageType[m.type] === undefined) return false;
    if (m.to !== r.id || !isNodeId(m.from) || m.from === r.id) return false;
    if (!Number.isSafeInteger(m.term) || m.term < 0) return false;
    if (isResponseMessage(m.type) && !r.tracker.progress.has(m.from)) return false;
    if (m.type === MessageType.MsgApp && !wellFormedAppend(m)) {
      r.logger.warn({ id: r.id, from: m.from }, 'raft: dropped a malformed MsgApp');
      return false;
    }
    if ((m.type === MessageType.MsgReadIndex || m.type === MessageType.MsgReadIndexResp) && (m.context === undefined || m.context.length === 0)) return false;
    r.step(m);
    return true;
  }

  /**
   * Requests a linearizable read point. `ctx` must be unique cluster-wide (e.g. member id and a
   * sequence number); the answer is a ReadState with the same ctx in a later Ready. A follower
   * forwards the request to the leader. No answer comes if leadership changes meanwhile, so the
   * caller needs a timeout. Throws ReadIndexDroppedError when no leader is known or the leader's
   * queue is full.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.readIndex(ctx);
  }

  /** Asks the leader to hand leadership to `transferee` (thesis §3.10). */
  transferLeader(transferee: NodeId): void {
    this.raft.step(localMessage(MessageType.MsgTransferLeader, transferee));
  }

  /** The transport could not deliver to `id`: the leader falls back to probing it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(localMessage(MessageType.MsgUnreachable, id));
  }

  /** The outcome of sending a MsgSnap to `id` (snapshot seam). */
  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    const m = localMessage(MessageType.MsgSnapStatus, id);
    m.reject = status === 'failure';
    this.raft.step(m);
  }

  /** Whether ready() has work. False while a Ready is outstanding (before advance()). */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (this.softStateChanged()) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.log.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.log.hasNextUnstableEnts() || r.log.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /** Takes the pending work. It must be handled and then passed to advance() before the next one. */
  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.raft;
    const entries = r.log.nextUnstableEnts();
    // Committed entries may include some of `entries`: they are persisted first, then applied.
    const committedEntries = r.log.nextCommittedEnts();
    const messages = r.msgs;
    const messagesAfterPersist: Message[] = [];
    const selfMessages: Message[] = [];
    for (const m of r.msgsAfterAppend) {
      if (m.to === r.id) selfMessages.push(m);
      else messagesAfterPersist.push(m);
    }
    const hs = r.hardState();
    const rd: Ready = {
      entries,
      committedEntries,
      messages,
      messagesAfterPersist,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    if (this.softStateChanged()) {
      rd.softState = r.softState();
      this.prevSoftState = rd.softState;
    }
    if (!hardStateEqual(hs, this.prevHardState)) {
      rd.hardState = hs;
      this.prevHardState = hs;
    }
    const snap = r.log.nextUnstableSnapshot();
    if (snap !== undefined) rd.snapshot = snap;

    // Accept: this work is now the application's.
    const out: Outstanding = { ready: rd, selfMessages, appliedIndex: 0, appliedSizeBytes: 0, appliedPayloadBytes: 0 };
    if (r.log.hasNextOrInProgressUnstableEnts()) {
      out.stable = { index: r.log.lastIndex(), logTerm: r.log.lastTerm(), term: r.term };
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.readStates = [];
    r.log.acceptUnstable();
    if (committedEntries.length > 0) {
      out.appliedIndex = (committedEntries[committedEntries.length - 1] as Entry).index;
      out.appliedSizeBytes = entriesSizeBytes(committedEntries);
      out.appliedPayloadBytes = payloadBytes(committedEntries);
      r.log.acceptApplying(out.appliedIndex, out.appliedSizeBytes);
    }
    this.outstanding = out;
    return rd;
  }

  /**
   * The Ready is handled: its state is durable, its messages sent, its entries applied. Raft now
   * counts its own durable vote and log entries, and moves on.
   */
  advance(rd: Ready): void {
    const out = this.outstanding;
    assert(out !== undefined && out.ready === rd, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    for (const m of out.selfMessages) r.step(m);
    // If the term changed meanwhile, a new leader may have overwritten these entries in the
    // unstable log while they were being written; keep them unstable until a later Ready
    // confirms them (etcd's ABA guard).
    if (out.stable !== undefined && out.stable.term === r.term) r.log.stableTo(out.stable.index, out.stable.logTerm);
    if (rd.snapshot !== undefined) appliedSnapshot(r, rd.snapshot);
    if (out.appliedIndex > 0) {
      r.log.appliedTo(Math.max(out.appliedIndex, r.log.applied), out.appliedSizeBytes);
      r.reduceUncommittedSize(out.appliedPayloadBytes);
    }
  }

  private softStateChanged(): boolean {
    return this.raft.lead !== this.prevSoftState.lead || this.raft.role !== this.prevSoftState.role;
  }

  status(): Status {
    return getStatus(this.raft);
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** The leader this node knows of in its current term, or NONE (0). */
  get leaderId(): NodeId {
    return this.raft.lead;
  }

  get term(): number {
    return this.raft.term;
  }

  get role(): Role {
    return this.raft.role;
  }

  get commitIndex(): number {
    return this.raft.log.committed;
  }

  get appliedIndex(): number {
    return this.raft.log.applied;
  }

  isLeader(): boolean {
    return this.raft.role === Role.Leader;
  }
}

/** Entries are contiguous after m.index, with terms non-decreasing, >= m.logTerm and <= m.term. */
function wellFormedAppend(m: Message): boolean {
  const ents = m.entries;
  if (!Array.isArray(ents) || ents.length > MAX_ENTRIES_PER_MSG) return false;
  if (!Number.isSafeInteger(m.index) || m.index < 0 || !Number.isSafeInteger(m.commit) || m.commit < 0) return false;
  let prevTerm = m.logTerm;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i] as Entry;
    if (e.index !== m.index + 1 + i || e.term < prevTerm || e.term > m.term || !(e.data instanceof Uint8Array)) return false;
    prevTerm = e.term;
  }
  return true;
}
