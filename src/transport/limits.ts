// Every bound of the transport, with etcd-like defaults. Sizes in bytes, durations in ms.

export interface TransportLimits {
  /** Messages waiting for one peer; beyond it new messages are dropped (raft retransmits). */
  maxQueueMessages: number;
  maxQueueBytes: number;
  /** One request carries at most this many messages / estimated bytes (a larger single message goes alone). */
  maxBatchMessages: number;
  maxBatchBytes: number;
  /**
   * Entries (summed over its messages) one request carries at most: a batch closes before a
   * message that would take it past this bound. It must not exceed the receivers' bound (the
   * handler's maxEntriesPerBatch, which refuses such a batch); both default to
   * DEFAULT_MAX_ENTRIES_PER_BATCH. A single MsgApp with more entries is split into consecutive
   * MsgApps (see PeerSender.enqueue).
   */
  maxEntriesPerBatch: number;
  /** The largest request body a peer accepts on /raft/messages (receiver bound; the sender never sends more). */
  maxBodyBytes: number;
  /** The largest snapshot message, sent alone on /raft/snapshot. */
  maxSnapshotBytes: number;
  /** A message batch that has not been answered in this time fails. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  snapshotTimeoutMs: number;
  /** After a failed request, the next attempt waits backoffInitialMs, doubling up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** onUnreachable is called at most once per this interval per peer. */
  unreachableReportIntervalMs: number;
  keepAliveTimeoutMs: number;
  /**
   * Message requests pipelined on the peer's connection before their answers return (HTTP/1.1
   * pipelining keeps them in order).
   */
  maxInflightRequests: number;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/**
 * The largest snapshot a member sends or takes: 2 GiB, etcd's default backend quota
 * (--quota-backend-bytes). A member sends its snapshot file in READ_CHUNK_BYTES pieces and the
 * receiver writes it to disk as it arrives (peer-sender.ts sendSnapshotFile, handler.ts
 * receiveFile): neither holds it. A snapshot whose data is in memory (a peer of a release from
 * before, the tests) is streamed in SNAPSHOT_CHUNK_BYTES views and read into one buffer of its
 * declared length. (256 MB before: a cluster of a million 256-byte values, about 270 MB, could
 * not catch up a follower.)
 */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024;
/** The pieces a snapshot is written to the connection in. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Messages in one batch; also the receiver's bound when decoding. */
export const DEFAULT_MAX_BATCH_MESSAGES = 1024;
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Entries in one batch; also the receiver's bound when decoding (before any object is built, so a
 * body of millions of tiny entries costs a scan, not gigabytes of heap).
 *
 * Derived from what a well-behaved sender produces with the defaults: the sender estimates each
 * entry at ENTRY_OVERHEAD_BYTES = 32 bytes or more (wire.ts) and closes a batch at maxBatchBytes,
 * so a batch holds fewer than 4 MiB / 32 = 131072 entries; raft fills one MsgApp up to
 * maxSizePerMsgBytes (1 MiB) counting 24 bytes per empty entry, i.e. at most 43690 entries, so
 * three full MsgApps of empty entries (131070) still fit in one batch. The sender enforces the
 * bound as well, so a sender with a larger maxBatchBytes still never produces a batch we refuse.
 * At the bound a decoded batch costs a few tens of MB of short-lived heap.
 */
export const DEFAULT_MAX_ENTRIES_PER_BATCH = DEFAULT_MAX_BATCH_BYTES / 32;

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  maxQueueMessages: 4096,
  maxQueueBytes: 64 * 1024 * 1024,
  maxBatchMessages: DEFAULT_MAX_BATCH_MESSAGES,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
  maxEntriesPerBatch: DEFAULT_MAX_ENTRIES_PER_BATCH,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  maxSnapshotBytes: DEFAULT_MAX_SNAPSHOT_BYTES,
  requestTimeoutMs: 3000,
  connectTimeoutMs: 1000,
  snapshotTimeoutMs: 120_000,
  backoffInitialMs: 100,
  backoffMaxMs: 800,
  unreachableReportIntervalMs: 100,
  keepAliveTimeoutMs: 30_000,
  maxInflightRequests: 4,
});

export function resolveLimits(overrides: Partial<TransportLimits> | undefined): TransportLimits {
  const limits = { ...DEFAULT_TRANSPORT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`transport limits: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (limits.maxBatchBytes > limits.maxBodyBytes) throw new RangeError('transport limits: maxBatchBytes must not exceed maxBodyBytes');
  if (limits.backoffInitialMs > limits.backoffMaxMs) throw new RangeError('transport limits: backoffInitialMs must not exceed backoffMaxMs');
  return limits;
}
