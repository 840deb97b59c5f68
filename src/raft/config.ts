// RawNode configuration: an explicit options object with bounded, validated values.
import { isNodeId, type NodeId } from './messages.js';
import type { Storage } from './storage.js';
import { silentLogger, type RaftLogger } from './logger.js';

export interface RaftConfig {
  /** This node's id: a positive 64-bit integer (etcd's member id). */
  id: NodeId;
  /**
   * The initial voters of a brand-new cluster (including this node). Used only when the storage
   * holds no ConfState yet; the caller must persist that ConfState (MemoryStorage.setConfState and
   * the durable copy) so that a restart reads it back from storage.initialState().
   */
  peers?: readonly NodeId[];
  /** The log, HardState and ConfState raft reads; the application writes to it after each Ready. */
  storage: Storage;
  /**
   * This node joined a running cluster (etcd's member add) and has no configuration of its own
   * until its log's ConfChange entries or a leader's snapshot bring one: storage may then hold a
   * HardState and entries without a ConfState (a restart before the first snapshot). Default false.
   */
  joined?: boolean;
  /** Ticks without hearing from a leader before an election; randomized in [e, 2e). Default 10. */
  electionTicks?: number;
  /** Ticks between the leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** The last index applied to the state machine, when restarting. Default: the snapshot index. */
  applied?: number;
  /** Payload budget of one MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsgBytes?: number;
  /** Budget of committed entries handed out for application at once. Default maxSizePerMsgBytes. */
  maxCommittedSizePerReadyBytes?: number;
  /** MsgApps in flight per follower in StateReplicate. Default 256. */
  maxInflightMsgs?: number;
  /** Payload bytes in flight per follower; 0 = only maxInflightMsgs bounds it. Default 64 MiB. */
  maxInflightBytes?: number;
  /** The leader refuses proposals while its uncommitted tail exceeds this. Default 64 MiB. */
  maxUncommittedEntriesBytes?: number;
  /** ReadIndex requests waiting on the leader for quorum confirmation. Default 4096. */
  maxPendingReadIndexRequests?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  checkQuorum?: boolean;
  /** Pre-Vote (thesis §9.6): a candidate first checks it could win before bumping its term. Default true. */
  preVote?: boolean;
  /** Uniform random numbers in [0, 1): raft's only source of randomness (election timeouts). */
  random: () => number;
  /** Optional log hook (pino-compatible). Default: silent. */
  logger?: RaftLogger;
}

export interface ResolvedRaftConfig {
  id: NodeId;
  peers: readonly NodeId[];
  storage: Storage;
  joined: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  applied: number;
  maxSizePerMsgBytes: number;
  maxCommittedSizePerReadyBytes: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxUncommittedEntriesBytes: number;
  maxPendingReadIndexRequests: number;
  checkQuorum: boolean;
  preVote: boolean;
  random: () => number;
  logger: RaftLogger;
}

const MiB = 1024 * 1024;

export class RaftConfigError extends Error {
  constructor(message: string) {
    super(`invalid raft config: ${message}`);
    this.name = 'RaftConfigError';
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RaftConfigError(`${name} must be a positive integer (got ${v})`);
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RaftConfigError(`${name} must be a non-negative integer (got ${v})`);
  return v;
}

export function resolveConfig(c: RaftConfig): ResolvedRaftConfig {
  if (!isNodeId(c.id)) throw new RaftConfigError(`id must be a positive 64-bit integer (bigint) (got ${String(c.id)})`);
  const heartbeatTicks = positiveInt('heartbeatTicks', c.heartbeatTicks ?? 1);
  const electionTicks = positiveInt('electionTicks', c.electionTicks ?? 10);
  if (electionTicks <= heartbeatTicks) throw new RaftConfigError('electionTicks must be greater than heartbeatTicks');
  if (typeof c.random !== 'function') throw new RaftConfigError('random must be a function returning numbers in [0, 1)');
  const maxSizePerMsgBytes = nonNegativeInt('maxSizePerMsgBytes', c.maxSizePerMsgBytes ?? MiB);
  const maxInflightBytes = nonNegativeInt('maxInflightBytes', c.maxInflightBytes ?? 64 * MiB);
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsgBytes) {
    throw new RaftConfigError('maxInflightBytes must be >= maxSizePerMsgBytes');
  }
  const peers = [...(c.peers ?? [])];
  for (const p of peers) {
    if (!isNodeId(p)) throw new RaftConfigError(`peer id ${String(p)} must be a positive 64-bit integer (bigint)`);
  }
  return {
    id: c.id,
    peers,
    storage: c.storage,
    joined: c.joined ?? false,
    electionTicks,
    heartbeatTicks,
    applied: nonNegativeInt('applied', c.applied ?? 0),
    maxSizePerMsgBytes,
    maxCommittedSizePerReadyBytes: positiveInt('maxCommittedSizePerReadyBytes', c.maxCommittedSizePerReadyBytes ?? Math.max(maxSizePerMsgBytes, 1)),
    maxInflightMsgs: positiveInt('maxInflightMsgs', c.maxInflightMsgs ?? 256),
    maxInflightBytes,
    maxUncommittedEntriesBytes: positiveInt('maxUncommittedEntriesBytes', c.maxUncommittedEntriesBytes ?? 64 * MiB),
    maxPendingReadIndexRequests: positiveInt('maxPendingReadIndexRequests', c.maxPendingReadIndexRequests ?? 4096),
    checkQuorum: c.checkQuorum ?? true,
    preVote: c.preVote ?? true,
    random: c.random,
    logger: c.logger ?? silentLogger,
  };
}
