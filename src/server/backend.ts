// What the HTTP layer needs from a member. RaftMember (raft-member.ts) is what the binary runs;
// LocalMember (local-member.ts), one in-memory member without raft, serves the HTTP tests.
import type { AuthChange, AuthResult, AuthView } from '../store/auth.js';
import type { V2Request } from '../store/command.js';
import type { ApplyResult, Store } from '../store/store.js';

export interface MemberInfo {
  /** Member id as etcd prints it: lowercase hex without zero padding. */
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

/** The write was sent to a member that is not the leader; the HTTP layer answers 307 to `leader`. */
export class NotLeaderError extends Error {
  /** The leader's advertised client URLs; empty when no leader is known. */
  readonly leaderClientURLs: string[];
  constructor(leaderClientURLs: string[]) {
    super(leaderClientURLs.length > 0 ? `not the leader; leader at ${leaderClientURLs[0]}` : 'no leader');
    this.name = 'NotLeaderError';
    this.leaderClientURLs = leaderClientURLs;
  }
}

/** etcd's causes for a ProposalError (etcdserver's ErrStopped, ErrLeaderChanged, ErrTooManyRequests, ErrTimeout). */
export const STOPPED = 'etcdserver: server stopped';
export const LEADER_CHANGED = 'etcdserver: leader changed';
export const TOO_MANY_REQUESTS = 'etcdserver: too many requests';
export const REQUEST_TIMED_OUT = 'etcdserver: request timed out';

/**
 * The proposal could not be committed (no quorum, no leader, leadership lost, shutting down).
 * The HTTP layer answers etcd's 500 {"errorCode":300,"message":"Raft Internal Error","cause":…}.
 */
/** A membership change refused as etcd refuses it: its HTTP status and {"message"} text. */
export class MemberChangeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MemberChangeError';
  }
}

export class ProposalError extends Error {
  /** etcd's cause text, e.g. 'etcdserver: request timed out'. */
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = 'ProposalError';
    this.reason = reason;
  }
}

export interface SelfStats {
  name: string;
  id: string;
  state: 'StateLeader' | 'StateFollower' | 'StateCandidate' | 'StatePreCandidate';
  startTime: string;
  leaderInfo: { leader: string; uptime: string; startTime: string };
  recvAppendRequestCnt: number;
  recvPkgRate?: number;
  recvBandwidthRate?: number;
  sendAppendRequestCnt: number;
  sendPkgRate?: number;
  sendBandwidthRate?: number;
}

export interface FollowerStats {
  latency: { current: number; average: number; standardDeviation: number; minimum: number; maximum: number };
  counts: { fail: number; success: number };
}

export interface LeaderStats {
  leader: string;
  followers: Record<string, FollowerStats>;
}

export interface ClientBackend {
  /** The local v2 store: plain GETs and watches are served from it. */
  readonly store: Store;
  /** Cluster id, lowercase hex (X-Etcd-Cluster-Id). */
  readonly clusterId: string;
  readonly self: MemberInfo;
  /** Local wall clock in Unix ms (sub-ms precision allowed); used to build commands and TTLs. */
  now(): number;
  /**
   * Proposes a write and resolves with what applying it returned (an event or a store error) once
   * it is applied locally. Rejects with NotLeaderError or ProposalError; never resolves with a
   * success for a write that was not committed.
   */
  propose(req: V2Request): Promise<ApplyResult>;
  /** Linearizable read barrier (ReadIndex): resolves once the local store reflects every write committed before the call. */
  readBarrier(): Promise<void>;
  /**
   * Read-your-writes after a redirect: resolves once member `memberIdHex` (the one that redirected
   * the client here) has applied everything this member has applied, or is found down; rejects
   * with ProposalError('etcdserver: request timed out') when it does not apply in time (as etcd's
   * follower answers when it cannot apply a write it forwarded). Absent on a member that never
   * redirects.
   */
  waitAppliedOn?(memberIdHex: string): Promise<void>;
  /** --follower-writes forward: a follower takes writes itself (proposes them through the leader) rather than answering 307. */
  forwardsWrites?(): boolean;
  /** Raft commit index and term, for X-Raft-Index / X-Raft-Term. */
  raftIndex(): number;
  raftTerm(): number;
  members(): MemberInfo[];
  /** The current leader, or null during an election. */
  leader(): MemberInfo | null;
  selfStats(): SelfStats;
  /** Null when this member is not the leader (etcd answers 403 "not current leader"). */
  leaderStats(): LeaderStats | null;
  /**
   * Replaces a member's peer URLs through the log (PUT /v2/members/<id>); resolves once applied.
   * Rejects like propose(). Absent when the runtime cannot change membership.
   */
  updateMember?(id: string, peerURLs: string[]): Promise<void>;
  /**
   * Adds a member through the log (POST /v2/members), on the leader; resolves with its record once
   * applied. Rejects with MemberChangeError (etcd's status and message) or like propose().
   */
  addMember?(peerURLs: string[]): Promise<MemberInfo>;
  /** Removes a member through the log (DELETE /v2/members/<id>), on the leader; as addMember. */
  removeMember?(id: string): Promise<void>;
  /** Whether `id` (hex) was removed from the cluster (etcd answers 410 Gone for it). */
  isRemovedMember?(id: string): boolean;
  /** This member's copy of the replicated v2 auth state. Absent: a runtime without auth (never enabled). */
  auth?(): AuthView;
  /**
   * Proposes an auth change (passwords already hashed) and resolves with what applying it answered,
   * once applied locally. Rejects like propose().
   */
  proposeAuth?(change: AuthChange): Promise<AuthResult>;
}
