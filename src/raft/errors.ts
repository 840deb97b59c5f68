// Errors a caller of RawNode can see. They carry a stable `code` and the leader hint the server
// needs to redirect a client (307 to the leader's client URL) instead of failing the request.
import { NONE, type NodeId } from './messages.js';

export type DropReason =
  /** No leader is known in the current term (an election is under way). */
  | 'no-leader'
  /** This node is a follower; `leaderId` is the leader it knows of. */
  | 'not-leader'
  /** This node is the leader but is handing leadership to `leaderId` (thesis §3.10). */
  | 'leadership-transfer'
  /** The leader's uncommitted tail is over maxUncommittedEntriesBytes; retry later. */
  | 'uncommitted-limit'
  /** A configuration change is already pending (one at a time, thesis §4.1). */
  | 'conf-change-pending'
  /** The ReadIndex queue is full (maxPendingReadIndexRequests). */
  | 'read-queue-full'
  /** This node is not a voter in the current configuration. */
  | 'not-voter';

/** A request raft refused without appending anything; nothing of it will ever commit. */
export class RequestDroppedError extends Error {
  readonly reason: DropReason;
  /** The node the request should be sent to instead, or NONE (0) when none is known. */
  readonly leaderId: NodeId;
  constructor(what: string, reason: DropReason, leaderId: NodeId) {
    super(`raft ${what} dropped: ${reason}${leaderId !== NONE ? ` (leader ${leaderId.toString(16)})` : ''}`);
    this.name = 'RequestDroppedError';
    this.reason = reason;
    this.leaderId = leaderId;
  }
}

/** propose() refused the proposal (etcd's ErrProposalDropped). */
export class ProposalDroppedError extends RequestDroppedError {
  readonly code = 'ProposalDropped' as const;
  constructor(reason: DropReason, leaderId: NodeId) {
    super('proposal', reason, leaderId);
    this.name = 'ProposalDroppedError';
  }
}

/** readIndex() refused the read; no ReadState will ever be produced for its context. */
export class ReadIndexDroppedError extends RequestDroppedError {
  readonly code = 'ReadIndexDropped' as const;
  constructor(reason: DropReason, leaderId: NodeId) {
    super('read index', reason, leaderId);
    this.name = 'ReadIndexDroppedError';
  }
}
