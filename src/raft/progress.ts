// A follower's replication progress as the leader sees it (etcd-io/raft tracker/progress.go).
// Invariant: 0 <= match < next, and 0 <= pendingCommit < next.
import { assert, panic } from './assert.js';
import { Inflights } from './inflights.js';

export enum ProgressState {
  /**
   * The leader does not know where the follower's log ends: it sends at most one MsgApp per
   * heartbeat interval and waits for the answer (paper §5.3, "decrement nextIndex and retry").
   */
  Probe = 'probe',
  /** The follower is in sync: the leader pipelines MsgApps optimistically, bounded by Inflights. */
  Replicate = 'replicate',
  /** The follower needs a snapshot (the entries it lacks are compacted); appends are paused. */
  Snapshot = 'snapshot',
}

export class Progress {
  /** The highest index known to be replicated on the follower. */
  match = 0;
  /** The index of the next entry to send. Entries in (match, next) are in flight. */
  next: number;
  /** The highest commit index sent to the follower (capped at next-1). */
  pendingCommit = 0;
  state: ProgressState = ProgressState.Probe;
  /** StateSnapshot: the index of the snapshot that was sent. */
  pendingSnapshot = 0;
  /** Heard from this follower since the last CheckQuorum; always true for the leader itself. */
  recentActive = false;
  /**
   * Probe: a MsgApp is outstanding, wait for its answer or the next heartbeat response.
   * Replicate: the inflight window is full; only an empty "probe" MsgApp may go per heartbeat.
   */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  /** Seam for membership changes (learners receive the log but do not vote). */
  isLearner = false;

  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number) {
    if (!(next >= 1)) panic(`progress next ${next} must be >= 1`);
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to probing from match+1 (or past a snapshot that was sent successfully). */
  becomeProbe(): void {
    // A snapshot that was sent (pendingSnapshot > 0) holds everything up to its index.
    const snapshotIndex = this.state === ProgressState.Snapshot ? this.pendingSnapshot : 0;
    this.resetState(ProgressState.Probe);
    this.next = Math.max(this.match, snapshotIndex) + 1;
    this.pendingCommit = Math.min(this.pendingCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
    this.pendingCommit = Math.min(this.pendingCommit, this.match);
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp carrying `entries` entries (of `bytes` payload) starting at `next` was sent. */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case ProgressState.Replicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        // A message that fills the window (or went out while it was full) acts as a probe.
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case ProgressState.Probe:
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      case ProgressState.Snapshot:
        assert(false, 'sending entries to a follower in StateSnapshot');
    }
  }

  /** Whether sending commit index `commit` could advance the follower's commit index. */
  canBumpCommit(commit: number): boolean {
    return this.pendingCommit < Math.min(commit, this.next - 1);
  }

  sentCommit(commit: number): void {
    this.pendingCommit = Math.min(Math.max(this.pendingCommit, commit), this.next - 1);
  }

  /** An MsgAppResp acknowledged index n. Returns false if it is stale (n <= match). */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A MsgApp whose previous index was `rejected` was refused; `matchHint` is the highest index
   * where the logs may still match. Returns false for a stale rejection (reordered or duplicated
   * messages), leaving the progress unchanged.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Rejections at or below match are stale: the follower has acknowledged past them since.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.pendingCommit = Math.min(this.pendingCommit, this.match);
      return true;
    }
    // In probe, only the answer to the one outstanding probe (at next-1) is genuine.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.pendingCommit = Math.min(this.pendingCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether MsgApps to this follower are throttled right now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.msgAppFlowPaused;
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}${this.inflights.full() ? '[full]' : ''}`;
    return s;
  }
}
