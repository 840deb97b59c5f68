// A deterministic simulated cluster: N RawNodes on a simulated network and simulated disks,
// driven by one event queue in virtual time. Everything random comes from the seed.
//
// Each node runs the loop the real member runs (see src/raft/rawnode.ts): inputs (ticks, messages,
// proposals) are stepped at once; a Ready is taken whenever none is outstanding and its `messages`
// are sent at once; it is written to the node's disk after a simulated latency (atomically: a
// crash loses the whole Ready or none of it), and only then are its `messagesAfterPersist` sent and
// its committed entries applied. A crash keeps only what reached the disk; the state machine is
// rebuilt from the last snapshot plus the log after it on a restart.
//
// The state machine ("the service") is the sequence of values applied at each index. It snapshots
// itself either by the cluster's own policy (`compactEveryEntries`) or by a policy the caller
// installs as `afterApply` (the MIT 3D tester's service), both through snapshotAndCompact; a
// snapshot received from the leader replaces it.
import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  MessageType,
  NONE,
  RawNode,
  Role,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Ready,
} from '../../src/raft/index.js';
import { Checker, decodeValue, SafetyViolation } from './checker.js';
import { EventQueue } from './event-queue.js';
import { deriveSeed, Rng } from './prng.js';
import { Trace } from './trace.js';

export interface ClusterOptions {
  nodes: number;
  seed: number;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsgBytes?: number;
  maxInflightMsgs?: number;
  /** One-way network latency bounds. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Latency of persisting one Ready. */
  diskMaxMs?: number;
  traceSize?: number;
  /** Run every node's structural invariant check after each step. */
  checkInvariants?: boolean;
  /**
   * Snapshot and compact a node's log once it holds this many applied entries (0 = never), so
   * lagging followers must be caught up with MsgSnap.
   */
  compactEveryEntries?: number;
}

export interface NetworkConditions {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  dupRate: number;
  /** Probability that a message is held back 200..2000 ms (long reordering). */
  longDelayRate: number;
  maxDelayMs: number;
}

interface SimEvent {
  timeMs: number;
  seq: number;
  kind: EventKind;
  node: NodeId;
  gen: number;
  msg: Message | undefined;
  fn: (() => void) | undefined;
}

const MAX_EVENTS_AT_SAME_TIME = 100_000;

const enum EventKind {
  Tick = 0,
  Deliver = 1,
  Persisted = 2,
  Call = 3,
}

export class SimNode {
  rn: RawNode | undefined = undefined;
  /** Incarnation counter: events of a previous incarnation are ignored. */
  gen = 0;
  /** The disk: survives crashes. Raft reads it; the node writes it after each Ready. */
  readonly storage = new MemoryStorage();
  /** The Ready being written, if any. */
  ready: Ready | undefined = undefined;
  /** State machine: the value applied at each index (-1 for a no-op). Rebuilt after a restart. */
  applied: number[] = [];
  appliedIndex = 0;
  lastTerm = 0;
  lastCommit = 0;
  lastRole: Role = Role.Follower;
  connected = true;
  /**
   * Raft's configuration after each applied membership change, by index (ascending), from the
   * snapshot the node started from: what a snapshot taken at an index must carry.
   */
  confHistory: Array<[number, ConfState]> = [];
  readonly random: () => number;

  constructor(
    readonly id: NodeId,
    seed: number,
  ) {
    this.random = new Rng(seed).next;
  }

  get alive(): boolean {
    return this.rn !== undefined;
  }
}

export type ApplyListener = (node: SimNode, e: Entry) => void;
/** The application's turn after a Ready is applied and advanced (e.g. to snapshot and compact). */
export type AfterApplyHook = (node: SimNode) => void;
export type ReadStateListener = (node: SimNode, rs: ReadState) => void;

export class Cluster {
  readonly n: number;
  readonly ids: NodeId[];
  readonly nodes: SimNode[];
  readonly checker = new Checker();
  readonly trace: Trace;
  readonly rng: Rng;
  readonly tickMs: number;
  nowMs = 0;
  /** Messages handed to the network (counting duplicates once). */
  messagesSent = 0;
  messagesDelivered = 0;
  eventsProcessed = 0;
  snapshotsInstalled = 0;
  confChangesApplied = 0;
  private eventsAtSameTime = 0;
  net: NetworkConditions;
  onApply: ApplyListener | undefined;
  onReadState: ReadStateListener | undefined;
  /** Runs after every Ready a node applies (after advance), on top of `compactEveryEntries`. */
  afterApply: AfterApplyHook | undefined;
  /** linkDown[from][to]: one-way cut (partitions are built from these). */
  private readonly linkDown: boolean[][];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly diskRng: Rng;
  private readonly opts: Required<ClusterOptions>;
  private readonly nodeSeeds: number[];

  constructor(options: ClusterOptions) {
    this.opts = {
      tickMs: 100,
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxSizePerMsgBytes: 64 * 1024,
      maxInflightMsgs: 64,
      minDelayMs: 1,
      maxDelayMs: 10,
      diskMaxMs: 3,
      traceSize: 64,
      checkInvariants: true,
      compactEveryEntries: 0,
      ...options,
    };
    this.n = options.nodes;
    this.tickMs = this.opts.tickMs;
    this.ids = Array.from({ length: this.n }, (_, i) => BigInt(i + 1));
    this.rng = new Rng(deriveSeed(options.seed, 0));
    this.diskRng = new Rng(deriveSeed(options.seed, 1));
    this.nodeSeeds = this.ids.map((id) => deriveSeed(options.seed, 100 + Number(id)));
    this.nodes = this.ids.map((id, i) => new SimNode(id, this.nodeSeeds[i] as number));
    this.trace = new Trace(this.opts.traceSize);
    this.net = { dropRate: 0, dupRate: 0, longDelayRate: 0, maxDelayMs: this.opts.maxDelayMs };
    this.linkDown = this.ids.map(() => this.ids.map(() => false));
    for (const node of this.nodes) {
      // Bootstrap: every node starts with the same voters, persisted as its ConfState.
      node.storage.setConfState({ voters: this.ids, learners: [] });
      this.start(node.id);
    }
  }

  node(id: NodeId): SimNode {
    const node = this.nodes[Number(id) - 1];
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  raftConfig(node: SimNode): RaftConfig {
    return {
      id: node.id,
      storage: node.storage,
      applied: node.storage.snapshot().metadata.index,
      electionTicks: this.opts.electionTicks,
      heartbeatTicks: this.opts.heartbeatTicks,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxSizePerMsgBytes: this.opts.maxSizePerMsgBytes,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      random: node.random,
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Faults

  /** Starts (or restarts) a node from what its disk holds. */
  start(id: NodeId): void {
    const node = this.node(id);
    if (node.alive) return;
    node.gen++;
    // The state machine comes back from the last snapshot; the log after it is re-applied.
    const snap = node.storage.snapshot();
    node.applied = snap.metadata.index > 0 ? this.loadSnapshot(node, snap.data, snap.metadata.index) : [];
    node.appliedIndex = snap.metadata.index;
    node.confHistory = [[snap.metadata.index, node.storage.initialState().confState]];
    node.rn = new RawNode(this.raftConfig(node));
    node.ready = undefined;
    node.lastTerm = node.rn.term;
    node.lastCommit = node.rn.commitIndex;
    node.lastRole = node.rn.role;
    this.trace.note(this.nowMs, `start ${id} term=${node.rn.term} commit=${node.rn.commitIndex} last=${node.storage.lastIndex()}`);
    // Ticks at a per-incarnation phase, so nodes do not tick in lockstep.
    this.schedule(this.nowMs + 1 + this.rng.int(0, this.tickMs - 1), EventKind.Tick, node);
    this.afterInput(node);
  }

  /**
   * Crashes a node: volatile state and messages to it are lost. A Ready being written is torn at
   * its boundary: with probability `persistProbability` it reached the disk whole, else not at all.
   */
  crash(id: NodeId, persistProbability = 0.5): void {
    const node = this.node(id);
    if (!node.alive) return;
    const rd = node.ready;
    if (rd !== undefined && this.diskRng.chance(persistProbability)) this.writeToDisk(node, rd);
    this.trace.note(this.nowMs, `crash ${id}${rd !== undefined ? ' (with a Ready in flight)' : ''}`);
    node.rn = undefined;
    node.ready = undefined;
    node.gen++;
  }

  /** Cuts a node off from everyone (both directions), like MIT's disconnect. */
  disconnect(id: NodeId): void {
    this.node(id).connected = false;
    this.trace.note(this.nowMs, `disconnect ${id}`);
  }

  connect(id: NodeId): void {
    this.node(id).connected = true;
    this.trace.note(this.nowMs, `connect ${id}`);
  }

  /** Symmetric partition: nodes in different groups cannot talk. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, gi) => g.forEach((id) => groupOf.set(id, gi)));
    for (const a of this.ids) {
      for (const b of this.ids) {
        const ga = groupOf.get(a) ?? -1;
        const gb = groupOf.get(b) ?? -2;
        (this.linkDown[Number(a) - 1] as boolean[])[Number(b) - 1] = a !== b && ga !== gb;
      }
    }
    this.trace.note(this.nowMs, `partition ${groups.map((g) => `{${g.join(',')}}`).join(' ')}`);
  }

  /** One-way cut: messages from `from` to `to` are lost. */
  cutLink(from: NodeId, to: NodeId): void {
    (this.linkDown[Number(from) - 1] as boolean[])[Number(to) - 1] = true;
    this.trace.note(this.nowMs, `cut ${from}->${to}`);
  }

  healLinks(): void {
    for (const row of this.linkDown) row.fill(false);
    this.trace.note(this.nowMs, 'heal links');
  }

  setReliable(reliable: boolean): void {
    this.net = reliable
      ? { ...this.net, dropRate: 0, dupRate: 0, maxDelayMs: this.opts.maxDelayMs }
      : { ...this.net, dropRate: 0.1, dupRate: 0.02, maxDelayMs: 27 };
  }

  setLongReordering(on: boolean): void {
    this.net = { ...this.net, longDelayRate: on ? 0.3 : 0 };
  }

  canTalk(from: NodeId, to: NodeId): boolean {
    const a = this.node(from);
    const b = this.node(to);
    return a.connected && b.connected && !(this.linkDown[Number(from) - 1] as boolean[])[Number(to) - 1];
  }

  // -----------------------------------------------------------------------------------------------
  // Client-facing helpers

  /** Runs fn on the node's RawNode (if alive), then processes what it produced. */
  withNode<T>(id: NodeId, fn: (rn: RawNode) => T): T | undefined {
    const node = this.node(id);
    const rn = node.rn;
    if (rn === undefined) return undefined;
    try {
      return fn(rn);
    } finally {
      if (node.rn === rn) this.afterInput(node);
    }
  }

  /** Schedules a callback at an absolute virtual time. */
  at(timeMs: number, fn: () => void): void {
    this.queue.push({ timeMs: Math.max(timeMs, this.nowMs), kind: EventKind.Call, node: 0n, gen: 0, msg: undefined, fn });
  }

  leaders(): SimNode[] {
    return this.nodes.filter((n) => n.rn !== undefined && n.rn.role === Role.Leader);
  }

  // -----------------------------------------------------------------------------------------------
  // The event loop

  /** Processes events until virtual time `untilMs` (inclusive). */
  runUntil(untilMs: number): void {
    while (this.queue.peekTime() <= untilMs) this.processNext();
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  /** Runs until `pred` holds (checked every `stepMs`) or `maxMs` elapse; returns whether it held. */
  runUntilTrue(pred: () => boolean, maxMs: number, stepMs = 10): boolean {
    const deadline = this.nowMs + maxMs;
    while (this.nowMs < deadline) {
      if (pred()) return true;
      this.runUntil(Math.min(deadline, this.nowMs + stepMs));
    }
    return pred();
  }

  private processNext(): void {
    const ev = this.queue.pop();
    if (ev === undefined) return;
    // Bound: a node that keeps producing work without time passing is livelocked.
    if (ev.timeMs === this.nowMs) {
      if (++this.eventsAtSameTime > MAX_EVENTS_AT_SAME_TIME) {
        throw new SafetyViolation('Livelock', `more than ${MAX_EVENTS_AT_SAME_TIME} events at t=${this.nowMs}ms`);
      }
    } else {
      this.eventsAtSameTime = 0;
    }
    this.nowMs = ev.timeMs;
    this.eventsProcessed++;
    switch (ev.kind) {
      case EventKind.Call:
        (ev.fn as () => void)();
        return;
      case EventKind.Tick: {
        const node = this.nodes[Number(ev.node) - 1] as SimNode;
        if (node.gen !== ev.gen || node.rn === undefined) return;
        node.rn.tick();
        this.afterInput(node);
        this.schedule(this.nowMs + this.tickMs, EventKind.Tick, node);
        return;
      }
      case EventKind.Deliver: {
        const node = this.nodes[Number(ev.node) - 1] as SimNode;
        const m = ev.msg as Message;
        if (node.gen !== ev.gen || node.rn === undefined || !this.canTalk(m.from, m.to)) {
          if (m.type === MessageType.MsgSnap) this.reportSnapshot(m, 'failure');
          return;
        }
        this.messagesDelivered++;
        this.trace.message(this.nowMs, '', m);
        node.rn.step(m);
        this.afterInput(node);
        // The transport reports the outcome of a snapshot send to the leader (RawNode.reportSnapshot).
        if (m.type === MessageType.MsgSnap) this.reportSnapshot(m, 'finish');
        return;
      }
      case EventKind.Persisted: {
        const node = this.nodes[Number(ev.node) - 1] as SimNode;
        if (node.gen !== ev.gen || node.rn === undefined) return;
        this.handleReady(node);
        return;
      }
    }
  }

  private schedule(timeMs: number, kind: EventKind, node: SimNode, msg?: Message): void {
    this.queue.push({ timeMs, kind, node: node.id, gen: node.gen, msg, fn: undefined });
  }

  /** After any input: check invariants, then take a Ready if none is being written. */
  private afterInput(node: SimNode): void {
    const rn = node.rn;
    if (rn === undefined) return;
    const r = rn.raft;
    if (this.opts.checkInvariants) r.checkInvariants();
    if (r.term < node.lastTerm) throw new SafetyViolation('Term Monotonicity', `node ${node.id} went from term ${node.lastTerm} to ${r.term}`);
    node.lastTerm = r.term;
    const commit = r.log.committed;
    if (commit < node.lastCommit) throw new SafetyViolation('Commit Monotonicity', `node ${node.id} commit went from ${node.lastCommit} to ${commit}`);
    if (commit > node.lastCommit) {
      this.checker.onCommit(node.id, r.term, node.lastCommit, commit, (i) => r.log.maybeTerm(i));
      node.lastCommit = commit;
    }
    if (r.role !== node.lastRole) {
      this.trace.note(this.nowMs, `${node.id} is ${r.role} term=${r.term}`);
      node.lastRole = r.role;
      if (r.role === Role.Leader) this.checker.onLeader(node.id, r.term, (i) => r.log.maybeTerm(i), r.log.firstIndex() - 1);
    }
    if (node.ready === undefined && rn.hasReady()) {
      const rd = rn.ready();
      node.ready = rd;
      // Requests go out at once, while the write is in flight (thesis §10.2.1); a crash before
      // the write completes loses the write but not these messages.
      for (const m of rd.messages) this.send(node, m);
      this.schedule(this.nowMs + this.diskRng.int(0, this.opts.diskMaxMs), EventKind.Persisted, node);
    }
  }

  /** The write of the outstanding Ready completed: send, apply, advance. */
  private handleReady(node: SimNode): void {
    const rn = node.rn as RawNode;
    const rd = node.ready as Ready;
    this.writeToDisk(node, rd);
    for (const m of rd.messagesAfterPersist) this.send(node, m);
    if (rd.snapshot !== undefined) {
      // Load the leader's state machine; it must agree with what was applied at those indexes.
      const upTo = rd.snapshot.metadata.index;
      node.applied = this.loadSnapshot(node, rd.snapshot.data, upTo);
      node.appliedIndex = upTo;
      node.confHistory = [[upTo, rd.snapshot.metadata.confState]];
      this.snapshotsInstalled++;
      this.trace.note(this.nowMs, `${node.id} installed snapshot ${rd.snapshot.metadata.term}/${upTo}`);
    }
    for (const e of rd.committedEntries) {
      if (e.index !== node.appliedIndex + 1) throw new SafetyViolation('Apply Order', `node ${node.id} applied ${e.index} after ${node.appliedIndex}`);
      this.checker.onApply(node.id, e);
      node.applied[e.index] = decodeValue(e.data);
      node.appliedIndex = e.index;
      if (e.type === EntryType.ConfChange) {
        // Applied in log order, on every node, also when a restart replays the log (etcd's way).
        const cc = decodeConfChangeValue(decodeValue(e.data));
        const wasVoter = rn.confState().voters.includes(cc.nodeId);
        const cs = rn.applyConfChange(cc);
        node.confHistory.push([e.index, cs]);
        this.confChangesApplied++;
        // As a member does (src/server/raft-member.ts): a snapshot at once that includes the newcomer,
        // for raft sends the newest snapshot to a node that needs one, and one from before the
        // addition would not include it (it would ignore it, again and again).
        if (cc.type === ConfChangeType.AddNode && !wasVoter && node.storage.snapshot().metadata.index > 0) {
          node.applied[e.index] = decodeValue(e.data);
          this.snapshotAndCompact(node, e.index, node.storage.firstIndex() - 1);
        }
        this.trace.note(this.nowMs, `${node.id} applied ${ConfChangeType[cc.type]} ${cc.nodeId} at ${e.index}: voters ${cs.voters.join(',')}`);
      }
      this.onApply?.(node, e);
    }
    for (const rs of rd.readStates) this.onReadState?.(node, rs);
    node.ready = undefined;
    rn.advance(rd);
    this.maybeCompact(node);
    if (this.afterApply !== undefined && node.rn === rn) this.afterApply(node);
    this.afterInput(node);
  }

  /** Snapshots the state machine and discards the log before it, keeping a short tail. */
  private maybeCompact(node: SimNode): void {
    const every = this.opts.compactEveryEntries;
    if (every === 0) return;
    const first = node.storage.firstIndex();
    if (node.appliedIndex - first + 1 < every) return;
    this.snapshotAndCompact(node, node.appliedIndex, node.appliedIndex - (every >> 1));
  }

  /**
   * What a runtime does to compact its log (etcd's raftexample: MemoryStorage.createSnapshot,
   * then compact): snapshots the state machine as of `index` (applied, so also on disk) unless the
   * disk already holds a snapshot that recent, then discards the log entries up to `compactTo`
   * (<= index; compactTo === index keeps no entry the snapshot covers). The disk is the storage,
   * so this is durable at once: a crash right after restarts from this snapshot.
   */
  snapshotAndCompact(node: SimNode, index: number, compactTo = index): void {
    if (index > node.appliedIndex) throw new Error(`node ${node.id}: snapshot at ${index} beyond applied ${node.appliedIndex}`);
    if (index > node.storage.snapshot().metadata.index) {
      const cs = confStateAt(node, index);
      node.storage.createSnapshot(index, cs, encodeStateMachine(node.applied, index));
      // (bounded: what came before the snapshot is no longer needed)
      node.confHistory = [[index, cs], ...node.confHistory.filter(([i]) => i > index)];
    }
    if (compactTo > node.storage.firstIndex() - 1) {
      node.storage.compact(compactTo);
      this.trace.note(this.nowMs, `${node.id} compacted to ${compactTo} (snapshot ${index})`);
    }
  }

  /**
   * The state machine held in a snapshot (the leader's, or our own on a restart): it must cover
   * exactly `index` entries, and agree with what was applied at each of them everywhere.
   */
  private loadSnapshot(node: SimNode, data: Uint8Array, index: number): number[] {
    const values = decodeStateMachine(data);
    if (values.length !== index + 1) throw new SafetyViolation('Snapshot', `node ${node.id}: snapshot at ${index} holds ${values.length - 1} entries`);
    for (let i = 1; i <= index; i++) this.checker.onSnapshotValue(node.id, i, values[i] as number);
    return values;
  }

  /** The sender learns the outcome of its snapshot send (nothing if it is down). */
  private reportSnapshot(m: Message, status: 'finish' | 'failure'): void {
    this.withNode(m.from, (rn) => rn.reportSnapshot(m.to, status));
  }

  private writeToDisk(node: SimNode, rd: Ready): void {
    if (rd.hardState !== undefined) {
      this.checker.onPersistHardState(node.id, rd.hardState);
      node.storage.setHardState(rd.hardState);
    }
    if (rd.snapshot !== undefined) node.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      const first = rd.entries[0] as Entry;
      this.checker.onPersistEntries(node.id, rd.entries, first.index === 1 ? 0 : node.storage.term(first.index - 1));
      node.storage.append(rd.entries);
    }
  }

  private send(from: SimNode, m: Message): void {
    if (m.to === from.id || m.to === NONE) throw new SafetyViolation('Messages', `node ${from.id} sent ${MessageType[m.type]} to ${m.to}`);
    this.checker.onSend(from.id, m);
    this.messagesSent++;
    const net = this.net;
    if (!this.canTalk(m.from, m.to) || (net.dropRate > 0 && this.rng.next() < net.dropRate)) {
      // The transport notices a failed snapshot send (a lost MsgApp goes unnoticed).
      if (m.type === MessageType.MsgSnap) this.at(this.nowMs + 1, () => this.reportSnapshot(m, 'failure'));
      return;
    }
    const to = this.node(m.to);
    const copies = net.dupRate > 0 && this.rng.next() < net.dupRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let delay = this.rng.int(this.opts.minDelayMs, Math.max(this.opts.minDelayMs, net.maxDelayMs));
      if (net.longDelayRate > 0 && this.rng.next() < net.longDelayRate) delay += this.rng.int(200, 2000);
      this.schedule(this.nowMs + delay, EventKind.Deliver, to, m);
    }
  }
}

/** The simulated state machine as snapshot data: the value applied at each index 1..upTo. */
export function encodeStateMachine(applied: readonly number[], upTo: number): Uint8Array {
  const values = new Int32Array(upTo + 1);
  for (let i = 1; i <= upTo; i++) {
    const v = applied[i];
    if (v === undefined) throw new SafetyViolation('Snapshot', `state machine has no value at ${i} <= ${upTo}`);
    values[i] = v;
  }
  return new Uint8Array(values.buffer);
}

export function decodeStateMachine(data: Uint8Array): number[] {
  const values = new Int32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  const out: number[] = [];
  for (let i = 1; i < values.length; i++) out[i] = values[i] as number;
  return out;
}

/**
 * A membership change as a value of the simulated state machine: ConfChange entries carry
 * 0x20000000 + type * 0x10000 + node id (the workload's values stay far below), so the checker
 * compares them as any other value.
 */
const CONF_CHANGE_BASE = 0x20000000; // (the state machine's snapshot holds int32 values; no-ops are -1)

export function encodeConfChangeValue(type: ConfChangeType.AddNode | ConfChangeType.RemoveNode, nodeId: NodeId): number {
  if (!(nodeId > 0n && nodeId < 0x10000n)) throw new Error(`conf change node id ${nodeId} out of range`);
  return CONF_CHANGE_BASE + type * 0x10000 + Number(nodeId);
}

export function decodeConfChangeValue(v: number): { type: ConfChangeType; nodeId: NodeId } {
  if (v < CONF_CHANGE_BASE) throw new SafetyViolation('Conf Change', `a ConfChange entry carries the value ${v}`);
  const rest = v - CONF_CHANGE_BASE;
  return { type: Math.floor(rest / 0x10000) as ConfChangeType, nodeId: BigInt(rest % 0x10000) };
}

/** The configuration a snapshot at `index` (<= applied) carries. */
function confStateAt(node: SimNode, index: number): ConfState {
  let cs: ConfState | undefined;
  for (const [i, c] of node.confHistory) if (i <= index) cs = c;
  if (cs === undefined) throw new Error(`node ${node.id}: no configuration known at ${index}`);
  return cs;
}
