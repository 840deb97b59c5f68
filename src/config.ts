// A member's configuration after the command line and ETCD_* variables were read and validated
// (src/cli.ts). Plain data: the single-member runtime and the cluster runtime both start from it.
import type { MemberURL } from './server/urls.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type InitialClusterState = 'new' | 'existing';

export interface InitialMember {
  name: string;
  /** Raft node id: etcd's member id truncated to 53 bits. */
  id: number;
  /** Canonical, sorted. */
  peerURLs: string[];
}

export interface MemberConfig {
  name: string;
  dataDir: string;
  listenClientURLs: MemberURL[];
  /** Canonical, sorted: what /v2/members publishes. */
  advertiseClientURLs: string[];
  listenPeerURLs: MemberURL[];
  /** Canonical, sorted. */
  initialAdvertisePeerURLs: string[];
  /** Every member of the initial cluster, ordered by id. */
  initialCluster: InitialMember[];
  initialClusterState: InitialClusterState;
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Applied entries since the last snapshot that trigger the next one (--snapshot-count). */
  snapshotCount: number;
  /** Snapshot files kept (--max-snapshots; 0 keeps all). */
  maxSnapshots?: number;
  /** Entries kept below a snapshot for slow followers (--experimental-snapshot-catchup-entries). */
  snapshotCatchUpEntries?: number;
  /**
   * What a follower does with a client's write (etcd-ts's --follower-writes): 'redirect' (the
   * default) answers 307 to the leader; 'forward' proposes it through the leader and answers after
   * applying it locally, as etcd does.
   */
  followerWrites?: 'redirect' | 'forward';
  maxRequestBytes: number;
  logLevel: LogLevel;
  /**
   * etcd's --force-new-cluster: start from the data dir's log as the only member of a new cluster
   * (src/server/force-new-cluster.ts). initialCluster then lists only this member.
   */
  forceNewCluster?: boolean;
  /** etcd-ts only: a file whose first line is the token of /debug/raft/faults (partitions for the live view); off when absent. */
  debugFaultsTokenFile?: string;
  /** etcd's --initial-election-tick-advance (default true): see RaftMember.adjustTicks. */
  initialElectionTickAdvance?: boolean;
  /** This member's id (one of initialCluster's). */
  memberId: number;
  /** etcd's cluster id (from the initial members' ids and the token), truncated to 53 bits. */
  clusterId: number;
}

/**
 * etcd's ReqTimeout(): how long a client request may wait for raft (a proposal, a quorum read, the
 * member's first publish) before it gives up. Derived from the election timeout, so a cluster
 * tuned for slow links waits longer.
 */
export function requestTimeoutMs(config: Pick<MemberConfig, 'electionTimeoutMs'>): number {
  return 5000 + 2 * config.electionTimeoutMs;
}
