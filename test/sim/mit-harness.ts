// The helpers of MIT 6.5840's Raft tester (raft/config.go), on top of the simulated cluster:
// checkOneLeader, checkTerms, checkNoLeader, nCommitted, one, start, crash/restart, (dis)connect,
// message counts. Node ids are 1..n (MIT uses 0..n-1). Time is virtual.
//
// One difference from the MIT lab: a new leader appends a no-op entry (paper §8), so command
// indexes are not dense; tests compare indexes relative to each other rather than to 1, 2, 3.
//
// With `snapshotInterval` (lab 3D), each peer runs the lab's snapshotting service (applierSnap in
// the lab's tester): whenever its applied index reaches a multiple of the interval, it snapshots
// its state machine (the applied sequence, which encodes the index) and has the log compacted up
// to that index, as raft.Snapshot(index, data) does in the lab: MemoryStorage.createSnapshot and
// compact, the calls a runtime makes. The simulated disk (the node's storage) keeps the snapshot
// and the log after it, so a restart comes back from both; a snapshot the leader sends replaces
// the service's state when its Ready is applied (the lab's SnapshotValid ApplyMsg). The cluster's
// checker compares every installed or restored snapshot, index by index, with what was applied.
import { ProposalDroppedError, Role, type NodeId } from '../../src/raft/index.js';
import { encodeValue } from './checker.js';
import { Cluster, type ClusterOptions, type SimNode } from './cluster.js';

/** MIT's RaftElectionTimeout. */
export const ELECTION_TIMEOUT_MS = 1000;

/** MIT's SnapShotInterval: the service snapshots every this many applied entries. */
export const SNAPSHOT_INTERVAL = 10;

export interface MitOptions extends Partial<ClusterOptions> {
  /** Run the lab's snapshotting service with this interval (0 = no snapshots, labs 3A-3C). */
  snapshotInterval?: number;
}

export class MitFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MitFailure';
  }
}

export class MitHarness {
  readonly cluster: Cluster;
  readonly n: number;
  readonly snapshotInterval: number;

  constructor(n: number, seed: number, options: MitOptions = {}) {
    const { snapshotInterval = 0, ...clusterOptions } = options;
    this.cluster = new Cluster({ nodes: n, seed, ...clusterOptions });
    this.n = n;
    this.snapshotInterval = snapshotInterval;
    // Set before any Ready is handled: the cluster's nodes have started but virtual time has not run.
    if (snapshotInterval > 0) this.cluster.afterApply = (node) => this.serviceSnapshot(node);
  }

  /** The lab's service: a snapshot at each multiple of the interval it has applied, log compacted to it. */
  private serviceSnapshot(node: SimNode): void {
    const index = Math.floor(node.appliedIndex / this.snapshotInterval) * this.snapshotInterval;
    if (index > node.storage.snapshot().metadata.index) this.cluster.snapshotAndCompact(node, index);
  }

  /**
   * The lab's LogSize() < MAXLOGSIZE check, in entries: the service keeps its log compacted, so
   * no peer (up or down) holds more than 2 intervals of entries it has applied; entries it has not
   * applied yet (uncommitted, or committed but not yet applied) are not the service's to compact.
   */
  checkLogSize(): void {
    for (const node of this.cluster.nodes) {
      const { entries, applied } = this.logSize(node.id);
      if (applied > 2 * this.snapshotInterval) {
        throw new MitFailure(`log size too large: node ${node.id} holds ${entries} entries, ${applied} of them applied (snapshot interval ${this.snapshotInterval})`);
      }
    }
  }

  /** Entries in a peer's log (its raft log when up, its disk when down), and how many it has applied. */
  logSize(id: NodeId): { entries: number; applied: number } {
    const node = this.cluster.node(id);
    const log = node.rn?.raft.log;
    const first = log !== undefined ? log.firstIndex() : node.storage.firstIndex();
    const last = log !== undefined ? log.lastIndex() : node.storage.lastIndex();
    return { entries: last - first + 1, applied: Math.max(0, Math.min(node.appliedIndex, last) - first + 1) };
  }

  /** Snapshots peers installed from a leader so far. */
  snapshotsInstalled(): number {
    return this.cluster.snapshotsInstalled;
  }

  get ids(): NodeId[] {
    return this.cluster.ids;
  }

  sleep(ms: number): void {
    this.cluster.runFor(ms);
  }

  rand(): number {
    return this.cluster.rng.next();
  }

  randInt(n: number): number {
    return Math.floor(this.rand() * n);
  }

  /** The id `k` positions after `id`, cyclically (MIT's (leader + k) % n). */
  after(id: NodeId, k: number): NodeId {
    return BigInt(((Number(id) - 1 + k) % this.n) + 1);
  }

  connected(id: NodeId): boolean {
    return this.cluster.node(id).connected;
  }

  alive(id: NodeId): boolean {
    return this.cluster.node(id).alive;
  }

  connect(id: NodeId): void {
    this.cluster.connect(id);
  }

  disconnect(id: NodeId): void {
    this.cluster.disconnect(id);
  }

  crash(id: NodeId): void {
    this.cluster.crash(id);
  }

  restart(id: NodeId): void {
    this.cluster.crash(id);
    this.cluster.start(id);
  }

  setReliable(reliable: boolean): void {
    this.cluster.setReliable(reliable);
  }

  setLongReordering(on: boolean): void {
    this.cluster.setLongReordering(on);
  }

  /** Messages sent so far (MIT counts RPCs; we count every message, requests and responses). */
  rpcTotal(): number {
    return this.cluster.messagesSent;
  }

  private isLeader(id: NodeId): boolean {
    const rn = this.cluster.node(id).rn;
    return rn !== undefined && rn.role === Role.Leader;
  }

  /** Waits (up to 5 s) until a leader exists among connected nodes; at most one per term. */
  checkOneLeader(): NodeId {
    for (let iter = 0; iter < 100; iter++) {
      const byTerm = new Map<number, NodeId[]>();
      for (const id of this.ids) {
        const rn = this.cluster.node(id).rn;
        if (this.connected(id) && rn !== undefined && rn.role === Role.Leader) {
          const list = byTerm.get(rn.term) ?? [];
          list.push(id);
          byTerm.set(rn.term, list);
        }
      }
      let lastTerm = -1;
      for (const [term, leaders] of byTerm) {
        if (leaders.length > 1) throw new MitFailure(`term ${term} has ${leaders.length} (>1) leaders`);
        lastTerm = Math.max(lastTerm, term);
      }
      if (lastTerm >= 0) return (byTerm.get(lastTerm) as NodeId[])[0] as NodeId;
      this.sleep(50);
    }
    throw new MitFailure('expected one leader, got none');
  }

  /** All connected nodes agree on the term. */
  checkTerms(): number {
    let term = -1;
    for (const id of this.ids) {
      const rn = this.cluster.node(id).rn;
      if (!this.connected(id) || rn === undefined) continue;
      if (term === -1) term = rn.term;
      else if (term !== rn.term) throw new MitFailure('servers disagree on term');
    }
    return term;
  }

  /** No connected node thinks it is leader. */
  checkNoLeader(): void {
    for (const id of this.ids) {
      if (this.connected(id) && this.isLeader(id)) throw new MitFailure(`expected no leader among connected servers, but ${id} claims to be leader`);
    }
  }

  /** How many nodes applied an entry at `index`, and its value (they must agree). */
  nCommitted(index: number): { count: number; value: number | undefined } {
    let count = 0;
    let value: number | undefined;
    for (const node of this.cluster.nodes) {
      const v = node.applied[index];
      if (v === undefined) continue;
      if (count > 0 && v !== value) throw new MitFailure(`committed values do not match: index ${index}, ${value}, ${v}`);
      count++;
      value = v;
    }
    return { count, value };
  }

  /** Start(cmd) on node `id`: where it would go in the log, and whether that node is leader. */
  start(id: NodeId, cmd: number): { index: number; term: number; isLeader: boolean } {
    const rn = this.cluster.node(id).rn;
    if (rn === undefined) return { index: -1, term: -1, isLeader: false };
    try {
      const t = this.cluster.withNode(id, (r) => r.propose(encodeValue(cmd)));
      if (t === undefined) return { index: -1, term: -1, isLeader: false };
      return { index: t.index, term: t.term, isLeader: true };
    } catch (err) {
      if (err instanceof ProposalDroppedError) return { index: -1, term: rn.term, isLeader: false };
      throw err;
    }
  }

  /**
   * MIT's one(): submits cmd to a leader (trying nodes in turn, for up to 10 s) and waits up to
   * 2 s for it to be applied on at least `expectedServers` nodes. With retry, a proposal that did
   * not make it is submitted again. Returns the index.
   */
  one(cmd: number, expectedServers: number, retry: boolean): number {
    const deadline = this.cluster.nowMs + 10_000;
    let starts = 0;
    while (this.cluster.nowMs < deadline) {
      let index = -1;
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n;
        const id = BigInt(starts + 1);
        if (this.connected(id) && this.alive(id)) {
          const r = this.start(id, cmd);
          if (r.isLeader) {
            index = r.index;
            break;
          }
        }
      }
      if (index !== -1) {
        const t1 = this.cluster.nowMs;
        while (this.cluster.nowMs - t1 < 2000) {
          const { count, value } = this.nCommitted(index);
          if (count > 0 && count >= expectedServers && value === cmd) return index;
          this.sleep(20);
        }
        if (!retry) throw new MitFailure(`one(${cmd}) failed to reach agreement`);
      } else {
        this.sleep(50);
      }
    }
    throw new MitFailure(`one(${cmd}) failed to reach agreement`);
  }

  /** Waits for index to be applied on at least n nodes; returns its value (or undefined if the term moved on). */
  wait(index: number, n: number, startTerm: number): number | undefined {
    let to = 10;
    for (let iters = 0; iters < 30; iters++) {
      const { count } = this.nCommitted(index);
      if (count >= n) break;
      this.sleep(to);
      if (to < 1000) to *= 2;
      if (startTerm > -1) {
        for (const id of this.ids) {
          const rn = this.cluster.node(id).rn;
          if (rn !== undefined && rn.term > startTerm) return undefined;
        }
      }
    }
    const { count, value } = this.nCommitted(index);
    if (count < n) throw new MitFailure(`only ${count} decided for index ${index}; wanted ${n}`);
    return value;
  }
}
