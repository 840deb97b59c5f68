// The leader's outgoing replication (§5.3): AppendEntries with flow control, heartbeats, and a
// snapshot when the entries a follower needs are compacted away (§7).
import { MessageType, type Entry, type NodeId } from './messages.js';
import { assert, panic } from './assert.js';
import { payloadBytes } from './log.js';
import { ProgressState, type Progress } from './progress.js';
import type { Raft } from './raft.js';
import { StorageError } from './storage.js';

/** Sends an append (entries if any, else just the commit index) to `to` unless it is paused. */
export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends a MsgApp with new entries to `to` if its progress allows. With sendIfEmpty false, a
 * message without entries is not sent (used when pipelining several messages in a row).
 * Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined) panic(`no progress for ${to.toString(16)}`);
  if (pr.isPaused()) return false;

  const prevIndex = pr.next - 1;
  const prevTerm = r.log.maybeTerm(prevIndex);
  if (prevTerm === undefined) {
    // The entry before `next` is compacted: the follower can only catch up from a snapshot.
    return maybeSendSnapshot(r, to, pr);
  }
  let entries: Entry[] = [];
  // A throttled follower in StateReplicate gets only empty MsgApps: if all the messages that
  // filled its window were lost, such a probe still gets an answer that frees the window.
  if (pr.state !== ProgressState.Replicate || !pr.inflights.full()) {
    try {
      entries = r.log.entries(pr.next, r.maxSizePerMsgBytes);
    } catch (err) {
      if (err instanceof StorageError && err.code === 'compacted') return maybeSendSnapshot(r, to, pr);
      throw err;
    }
  }
  if (entries.length === 0 && !sendIfEmpty) return false;

  r.send({ type: MessageType.MsgApp, to, index: prevIndex, logTerm: prevTerm, entries, commit: r.log.committed });
  pr.sentEntries(entries.length, payloadBytes(entries));
  pr.sentCommit(r.log.committed);
  return true;
}

/** Sends the latest snapshot to a follower that needs it; returns whether one was sent. */
function maybeSendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) {
    r.logger.debug({ id: r.id, to }, 'raft: not sending snapshot to a recently inactive follower');
    return false;
  }
  let snapshot;
  try {
    snapshot = r.log.snapshot();
  } catch (err) {
    if (err instanceof StorageError && err.code === 'snapshot-temporarily-unavailable') {
      r.logger.debug({ id: r.id, to }, 'raft: snapshot temporarily unavailable');
      return false;
    }
    throw err;
  }
  assert(snapshot.metadata.index > 0, 'need a non-empty snapshot to replace compacted entries');
  r.logger.info({ id: r.id, to, firstIndex: r.log.firstIndex(), commit: r.log.committed, snapIndex: snapshot.metadata.index, snapTerm: snapshot.metadata.term }, 'raft: sending snapshot');
  pr.becomeSnapshot(snapshot.metadata.index);
  r.send({ type: MessageType.MsgSnap, to, snapshot });
  return true;
}

/**
 * A heartbeat (§5.2) carries the commit index, capped at what the follower is known to hold: a
 * follower must never be told to commit past an entry it may not have.
 */
export function sendHeartbeat(r: Raft, to: NodeId, ctx: Uint8Array | undefined): void {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined) panic(`no progress for ${to.toString(16)}`);
  const commit = Math.min(pr.match, r.log.committed);
  r.send({ type: MessageType.MsgHeartbeat, to, commit, ...(ctx !== undefined ? { context: ctx } : {}) });
  pr.sentCommit(commit);
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendAppend(r, id);
  }
}

/** Heartbeats carry the newest pending ReadIndex context, so one round confirms every queued read. */
export function bcastHeartbeat(r: Raft): void {
  bcastHeartbeatWithCtx(r, r.readOnly.lastPendingRequestCtx());
}

export function bcastHeartbeatWithCtx(r: Raft, ctx: Uint8Array | undefined): void {
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendHeartbeat(r, id, ctx);
  }
}
