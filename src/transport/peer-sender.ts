// Sends one peer its messages: a bounded FIFO drained by at most one HTTP request at a time (so the
// peer receives our messages in the order raft produced them), each request a batch of everything
// queued up to the batch bounds. A failed request drops its batch (raft retransmits), reports the
// peer unreachable (rate-limited), and delays the next attempt with an exponential backoff: a dead
// peer sees a few attempts per second, never a hot loop. Snapshots travel alone on /raft/snapshot,
// beside the pipeline, so a large transfer does not hold back heartbeats.
// A batch stays within the peer's bounds (maxBatchMessages, maxBatchBytes, maxEntriesPerBatch);
// a MsgApp with more entries than one batch may carry is split into consecutive MsgApps.
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { MessageType, type Entry, type Message, type NodeId, type Snapshot } from '../raft/messages.js';
import type { SnapshotFileReader } from '../storage/snap-files.js';
import { isSnapshotRef } from '../storage/snapshot-ref.js';
import { SNAPSHOT_CHUNK_BYTES, type TransportLimits } from './limits.js';
import type { TransportLogger } from './logger.js';
import { MessageQueue, type QueuedMessage } from './message-queue.js';
import {
  CLUSTER_ID_MISMATCH_TEXT,
  CONTENT_TYPE,
  formatId,
  HEADER_CLUSTER_ID,
  HEADER_FROM,
  HEADER_SERVER_VERSION,
  MESSAGES_PATH,
  parseId,
  SNAPSHOT_FILE_CONTENT_TYPE,
  SNAPSHOT_PATH,
} from './protocol.js';
import type { TransportStats } from './stats.js';
import { encodeBatch, encodeSnapshotBody, messageSizeBytes } from './wire.js';
import { openPeerStream, PeerStreamConnection, type StreamEnd } from './stream-connection.js';

/** Bytes of an error response body kept for the log line. */
const MAX_ERROR_BODY_BYTES = 512;
/** Queue-overflow warnings are logged at most once per this interval per peer. */
const DROP_LOG_INTERVAL_MS = 1000;

export type SnapshotStatus = 'finish' | 'failure';

/** What a TLS connection to a peer is made with (undici's connect options; tls.ConnectionOptions' subset). */
export interface PeerTLSConnectOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  ciphers?: string;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface PeerSenderOptions {
  selfId: NodeId;
  peerId: NodeId;
  clusterId: bigint;
  urls: readonly string[];
  serverVersion: string;
  /** For https:// URLs. */
  tls?: PeerTLSConnectOptions;
  limits: TransportLimits;
  logger: TransportLogger;
  stats: TransportStats;
  onUnreachable: (peerId: NodeId) => void;
  /** How a MsgSnap ended, and how long its request took (0 when it never left). */
  onSnapshotStatus: (peerId: NodeId, status: SnapshotStatus, durationMs: number) => void;
  /** The peer answered 410 Gone: it says this member was removed from the cluster. */
  onRemovedByPeer?: (peerId: NodeId) => void;
  onRoundTrip: ((peerId: NodeId, durationMs: number, bytes: number) => void) | undefined;
  /**
   * Send batches on a peer stream (GET /raft/stream, stream.ts) rather than one POST each. Default
   * true; a peer that answers the upgrade 404 (a release without streams) gets POSTs for
   * STREAM_RETRY_AFTER_MS, then the stream is asked for again.
   */
  streams?: boolean;
  /**
   * Where a snapshot whose data is a reference to its file (src/storage/snapshot-ref.ts) is read
   * from: the file is streamed to the peer as it is on disk (SNAPSHOT_FILE_CONTENT_TYPE), a chunk
   * at a time. Without it such a snapshot cannot be sent.
   */
  snapshotFiles?: SnapshotFileSource;
}

/** What the sender reads a snapshot's file from (the member's snapshot directory). */
export interface SnapshotFileSource {
  openRead(term: number, index: number): Promise<SnapshotFileReader>;
  /** The state a snapshot's file holds, for a peer that takes a snapshot only in one body (415 to the file). */
  readData(term: number, index: number): Promise<Uint8Array>;
}

/** How long a peer that refused the stream upgrade (404: no streams there) is sent POSTs instead. */
export const STREAM_RETRY_AFTER_MS = 30_000;

/** Why a request failed; reported in logs and kept for tests and /health-like introspection. */
export class PeerRequestError extends Error {
  readonly reason: 'timeout' | 'connection' | 'cluster-id-mismatch' | 'http-status' | 'aborted';
  /** The peer's HTTP status, for reason 'http-status'. */
  readonly status: number | undefined;
  constructor(reason: PeerRequestError['reason'], message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'PeerRequestError';
    this.reason = reason;
    this.status = options?.status;
  }
}

/** A request body streamed from chunks, of a declared length. */
interface StreamedBody {
  chunks: AsyncIterable<Uint8Array>;
  length: number;
  contentType?: string;
}

export class PeerSender {
  private readonly o: PeerSenderOptions;
  private readonly queue: MessageQueue;
  /** Per peer URL: the message pipeline (one connection, pipelined requests) and the snapshot connection. */
  private readonly pools: ({ messages: Pool; snapshots: Pool } | undefined)[];
  /** The same on every request to this peer: built once, not per batch. */
  private readonly requestHeaders: Readonly<Record<string, string>>;
  private urlIndex = 0;
  /** Message requests sent and not yet answered (pipelined on one connection, so in order). */
  private inflight = 0;
  /** Body bytes of the message requests in flight on the pipelined connection. */
  private inflightBytes = 0;
  private snapshotInflight = false;
  /** Until then the peer is sent snapshots in one body (it answered 415 to a snapshot file: a release from before them). */
  private snapshotFilesRefusedUntil = 0;
  /** The open stream; undefined while none is open (or one is being opened: streamOpening). */
  private stream: PeerStreamConnection | undefined;
  private streamOpening = false;
  /** Until then the peer gets POSTs (it answered the stream upgrade 404). */
  private streamRefusedUntilMs = Number.NEGATIVE_INFINITY;
  private backoffTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private lastUnreachableReportMs = Number.NEGATIVE_INFINITY;
  private lastDropLogMs = Number.NEGATIVE_INFINITY;
  private droppedSinceLog = 0;
  private active = true;
  private closed = false;
  /** The request attempts made so far (messages and snapshots), for tests and debugging. */
  attempts = 0;
  /** MsgApps split because they had more than maxEntriesPerBatch entries, for tests and debugging. */
  splitMessages = 0;

  constructor(options: PeerSenderOptions) {
    if (options.urls.length === 0) throw new RangeError(`transport: peer ${formatId(options.peerId)} has no URLs`);
    for (const u of options.urls) {
      const parsed = new URL(u);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`transport: peer URL must be http(s): ${u}`);
    }
    this.o = options;
    this.queue = new MessageQueue({ maxMessages: options.limits.maxQueueMessages, maxBytes: options.limits.maxQueueBytes });
    this.pools = options.urls.map(() => undefined);
    this.requestHeaders = {
      'content-type': CONTENT_TYPE,
      [HEADER_CLUSTER_ID]: formatId(options.clusterId),
      [HEADER_FROM]: formatId(options.selfId),
      [HEADER_SERVER_VERSION]: options.serverVersion,
    };
  }

  /** True while the last attempt failed and none has succeeded since. */
  get isActive(): boolean {
    return this.active;
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  /** Queues a message; flush() starts the request. (send() queues a whole Ready, then flushes.) */
  enqueue(message: Message): void {
    if (this.closed) {
      this.o.stats.recordDropped(this.o.peerId, 1);
      return;
    }
    if (message.type === MessageType.MsgSnap) {
      this.sendSnapshot(message);
      return;
    }
    if (message.entries.length > this.o.limits.maxEntriesPerBatch) {
      this.enqueueOversized(message);
      return;
    }
    this.push(message);
  }

  private push(message: Message): boolean {
    const item: QueuedMessage = { message, sizeBytes: messageSizeBytes(message), entries: message.entries.length };
    if (this.queue.push(item)) return true;
    this.drop(1, 'sending buffer is full');
    return false;
  }

  /**
   * A message with more entries than the peer accepts in one request. Raft does not produce one
   * with the defaults (a 1 MiB MsgApp holds at most 43690 entries, a third of the bound), only
   * with maxSizePerMsgBytes above 24 * maxEntriesPerBatch (3 MiB) or a lowered maxEntriesPerBatch.
   * Sending it would be refused every time, and dropping it would not help either: raft sends the
   * same append again (a probe is as large as any append), so the follower would never catch up.
   * A MsgApp is therefore split into consecutive MsgApps of at most maxEntriesPerBatch entries,
   * each anchored on the last entry of the previous one: exactly the appends of a leader with a
   * smaller maxSizePerMsgBytes, so the follower checks and acknowledges each as usual (the leader
   * takes an acknowledgement of a prefix like any other). When a piece cannot be queued the rest
   * is dropped too (the follower would refuse them: their previous entry is missing) and raft
   * retransmits as after any loss. Only MsgApp carries entries between peers (raft does not accept
   * a MsgProp from the network, MsgReadIndex carries none): anything else is dropped and counted.
   */
  private enqueueOversized(message: Message): void {
    const maxEntries = this.o.limits.maxEntriesPerBatch;
    const fields = { peer: formatId(this.o.peerId), type: MessageType[message.type], entries: message.entries.length, maxEntriesPerBatch: maxEntries };
    if (message.type !== MessageType.MsgApp) {
      this.o.logger.error(fields, 'dropped a raft message with more entries than a peer request carries');
      this.o.stats.recordDropped(this.o.peerId, 1);
      return;
    }
    const pieces = splitAppend(message, maxEntries);
    if (this.splitMessages++ === 0) this.o.logger.warn({ ...fields, pieces: pieces.length }, 'split a MsgApp with more entries than a peer request carries (raft maxSizePerMsgBytes above 24 * maxEntriesPerBatch?)');
    for (let i = 0; i < pieces.length; i++) {
      if (this.push(pieces[i] as Message)) continue;
      if (i + 1 < pieces.length) this.drop(pieces.length - i - 1, 'sending buffer is full');
      return;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.stream?.close();
    this.stream = undefined;
    const discarded = this.queue.clear();
    if (discarded > 0) this.o.stats.recordDropped(this.o.peerId, discarded);
    await Promise.all(this.pools.flatMap((p) => (p === undefined ? [] : [p.messages.destroy(), p.snapshots.destroy()])));
  }

  /**
   * Starts requests with what is queued, up to maxInflightRequests pipelined on the connection;
   * one at a time while the peer is failing (each attempt then probes it); none during a backoff.
   */
  flush(): void {
    if (this.o.streams !== false && performance.now() >= this.streamRefusedUntilMs && this.inflight === 0) {
      this.flushStream();
      return;
    }
    const maxInflight = this.active ? this.o.limits.maxInflightRequests : 1;
    while (!this.closed && this.inflight < maxInflight && this.backoffTimer === undefined && this.queue.length > 0) {
      this.sendBatch();
    }
  }

  /** Writes what is queued to the stream while its bounds allow; opens the stream first if needed. */
  private flushStream(): void {
    if (this.closed || this.backoffTimer !== undefined || this.queue.length === 0) return;
    const stream = this.stream;
    if (stream === undefined) {
      if (!this.streamOpening) this.openStream();
      return;
    }
    while (this.queue.length > 0 && stream.writable) {
      const batch = this.takeEncodedBatch();
      if (batch !== undefined) stream.write(batch.body, batch.messages);
    }
  }

  /**
   * The next batch off the queue, encoded; undefined (dropped and counted) when its body is over the
   * peer's bound. Only a single message can be that large (batches are bounded by estimates below it).
   */
  private takeEncodedBatch(): { messages: Message[]; body: Uint8Array } | undefined {
    const { limits } = this.o;
    const messages = this.queue.takeBatch(limits.maxBatchMessages, limits.maxBatchBytes, limits.maxEntriesPerBatch).map((q) => q.message);
    const body = encodeBatch(messages);
    if (body.byteLength <= limits.maxBodyBytes) return { messages, body };
    this.o.logger.error({ peer: formatId(this.o.peerId), bytes: body.byteLength, maxBodyBytes: limits.maxBodyBytes, type: MessageType[messages[0]?.type ?? 0] }, 'dropped a raft message larger than the peer request bound');
    this.o.stats.recordDropped(this.o.peerId, messages.length);
    return undefined;
  }

  /** The error for a peer of another cluster (etcd's text, both ids, and what the peer said). */
  private clusterIdMismatch(remote: string, text?: string): PeerRequestError {
    return new PeerRequestError('cluster-id-mismatch', `${CLUSTER_ID_MISMATCH_TEXT} (local ${formatId(this.o.clusterId)}, remote ${remote})${text === undefined ? '' : `: ${text}`}`);
  }

  private openStream(): void {
    const { limits } = this.o;
    this.streamOpening = true;
    this.attempts++;
    const started = performance.now();
    openPeerStream({ url: this.o.urls[this.urlIndex] as string, headers: this.requestHeaders, ...(this.o.tls !== undefined ? { tls: this.o.tls } : {}), timeoutMs: limits.connectTimeoutMs + limits.requestTimeoutMs })
      .then(
        (opened) => {
          this.streamOpening = false;
          if ('socket' in opened) {
            if (this.closed) return void opened.socket.destroy();
            if (opened.clusterId !== this.o.clusterId) {
              opened.socket.destroy();
              return this.failed(this.clusterIdMismatch(opened.clusterId === undefined ? 'none' : formatId(opened.clusterId)));
            }
            const connection: PeerStreamConnection = new PeerStreamConnection(opened.socket, opened.head, limits.maxInflightRequests * limits.maxBatchBytes, (bytes) => messageTimeoutMs(limits.requestTimeoutMs, bytes), {
              onDelivered: (bytes, messages, roundTripMs) => {
                this.o.stats.recordSent(this.o.peerId, bytes, messages, roundTripMs);
                this.o.onRoundTrip?.(this.o.peerId, roundTripMs, bytes);
              },
              onWritable: () => this.flush(),
              onEnd: (end, lost) => this.streamEnded(connection, end, lost),
            });
            this.stream = connection;
            // etcd's words for its streams
            this.o.logger.info({ peer: formatId(this.o.peerId), url: this.o.urls[this.urlIndex] }, 'established TCP streaming connection with remote peer');
            this.o.onRoundTrip?.(this.o.peerId, performance.now() - started, 0);
            this.succeeded();
            this.flush();
            return;
          }
          if (this.closed) return;
          if (opened.status === 404) {
            // a release without streams: POSTs for a while (this is no failure of the peer)
            this.streamRefusedUntilMs = performance.now() + STREAM_RETRY_AFTER_MS;
            this.o.logger.info({ peer: formatId(this.o.peerId), url: this.o.urls[this.urlIndex] }, 'peer has no raft stream: sending its messages by POST');
            this.flush();
            return;
          }
          if (opened.status === 412 || (opened.clusterId !== undefined && opened.clusterId !== this.o.clusterId)) {
            return this.failed(this.clusterIdMismatch(opened.clusterId === undefined ? 'none' : formatId(opened.clusterId), opened.text));
          }
          if (opened.status === 410) this.o.onRemovedByPeer?.(this.o.peerId);
          this.failed(new PeerRequestError('http-status', `peer answered ${opened.status}: ${opened.text}`));
        },
        (err: unknown) => {
          this.streamOpening = false;
          if (this.closed) return;
          const code = (err as { code?: unknown }).code;
          this.failed(new PeerRequestError(code === 'ETIMEDOUT' ? 'timeout' : 'connection', (err as Error).message, { cause: err }));
        },
      );
  }

  private streamEnded(connection: PeerStreamConnection, end: StreamEnd, lostMessages: number): void {
    if (this.stream !== connection) return;
    this.stream = undefined;
    if (lostMessages > 0) this.o.stats.recordDropped(this.o.peerId, lostMessages);
    if (this.closed) return;
    if (end.status === 410) this.o.onRemovedByPeer?.(this.o.peerId);
    this.o.logger.info({ peer: formatId(this.o.peerId), reason: end.reason, error: end.message, lostMessages }, 'lost TCP streaming connection with remote peer');
    const reason = end.reason === 'timeout' ? 'timeout' : end.reason === 'refused' ? 'http-status' : 'connection';
    this.failed(new PeerRequestError(reason, end.message));
  }

  private sendBatch(): void {
    const { limits } = this.o;
    const batch = this.takeEncodedBatch();
    if (batch === undefined) return;
    const { messages, body } = batch;
    this.inflight++;
    this.inflightBytes += body.byteLength;
    const started = performance.now();
    // The answer to a pipelined request comes after every body ahead of it has been sent and read.
    this.post(MESSAGES_PATH, body, messageTimeoutMs(limits.requestTimeoutMs, this.inflightBytes))
      .then(
        () => {
          const roundTripMs = performance.now() - started;
          this.o.stats.recordSent(this.o.peerId, body.byteLength, messages, roundTripMs);
          this.o.onRoundTrip?.(this.o.peerId, roundTripMs, body.byteLength);
          this.succeeded();
        },
        (err: unknown) => {
          this.o.stats.recordDropped(this.o.peerId, messages.length);
          this.failed(err);
        },
      )
      .finally(() => {
        this.inflight--;
        this.inflightBytes -= body.byteLength;
        this.flush();
      });
  }

  private sendSnapshot(message: Message): void {
    const { limits } = this.o;
    const fail = (why: string): void => {
      this.o.logger.warn({ peer: formatId(this.o.peerId), index: message.snapshot?.metadata.index, reason: why }, 'failed to send database snapshot');
      this.o.stats.recordDropped(this.o.peerId, 1);
      // Never re-entrant: raft hears about it after the current send() returns.
      queueMicrotask(() => {
        if (!this.closed) this.o.onSnapshotStatus(this.o.peerId, 'failure', 0);
      });
    };
    if (this.snapshotInflight) return fail('a snapshot is already in flight to this peer');
    const snap = message.snapshot;
    if (snap === undefined) return fail('a MsgSnap without its snapshot');
    let sending: Promise<number>;
    if (isSnapshotRef(snap.data)) {
      sending = this.sendSnapshotFile(message);
    } else {
      const body = encodeSnapshotBody(message, SNAPSHOT_CHUNK_BYTES);
      if (body.length > limits.maxSnapshotBytes) return fail(`snapshot of ${body.length} bytes exceeds maxSnapshotBytes ${limits.maxSnapshotBytes}`);
      sending = this.postSnapshotBody(body);
    }
    this.snapshotInflight = true;
    const started = performance.now();
    sending
      .then(
        (bytes) => {
          const roundTripMs = performance.now() - started;
          this.o.stats.recordSent(this.o.peerId, bytes, [message], roundTripMs);
          this.o.logger.info({ peer: formatId(this.o.peerId), index: snap.metadata.index, bytes, durationMs: Math.round(roundTripMs) }, 'sent database snapshot');
          this.succeeded();
          if (!this.closed) this.o.onSnapshotStatus(this.o.peerId, 'finish', roundTripMs);
        },
        (err: unknown) => {
          if (this.closed) return;
          fail((err as Error).message);
          if (err instanceof PeerRequestError) this.failed(err);
        },
      )
      .finally(() => {
        this.snapshotInflight = false;
      });
  }

  /** A snapshot in one msgpack body (encodeSnapshotBody), streamed in pieces that are views of its data: no copy. Resolves with the bytes sent. */
  private async postSnapshotBody(body: { pieces: Uint8Array[]; length: number }): Promise<number> {
    await this.post(SNAPSHOT_PATH, { chunks: streamPieces(body.pieces), length: body.length }, this.o.limits.snapshotTimeoutMs);
    return body.length;
  }

  /**
   * A snapshot whose data is a reference to its file: the MsgSnap without data (a u32 length, then
   * encodeBatch's bytes), then the file as it is on disk, read a chunk at a time. The sender never
   * holds the state; the receiver writes the file as it arrives (handler.ts). A peer that answers
   * 415 (a release from before snapshot files) is sent the state in one body for
   * STREAM_RETRY_AFTER_MS. Resolves with the bytes sent.
   */
  private async sendSnapshotFile(message: Message): Promise<number> {
    const { limits } = this.o;
    const snap = message.snapshot as Snapshot;
    const { term, index } = snap.metadata;
    const files = this.o.snapshotFiles;
    if (files === undefined) throw new Error('the snapshot\'s data is in a file and this transport has no snapshot files to read it from');
    if (performance.now() < this.snapshotFilesRefusedUntil) {
      const data = await files.readData(term, index);
      const body = encodeSnapshotBody({ ...message, snapshot: { metadata: snap.metadata, data } }, SNAPSHOT_CHUNK_BYTES);
      if (body.length > limits.maxSnapshotBytes) throw new Error(`snapshot of ${body.length} bytes exceeds maxSnapshotBytes ${limits.maxSnapshotBytes}`);
      return this.postSnapshotBody(body);
    }
    const reader = await files.openRead(term, index);
    try {
      const head = encodeBatch([{ ...message, snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } }]);
      const prefix = new Uint8Array(4 + head.length);
      new DataView(prefix.buffer).setUint32(0, head.length);
      prefix.set(head, 4);
      const length = prefix.length + reader.bytes;
      if (length > limits.maxSnapshotBytes) throw new Error(`snapshot of ${length} bytes exceeds maxSnapshotBytes ${limits.maxSnapshotBytes}`);
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        yield prefix;
        yield* reader.chunks();
      };
      try {
        await this.post(SNAPSHOT_PATH, { chunks: chunks(), length, contentType: SNAPSHOT_FILE_CONTENT_TYPE }, limits.snapshotTimeoutMs);
      } catch (err) {
        if (err instanceof PeerRequestError && err.status === 415) {
          this.snapshotFilesRefusedUntil = performance.now() + STREAM_RETRY_AFTER_MS;
          this.o.logger.info({ peer: formatId(this.o.peerId) }, 'peer takes no snapshot files: sending it snapshots in one body');
        }
        throw err;
      }
      return length;
    } finally {
      await reader.close();
    }
  }

  /**
   * One request. Its deadline is undici's own (headersTimeout from when the request is written, or
   * from the answer ahead of it on a pipelined connection; bodyTimeout between body chunks;
   * connectTimeout): no AbortController and no timer of ours per request, which cost about a
   * tenth of a message's CPU. close() destroys the pools, which fails the requests in flight.
   */
  private async post(path: string, body: Uint8Array | StreamedBody, timeoutMs: number): Promise<void> {
    this.attempts++;
    let res;
    try {
      res = await this.pool(path === SNAPSHOT_PATH ? 'snapshots' : 'messages').request({
        path,
        method: 'POST',
        // Raft messages may be lost or repeated, and the answer is an immediate 204: marking them
        // idempotent and non-blocking lets undici pipeline them.
        idempotent: true,
        blocking: false,
        body: body instanceof Uint8Array ? body : Readable.from(body.chunks, { objectMode: false }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // a streamed body declares its length: the receiver reads it into one buffer of that size
        headers:
          body instanceof Uint8Array
            ? this.requestHeaders
            : { ...this.requestHeaders, 'content-length': String(body.length), ...(body.contentType !== undefined ? { 'content-type': body.contentType } : {}) },
      });
    } catch (err) {
      if (this.closed) throw new PeerRequestError('aborted', 'transport closed', { cause: err });
      const code = (err as { code?: unknown }).code;
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
      throw new PeerRequestError(timedOut ? 'timeout' : 'connection', timedOut ? `no answer within ${timeoutMs} ms (${(err as Error).message})` : (err as Error).message, { cause: err });
    }
    // The usual answer, 204 without a body, is checked without reading a stream.
    let text = '';
    if (res.statusCode === 204) res.body.resume();
    else text = await readSmallBody(res.body);
    const remoteCluster = res.headers[HEADER_CLUSTER_ID];
    if (res.statusCode === 412 || (remoteCluster !== undefined && parseId(remoteCluster) !== this.o.clusterId)) {
      throw this.clusterIdMismatch(String(remoteCluster), text);
    }
    if (res.statusCode === 410) this.o.onRemovedByPeer?.(this.o.peerId);
    if (res.statusCode < 200 || res.statusCode >= 300) throw new PeerRequestError('http-status', `peer answered ${res.statusCode}: ${text}`, { status: res.statusCode });
  }

  private pool(kind: 'messages' | 'snapshots'): Pool {
    let pools = this.pools[this.urlIndex];
    if (pools === undefined) {
      const { limits } = this.o;
      const origin = new URL(this.o.urls[this.urlIndex] as string).origin;
      const common = {
        connections: 1,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        keepAliveMaxTimeout: limits.keepAliveTimeoutMs,
        connectTimeout: limits.connectTimeoutMs,
        ...(this.o.tls !== undefined ? { connect: { ...this.o.tls, timeout: limits.connectTimeoutMs } } : {}),
      };
      pools = {
        // One connection keeps the batches in order; pipelining lets the next batch leave before
        // the previous one's 204 is back (a commit update must not hold back the next append).
        messages: new Pool(origin, { ...common, pipelining: limits.maxInflightRequests, headersTimeout: limits.requestTimeoutMs, bodyTimeout: limits.requestTimeoutMs }),
        snapshots: new Pool(origin, { ...common, pipelining: 1, headersTimeout: limits.snapshotTimeoutMs, bodyTimeout: limits.snapshotTimeoutMs }),
      };
      this.pools[this.urlIndex] = pools;
    }
    return pools[kind];
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    if (!this.active && !this.closed) {
      this.active = true;
      this.o.logger.info({ peer: formatId(this.o.peerId) }, 'peer became active');
    }
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.o.stats.recordFailure(this.o.peerId);
    this.consecutiveFailures++;
    const reason = err instanceof PeerRequestError ? err.reason : 'connection';
    const fields = { peer: formatId(this.o.peerId), url: this.o.urls[this.urlIndex], reason, error: (err as Error).message, failures: this.consecutiveFailures };
    // Logged loudly once per transition to inactive; repeated failures of a dead peer at debug.
    if (!this.active) this.o.logger.debug(fields, 'message send to peer failed');
    else if (reason === 'cluster-id-mismatch') this.o.logger.error(fields, 'request cluster ID mismatch');
    else this.o.logger.warn(fields, 'peer became inactive (message send to peer failed)');
    this.active = false;
    // Another URL of the same peer may work (etcd's urlPicker moves on after a failure).
    this.urlIndex = (this.urlIndex + 1) % this.o.urls.length;

    const nowMs = performance.now();
    if (nowMs - this.lastUnreachableReportMs >= this.o.limits.unreachableReportIntervalMs) {
      this.lastUnreachableReportMs = nowMs;
      this.o.onUnreachable(this.o.peerId);
    }
    if (this.backoffTimer === undefined) {
      const { backoffInitialMs, backoffMaxMs } = this.o.limits;
      const delayMs = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(this.consecutiveFailures - 1, 20));
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        this.flush();
      }, delayMs);
      this.backoffTimer.unref();
    }
  }

  private drop(count: number, why: string): void {
    this.o.stats.recordDropped(this.o.peerId, count);
    this.droppedSinceLog += count;
    const nowMs = performance.now();
    if (nowMs - this.lastDropLogMs >= DROP_LOG_INTERVAL_MS) {
      this.o.logger.warn({ peer: formatId(this.o.peerId), dropped: this.droppedSinceLog, queuedMessages: this.queue.length, queuedBytes: this.queue.sizeBytes }, `dropped raft messages: ${why}`);
      this.lastDropLogMs = nowMs;
      this.droppedSinceLog = 0;
    }
  }
}

/** A MsgApp cut into consecutive MsgApps of at most maxEntries entries each (same term and commit). */
function splitAppend(m: Message, maxEntries: number): Message[] {
  const pieces: Message[] = [];
  let index = m.index;
  let logTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i += maxEntries) {
    const entries = m.entries.slice(i, i + maxEntries);
    pieces.push({ ...m, index, logTerm, entries });
    const last = entries[entries.length - 1] as Entry;
    index = last.index;
    logTerm = last.term;
  }
  return pieces;
}

/** Reads at most MAX_ERROR_BODY_BYTES of a response body and discards the rest. */
async function readSmallBody(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
    size += chunk.length;
    if (size > 64 * MAX_ERROR_BODY_BYTES) break; // stop reading an unbounded answer; the connection is dropped
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ERROR_BODY_BYTES)).trim();
}

/**
 * Bytes per millisecond a transfer that is still progressing is assumed to reach at least (1 MB/s):
 * a request's deadline grows with the bytes it waits behind, so a 10 MB append on a slow or busy
 * machine is not cut off and re-sent forever (etcd bounds each read and write on its streams, not
 * the whole message).
 */
export const MIN_TRANSFER_BYTES_PER_MS = 1000;

/** The deadline of a message request with `bytesAhead` body bytes on its connection, its own included. */
export function messageTimeoutMs(requestTimeoutMs: number, bytesAhead: number): number {
  return requestTimeoutMs + Math.ceil(bytesAhead / MIN_TRANSFER_BYTES_PER_MS);
}

/** A snapshot's pieces as a request body: Buffer views of them, one at a time (no copy). */
async function* streamPieces(pieces: readonly Uint8Array[]): AsyncGenerator<Buffer> {
  for (const p of pieces) yield Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}
