// Per-peer transport counters, shared by the sender and the receiver of one member. They feed
// /v2/stats/leader (followers' latency and success/fail counts), /v2/stats/self (append request
// counts) and the etcd_network_* metrics (read on scrape; round-trip observations go through the
// transport's onRoundTrip hook).
import { MessageType, type Message, type NodeId } from '../raft/messages.js';

/** Peers tracked at most; ids beyond it (a flood of bogus senders) are counted in `untracked`. */
const MAX_TRACKED_PEERS = 256;

/** Round-trip latency in milliseconds, as etcd's LeaderStats followers' latency (Welford's variance). */
export class LatencyStats {
  current = 0;
  minimum = 0;
  maximum = 0;
  count = 0;
  private mean = 0;
  private m2 = 0;

  record(ms: number): void {
    this.count++;
    this.current = ms;
    if (this.count === 1 || ms < this.minimum) this.minimum = ms;
    if (ms > this.maximum) this.maximum = ms;
    const delta = ms - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (ms - this.mean);
  }

  get average(): number {
    return this.mean;
  }

  get standardDeviation(): number {
    return this.count > 1 ? Math.sqrt(this.m2 / this.count) : 0;
  }
}

export interface PeerCounters {
  /** Bytes of request bodies delivered to the peer (etcd_network_peer_sent_bytes_total). */
  sentBytes: number;
  sentMessages: number;
  sentBatches: number;
  /** MsgApp messages delivered (sendAppendRequestCnt). */
  sentAppendRequests: number;
  /** Requests that failed (timeouts, connection errors, non-2xx): the followers' counts.fail. */
  sendFailures: number;
  /** Messages dropped without an attempt: queue full, peer unknown, shutdown, or too large. */
  droppedMessages: number;
  /** Bytes of request bodies received from the peer (etcd_network_peer_received_bytes_total). */
  receivedBytes: number;
  receivedMessages: number;
  receivedBatches: number;
  /** MsgApp messages received (recvAppendRequestCnt). */
  receivedAppendRequests: number;
  /** Round trips of successful requests; latency.count is the followers' counts.success. */
  latency: LatencyStats;
}

function newCounters(): PeerCounters {
  return {
    sentBytes: 0,
    sentMessages: 0,
    sentBatches: 0,
    sentAppendRequests: 0,
    sendFailures: 0,
    droppedMessages: 0,
    receivedBytes: 0,
    receivedMessages: 0,
    receivedBatches: 0,
    receivedAppendRequests: 0,
    latency: new LatencyStats(),
  };
}

export class TransportStats {
  private readonly peers = new Map<NodeId, PeerCounters>();
  /** Events for peers beyond MAX_TRACKED_PEERS. */
  untracked = 0;

  /** The live counters of a peer (created on first use). Undefined only past the tracking bound. */
  peer(id: NodeId): PeerCounters | undefined {
    let c = this.peers.get(id);
    if (c === undefined) {
      if (this.peers.size >= MAX_TRACKED_PEERS) {
        this.untracked++;
        return undefined;
      }
      c = newCounters();
      this.peers.set(id, c);
    }
    return c;
  }

  /** A request of `bytes` carrying `messages` was answered after roundTripMs. */
  recordSent(id: NodeId, bytes: number, messages: readonly Message[], roundTripMs: number): void {
    const c = this.peer(id);
    if (c === undefined) return;
    c.sentBytes += bytes;
    c.sentMessages += messages.length;
    c.sentBatches++;
    c.sentAppendRequests += countAppendRequests(messages);
    c.latency.record(roundTripMs);
  }

  recordFailure(id: NodeId): void {
    const c = this.peer(id);
    if (c !== undefined) c.sendFailures++;
  }

  recordDropped(id: NodeId, messages: number): void {
    const c = this.peer(id);
    if (c !== undefined) c.droppedMessages += messages;
  }

  /** A request of `bytes` carrying `messages` was received. */
  recordReceived(id: NodeId, bytes: number, messages: readonly Message[]): void {
    const c = this.peer(id);
    if (c === undefined) return;
    c.receivedBytes += bytes;
    c.receivedMessages += messages.length;
    c.receivedBatches++;
    c.receivedAppendRequests += countAppendRequests(messages);
  }

  /** Sums over all peers (for /v2/stats/self). */
  totals(): Omit<PeerCounters, 'latency'> {
    const t = newCounters();
    for (const c of this.peers.values()) {
      t.sentBytes += c.sentBytes;
      t.sentMessages += c.sentMessages;
      t.sentBatches += c.sentBatches;
      t.sentAppendRequests += c.sentAppendRequests;
      t.sendFailures += c.sendFailures;
      t.droppedMessages += c.droppedMessages;
      t.receivedBytes += c.receivedBytes;
      t.receivedMessages += c.receivedMessages;
      t.receivedBatches += c.receivedBatches;
      t.receivedAppendRequests += c.receivedAppendRequests;
    }
    const { latency: _latency, ...sums } = t;
    return sums;
  }
}

function countAppendRequests(messages: readonly Message[]): number {
  let appends = 0;
  for (const m of messages) if (m.type === MessageType.MsgApp) appends++;
  return appends;
}
