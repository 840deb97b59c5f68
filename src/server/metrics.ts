// Prometheus metrics of one member, named as etcd names them (etcd_server_*, etcd_disk_*,
// etcd_network_*), in a registry of its own (no global state: tests run several members in one
// process). Gauges that mirror state are computed at scrape time from the sources passed in.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TransportStats } from '../transport/stats.js';
import { formatId } from './ids.js';

export interface MetricSources {
  hasLeader: () => boolean;
  isLeader: () => boolean;
  committedIndex: () => number;
  appliedIndex: () => number;
  pendingProposals: () => number;
  peers: () => bigint[];
  transport: TransportStats;
  /** Whether to add the process metrics (CPU, memory, event loop); one per process is enough. */
  processMetrics?: boolean;
}

export class MemberMetrics {
  readonly registry = new Registry();
  readonly leaderChanges: Counter;
  readonly proposalsFailed: Counter;
  readonly walFsyncSeconds: Histogram;
  readonly peerRoundTripSeconds: Histogram<'To'>;
  readonly snapSaveSeconds: Histogram;
  readonly snapshotSendSuccess: Counter<'To'>;
  readonly snapshotSendFailures: Counter<'To'>;
  readonly snapshotReceiveSuccess: Counter<'From'>;
  readonly snapshotReceiveFailures: Counter<'From'>;
  readonly snapshotReceiveSeconds: Histogram<'From'>;
  readonly snapshotSendSeconds: Histogram<'To'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      registers,
      collect() {
        this.set(sources.hasLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      registers,
      collect() {
        this.set(sources.isLeader() ? 1 : 0);
      },
    });
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    new Gauge({
      name: 'etcd_server_proposals_committed_total',
      help: 'The total number of consensus proposals committed.',
      registers,
      collect() {
        this.set(sources.committedIndex());
      },
    });
    new Gauge({
      name: 'etcd_server_proposals_applied_total',
      help: 'The total number of consensus proposals applied.',
      registers,
      collect() {
        this.set(sources.appliedIndex());
      },
    });
    new Gauge({
      name: 'etcd_server_proposals_pending',
      help: 'The current number of pending proposals to commit.',
      registers,
      collect() {
        this.set(sources.pendingProposals());
      },
    });
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
    });
    this.walFsyncSeconds = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      // etcd: prometheus.ExponentialBuckets(0.001, 2, 14)
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.peerRoundTripSeconds = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers',
      labelNames: ['To'],
      // etcd: prometheus.ExponentialBuckets(0.0001, 2, 16)
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
    this.snapSaveSeconds = new Histogram({
      name: 'etcd_debugging_snap_save_total_duration_seconds',
      help: 'The total latency distributions of save called by snapshot.',
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.snapshotSendSuccess = new Counter({ name: 'etcd_network_snapshot_send_success', help: 'Total number of successful snapshot sends', labelNames: ['To'], registers });
    this.snapshotSendFailures = new Counter({ name: 'etcd_network_snapshot_send_failures', help: 'Total number of snapshot send failures', labelNames: ['To'], registers });
    this.snapshotSendSeconds = new Histogram({
      name: 'etcd_network_snapshot_send_total_duration_seconds',
      help: 'Total latency distributions of v3 snapshot sends',
      labelNames: ['To'],
      // etcd: prometheus.ExponentialBuckets(0.1, 2, 10)
      buckets: exponentialBuckets(0.1, 2, 10),
      registers,
    });
    this.snapshotReceiveSuccess = new Counter({ name: 'etcd_network_snapshot_receive_success', help: 'Total number of successful snapshot receives', labelNames: ['From'], registers });
    this.snapshotReceiveFailures = new Counter({ name: 'etcd_network_snapshot_receive_failures', help: 'Total number of snapshot receive failures', labelNames: ['From'], registers });
    this.snapshotReceiveSeconds = new Histogram({
      name: 'etcd_network_snapshot_receive_total_duration_seconds',
      help: 'Total latency distributions of v3 snapshot receives',
      labelNames: ['From'],
      // etcd: prometheus.ExponentialBuckets(0.1, 2, 10)
      buckets: exponentialBuckets(0.1, 2, 10),
      registers,
    });
    const transport = sources.transport;
    transportCounter('etcd_network_peer_sent_bytes_total', 'The total number of bytes sent to peers.', 'To', registers, sources, (id) => transport.peer(id)?.sentBytes ?? 0);
    transportCounter('etcd_network_peer_received_bytes_total', 'The total number of bytes received from peers.', 'From', registers, sources, (id) => transport.peer(id)?.receivedBytes ?? 0);
    transportCounter('etcd_network_peer_sent_failures_total', 'The total number of send failures from peers.', 'To', registers, sources, (id) => transport.peer(id)?.sendFailures ?? 0);
    if (sources.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * How often the nodejs_eventloop_lag_* histogram samples the event loop (prom-client's
 * eventLoopMonitoringPrecision). prom-client's default, 10 ms, is a timer that wakes an idle member
 * 100 times a second (most of its idle wake-ups); every 100 ms it is 10, like the raft tick. Each
 * sample is as precise as before (the lateness of a timer, in ns); a stall shorter than this may
 * go unsampled, which a histogram of lag tolerates.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** A counter per peer that follows a monotonically increasing source value. */
function transportCounter(
  name: string,
  help: string,
  label: 'To' | 'From',
  registers: Registry[],
  sources: MetricSources,
  value: (peerId: bigint) => number,
): void {
  const seen = new Map<bigint, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      for (const id of sources.peers()) {
        const now = value(id);
        const delta = now - (seen.get(id) ?? 0);
        if (delta > 0) this.inc({ [label]: formatId(id) }, delta);
        seen.set(id, now);
      }
    },
  });
}

function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const buckets: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) buckets.push(b);
  return buckets;
}
