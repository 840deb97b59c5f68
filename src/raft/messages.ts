// The wire and storage types of the consensus core, modelled on etcd-io/raft's raftpb.
// Plain data only: every value here is msgpackr-encodable and crosses process boundaries
// (peer transport, LevelDB). Member ids are etcd's: unsigned 64-bit integers, held as bigint so
// that no id loses precision (etcd's ids are sha1-derived and usually above 2^53); 0n means "none".

export type NodeId = bigint;
export const NONE: NodeId = 0n;
/** The largest id (etcd's types.ID is a uint64). */
export const MAX_NODE_ID: NodeId = (1n << 64n) - 1n;

/** Whether `v` is a valid member id: a bigint in 1..2^64-1. */
export function isNodeId(v: unknown): v is NodeId {
  return typeof v === 'bigint' && v > 0n && v <= MAX_NODE_ID;
}

/** Ascending order of ids, for sort(): bigint has no subtraction-to-number comparator. */
export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export enum EntryType {
  /** An ordinary proposal; data is opaque to raft (an encoded state-machine command). */
  Normal = 0,
  /** A membership change; data is an encoded ConfChange. Seam for the membership issue. */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque payload. An empty payload is the leader's no-op appended on election (§5.4.2, §8). */
  data: Uint8Array;
}

export enum MessageType {
  /** Local: the election timer fired (or campaign() was called). Never sent on the wire. */
  MsgHup = 0,
  /** Local: the heartbeat timer fired on the leader. Never sent on the wire. */
  MsgBeat = 1,
  /** Local: a proposal; forwarded to the leader by followers only if forwarding is enabled. */
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  /** Local: the transport could not deliver to `from`'s peer `to`. */
  MsgUnreachable = 10,
  /** Local: the outcome of sending a snapshot. */
  MsgSnapStatus = 11,
  /** Local: CheckQuorum timer on the leader. */
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** Term of the entry at `index` (MsgApp: the entry preceding `entries`; votes: the candidate's last term). */
  logTerm: number;
  /** MsgApp: index preceding `entries`; MsgAppResp: the index acknowledged or rejected; votes: last index. */
  index: number;
  entries: Entry[];
  commit: number;
  /** MsgAppResp/MsgVoteResp: the request was rejected. */
  reject: boolean;
  /** MsgAppResp reject: the follower's hint (its last index, or the conflict index). */
  rejectHint: number;
  /** MsgAppResp reject: the term of the follower's entry at rejectHint (fast backtracking). */
  logTermHint?: number;
  /** MsgHeartbeat(Resp)/MsgReadIndex(Resp): the ReadIndex request context. */
  context?: Uint8Array;
  snapshot?: Snapshot;
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context?: Uint8Array;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function isEmptySnapshot(snap: Snapshot | undefined): boolean {
  return snap === undefined || snap.metadata.index === 0;
}

/** Local messages are produced and consumed inside one node; they must never reach the transport. */
export function isLocalMessage(type: MessageType): boolean {
  return (
    type === MessageType.MsgHup ||
    type === MessageType.MsgBeat ||
    type === MessageType.MsgUnreachable ||
    type === MessageType.MsgSnapStatus ||
    type === MessageType.MsgCheckQuorum
  );
}

export function isResponseMessage(type: MessageType): boolean {
  return (
    type === MessageType.MsgAppResp ||
    type === MessageType.MsgVoteResp ||
    type === MessageType.MsgHeartbeatResp ||
    type === MessageType.MsgUnreachable ||
    type === MessageType.MsgReadIndexResp ||
    type === MessageType.MsgPreVoteResp
  );
}
