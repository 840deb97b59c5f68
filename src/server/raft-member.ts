// One member of a replicated cluster: raft (src/raft) + the durable log (src/storage) + the peer
// transport (src/transport) + the v2 store (src/store), driven from one event loop.
//
// The loop (etcd's raftNode, simplified):
//   tick timer, peer messages, client proposals and ReadIndex requests step the RawNode, then
//   schedule a Ready round. A round takes one Ready and, in order:
//     1. sends its requests (appends, heartbeats, vote requests) at once, then persists its
//        HardState and entries as ONE LevelDB batch, fsynced when raft says so (the leader
//        replicates while it writes, thesis §10.2.1; it counts its own copy once durable);
//     2. only then sends its answers (a vote or an append ack never leaves before it is durable);
//     3. applies its committed entries to the store in log order and answers the proposals
//        waiting for them;
//     4. serves ReadIndex answers, then advances the RawNode.
//   While a batch is being written, new proposals keep arriving; they go into the next Ready
//   together (group commit: many proposals, one fsync).
//
// Snapshots (etcd's): every --snapshot-count applied entries the member serialises its state
// machine, writes it to a checksummed file in the background, then records it in the log and
// compacts the log below it minus a catch-up tail; a restart loads the newest usable snapshot and
// replays the tail; a follower too far behind gets the leader's snapshot and installs it.
//
// A proposal is answered only from its own applied entry: a waiter remembers (index, term) where
// raft appended it, and the entry applied at that index must carry that term. A leader that
// steps down fails its waiters ('etcdserver: leader changed'): their outcome is unknown, never a
// false success.
//
// The rules this glue keeps, each next to the code that keeps it and each exercised by the
// whole-member simulator (test/sim/member):
//   - persist before acknowledging (step 2 above);
//   - never record a commit index beyond what is durable (hard-state.ts);
//   - serve clients only after this run's own publish is applied (publish.ts, isReady);
//   - an empty data dir bootstraps only when the peers say this member is new (bootstrap.ts);
//   - never trust a peer's input: the guard refuses what no member can send (peer-guard.ts), a
//     publish is proposed only as the member itself confirms it (publish.ts), and an exception
//     from raft on input it accepted is a broken invariant that stops the member;
//   - a leader that stops cleanly hands leadership to its most caught-up follower first.
import type { Logger } from 'pino';
import { requestTimeoutMs, type MemberConfig } from '../config.js';
import { ConfChangeType, isEmptySnapshot, MessageType, type ConfState, type Entry, type Message, type Snapshot } from '../raft/messages.js';
import type { MemoryStorage } from '../raft/storage.js';
import { RawNode, Role, type SoftState, type Status } from '../raft/index.js';
import { randomBytes } from 'node:crypto';
import { decodeSnapshot, isLegacyIdentity, isSnapshotRef, legacyId, SnapshotReceiveError, snapshotRef, type RaftLogStore } from '../storage/index.js';
import type { AuthChange, AuthResult, AuthView } from '../store/auth.js';
import { v2Request, type V2Request } from '../store/command.js';
import type { ApplyResult, Store } from '../store/store.js';
import { createPeerHandler, createPeerStreamHandler, DEFAULT_TRANSPORT_LIMITS, PeerTransport, REFUSAL_REMOVED_MEMBER, SnapshotFileRefused, TransportStats, type PeerInputOptions, type PeerRequestHandler, type PeerUpgradeHandler } from '../transport/index.js';
import { DEFAULT_MAX_BATCH_MESSAGES } from '../transport/limits.js';
import {
  LEADER_CHANGED,
  NotLeaderError,
  ProposalError,
  REQUEST_TIMED_OUT,
  STOPPED,
  MemberChangeError,
  type ClientBackend,
  type LeaderStats,
  type MemberInfo,
  type SelfStats,
} from './backend.js';
import { encodeMemberChange, isForwardable, type EntryCommand, type MemberChange } from './entry-codec.js';
import { FORWARD_TOKEN_PATH, ForwardedProposals, Forwarder, PROPOSE_PATH } from './forward.js';
import { randomToken } from './tokens.js';
import { computeAddedMemberId, formatId, parseMemberId } from './ids.js';
import { MemberStats } from './member-stats.js';
import { Membership } from './membership.js';
import { MemberMetrics } from './metrics.js';
import { Proposals } from './proposals.js';
import { AppliedAnswers, APPLIED_PATH, AppliedWaits } from './applied-waits.js';
import { askClusterOf, MEMBERS_PATH, membersAnswer, membersWithLoggedPublishes, openMemberLog, reportedTerm, type OpenedMemberLog } from './bootstrap.js';
import { HardStateKeeper, type HardStateWrite } from './hard-state.js';
import { httpPeerClient, servePeerApi, type PeerApiHandler, type PeerClient } from './peer-api.js';
import { HEADER_CLUSTER_ID } from '../transport/protocol.js';
import { raftGuardView, refusePeerBatch, type GuardView } from './peer-guard.js';
import { ATTRIBUTES_PATH, Publisher, PUBLISH_MAX_BODY_BYTES, PUBLISH_PATH } from './publish.js';
import { ReadBarrier } from './read-barrier.js';
import type { RaftLogView, RaftStatusExtras } from './raft-debug.js';
import { RAFT_EVENT_IDS_PER_MS, RaftEvents } from './raft-events.js';
import { PeerFaults } from './peer-faults.js';
import { chooseTransferee, randomNonce, stableCommittedPrefix } from './loop-helpers.js';
import type { MemberObserver, PeerNetwork, RaftMemberOptions } from './member-options.js';
import type { SnapshotFileSource } from '../transport/peer-sender.js';
import { MemberStateMachine, type EntryResult, type MemberChangeResult } from './state-machine.js';
import type { StateEncoder } from './state-snapshot.js';
import { nodeTimers, sleep, type MemberTimers, type TimerHandle } from './timers.js';
import { ETCD_CLUSTER_VERSION, etcdTsVersion } from './version.js';

export type { MemberObserver, PeerNetwork, PeerNetworkOptions, RaftMemberOptions } from './member-options.js';

export class RaftMember implements ClientBackend {
  readonly clusterId: string;
  readonly self: MemberInfo;
  readonly metrics: MemberMetrics;
  /** The peer API (/raft/*, /members/publish), for the peer listeners. */
  readonly peerHandler: PeerRequestHandler;
  /** The raft streams (GET /raft/stream upgrades), for the peer listeners' 'upgrade' event. */
  readonly peerUpgradeHandler: PeerUpgradeHandler;

  private readonly config: MemberConfig;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly node: RawNode;
  private readonly log: RaftLogStore;
  /** The in-memory log raft reads (the tail after the last compaction). */
  private readonly storage: MemoryStorage;
  /** The index of this member's newest snapshot (taken or installed); 0 before the first. */
  private snapshotIndex: number;
  private readonly peerClient: PeerClient;
  /** The file references this member made for snapshots it received and checked (receiveSnapshotFile). */
  private readonly checkedSnapshotRefs = new WeakSet<Uint8Array>();
  /** A snapshot is being written (at most one at a time). */
  private snapshotting = false;
  /** The work of one slice of a snapshot's encoding, and the pause between two (options.snapshotSlice). */
  private readonly snapshotSlice: { items: number; bytes: number; pauseMs?: number };
  /** A snapshot whose file is durable, for the Ready loop to record and compact up to. */
  private snapshotToRecord: Snapshot | null = null;
  private readonly transport: PeerNetwork;
  private readonly timers: MemberTimers;
  private readonly observer: MemberObserver | undefined;
  /** /debug/raft/events: its hooks below are one line each, marked `// raft-events`, and cost nothing while nobody listens. */
  readonly events: RaftEvents;
  /** Partitions for the live view (peer-faults.ts): null unless --debug-faults-token-file is given. */
  readonly faults: PeerFaults | null;
  private readonly transportStats = new TransportStats();
  private readonly membership: Membership;
  private readonly reads: ReadBarrier;
  private readonly publisher: Publisher;
  /** Proposals queued for the next Ready, then waiting for their entries to be applied. */
  private readonly proposals: Proposals;
  private notLeaderCache: NotLeaderError | null = null;
  private readonly syncIntervalMs: number;
  private readonly onFatal: (err: unknown) => void;
  /** The replicated state: the key tree, auth, membership. */
  private readonly sm: MemberStateMachine;
  private readonly stats: MemberStats;

  private softState: SoftState = { lead: 0n, role: Role.Follower };
  private syncInFlight = false;
  private versionInFlight = false;
  private readyScheduled = false;
  private readyRunning: Promise<void> | null = null;
  private tickTimer: TimerHandle | null = null;
  private rateTimer: TimerHandle | null = null;
  private syncTimer: TimerHandle | null = null;
  private stopped = false;
  /** Set by stop() at once (the leader then hands over before the loop stops). */
  private stopping: Promise<void> | null = null;
  /** Which HardState to write when (the commit index on disk never outruns the durable log). */
  private readonly hardStates: HardStateKeeper;
  /** Set by the tick when the commit index on disk lags: the idle loop writes it. */
  private commitFlushDue = false;
  /** Waiting for this member to follow another leader (the handoff at stop). */
  private followWaiters: (() => void)[] = [];
  private readonly guardView: GuardView;
  /** Read-your-writes after a redirect: the leader's waits, and this member's answers. */
  private readonly appliedWaits: AppliedWaits;
  private readonly appliedAnswers: AppliedAnswers;
  /** --follower-writes forward: this member's clients' writes on their way through the leader. */
  private readonly forwarder: Forwarder;
  private readonly forwardedProposals: ForwardedProposals;
  /** Requests held until the member is ready to serve clients (bounded). */
  private readyWaiters: (() => void)[] = [];
  /** The peers the transport sends to (members other than this one), with their peer URLs. */
  private readonly transportPeers = new Map<bigint, string[]>();
  /** Since when each peer has answered without interruption (etcd's ActiveSince; for strict reconfiguration checks). */
  private readonly activeSince = new Map<bigint, number>();
  /** The log index up to which the log is an old cluster's (--force-new-cluster); 0 otherwise. */
  private readonly forcedNewClusterAt: number;
  /** Set once this member applied its own removal. */
  private removed = false;
  /** The index of this member's own removal, once applied (0 before). */
  private removalIndex = 0;
  /** When another member showed that it knows the removal is committed (a leader's commit index, or a 410); null before. */
  private removalKnownAt: number | null = null;
  /**
   * Senders this member did not know that a member it knows listed as members (a newcomer whose
   * addition it has not applied yet, e.g. cut off meanwhile): their raft messages are taken too,
   * as etcd's pipeline takes any sender's that is not removed. At most MAX_VOUCHED ids.
   */
  private readonly vouched = new Set<bigint>();
  /** Unknown senders asked about: id -> when (a sender is asked about at most every VOUCH_RETRY_MS). */
  private readonly vouchAsked = new Map<bigint, number>();
  /** leaveAfterRemoval has begun. */
  private leaving = false;
  /** A membership change was applied: the commit index that covers it is fsynced at the next idle round. */
  private commitSyncDue = false;
  private readonly onRemoved: () => void;
  /** A membership change of this leader is on its way through the log (one at a time). */
  private memberChangeInFlight = false;
  /** A member was added: the next snapshot is taken at once, whatever --snapshot-count says. */
  private snapshotDue = false;

  /**
   * Opens (or creates) the member's data dir and builds the member; start() sets it running.
   * Throws DataDirError for a data dir of another cluster or member, or a damaged one.
   */
  static async open(options: RaftMemberOptions): Promise<RaftMember> {
    let member: RaftMember | null = null;
    const opened = await openMemberLog(options, (b) => member?.metrics.walFsyncSeconds.observe(b.durationMs / 1000));
    member = new RaftMember(options, opened);
    return member;
  }

  private constructor(options: RaftMemberOptions, opened: OpenedMemberLog) {
    // A member that joined a running cluster has the ids the cluster gave it (its data dir's), as
    // etcd takes them from its WAL; it knows the members from the log and snapshots, not its flags.
    const joined = opened.metadata.joined === true;
    // A data dir written before ids were etcd's 64-bit ids holds their old 53-bit forms (the ids
    // in its log, snapshots and ConfState too): the member keeps them, every initial member's
    // id with it, as it ran before (the other members' dirs are as old, so the cluster agrees).
    const legacy = !joined && isLegacyIdentity(opened.metadata, options.config);
    const config: MemberConfig = joined
      ? { ...options.config, memberId: opened.metadata.memberId, clusterId: opened.metadata.clusterId }
      : legacy
        ? { ...options.config, memberId: opened.metadata.memberId, clusterId: opened.metadata.clusterId, initialCluster: options.config.initialCluster.map((m) => ({ ...m, id: legacyId(m.id) })) }
        : options.config;
    if (legacy) options.logger.warn({ memberId: opened.metadata.memberId, clusterId: opened.metadata.clusterId }, 'the data dir was written before member ids were etcd\'s 64-bit ids: this member keeps its old ids');
    this.config = config;
    this.logger = options.logger;
    this.timers = options.timers ?? nodeTimers;
    this.observer = options.observer;
    this.snapshotSlice = options.snapshotSlice ?? SNAPSHOT_SLICE;
    this.faults = config.debugFaultsTokenFile !== undefined ? new PeerFaults((fn, ms) => void this.timers.setTimeout(fn, ms)) : null;
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    // Event ids from the wall clock: a restarted member's are above its previous run's (raft-events.ts).
    this.events = new RaftEvents({ timers: this.timers, firstId: Math.floor(this.clock()) * RAFT_EVENT_IDS_PER_MS });
    this.syncIntervalMs = options.syncIntervalMs ?? 500;
    this.onFatal = options.onFatal ?? ((err) => {
      this.logger.fatal({ err }, 'member cannot continue');
      process.exit(1);
    });
    this.stats = new MemberStats(this.transportStats, this.clock);
    this.log = opened.store;
    this.peerClient = options.peerClient ?? httpPeerClient;
    this.storage = opened.storage;
    this.snapshotIndex = opened.snapshot.metadata.index;
    this.hardStates = new HardStateKeeper(opened.hardState, MAX_DURABLE_COMMIT_LAG_ENTRIES);
    const random = options.random ?? Math.random;
    this.clusterId = formatId(config.clusterId);
    this.membership = new Membership(joined ? [] : config.initialCluster);
    this.forcedNewClusterAt = opened.metadata.forcedAt ?? 0;
    this.onRemoved = options.onRemoved ?? (() => {
      this.logger.warn('the member has been permanently removed from the cluster; exiting');
      process.exit(0);
    });
    // The store lives in memory: it is rebuilt by applying the committed log from its start.
    this.sm = new MemberStateMachine(
      {
        membership: this.membership,
        onPeerURLsChanged: (id, urls) => {
          if (id === config.memberId) return;
          this.transportPeers.set(id, [...urls]);
          // (a restart's snapshot is restored before the transport exists: it starts with these peers)
          const transport = this.transport as PeerNetwork | undefined;
          if (transport !== undefined) void transport.updatePeer(id, urls);
        },
        onAttributesApplied: (id, runId, index) => this.publisher.onApplied(id, runId, index),
        onForwardedApplied: (cmd, result) => this.forwarder.onApplied(cmd, result),
        onConfChange: (change, index) => this.onConfChange(change, index),
        forcedNewClusterAt: this.forcedNewClusterAt,
      },
      opened.snapshot.metadata.index,
    );
    // A restart continues from the newest snapshot; the log after it is replayed by the Ready loop.
    if (opened.snapshot.data.length > 0) this.sm.restore(opened.snapshot.data, { members: this.restoreMembersMode(opened.snapshot.metadata.index) });
    this.self = {
      id: formatId(config.memberId),
      name: config.name,
      peerURLs: [...config.initialAdvertisePeerURLs],
      clientURLs: [...config.advertiseClientURLs],
    };
    this.node = new RawNode({
      id: config.memberId,
      storage: opened.storage,
      joined: opened.metadata.joined === true,
      applied: this.sm.applied(),
      electionTicks: Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs)),
      heartbeatTicks: 1,
      checkQuorum: true,
      preVote: true,
      ...(options.maxCommittedBytesPerReady !== undefined ? { maxCommittedSizePerReadyBytes: options.maxCommittedBytesPerReady } : {}),
      random,
      logger: this.logger.child({ component: 'raft' }),
    });
    // A member that just joined takes raft messages from the members a peer listed until its log
    // (or the leader's snapshot) tells it the members.
    const joinedPeers = new Map((opened.joinedCluster ?? []).filter((m) => m.id !== config.memberId).map((m) => [m.id, m.peerURLs]));
    const membership = this.membership;
    const vouched = this.vouched;
    const isMember = { has: (id: bigint) => membership.has(id) || ((joinedPeers.has(id) || vouched.has(id)) && !membership.isRemoved(id)) };
    // A snapshot's data that is a reference to a file (snapshot-ref.ts) passes only when this member
    // made it for a file it received and checked (receiveSnapshotFile): one that came on the wire
    // would name whatever file this member has under that name.
    this.guardView = raftGuardView(config.memberId, isMember, this.node.raft, (data, index) =>
      isSnapshotRef(data) ? (this.checkedSnapshotRefs.has(data) ? null : 'a reference to a snapshot file is never sent between members') : this.sm.refuseSnapshotData(data, index),
    );

    const peers = this.transportPeers;
    for (const [id, urls] of joinedPeers) peers.set(id, [...urls]);
    for (const id of this.membership.ids()) if (id !== config.memberId) peers.set(id, this.membership.peerURLs(id));
    // One bound for peer requests on both ends, from --max-request-bytes: an append carries at
    // least one whole entry, so a request the client API accepted must fit in a peer request.
    const peerBodyBytes = Math.max(4 * config.maxRequestBytes, 16 * 1024 * 1024);
    // A peer that was down (a restart) is tried again at least every two heartbeats: a restarted
    // member hears from the leader, publishes and serves clients that much sooner.
    const backoffMaxMs = Math.max(100, 2 * config.heartbeatIntervalMs);
    const limits = {
      maxBodyBytes: peerBodyBytes,
      maxQueueBytes: Math.max(64 * 1024 * 1024, 2 * peerBodyBytes),
      backoffInitialMs: Math.min(100, backoffMaxMs),
      backoffMaxMs,
    };
    const onUnreachable = (id: bigint): void => {
      this.activeSince.delete(id);
      this.node.reportUnreachable(id);
      this.scheduleReady();
    };
    const onSnapshotStatus = (id: bigint, status: 'finish' | 'failure', durationMs: number): void => {
      if (status === 'finish') this.metrics.snapshotSendSeconds.observe({ To: formatId(id) }, durationMs / 1000);
      (status === 'finish' ? this.metrics.snapshotSendSuccess : this.metrics.snapshotSendFailures).inc({ To: formatId(id) });
      this.node.reportSnapshot(id, status);
      this.scheduleReady();
    };
    const onRemovedByPeer = (id: bigint): void => {
      if (this.stopped) return;
      // The peer applied the removal: it no longer needs this member to learn that it is committed.
      this.removalKnownAt ??= this.clock();
      if (this.removed) return;
      this.removed = true;
      this.logger.warn({ peer: formatId(id) }, 'a peer says this member was removed from the cluster');
      this.leaveAfterRemoval();
    };
    const onRoundTrip = (id: bigint, ms: number): void => {
      if (!this.activeSince.has(id)) this.activeSince.set(id, this.timers.nowMs());
      this.metrics.peerRoundTripSeconds.observe({ To: formatId(id) }, ms / 1000);
    };
    const streaming = this.log.streamingFiles();
    const snapshotFiles: SnapshotFileSource | undefined =
      streaming === undefined ? undefined : { openRead: (term, index) => streaming.openRead(term, index), readData: (term, index) => this.log.snapshotFileState({ term, index }) };
    const network = options.createNetwork?.({ selfId: config.memberId, clusterId: config.clusterId, peers, limits, onUnreachable, onSnapshotStatus, onRemovedByPeer, onRoundTrip, ...(snapshotFiles !== undefined ? { snapshotFiles } : {}) });
    const base: PeerNetwork =
      network ??
      new PeerTransport({
        selfId: config.memberId,
        clusterId: config.clusterId,
        peers,
        limits,
        serverVersion: etcdTsVersion(),
        ...(options.peerTLS !== undefined ? { tls: options.peerTLS } : {}),
        logger: this.logger.child({ component: 'transport' }),
        stats: this.transportStats,
        onUnreachable,
        onSnapshotStatus,
        onRemovedByPeer,
        onRoundTrip,
        ...(snapshotFiles !== undefined ? { snapshotFiles } : {}),
      });
    // A network that cannot read snapshot files gets snapshots with their data (read from the file first).
    this.transport = base.sendsSnapshotFiles === true ? base : this.withSnapshotData(base);
    const raftHandler = createPeerHandler({
      selfId: config.memberId,
      clusterId: config.clusterId,
      serverVersion: etcdTsVersion(),
      logger: this.logger.child({ component: 'transport' }),
      stats: this.transportStats,
      maxBodyBytes: peerBodyBytes,
      onMessages: (msgs, from) => this.receivePeerMessages(msgs, from),
      ...(streaming !== undefined ? { receiveSnapshotFile: (m: Message, bytes: number, chunks: AsyncIterable<Uint8Array>) => this.receiveSnapshotFile(m, bytes, chunks) } : {}),
    });
    // the same checks as a POST of a batch (acceptPeerBody), frame by frame
    this.peerUpgradeHandler = createPeerStreamHandler({
      selfId: config.memberId,
      clusterId: config.clusterId,
      serverVersion: etcdTsVersion(),
      logger: this.logger.child({ component: 'transport' }),
      stats: this.transportStats,
      maxFrameBytes: peerBodyBytes,
      maxBatchMessages: DEFAULT_TRANSPORT_LIMITS.maxBatchMessages,
      maxEntriesPerBatch: DEFAULT_TRANSPORT_LIMITS.maxEntriesPerBatch,
      onMessages: (msgs, from) => this.receivePeerMessages(msgs, from),
    });
    this.reads = new ReadBarrier({
      memberId: config.memberId,
      requestReadIndex: (ctx) => {
        this.node.readIndex(ctx);
        this.observer?.onReadIndexRequested?.(ctx);
        this.scheduleReady();
      },
      appliedIndex: () => this.sm.applied(),
      nowMs: () => this.timers.nowMs(),
      timeoutMs: requestTimeoutMs(config),
      retryAfterMs: config.electionTimeoutMs,
      maxWaiters: 10_000,
      // Read contexts are unguessable and differ between runs: an answer meant for an earlier run
      // (or forged) cannot release a read of this one.
      nonce: options.random === undefined ? randomBytes(8) : randomNonce(random),
    });
    const runId = Math.floor(random() * Number.MAX_SAFE_INTEGER);
    this.publisher = new Publisher({
      memberId: config.memberId,
      clusterId: config.clusterId,
      name: config.name,
      clientURLs: config.advertiseClientURLs,
      membership: this.membership,
      logger: this.logger,
      leaderId: () => this.softState.lead,
      isLeader: () => this.node.isLeader(),
      proposeAttributes: (cmd) => this.proposeCommand(cmd),
      timers: this.timers,
      peerClient: options.peerClient ?? httpPeerClient,
      runId,
      appliedIndex: () => this.sm.applied(),
    });
    this.forwarder = new Forwarder({
      memberId: config.memberId,
      clusterIdHex: this.clusterId,
      runId,
      // (the simulator's runs stay a function of their seed: no extra draws from its randomness)
      token: options.random === undefined ? randomToken(16) : runId.toString(16).padStart(16, '0'),
      leaderId: () => this.softState.lead,
      peerURLs: (id) => this.peerURLsOf(id),
      peerClient: options.peerClient ?? httpPeerClient,
      timers: this.timers,
      logger: this.logger,
      timeoutMs: requestTimeoutMs(config),
      maxPending: options.maxPendingProposals ?? 10_000,
    });
    this.forwardedProposals = new ForwardedProposals({
      clusterIdHex: this.clusterId,
      selfId: config.memberId,
      isMember: (id) => this.membership.has(id),
      peerURLs: (id) => this.peerURLsOf(id),
      peerClient: options.peerClient ?? httpPeerClient,
      timeoutMs: requestTimeoutMs(config),
      propose: (cmd) => this.proposeEntry(cmd),
      logger: this.logger,
    });
    const pollMs = Math.max(50, Math.round(config.electionTimeoutMs / 2));
    this.appliedWaits = new AppliedWaits({
      clusterIdHex: this.clusterId,
      peerClient: options.peerClient ?? httpPeerClient,
      timers: this.timers,
      logger: this.logger,
      peerURLs: (id) => (id !== config.memberId ? this.peerURLsOf(id) : []),
      maxWaitMs: requestTimeoutMs(config),
      pollMs,
      maxWaiters: 10_000,
    });
    this.appliedAnswers = new AppliedAnswers({ clusterIdHex: this.clusterId, applied: () => this.sm.applied(), timers: this.timers, pollMs, maxWaiters: 10_000 });
    const peerApi = servePeerApi(this.peerApi, new Set([PUBLISH_PATH, ATTRIBUTES_PATH, MEMBERS_PATH, APPLIED_PATH, FORWARD_TOKEN_PATH]), PUBLISH_MAX_BODY_BYTES);
    // A forwarded write is as large as the client's request (JSON adds at most a few times its size).
    const proposeApi = servePeerApi(this.peerApi, new Set([PROPOSE_PATH]), peerBodyBytes);
    this.peerHandler = (req, res) => {
      if (peerApi(req, res) || proposeApi(req, res)) return;
      raftHandler(req, res, () => {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end('404 page not found\n');
      });
    };
    this.metrics = new MemberMetrics({
      hasLeader: () => this.softState.lead !== 0n,
      isLeader: () => this.node.isLeader(),
      committedIndex: () => this.node.commitIndex,
      appliedIndex: () => this.sm.applied(),
      pendingProposals: () => this.proposals.waiting,
      peers: () => [...this.transportPeers.keys()],
      transport: this.transportStats,
      processMetrics: options.processMetrics ?? true,
    });
    this.proposals = new Proposals({
      maxPending: options.maxPendingProposals ?? 10_000,
      onQueued: () => this.scheduleReady(),
      onFailed: (count) => this.metrics.proposalsFailed.inc(count),
    });
    this.logger.info(
      { memberId: this.self.id, clusterId: this.clusterId, created: opened.created, term: opened.hardState.term, commit: opened.hardState.commit, lastIndex: opened.lastIndex },
      opened.created ? 'starting a new member' : 'restarting from the data dir',
    );
  }

  /** Starts ticking, publishing this member's attributes, and expiring TTLs. */
  start(): void {
    if (this.stopped) throw new Error('RaftMember: start() after stop()');
    if (this.tickTimer !== null) return;
    this.tickTimer = this.timers.setInterval(() => this.onTick(), this.config.heartbeatIntervalMs);
    this.syncTimer = this.timers.setInterval(() => this.syncIfDue(), this.syncIntervalMs);
    this.rateTimer = this.timers.setInterval(() => this.stats.sampleRates(), 1000);
    // A lone voter need not wait an election timeout to lead.
    if (this.membership.ids().length === 1) this.node.campaign();
    else if (this.config.initialElectionTickAdvance !== false) this.adjustTicks();
    this.publisher.start();
    this.scheduleReady();
  }

  /**
   * etcd's adjustTicks (--initial-election-tick-advance): once more than one peer answers on its
   * peer port (asked every 50 ms, for at most 5 s, as etcd waits for its peer streams) and this
   * member still knows no leader, its election timer is fast-forwarded to two ticks before it
   * fires. A cluster restarted as a whole then elects a leader within a few heartbeats instead of a
   * whole election timeout; a member that restarts alone hears from the leader first (and PreVote
   * keeps it from disturbing the leader anyway).
   */
  private adjustTicks(): void {
    const electionTicks = this.node.raft.electionTicks;
    const reachable = new Set<bigint>();
    const asking = new Set<bigint>();
    let checks = 0;
    const timer = this.timers.setInterval(() => {
      checks++;
      if (this.stopped || this.softState.lead !== 0n || checks > 100) {
        timer.cancel();
        return;
      }
      if (reachable.size > 1 || reachable.size === this.membership.ids().length - 1) {
        timer.cancel();
        for (let i = 0; i < electionTicks - 2; i++) this.node.tick();
        this.scheduleReady();
        return;
      }
      for (const id of this.membership.ids()) {
        const url = this.peerURLsOf(id)[0];
        if (id === this.config.memberId || reachable.has(id) || asking.has(id) || url === undefined) continue;
        asking.add(id);
        // Any answer will do (a member still replaying its log answers 503): its peer port is up.
        this.peerClient.request(url, { method: 'GET', path: MEMBERS_PATH, headers: { [HEADER_CLUSTER_ID]: this.clusterId } }, 1000).then(
          () => reachable.add(id),
          () => undefined,
        ).finally(() => asking.delete(id));
      }
    }, 50);
  }

  /**
   * Stops the member (SIGTERM): a leader first hands leadership to its most caught-up follower
   * (bounded), then pending requests fail, the last Ready round finishes, the HardState of the
   * last completed round is written, and the log is closed.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    if (!this.stopped && this.tickTimer !== null) await this.handOverLeadership();
    this.stopped = true;
    this.tickTimer?.cancel();
    this.syncTimer?.cancel();
    this.rateTimer?.cancel();
    this.publisher.stop();
    for (const release of this.readyWaiters.splice(0)) release();
    for (const release of this.followWaiters.splice(0)) release();
    this.appliedAnswers.releaseAll();
    this.forwarder.failAll(STOPPED);
    this.proposals.failAll(STOPPED);
    this.reads.failAll(STOPPED);
    if (this.readyRunning !== null) await this.readyRunning.catch(() => undefined);
    await this.transport.close();
    const last = this.hardStates.atStop();
    if (last !== undefined) {
      try {
        await this.log.save({ hardState: last.hardState }, { sync: true });
      } catch (err: unknown) {
        this.logger.warn({ err }, 'could not write the commit index at stop');
      }
    }
    await this.log.close();
    this.logger.info({ term: this.node.term, applied: this.sm.applied(), commitOnDisk: this.hardStates.writtenCommit }, 'member stopped');
  }

  /**
   * etcd's TransferLeadership at stop: hand over to the follower with the longest log that was
   * recently active, and wait until this member follows the new leader (then stopping costs the
   * cluster no election timeout; merely no longer leading is not enough, as its vote for the
   * transferee may not have left yet), or raft gave the transfer up (after an election timeout),
   * and at most two election timeouts. Proposals are refused meanwhile.
   */
  private async handOverLeadership(): Promise<void> {
    if (!this.node.isLeader() || this.membership.ids().length < 2) return;
    const to = chooseTransferee(this.node.status(), this.config.memberId);
    if (to === undefined) return;
    this.logger.info({ term: this.node.term, to: formatId(to) }, 'stopping: handing leadership over');
    this.node.transferLeader(to);
    this.scheduleReady();
    const following = new Promise<void>((resolve) => this.followWaiters.push(resolve));
    await Promise.race([following, sleep(this.timers, 2 * this.config.electionTimeoutMs)]);
    if (this.softState.lead === 0n || this.softState.lead === this.config.memberId) {
      this.logger.warn({ term: this.node.term, to: formatId(to) }, 'stopping: leadership was not handed over in time');
    }
  }

  // ---- ClientBackend

  now(): number {
    return this.clock();
  }

  async propose(req: V2Request): Promise<ApplyResult> {
    return this.proposeCommand({ kind: 'v2', req });
  }

  /** The local v2 store: plain GETs and watches are served from it. */
  get store(): Store {
    return this.sm.store;
  }

  auth(): AuthView {
    return this.sm.auth;
  }

  async proposeAuth(change: AuthChange): Promise<AuthResult> {
    const result = await this.proposeEntry({ kind: 'auth', change });
    if (!('kind' in result)) throw new Error('RaftMember: an auth entry applied as another kind of entry');
    return result;
  }

  readBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new ProposalError(STOPPED));
    return this.reads.wait();
  }

  async waitAppliedOn(memberIdHex: string): Promise<void> {
    const id = parseMemberId(memberIdHex);
    if (id === undefined || id === this.config.memberId || this.stopped) return;
    const outcome = await this.appliedWaits.wait(id, this.sm.applied());
    if (outcome === 'timeout') throw new ProposalError(REQUEST_TIMED_OUT);
  }

  forwardsWrites(): boolean {
    return this.config.followerWrites === 'forward';
  }

  raftIndex(): number {
    return this.node.commitIndex;
  }

  raftTerm(): number {
    return this.node.term;
  }

  members(): MemberInfo[] {
    return this.membership.list();
  }

  leader(): MemberInfo | null {
    const lead = this.softState.lead;
    return lead === 0n ? null : this.membership.info(lead);
  }

  selfStats(): SelfStats {
    return this.stats.self(this.config.name, this.self.id, this.node.role, this.softState.lead);
  }

  leaderStats(): LeaderStats | null {
    if (!this.node.isLeader()) return null;
    return this.stats.leader(this.self.id, this.membership.ids().filter((id) => id !== this.config.memberId));
  }

  /**
   * Whether this member may serve clients, as etcd's ReadyNotify: this run's own publish is
   * applied (so is everything committed before this member started) and the cluster version is
   * decided. Until then client requests wait (bounded).
   */
  isReady(): boolean {
    return this.publisher.published() && this.membership.clusterVersion !== null;
  }

  /** Resolves when isReady() or after timeoutMs, whichever comes first (the caller serves either way). */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.isReady() || this.stopped || this.readyWaiters.length >= 10_000) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(resolve, timeoutMs);
      this.readyWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  async updateMember(id: string, peerURLs: string[]): Promise<void> {
    const memberId = parseMemberId(id);
    if (memberId === undefined || !this.membership.has(memberId)) throw new ProposalError(`etcdserver: no such member ${id}`);
    const result = await this.proposeCommand({ kind: 'peers', memberId, peerURLs });
    if (!result.ok) throw new ProposalError(result.error.message);
  }

  /** Raft's view of this member (etcd's raft.Status): term, vote, commit, applied, lead, role, progress. */
  raftStatus(): Status {
    return this.node.status();
  }

  /** What /debug/raft/status shows beside raft's Status (src/server/raft-debug.ts). */
  raftStatusExtras(): RaftStatusExtras {
    const r = this.node.raft;
    const ticksLeft = r.randomizedElectionTimeout - r.electionElapsed;
    return {
      lastTerm: r.log.lastTerm(),
      snapshotIndex: this.storage.snapshot().metadata.index,
      electionTimeoutRemainingMs: this.node.isLeader() ? null : Math.max(0, ticksLeft) * this.config.heartbeatIntervalMs,
    };
  }

  /** Raft messages a delay fault held back (peer-faults.ts) leave now, unless the member stopped. */
  private readonly sendDelayed = (msgs: Message[]): void => {
    if (!this.stopped) this.transport.send(msgs);
  };

  /**
   * A snapshot that does not name both ends is not sent: raft offers its newest one, and one taken
   * before the recipient's addition (the snapshot due then is still being encoded), or before this
   * member's own, would be refused by the recipient (raft can restore no configuration without
   * itself; a leader is one of the voters). Raft hears that the send failed and probes again; the
   * due snapshot goes once it is there.
   */
  private withoutForeignSnapshots(msgs: readonly Message[]): readonly Message[] {
    if (!msgs.some((m) => m.type === MessageType.MsgSnap)) return msgs;
    return msgs.filter((m) => {
      if (m.type !== MessageType.MsgSnap || m.snapshot === undefined) return true;
      const { voters, learners } = m.snapshot.metadata.confState;
      const names = (id: bigint): boolean => voters.includes(id) || learners.includes(id);
      if (names(m.to) && voters.includes(this.config.memberId)) return true;
      this.logger.info({ to: formatId(m.to), index: m.snapshot.metadata.index }, 'not sending a snapshot from before the recipient was added; the newer one is being taken');
      this.snapDropped(m.to);
      return false;
    });
  }

  /** A MsgSnap to a blackholed peer is lost: raft hears that the send failed, as after a timeout. */
  private readonly snapDropped = (to: bigint): void => {
    queueMicrotask(() => {
      if (this.stopped) return;
      this.node.reportSnapshot(to, 'failure');
      this.scheduleReady();
    });
  };

  /** Raft's in-memory log, read-only, for /debug/raft/log (raft-debug.ts). */
  raftLog(): RaftLogView {
    return this.node.raft.log;
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return this.metrics.text();
  }

  // ---- membership changes (etcd's AddMember / RemoveMember, through the log one at a time)

  async addMember(peerURLs: string[]): Promise<MemberInfo> {
    this.checkReconfiguration('add', undefined);
    if (this.membership.peerURLOwner(peerURLs) !== undefined) throw new MemberChangeError(409, 'membership: peerURL exists');
    const memberId = computeAddedMemberId(peerURLs, this.config.initialClusterToken, this.clock());
    const outcome = await this.proposeMemberChange({ change: 'add', memberId, peerURLs: [...peerURLs].sort() });
    if (outcome.memberChange === 'peer-url-exists') throw new MemberChangeError(409, 'membership: peerURL exists');
    if (outcome.memberChange === 'id-exists') throw new MemberChangeError(409, 'membership: ID exists');
    if (outcome.memberChange !== 'ok') throw new MemberChangeError(500, 'Internal Server Error');
    return { id: formatId(memberId), name: '', peerURLs: [...peerURLs], clientURLs: [] };
  }

  async removeMember(idHex: string): Promise<void> {
    const memberId = parseMemberId(idHex);
    if (memberId === undefined) throw new MemberChangeError(404, `No such member: ${idHex}`);
    if (this.membership.isRemoved(memberId)) throw new MemberChangeError(410, `Member permanently removed: ${idHex}`);
    if (!this.membership.has(memberId)) throw new MemberChangeError(404, `No such member: ${idHex}`);
    this.checkReconfiguration('remove', memberId);
    const outcome = await this.proposeMemberChange({ change: 'remove', memberId, peerURLs: [] });
    if (outcome.memberChange === 'id-removed') throw new MemberChangeError(410, `Member permanently removed: ${idHex}`);
    if (outcome.memberChange === 'id-not-found') throw new MemberChangeError(404, `No such member: ${idHex}`);
    if (outcome.memberChange !== 'ok') throw new MemberChangeError(500, 'Internal Server Error');
  }

  isRemovedMember(idHex: string): boolean {
    const id = parseMemberId(idHex);
    return id !== undefined && this.membership.isRemoved(id);
  }

  /**
   * etcd's --strict-reconfig-check (on by default): mayAddMember / mayRemoveMember. A change that
   * would leave fewer started (published) voters than a quorum, or that the leader cannot see is
   * safe (a voter not connected for the last 5 s), is refused with a 500 as etcd 3.4 answers it
   * ("etcdserver: not enough started members", "etcdserver: unhealthy cluster" in the log).
   */
  private checkReconfiguration(change: 'add' | 'remove', target: bigint | undefined): void {
    if (!this.node.isLeader()) throw this.notLeader();
    if (this.memberChangeInFlight) throw new MemberChangeError(500, 'Internal Server Error');
    if (this.config.strictReconfigCheck === false) return; // etcd: the checks run only with StrictReconfigCheck
    const voters = this.node.confState().voters;
    const started = (ids: readonly bigint[]): number => ids.filter((id) => this.membership.has(id) && this.isStarted(id)).length;
    const now = this.timers.nowMs();
    const connectedSince = (id: bigint): boolean => id === this.config.memberId || (this.activeSince.get(id) ?? Infinity) <= now - HEALTH_INTERVAL_MS;
    let refusal: string | null = null;
    if (change === 'add') {
      // (etcd's IsReadyToAddVotingMember: a second member may join a cluster of one, as when restoring from a backup)
      const nmembers = voters.length + 1;
      if (!(started(voters) === 1 && nmembers === 2) && started(voters) < Math.floor(nmembers / 2) + 1) refusal = 'etcdserver: re-configuration failed due to not enough started members';
      else if (!voters.every(connectedSince)) refusal = 'etcdserver: unhealthy cluster';
    } else {
      const remaining = voters.filter((id) => id !== target);
      if (started(remaining) < Math.floor(remaining.length / 2) + 1) refusal = 'etcdserver: re-configuration failed due to not enough started members';
      else if (target !== this.config.memberId && target !== undefined && !this.activeSince.has(target)) refusal = null; // a member that is down is safe to remove
      else if (voters.filter(connectedSince).length - 1 < 1 + Math.floor((voters.length - 1) / 2)) refusal = 'etcdserver: unhealthy cluster';
    }
    if (refusal !== null) {
      this.logger.warn({ change, member: target === undefined ? undefined : formatId(target), reason: refusal }, 'rejecting a membership change');
      throw new MemberChangeError(500, 'Internal Server Error');
    }
  }

  /** etcd's Member.IsStarted: it published its name (this member counts as started). */
  private isStarted(id: bigint): boolean {
    return id === this.config.memberId || this.membership.info(id)?.name !== '';
  }

  private async proposeMemberChange(change: MemberChange): Promise<MemberChangeResult> {
    if (this.stopped || this.stopping !== null) throw new ProposalError(STOPPED);
    this.memberChangeInFlight = true;
    try {
      const result = this.proposals.addConfChange(this.node, encodeMemberChange(change), () => this.notLeader());
      this.scheduleReady();
      const settled = await result;
      if (!('memberChange' in settled)) throw new Error('RaftMember: a membership change applied as another kind of entry');
      return settled;
    } finally {
      this.memberChangeInFlight = false;
    }
  }

  /**
   * A membership change applied from the log (or a bootstrap entry naming a member): raft's
   * configuration and the transport follow. This member's own removal stops it once the Ready
   * round that applied it is over (afterApply).
   */
  private onConfChange(change: MemberChange, index: number): void {
    const id = change.memberId;
    const wasVoter = this.node.confState().voters.includes(id);
    this.node.applyConfChange({ type: change.change === 'add' ? ConfChangeType.AddNode : ConfChangeType.RemoveNode, nodeId: id });
    if (id === this.config.memberId) {
      if (change.change === 'remove' && !this.removed) {
        this.removed = true;
        this.removalIndex = index;
        this.logger.warn({ index }, 'this member was removed from the cluster');
      }
      return;
    }
    // The new configuration is known for sure after a restart only up to the commit index on
    // disk: a survivor of a removal that restarted below it would wait for the gone member's vote.
    this.commitSyncDue = true;
    // A snapshot taken now includes the newcomer: raft sends the newest snapshot to a member that
    // needs one, and a snapshot from before its addition would not include it (it would ignore it;
    // etcd builds the snapshot it sends from the current state for the same reason).
    if (change.change === 'add' && !wasVoter) this.snapshotDue = true;
    if (change.change === 'add') {
      const urls = this.membership.peerURLs(id);
      const known = this.transportPeers.get(id);
      if (known === undefined || known.length !== urls.length || known.some((u, i) => u !== urls[i])) {
        this.transportPeers.set(id, urls);
        void this.transport.updatePeer(id, urls);
      }
    } else if (this.transportPeers.delete(id)) {
      this.activeSince.delete(id);
      void this.transport.removePeer?.(id);
    }
  }

  /** After a snapshot replaced the membership: the transport sends to exactly its members. */
  private syncTransportPeers(): void {
    for (const id of [...this.transportPeers.keys()]) {
      if (!this.membership.has(id) && this.membership.isRemoved(id)) {
        this.transportPeers.delete(id);
        void this.transport.removePeer?.(id);
      }
    }
    if (this.membership.isRemoved(this.config.memberId)) this.removed = true;
  }

  /** Whose members a snapshot's state brings: its own, but for an old cluster's state under --force-new-cluster. */
  private restoreMembersMode(index: number): 'snapshot' | 'configured' {
    return index <= this.forcedNewClusterAt ? 'configured' : 'snapshot';
  }

  /**
   * This member was removed: it stops and says so. A leader that removed itself first stays until
   * another member shows it knows the removal is committed (leaving at once, the survivor of a
   * two-member cluster may never hear it, and would wait forever for the gone member's vote;
   * etcd waits a fixed second): it hands leadership to the most caught-up voter and waits, at most
   * REMOVED_LEADER_MAX_WAIT_ELECTIONS election timeouts, for a leader's commit index at or past its
   * removal (or a peer's 410), then two heartbeat intervals more for the survivor to fsync it.
   */
  private leaveAfterRemoval(): void {
    if (this.stopping !== null || this.leaving) return;
    this.leaving = true;
    const leave = (): void => {
      void this.stop().then(
        () => this.onRemoved(),
        () => this.onRemoved(),
      );
    };
    if (!this.node.isLeader() || this.removalIndex === 0 || this.node.confState().voters.length === 0) {
      leave();
      return;
    }
    void this.waitUntilOthersKnowRemoval().then(leave, leave);
  }

  private async waitUntilOthersKnowRemoval(): Promise<void> {
    const start = this.clock();
    const deadline = start + REMOVED_LEADER_MAX_WAIT_ELECTIONS * this.config.electionTimeoutMs;
    const settle = 2 * this.config.heartbeatIntervalMs;
    this.logger.info({ index: this.removalIndex }, 'removed leader: handing over and waiting until the others know the removal is committed');
    while (!this.stopped && this.clock() < deadline) {
      const known = this.removalKnownAt;
      if (known !== null && this.clock() - known >= settle) return;
      if (this.node.isLeader() && this.node.raft.leadTransferee === 0n) {
        const to = chooseTransferee(this.node.status(), this.config.memberId);
        if (to !== undefined) {
          this.node.transferLeader(to);
          this.scheduleReady();
        }
      }
      await sleep(this.timers, this.config.heartbeatIntervalMs);
    }
    if (this.removalKnownAt === null) this.logger.warn({ index: this.removalIndex, waitedMs: this.clock() - start }, 'removed leader: no member confirmed the removal in time; leaving anyway');
  }

  /** A member's registered peer URLs; [] for an id that is not a member. */
  private peerURLsOf(id: bigint): readonly string[] {
    return this.membership.has(id) ? this.membership.peerURLs(id) : [];
  }

  // ---- proposals

  private async proposeCommand(cmd: EntryCommand): Promise<ApplyResult> {
    const result = await this.proposeEntry(cmd);
    if ('kind' in result || 'memberChange' in result) throw new Error(`RaftMember: a ${cmd.kind} entry applied as another kind of entry`);
    return result;
  }

  /** Queues a proposal for the next Ready (see Proposals) on the leader; a follower forwards a client's write (--follower-writes forward) or refuses it. */
  private proposeEntry(cmd: EntryCommand): Promise<EntryResult> {
    if (this.stopped || this.stopping !== null) return Promise.reject(new ProposalError(STOPPED));
    const forward = this.config.followerWrites === 'forward' && isForwardable(cmd);
    if (!this.node.isLeader()) {
      if (forward) return this.forwarder.forward(cmd, () => this.notLeader());
      return Promise.reject(this.notLeader());
    }
    if (!forward) return this.proposals.add(cmd);
    // Taken as the leader, dropped by raft because it no longer leads (never appended): forwarded.
    return this.proposals.add(cmd).catch((err: unknown) => {
      if (!(err instanceof NotLeaderError) || this.stopped || this.stopping !== null) throw err;
      return this.forwarder.forward(cmd, () => this.notLeader());
    });
  }

  /**
   * The redirect answer for a write on a follower. One instance per known leader and its URLs:
   * every write on a follower takes this path, and building an Error (its stack) is not free.
   */
  private notLeader(): NotLeaderError {
    const urls = this.leaderClientURLs();
    const cached = this.notLeaderCache;
    if (cached !== null && cached.leaderClientURLs.length === urls.length && cached.leaderClientURLs.every((u, i) => u === urls[i])) return cached;
    this.notLeaderCache = new NotLeaderError([...urls]);
    return this.notLeaderCache;
  }

  private leaderClientURLs(): readonly string[] {
    const lead = this.softState.lead;
    if (lead === 0n || lead === this.config.memberId) return [];
    return this.membership.clientURLs(lead);
  }

  // ---- the raft loop

  private onTick(): void {
    if (this.stopped) return;
    if (this.hardStates.lagging() !== undefined) this.commitFlushDue = true;
    this.node.tick();
    // A handoff at stop is over once this member follows the new leader (onSoftState), or raft gave
    // the transfer up (the transferee did not catch up within an election timeout, e.g. it is
    // stopping too). Not when it merely stopped leading: it steps down on the candidate's MsgVote,
    // and its vote leaves only once persisted; stopping then, a candidate of two never won.
    if (this.followWaiters.length > 0 && this.node.isLeader() && this.node.raft.leadTransferee === 0n) {
      for (const release of this.followWaiters.splice(0)) release();
    }
    this.reads.onTick();
    this.scheduleReady();
  }

  /**
   * Raft messages from a peer (the transport's handler decoded and addressed them); also the
   * simulator's network delivers here.
   */
  receivePeerMessages(msgs: readonly Message[], from: bigint): string | null {
    if (this.stopped) return null;
    // A blackholed peer's messages are lost, as on a network that drops them (peer-faults.ts).
    if (this.faults?.active === true && this.faults.dropsIncoming(from, msgs.length)) return null;
    if (this.events.enabled) this.events.messages('recv', msgs); // raft-events
    // etcd's rafthttp: a removed member is answered 410 Gone, which stops it.
    if (this.membership.isRemoved(from)) return REFUSAL_REMOVED_MEMBER;
    let refusal: string | null;
    try {
      refusal = refusePeerBatch(msgs, from, this.guardView, (m) => this.node.step(m));
    } catch (err: unknown) {
      // Raft threw on input the guard let through: a broken invariant. Stop loudly, never limp on.
      this.stopped = true;
      this.onFatal(err);
      throw err;
    }
    this.scheduleReady();
    if (refusal !== null) {
      this.logger.warn({ from: formatId(from), term: this.node.term, reason: refusal }, 'refused raft messages from a peer');
      if (!this.membership.has(from) && !this.membership.isRemoved(from)) this.askAboutSender(from);
    } else if (this.removalIndex > 0 && this.removalKnownAt === null && msgs.some((m) => (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat) && m.commit >= this.removalIndex)) {
      // A leader (not this member) has the removal committed.
      this.removalKnownAt = this.clock();
    }

    return refusal;
  }

  /**
   * A sender this member does not know: the members it knows are asked for their member lists
   * (GET /members on the peer port, as a joining member asks); if one lists the sender, its
   * messages are taken from then on and it is answered at the peer URLs listed. A stranger no
   * member lists stays refused. Bounded: one question per sender every VOUCH_RETRY_MS, at most
   * MAX_VOUCH_QUESTIONS senders asked about at once, at most MAX_VOUCHED senders taken.
   */
  private askAboutSender(id: bigint): void {
    const now = this.clock();
    const last = this.vouchAsked.get(id);
    if (this.vouched.has(id) || (last !== undefined && now - last < VOUCH_RETRY_MS) || this.vouched.size >= MAX_VOUCHED) return;
    if (last === undefined && this.vouchAsked.size >= MAX_VOUCH_QUESTIONS) {
      for (const [k, t] of this.vouchAsked) if (now - t >= VOUCH_RETRY_MS) this.vouchAsked.delete(k);
      if (this.vouchAsked.size >= MAX_VOUCH_QUESTIONS) return;
    }
    this.vouchAsked.set(id, now);
    const client = this.peerClient;
    const urls = this.membership.ids().filter((m) => m !== this.config.memberId).flatMap((m) => this.membership.peerURLs(m));
    void (async () => {
      for (const url of urls) {
        if (this.stopped) return;
        const remote = await askClusterOf(client, url, 2000);
        if (remote === undefined || parseMemberId(remote.clusterIdHex) !== this.config.clusterId) continue;
        const listed = remote.members.find((m) => m.id === id);
        if (listed === undefined) continue;
        if (this.stopped || this.membership.isRemoved(id) || this.vouched.size >= MAX_VOUCHED) return;
        this.vouched.add(id);
        this.logger.info({ peer: formatId(id), vouchedBy: url }, 'a member lists a sender this member had not heard of: taking its raft messages');
        if (!this.transportPeers.has(id)) {
          this.transportPeers.set(id, [...listed.peerURLs]);
          void this.transport.updatePeer(id, listed.peerURLs);
        }
        return;
      }
    })();
  }

  /** How this member's peer port takes a raft batch (acceptPeerBody): the simulator's network uses it. */
  peerInputOptions(): PeerInputOptions {
    return { selfId: this.config.memberId, maxBatchMessages: DEFAULT_MAX_BATCH_MESSAGES, onMessages: (msgs, from) => this.receivePeerMessages(msgs, from), stats: this.transportStats };
  }

  /** The member's peer endpoints beside raft's (the simulator calls this directly). */
  readonly peerApi: PeerApiHandler = (req) => {
    if (req.path === PUBLISH_PATH) return this.publisher.handle(req);
    if (req.path === ATTRIBUTES_PATH) return this.publisher.handleAttributes(req);
    if (req.path === APPLIED_PATH) return this.appliedAnswers.handle(req);
    if (req.path === PROPOSE_PATH) return this.forwardedProposals.handle(req);
    if (req.path === FORWARD_TOKEN_PATH) return this.forwarder.handleTokenCheck(req);
    if (req.path === MEMBERS_PATH) {
      if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, text: 'Method Not Allowed' };
      const members = membersWithLoggedPublishes(this.membership, this.node.raft.log, this.sm.applied(), MAX_MEMBERS_SCAN_ENTRIES);
      if (members === undefined) return { status: 503, text: 'etcdserver: not ready (replaying the log)' };
      return membersAnswer(this.config.clusterId, members, reportedTerm(this.node.term, this.node.raft.vote, this.node.raft.log));
    }
    return undefined;
  };

  /** Runs a Ready round soon; calls made meanwhile are batched into it. */
  private scheduleReady(): void {
    if (this.readyScheduled || this.readyRunning !== null || this.stopped) return;
    this.readyScheduled = true;
    this.timers.soon(() => {
      this.readyScheduled = false;
      if (this.readyRunning !== null || this.stopped) return;
      this.readyRunning = this.runReadyRounds().finally(() => {
        this.readyRunning = null;
        if (!this.stopped && (this.node.hasReady() || this.proposals.hasQueued)) this.scheduleReady();
      });
    });
  }

  private async runReadyRounds(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        this.proposals.flush(this.node, () => this.notLeader());
        if (this.snapshotToRecord !== null) await this.recordSnapshot(this.snapshotToRecord);
        if (!this.node.hasReady()) {
          await this.flushLaggingCommit();
          return;
        }
        const rd = this.node.ready();
        if (this.events.enabled) this.events.onReady(rd, this.node.term); // raft-events
        if (rd.softState !== undefined) this.onSoftState(rd.softState);
        // Requests (appends, heartbeats, vote requests) leave while our own write is in flight.
        if (rd.messages.length > 0) {
          const out = this.withoutForeignSnapshots(rd.messages);
          this.transport.send(this.faults?.active === true ? this.faults.outgoing(out, this.snapDropped, this.sendDelayed) : out);
        }
        // Committed entries that were already durable before this Ready are applied (and their
        // clients answered) before its write: a commit-only HardState is not on the write path.
        const split = stableCommittedPrefix(rd);
        if (split > 0) this.applyCommitted(rd.committedEntries.slice(0, split));
        // One batch: the snapshot, the entries and the whole HardState of this Ready (hard-state.ts).
        const write = this.hardStates.onReady(rd);
        if (write !== undefined) {
          await this.log.save({ hardState: write.hardState, entries: rd.entries, snapshot: rd.snapshot }, { sync: write.sync });
        }
        this.hardStates.onReadyPersisted(write);
        if (this.stopped) return; // closing: what was written is durable; no ack leaves
        if (rd.messagesAfterPersist.length > 0) {
          this.transport.send(this.faults?.active === true ? this.faults.outgoing(rd.messagesAfterPersist, this.snapDropped, this.sendDelayed) : rd.messagesAfterPersist);
        }
        if (rd.snapshot !== undefined && !isEmptySnapshot(rd.snapshot)) {
          await this.installSnapshot(rd.snapshot);
          // closing while the file was read: the state was not restored, so nothing after it may be applied
          if (this.stopped) return;
        }
        if (split < rd.committedEntries.length) this.applyCommitted(rd.committedEntries.slice(split));
        for (const rs of rd.readStates) {
          this.observer?.onReadIndex?.(rs.requestCtx, rs.index);
          this.reads.onReadState(rs.index, rs.requestCtx);
        }
        this.node.advance(rd);
        if (this.events.enabled) this.events.applied(this.sm.applied()); // raft-events
        this.reads.onApplied();
        // (a snapshot waits for the commit index on disk to cover what was applied: this write may have)
        this.maybeSnapshot();
      }
    } catch (err: unknown) {
      this.stopped = true;
      this.onFatal(err);
    }
  }

  /** While idle, a commit index that moved without entries is written (not fsynced) once per tick. */
  private async flushLaggingCommit(): Promise<void> {
    // A snapshot due at once (a member was added) waits for the commit index on disk: sync it now.
    // So does a membership change just applied (onConfChange).
    const forSnapshot = this.snapshotDue && !this.snapshotting && this.sm.applied() > this.log.committedOnDisk();
    const forConfChange = this.commitSyncDue;
    if (!this.commitFlushDue && !forSnapshot && !forConfChange) return;
    this.commitFlushDue = false;
    this.commitSyncDue = false;
    const lagging: HardStateWrite | undefined = this.hardStates.lagging();
    if (lagging === undefined) return;
    await this.log.save({ hardState: lagging.hardState }, { sync: lagging.sync || forSnapshot || forConfChange });
    this.hardStates.onWritten(lagging);
    this.maybeSnapshot();
  }

  private applyCommitted(entries: readonly Entry[]): void {
    this.applyEntries(entries);
    this.afterApply();
  }

  private afterApply(): void {
    if (this.removed) this.timers.soon(() => this.leaveAfterRemoval());
    this.appliedAnswers.onApplied();
    this.maybeDecideClusterVersion();
    if (this.readyWaiters.length > 0 && this.isReady()) for (const release of this.readyWaiters.splice(0)) release();
  }

  private onSoftState(ss: SoftState): void {
    const prev = this.softState;
    this.softState = ss;
    this.observer?.onSoftState?.(ss, this.node.term);
    if (ss.lead !== prev.lead) {
      this.stats.onLeaderChange();
      if (ss.lead !== 0n) this.metrics.leaderChanges.inc();
      this.logger.info(
        { term: this.node.term, index: this.node.commitIndex, leader: ss.lead === 0n ? null : formatId(ss.lead), role: ss.role },
        ss.lead === 0n ? 'lost the leader' : ss.lead === this.config.memberId ? 'became the leader' : 'following a new leader',
      );
      this.reads.onLeaderChange();
    }
    if (prev.role === Role.Leader && ss.role !== Role.Leader) this.proposals.failAll(LEADER_CHANGED);
    if (ss.lead !== 0n && ss.lead !== this.config.memberId) for (const release of this.followWaiters.splice(0)) release();
    if (ss.role === Role.Leader && prev.role !== Role.Leader) this.publisher.onBecameLeader();
    else if (ss.lead !== 0n && ss.lead !== prev.lead) this.publisher.onLeaderKnown();
  }

  // ---- snapshots and log compaction (etcd's triggerSnapshot / applySnapshot)

  /**
   * After --snapshot-count entries applied since the last snapshot: the state machine's state at
   * the applied index is taken now (copy-on-write: MemberStateMachine.beginSnapshot) and encoded in
   * slices of bounded work (SNAPSHOT_SLICE), one per turn of the event loop, while the member goes
   * on serving, writing and applying; the bytes are those of that index, whatever is applied
   * meanwhile. Then raft may send the snapshot to a follower, and its file is written in the
   * background (checksummed in slices too). Once the file is durable the Ready loop records it in
   * the log and compacts the log below it, keeping --experimental-snapshot-catchup-entries for
   * slow followers (recordSnapshot). A leader's snapshot installed meanwhile makes it moot: it is
   * dropped.
   */
  private maybeSnapshot(): void {
    const applied = this.sm.applied();
    if (this.snapshotting || this.stopped || (applied - this.snapshotIndex < this.config.snapshotCount && !this.snapshotDue)) return;
    // A snapshot never gets ahead of the commit index on disk (the next Ready writes it).
    if (applied > this.log.committedOnDisk()) return;
    this.snapshotting = true;
    const started = this.timers.nowMs();
    let encoder: StateEncoder;
    let confState: ConfState;
    try {
      // raft's configuration as of the applied index (membership changes are applied with their entries)
      const cs = this.node.confState();
      confState = { voters: [...cs.voters], learners: [...cs.learners] };
      encoder = this.sm.beginSnapshot();
    } catch (err: unknown) {
      this.snapshotting = false;
      this.stopped = true;
      this.onFatal(err);
      return;
    }
    this.snapshotIndex = applied;
    this.snapshotDue = false;
    let slices = 0;
    let longestSliceMs = 0;
    const pauseMs = this.snapshotSlice.pauseMs ?? 0;
    const slice = (): void => {
      if (this.stopped) {
        encoder.release();
        return;
      }
      const sliceStarted = this.timers.nowMs();
      let done: boolean;
      try {
        done = encoder.step(this.snapshotSlice);
      } catch (err: unknown) {
        encoder.release();
        this.stopped = true;
        this.onFatal(err);
        return;
      }
      slices++;
      longestSliceMs = Math.max(longestSliceMs, this.timers.nowMs() - sliceStarted);
      if (!done) {
        if (pauseMs > 0) this.timers.setTimeout(slice, pauseMs);
        else this.timers.soon(slice);
        return;
      }
      this.snapshotEncoded(encoder.bytes(), applied, confState, { started, slices, longestSliceMs });
    };
    slice();
  }

  /**
   * The state at `index` is encoded: its file is written, then it becomes raft's snapshot. Raft
   * holds a reference to the file (snapshot-ref.ts), not the state: a MsgSnap names the file, which
   * the transport streams to the peer, so no member keeps a snapshot's bytes in memory.
   */
  private snapshotEncoded(data: Uint8Array, index: number, confState: ConfState, timing: { started: number; slices: number; longestSliceMs: number }): void {
    if (this.stopped) return;
    const overtaken = (): boolean => {
      if (this.storage.snapshot().metadata.index < index) return false;
      // The leader's snapshot was installed while this one was being taken: it is newer.
      this.snapshotting = false;
      this.logger.info({ index, installed: this.storage.snapshot().metadata.index }, 'dropped a snapshot overtaken by the leader\'s');
      return true;
    };
    if (overtaken()) return;
    let term: number;
    try {
      term = this.storage.term(index);
    } catch (err: unknown) {
      this.snapshotting = false;
      this.stopped = true;
      this.onFatal(err);
      return;
    }
    const serializeMs = this.timers.nowMs() - timing.started;
    const pause = (): Promise<void> => new Promise((resolve) => this.timers.soon(resolve));
    this.log.writeSnapshotFile({ metadata: { index, term, confState }, data }, { pause }).then(
      (writeMs) => {
        if (this.stopped || overtaken()) return;
        let snapshot: Snapshot;
        try {
          snapshot = this.storage.createSnapshot(index, confState, this.log.hasSnapshotFiles() ? snapshotRef(data.length) : data);
        } catch (err: unknown) {
          this.snapshotting = false;
          this.stopped = true;
          this.onFatal(err);
          return;
        }
        this.metrics.snapSaveSeconds.observe((serializeMs + writeMs) / 1000);
        this.logger.info(
          { index, term, bytes: data.length, serializeMs: Math.round(serializeMs), slices: timing.slices, longestSliceMs: Math.round(timing.longestSliceMs), writeMs: Math.round(writeMs) },
          'saved snapshot',
        );
        this.snapshotToRecord = snapshot;
        this.scheduleReady();
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.stopped = true;
        this.onFatal(err);
      },
    );
  }

  /**
   * A snapshot a peer sends as its file (handler.ts): written to disk as it arrives, then read back
   * whole and checked as any snapshot a peer sends (its metadata is the message's, its state decodes
   * at that index: StateMachine.refuseSnapshotData); raft gets it with a reference to the file
   * (snapshot-ref.ts), which save() adopts if raft takes it. Memory: one chunk while it arrives,
   * the file once while it is checked.
   */
  async receiveSnapshotFile(m: Message, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<Message> {
    const files = this.log.streamingFiles();
    const meta = m.snapshot?.metadata;
    if (files === undefined || meta === undefined) throw new Error('receiveSnapshotFile: no snapshot files, or no snapshot');
    const started = this.timers.nowMs();
    try {
      await files.receive(meta.term, meta.index, bytes, chunks);
    } catch (err) {
      this.metrics.snapshotReceiveFailures.inc({ From: formatId(m.from) });
      throw err instanceof SnapshotReceiveError ? new SnapshotFileRefused(err.message) : (err as Error);
    }
    let fileData: Uint8Array;
    try {
      fileData = await files.readReceived(meta.term, meta.index);
    } catch (err) {
      throw err instanceof SnapshotReceiveError ? new SnapshotFileRefused(err.message) : (err as Error);
    }
    let snapshot: Snapshot;
    try {
      snapshot = decodeSnapshot(fileData);
    } catch (err) {
      throw new SnapshotFileRefused(`the file holds no snapshot (${(err as Error).message})`);
    }
    if (!sameSnapshotMetadata(snapshot.metadata, meta)) {
      throw new SnapshotFileRefused(`the file holds the snapshot at index ${snapshot.metadata.index} (term ${snapshot.metadata.term}), not the message's`);
    }
    const why = this.sm.refuseSnapshotData(snapshot.data, meta.index);
    if (why !== null) throw new SnapshotFileRefused(`the snapshot's data cannot be installed: ${why}`);
    const ref = snapshotRef(snapshot.data.length);
    this.checkedSnapshotRefs.add(ref);
    this.metrics.snapshotReceiveSeconds.observe({ From: formatId(m.from) }, (this.timers.nowMs() - started) / 1000);
    this.logger.info({ from: formatId(m.from), index: meta.index, term: meta.term, bytes }, 'received database snapshot');
    return { ...m, snapshot: { metadata: meta, data: ref } };
  }

  /**
   * A network that carries snapshots' data in their messages (the simulator's): a MsgSnap whose
   * data is a reference to its file is sent once the file is read, or reported failed to raft.
   */
  private withSnapshotData(network: PeerNetwork): PeerNetwork {
    const send = (messages: readonly Message[]): void => {
      const refs = messages.filter((m) => m.type === MessageType.MsgSnap && m.snapshot !== undefined && isSnapshotRef(m.snapshot.data));
      if (refs.length === 0) return network.send(messages);
      const rest = messages.filter((m) => !refs.includes(m));
      if (rest.length > 0) network.send(rest);
      for (const m of refs) {
        const snapshot = m.snapshot as Snapshot;
        this.log.snapshotData(snapshot).then(
          (data) => {
            if (!this.stopped) network.send([{ ...m, snapshot: { metadata: snapshot.metadata, data } }]);
          },
          (err: unknown) => {
            if (this.stopped) return;
            this.logger.warn({ to: formatId(m.to), index: snapshot.metadata.index, error: (err as Error).message }, 'failed to send database snapshot');
            this.node.reportSnapshot(m.to, 'failure');
            this.scheduleReady();
          },
        );
      }
    };
    return {
      send,
      updatePeer: (id, urls) => network.updatePeer(id, urls),
      ...(network.removePeer !== undefined ? { removePeer: (id: bigint) => (network.removePeer as (id: bigint) => Promise<void> | void)(id) } : {}),
      close: () => network.close(),
    };
  }

  /** Records a snapshot whose file is durable, then compacts the log (runs inside the Ready loop). */
  private async recordSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshotToRecord = null;
    this.snapshotting = false;
    const index = snapshot.metadata.index;
    // An installed snapshot may have overtaken it meanwhile.
    if (index <= this.log.storedRange().snapshotIndex) return;
    await this.log.recordLocalSnapshot(snapshot);
    const compactTo = index - (this.config.snapshotCatchUpEntries ?? DEFAULT_SNAPSHOT_CATCHUP_ENTRIES);
    if (compactTo >= this.storage.firstIndex()) {
      this.storage.compact(compactTo);
      await this.log.compact(compactTo);
    }
    this.logger.info({ index, compactedTo: Math.max(0, compactTo) }, 'compacted raft logs');
    this.observer?.onSnapshotTaken?.(index, Math.max(0, compactTo));
    if (this.events.enabled) this.events.snapshotTaken(index, Math.max(0, compactTo)); // raft-events
  }

  /** A snapshot from the leader, now durable: the state machine jumps to it (etcd's applySnapshot). */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const index = snapshot.metadata.index;
    // A snapshot received as a file is read back from it (it was checked whole when it arrived).
    const data = await this.log.snapshotData(snapshot);
    if (this.stopped) return;
    this.sm.restore(data, { members: this.restoreMembersMode(index) });
    this.syncTransportPeers();
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
    this.metrics.snapshotReceiveSuccess.inc({ From: formatId(this.softState.lead) });
    this.logger.info({ index, term: snapshot.metadata.term, bytes: data.length }, 'applied snapshot from the leader');
    this.observer?.onSnapshotRestored?.(index);
    if (this.events.enabled) this.events.snapshotInstalled(index); // raft-events
    this.afterApply();
  }

  /** Applies committed entries and answers the proposals of this member that wait for them. */
  private applyEntries(entries: readonly Entry[]): void {
    const observer = this.observer;
    for (const e of entries) {
      const result = this.sm.apply(e);
      observer?.onApply?.(e);
      this.proposals.settle(e, result);
    }
  }

  /** The leader sets the cluster version once every member has published (etcd's monitorVersions). */
  private maybeDecideClusterVersion(): void {
    if (this.versionInFlight || this.membership.clusterVersion !== null || !this.node.isLeader() || !this.membership.allPublished()) return;
    this.versionInFlight = true;
    this.proposeCommand({ kind: 'version', version: ETCD_CLUSTER_VERSION })
      .catch((err: unknown) => this.logger.debug({ err }, 'cluster version not applied; will retry'))
      .finally(() => {
        this.versionInFlight = false;
      });
  }

  // ---- TTL expiry (etcd's SYNC): only the leader proposes it, with its own clock

  private syncIfDue(): void {
    if (this.stopped || this.syncInFlight || !this.node.isLeader()) return;
    const due = this.store.nextExpirationMs();
    if (due === null) return;
    const nowMs = this.clock();
    if (due > nowMs) return;
    this.syncInFlight = true;
    this.proposeCommand({ kind: 'v2', req: v2Request({ method: 'SYNC', path: '/', time: nowMs }) })
      .catch((err: unknown) => this.logger.debug({ err }, 'expiry sync not applied'))
      .finally(() => {
        this.syncInFlight = false;
      });
  }
}

/** etcd's HealthInterval: a peer counts as connected once it answered without interruption for this long. */
const HEALTH_INTERVAL_MS = 5000;

/** A peer's /members answer scans at most this much of the unapplied log (else 503: try again). */
const MAX_MEMBERS_SCAN_ENTRIES = 200_000;
/**
 * The work of one slice of a snapshot's encoding (one turn of the event loop): this many store
 * nodes or history events, or about this many bytes of them or of the copy and checksum of the
 * whole (about 2-5 ms on a 2-core machine at 256-byte values).
 */
const SNAPSHOT_SLICE = { items: 1024, bytes: 1 << 20 };
/** etcd's DefaultSnapshotCatchUpEntries: entries kept below a snapshot for slow followers. */
const DEFAULT_SNAPSHOT_CATCHUP_ENTRIES = 5000;

/** A commit index that moved without entries is written once it lags this far (else at the next tick). */
const MAX_DURABLE_COMMIT_LAG_ENTRIES = 1000;
/** Unknown senders that a member vouched for are taken, at most this many (askAboutSender). */
const MAX_VOUCHED = 64;
/** Unknown senders asked about at once, at most (askAboutSender). */
const MAX_VOUCH_QUESTIONS = 16;
/** The same unknown sender is asked about at most this often (askAboutSender). */
const VOUCH_RETRY_MS = 1000;
/** A leader that removed itself waits at most this many election timeouts for another member to know it (leaveAfterRemoval). */
const REMOVED_LEADER_MAX_WAIT_ELECTIONS = 10;

/** Whether two snapshots' metadata are the same: index, term, voters and learners. */
function sameSnapshotMetadata(a: Snapshot['metadata'], b: Snapshot['metadata']): boolean {
  const same = (x: readonly bigint[], y: readonly bigint[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.index === b.index && a.term === b.term && same(a.confState.voters, b.confState.voters) && same(a.confState.learners, b.confState.learners);
}
