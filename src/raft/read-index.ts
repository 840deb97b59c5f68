// ReadIndex (thesis §6.4): linearizable reads without writing to the log. The leader records its
// commit index when a request arrives, confirms it is still the leader with a heartbeat round
// acknowledged by a majority, and then answers with that index. A new leader first commits an
// entry of its own term (its no-op) so that its commit index is current.
import { MessageType, NONE, type Message } from './messages.js';
import { assert } from './assert.js';
import { ReadIndexDroppedError } from './errors.js';
import { localMessage } from './local-message.js';
import type { Raft } from './raft.js';
import { bcastHeartbeatWithCtx } from './replication.js';
import { Role } from './role.js';

/** A local readIndex request; throws ReadIndexDroppedError when it cannot be served. */
export function readIndex(r: Raft, ctx: Uint8Array): void {
  if (ctx.length === 0) throw new RangeError('readIndex context must not be empty');
  const m = localMessage(MessageType.MsgReadIndex, r.id);
  m.context = ctx;
  if (r.role === Role.Leader) {
    if (leaderReadQueueFull(r)) throw new ReadIndexDroppedError('read-queue-full', r.id);
  } else if (r.lead === NONE) {
    throw new ReadIndexDroppedError('no-leader', NONE);
  }
  r.step(m);
}

export function leaderReadQueueFull(r: Raft): boolean {
  return r.readOnly.size + r.pendingReadIndexMessages.length >= r.maxPendingReadIndexRequests;
}

/**
 * Leader: a MsgReadIndex from ourselves or forwarded by a follower. Thesis §6.4: the leader's
 * commit index is current only once it has committed an entry of its own term; until then the
 * read waits, whatever the cluster size. (etcd-io/raft answers a lone voter at once; after a
 * restart its commit index is whatever the disk held, which may be older than writes it
 * acknowledged before the crash.)
 */
export function stepLeaderReadIndex(r: Raft, m: Message): void {
  if (!r.committedEntryInCurrentTerm()) {
    if (!leaderReadQueueFull(r)) r.pendingReadIndexMessages.push(m);
    return;
  }
  confirmReadIndex(r, m);
}

/** A read on a leader whose commit index is current: a lone voter answers, others confirm with a quorum. */
function confirmReadIndex(r: Raft, m: Message): void {
  if (r.tracker.isSingleton()) {
    // The only voter: no other leader can exist, so its current commit index is the read index.
    respondToReadIndex(r, m, r.log.committed);
    return;
  }
  sendReadIndexRequest(r, m);
}

/** Queues the read at the current commit index and starts a heartbeat round to confirm leadership. */
function sendReadIndexRequest(r: Raft, m: Message): void {
  const ctx = m.context;
  assert(ctx !== undefined, 'ReadIndex request without context');
  if (r.readOnly.isFull()) return; // bounded; the requester times out
  r.readOnly.addRequest(r.log.committed, m);
  r.readOnly.recvAck(r.id, ctx);
  bcastHeartbeatWithCtx(r, ctx);
}

/** Answers a confirmed read: a ReadState for ourselves, a MsgReadIndexResp for a follower. */
export function respondToReadIndex(r: Raft, req: Message, index: number): void {
  const ctx = req.context;
  assert(ctx !== undefined, 'ReadIndex request without context');
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: ctx });
    return;
  }
  r.send({ type: MessageType.MsgReadIndexResp, to: req.from, index, context: ctx });
}

/** Once the leader has committed in its term, serve the reads that waited for it. */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) confirmReadIndex(r, m);
}
