// What a RaftMember is built from: its configuration and everything injected (timers, disk,
// network, peer client), so that the binary and the whole-member simulator (test/sim/member) run
// the same member code.
import type { SnapshotFileSource } from '../transport/peer-sender.js';
import type { Logger } from 'pino';
import type { MemberConfig } from '../config.js';
import type { Entry, Message } from '../raft/messages.js';
import type { SoftState } from '../raft/role.js';
import type { KvOpener, RaftLogStore, SnapshotFileStore } from '../storage/index.js';
import type { TransportLimits } from '../transport/index.js';
import type { PeerApiHandler, PeerClient } from './peer-api.js';
import type { MemberTimers } from './timers.js';
import type { ClientTLSOptions } from './tls.js';

export interface RaftMemberOptions {
  config: MemberConfig;
  logger: Logger;
  /** Wall clock in Unix ms with sub-ms precision (TTL expirations, stats). */
  clock?: () => number;
  /** Randomness for raft's election timeouts. */
  random?: () => number;
  /** How often the leader checks whether a TTL is due (etcd's sync ticker: 500 ms). */
  syncIntervalMs?: number;
  /** Proposals waiting to be applied, at most; beyond it 'etcdserver: too many requests'. */
  maxPendingProposals?: number;
  /** Called when the member cannot go on (storage failure, broken invariant). Default: log and exit(1). */
  onFatal?: (err: unknown) => void;
  /**
   * This member applied its own removal from the cluster (etcd: "the member has been permanently
   * removed from the cluster"): it has stopped (a leader handed over first); the process should
   * exit. Default: log it and exit with status 0.
   */
  onRemoved?: () => void;
  /** Timers and the monotonic clock (default Node's); the simulator passes virtual ones. */
  timers?: MemberTimers;
  /** The key-value store under the raft log (default LevelDB in --data-dir); the simulator's disk. */
  openKv?: KvOpener;
  /** The snapshot files (default <data-dir>/member/snap on disk, --max-snapshots kept); the simulator's. */
  openSnapshotFiles?: (dir: string, maxSnapshots: number) => Promise<SnapshotFileStore>;
  /** The raft transport to the peers (default HTTP, src/transport); the simulator's network. */
  createNetwork?: (options: PeerNetworkOptions) => PeerNetwork;
  /** How the default raft transport reaches https:// peer URLs (the peer CA, this member's certificate). */
  peerTLS?: ClientTLSOptions;
  /** Requests to the other members' peer API (default HTTP). */
  peerClient?: PeerClient;
  /** Whether /metrics carries the process metrics (default true; one process may run many members in tests). */
  processMetrics?: boolean;
  /** Told what the member does (applies, role changes), for tests and the simulator. */
  observer?: MemberObserver;
  /**
   * Committed entries handed to apply in one Ready, in bytes (raft's maxCommittedSizePerReadyBytes;
   * default 1 MiB). A restart replays its log in rounds of this size.
   */
  maxCommittedBytesPerReady?: number;
  /**
   * The work of one slice of a snapshot's encoding (default SNAPSHOT_SLICE in raft-member.ts) and
   * the pause between two slices (default 0: the next turn of the event loop). The simulator takes
   * tiny slices and virtual pauses, so that writes, installs and crashes land in the middle of one.
   */
  snapshotSlice?: { items: number; bytes: number; pauseMs?: number };
  /**
   * While the member checks, on an empty data dir, whether it was already bootstrapped, its peer
   * port must answer the peers that check too: called with the handler to serve (then null).
   */
  onBootstrapCheck?: (preStartApi: PeerApiHandler | null) => void;
  /** Told the member's opened log store (the backup endpoint reads a point-in-time view of it). */
  onLogOpened?: (store: RaftLogStore) => void;
}

/** What a member sends raft messages with: PeerTransport in the binary. */
export interface PeerNetwork {
  /**
   * Whether it sends a MsgSnap whose data is a reference to its snapshot file (snapshot-ref.ts) by
   * reading the file from PeerNetworkOptions.snapshotFiles (PeerTransport does). Otherwise the
   * member reads the file first and sends the snapshot with its data.
   */
  readonly sendsSnapshotFiles?: boolean;
  send(messages: readonly Message[]): void;
  updatePeer(id: bigint, urls: readonly string[]): Promise<void> | void;
  /** A member left the cluster: nothing more is sent to it. */
  removePeer?(id: bigint): Promise<void> | void;
  close(): Promise<void>;
}

export interface PeerNetworkOptions {
  selfId: bigint;
  clusterId: bigint;
  peers: ReadonlyMap<bigint, readonly string[]>;
  limits: Partial<TransportLimits>;
  onUnreachable: (id: bigint) => void;
  /** How a snapshot sent to a peer ended (raft resumes replication to it, or probes again). */
  onSnapshotStatus: (id: bigint, status: 'finish' | 'failure', durationMs: number) => void;
  /** A peer answered 410 Gone: this member was removed from the cluster (it leaves). */
  onRemovedByPeer?: (id: bigint) => void;
  /** A request to a peer was answered (etcd's ActiveSince, for the strict reconfiguration checks). */
  onRoundTrip?: (id: bigint, ms: number) => void;
  /** Where a snapshot whose data is a reference to its file is read from (when the member keeps snapshot files). */
  snapshotFiles?: SnapshotFileSource;
}

export interface MemberObserver {
  /** A committed entry was applied to the state machine. */
  onApply?(entry: Entry): void;
  /** The role or the known leader changed. */
  onSoftState?(state: SoftState, term: number): void;
  /** A ReadIndex round was asked of raft (for quorum reads), with its context. */
  onReadIndexRequested?(ctx: Uint8Array): void;
  /** Raft answered a ReadIndex round: reads that joined it are served once `index` is applied. */
  onReadIndex?(ctx: Uint8Array, index: number): void;
  /** The state machine jumped to a snapshot (one received from the leader) at `index`. */
  onSnapshotRestored?(index: number): void;
  /** This member took a snapshot of its state at `index` and compacted its log up to `compactedTo`. */
  onSnapshotTaken?(index: number, compactedTo: number): void;
}
