// The sending side of the peer transport: routes raft's outgoing messages to two PeerSenders per
// peer, each with its own connection, as etcd's rafthttp keeps two streams per peer: one for
// appends (msgappv2) and one for everything else (heartbeats, votes, answers). A 10 MB append then
// never holds back a heartbeat or a vote behind it, and the leader never loses its quorum (check
// quorum) to a follower that is busy reading a large body. Appends stay in order among themselves;
// raft needs no order between an append and the rest (a heartbeat commits at most what the
// follower acknowledged). send() never blocks and never throws for delivery problems: messages that cannot be
// delivered are dropped and counted, and raft learns about it through onUnreachable and
// onSnapshotStatus (as etcd's rafthttp reports ReportUnreachable / ReportSnapshot).
import type { SnapshotFileSource } from './peer-sender.js';
import assert from 'node:assert/strict';
import { isLocalMessage, isNodeId, MessageType, type Message, type NodeId } from '../raft/messages.js';
import { resolveLimits, type TransportLimits } from './limits.js';
import { silentLogger, type TransportLogger } from './logger.js';
import { PeerSender, type PeerTLSConnectOptions, type SnapshotStatus } from './peer-sender.js';
import { DEFAULT_SERVER_VERSION, formatId, isForwardedRequest } from './protocol.js';
import { TransportStats } from './stats.js';

export interface PeerTransportOptions {
  selfId: NodeId;
  clusterId: bigint;
  /** Every other member: id -> its advertised peer URLs (the first reachable one is used). */
  peers: ReadonlyMap<NodeId, readonly string[]>;
  /**
   * How https:// peer URLs are reached (undici's connect options: the peer CA, this member's
   * certificate and key). Without it an https peer is verified against Node's default CAs.
   */
  tls?: PeerTLSConnectOptions;
  /** Announced in X-Server-Version. */
  serverVersion?: string;
  limits?: Partial<TransportLimits>;
  logger?: TransportLogger;
  /** Shared with the receiving handler so one object holds both directions' counters. */
  stats?: TransportStats;
  /** A request to the peer failed: raft should stop assuming the pipeline works (rate-limited). */
  onUnreachable?: (peerId: NodeId) => void;
  /** The outcome of a MsgSnap (raft's ReportSnapshot). */
  onSnapshotStatus?: (peerId: NodeId, status: SnapshotStatus, durationMs: number) => void;
  /** A peer answered 410 Gone: this member was removed from the cluster (etcd's errMemberRemoved). */
  onRemovedByPeer?: (peerId: NodeId) => void;
  /** Each successful request's round trip (for etcd_network_peer_round_trip_time_seconds). */
  onRoundTrip?: (peerId: NodeId, durationMs: number, bytes: number) => void;
  /** Batches go on raft streams (stream.ts), one per lane, rather than one POST each (default true). */
  streams?: boolean;
  /** Where a snapshot whose data is a reference to its file (src/storage/snapshot-ref.ts) is read from. */
  snapshotFiles?: SnapshotFileSource;
}

export class PeerTransport {
  readonly stats: TransportStats;
  readonly limits: TransportLimits;
  private readonly o: PeerTransportOptions;
  private readonly logger: TransportLogger;
  private readonly senders = new Map<NodeId, PeerSender>();
  /** MsgApp's own lane per peer. */
  private readonly appenders = new Map<NodeId, PeerSender>();
  /** Messages addressed to ids that are not peers (e.g. a member just removed). */
  unknownPeerDrops = 0;
  private closed = false;

  constructor(options: PeerTransportOptions) {
    assert.ok(isNodeId(options.selfId), 'PeerTransport: selfId must be a positive 64-bit integer (bigint)');
    assert.ok(isNodeId(options.clusterId), 'PeerTransport: clusterId must be a positive 64-bit integer (bigint)');
    this.o = options;
    this.limits = resolveLimits(options.limits);
    this.logger = options.logger ?? silentLogger;
    this.stats = options.stats ?? new TransportStats();
    for (const [id, urls] of options.peers) this.addPeer(id, urls);
  }

  /**
   * Queues raft's messages for delivery, grouped per destination; per-peer order is preserved.
   * Local message types are a raft bug and crash loudly.
   */
  /** Whether a MsgSnap whose data is a reference to its snapshot file can be sent (it is read from options.snapshotFiles). */
  get sendsSnapshotFiles(): boolean {
    return this.o.snapshotFiles !== undefined;
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    // Queue everything first, then start the requests: one Ready's messages to a peer leave together.
    const touched = new Set<PeerSender>();
    for (const m of messages) {
      // Checked before failing, so the messages of a healthy Ready build no assertion text.
      if (isLocalMessage(m.type)) assert.fail(`PeerTransport.send: local message ${MessageType[m.type]} must not reach the transport`);
      if (m.from !== this.o.selfId && !isForwardedRequest(m.type)) assert.fail(`PeerTransport.send: message from ${m.from.toString(16)} is not from this member`);
      assert.notEqual(m.to, this.o.selfId, 'PeerTransport.send: message addressed to this member');
      const sender = m.type === MessageType.MsgApp ? this.appenders.get(m.to) : this.senders.get(m.to);
      if (sender === undefined) {
        this.unknownPeerDrops++;
        this.logger.debug({ to: formatId(m.to), type: MessageType[m.type] }, 'dropped a message to an unknown peer');
        if (m.type === MessageType.MsgSnap) queueMicrotask(() => this.o.onSnapshotStatus?.(m.to, 'failure', 0));
        continue;
      }
      sender.enqueue(m);
      touched.add(sender);
    }
    for (const sender of touched) sender.flush();
  }

  addPeer(id: NodeId, urls: readonly string[]): void {
    assert.ok(isNodeId(id) && id !== this.o.selfId, `PeerTransport.addPeer: invalid peer id ${String(id)}`);
    assert.ok(!this.senders.has(id), `PeerTransport.addPeer: peer ${formatId(id)} already exists`);
    if (this.closed) return;
    const lane = (): PeerSender =>
      new PeerSender({
        selfId: this.o.selfId,
        peerId: id,
        clusterId: this.o.clusterId,
        urls,
        serverVersion: this.o.serverVersion ?? DEFAULT_SERVER_VERSION,
        ...(this.o.tls !== undefined ? { tls: this.o.tls } : {}),
        limits: this.limits,
        logger: this.logger,
        stats: this.stats,
        onUnreachable: (peerId) => this.o.onUnreachable?.(peerId),
        onSnapshotStatus: (peerId, status, durationMs) => this.o.onSnapshotStatus?.(peerId, status, durationMs),
        onRemovedByPeer: (peerId) => this.o.onRemovedByPeer?.(peerId),
        onRoundTrip: this.o.onRoundTrip,
        ...(this.o.streams !== undefined ? { streams: this.o.streams } : {}),
        ...(this.o.snapshotFiles !== undefined ? { snapshotFiles: this.o.snapshotFiles } : {}),
      });
    this.senders.set(id, lane());
    this.appenders.set(id, lane());
  }

  async removePeer(id: NodeId): Promise<void> {
    const sender = this.senders.get(id);
    const appender = this.appenders.get(id);
    this.senders.delete(id);
    this.appenders.delete(id);
    await Promise.all([sender?.close(), appender?.close()]);
  }

  async updatePeer(id: NodeId, urls: readonly string[]): Promise<void> {
    await this.removePeer(id);
    this.addPeer(id, urls);
  }

  hasPeer(id: NodeId): boolean {
    return this.senders.has(id);
  }

  /** Whether the last request to the peer succeeded (true before the first attempt). */
  isPeerActive(id: NodeId): boolean {
    return (this.senders.get(id)?.isActive ?? false) && (this.appenders.get(id)?.isActive ?? false);
  }

  /** HTTP requests attempted to the peer so far (messages and snapshots). */
  attempts(id: NodeId): number {
    return (this.senders.get(id)?.attempts ?? 0) + (this.appenders.get(id)?.attempts ?? 0);
  }

  queuedMessages(id: NodeId): number {
    return (this.senders.get(id)?.queuedMessages ?? 0) + (this.appenders.get(id)?.queuedMessages ?? 0);
  }

  /** Stops all senders: queued messages are discarded, requests in flight aborted, pools destroyed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const senders = [...this.senders.values(), ...this.appenders.values()];
    this.senders.clear();
    this.appenders.clear();
    await Promise.all(senders.map((s) => s.close()));
  }
}
