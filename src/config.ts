// A member's configuration after the command line and ETCD_* variables were read and validated
// (src/cli.ts). Plain data: the single-member runtime and the cluster runtime both start from it.
import type { MemberURL } from './server/urls.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type InitialClusterState = 'new' | 'existing';

export interface InitialMember {
  name: string;
  /** Raft node id: etcd's 64-bit member id. */
  id: bigint;
  /** Canonical, sorted. */
  peerURLs: string[];
}

/**
 * One side's TLS settings (client or peer), as etcd's transport.TLSInfo: file paths as given on the
 * command line; src/server/tls.ts reads and checks the files when the member starts.
 */
export interface TLSFiles {
  /** --cert-file / --peer-cert-file ('' when not given). */
  certFile: string;
  keyFile: string;
  /** --trusted-ca-file / --peer-trusted-ca-file ('' when not given). */
  trustedCAFile: string;
  /** --client-cert-auth / --peer-client-cert-auth: a certificate signed by the trusted CA is required. */
  clientCertAuth: boolean;
  /** --auto-tls / --peer-auto-tls: a self-signed certificate kept in <data-dir>/fixtures/{client,peer}. */
  autoTLS: boolean;
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
  /**
   * etcd's --strict-reconfig-check (default true): refuse a member add or remove that would leave
   * too few started or connected members for a quorum (RaftMember.checkReconfiguration).
   */
  strictReconfigCheck?: boolean;
  /** The client side's TLS (absent: no TLS flag given, every client URL is http). */
  clientTLS?: TLSFiles;
  /** The peer side's TLS: the peer listeners' certificate, and what the peer client presents and trusts. */
  peerTLS?: TLSFiles;
  /** --cipher-suites: Go's names of the TLS 1.2 suites allowed on both sides (absent: Node's defaults). */
  cipherSuites?: string[];
  /** This member's id (one of initialCluster's). */
  memberId: bigint;
  /** etcd's 64-bit cluster id (from the initial members' ids and the token). */
  clusterId: bigint;
}

/**
 * etcd's ReqTimeout(): how long a client request may wait for raft (a proposal, a quorum read, the
 * member's first publish) before it gives up. Derived from the election timeout, so a cluster
 * tuned for slow links waits longer.
 */
export function requestTimeoutMs(config: Pick<MemberConfig, 'electionTimeoutMs'>): number {
  return 5000 + 2 * config.electionTimeoutMs;
}
