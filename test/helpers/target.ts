// A running server (one member or a cluster) that a test talks to over HTTP. Suites take a
// TargetFactory so the same suite runs against the real etcd, one etcd-ts member, or a member of a
// three-member etcd-ts cluster.

export interface Target {
  /** 'etcd' or 'etcd-ts' (plus the member count when > 1), for messages. */
  readonly label: string;
  /** Client URL of the member the test talks to. */
  readonly clientURL: string;
  /** Client URLs of every member, in member order. */
  readonly clientURLs: readonly string[];
  /** Peer URLs of every member, in member order. */
  readonly peerURLs: readonly string[];
  /** Output of every member (tails), for failure messages. */
  logs(): string;
  /** Stops every member and removes the data dirs. Idempotent, bounded. */
  stop(): Promise<void>;
}

export type TargetFactory = () => Promise<Target>;
