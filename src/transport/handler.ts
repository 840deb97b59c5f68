// The receiving side of the peer transport: a plain node:http handler for the peer listener,
// usable directly or as Express middleware (it calls next() for paths outside /raft/).
//   POST /raft/messages  a batch of raft messages          -> 204, then onMessages(batch)
//   POST /raft/snapshot  one MsgSnap (larger body bound, read into one buffer of its length)
//                                                           -> 204, then onMessages([msg])
//                        or, as SNAPSHOT_FILE_CONTENT_TYPE, the MsgSnap without data and then the
//                        snapshot's file, written to disk as it arrives (receiveSnapshotFile)
//   GET  /raft/probe     liveness of this member's peer API -> 200 {"memberId","clusterId"}
// Every POST must carry this cluster's X-Etcd-Cluster-ID (else 412 "cluster ID mismatch", as
// etcd's rafthttp) and a valid X-Server-From; bodies are bounded and fully validated (400 on
// garbage, 413 when too large). Answers carry our cluster id so the sender can check it too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageType, type Message, type NodeId } from '../raft/messages.js';
import { readBoundedBody } from './body.js';
import { DEFAULT_MAX_BATCH_MESSAGES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ENTRIES_PER_BATCH, DEFAULT_MAX_SNAPSHOT_BYTES } from './limits.js';
import { silentLogger, type TransportLogger } from './logger.js';
import {
  CLUSTER_ID_MISMATCH_TEXT,
  CONTENT_TYPE,
  DEFAULT_SERVER_VERSION,
  formatId,
  HEADER_CLUSTER_ID,
  isForwardedRequest,
  HEADER_FROM,
  HEADER_SERVER_VERSION,
  MESSAGES_PATH,
  parseId,
  PROBE_PATH,
  SNAPSHOT_FILE_CONTENT_TYPE,
  SNAPSHOT_PATH,
} from './protocol.js';
import { TransportStats } from './stats.js';
import { decodeBatch, WireError } from './wire.js';

export interface PeerHandlerOptions {
  selfId: NodeId;
  clusterId: bigint;
  /**
   * Receives each validated batch (per sender, in the order sent: senders keep one request in
   * flight), before the 204 is sent. Must be quick: hand the messages to the raft loop. A throw is
   * logged and answered 500, which the sender counts as a failed request.
   */
  onMessages: (messages: Message[], from: NodeId) => PeerBatchVerdict;
  serverVersion?: string;
  maxBodyBytes?: number;
  maxSnapshotBytes?: number;
  maxBatchMessages?: number;
  /**
   * Entries in one request, over all its messages; a larger batch is refused (400) before it is
   * decoded. Default DEFAULT_MAX_ENTRIES_PER_BATCH, the senders' default.
   */
  maxEntriesPerBatch?: number;
  logger?: TransportLogger;
  stats?: TransportStats;
  /**
   * Takes a snapshot sent as its file (SNAPSHOT_FILE_CONTENT_TYPE): writes the file's `bytes` as
   * they arrive in `chunks`, checks it, and resolves with the MsgSnap to hand to onMessages (its
   * data a reference to the file). A SnapshotFileRefused rejection is answered 400, any other 500.
   * Without it such a body is answered 415, and the sender sends the snapshot in one body.
   */
  receiveSnapshotFile?: (message: Message, bytes: number, chunks: AsyncIterable<Uint8Array>) => Promise<Message>;
}

/** receiveSnapshotFile refuses the file the peer sent (answered 400 with the message). */
export class SnapshotFileRefused extends Error {}

/**
 * Snapshot bodies read at once: a leader sends one at a time to a member, and one from a leader
 * that just lost its place may still be arriving. More are answered 503 (the sender's raft tries
 * again later), so memory for snapshots being received in one body stays within twice
 * maxSnapshotBytes (a snapshot sent as its file holds one chunk at a time).
 */
export const MAX_CONCURRENT_SNAPSHOT_RECEIVES = 2;

export type PeerRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export function createPeerHandler(options: PeerHandlerOptions): PeerRequestHandler {
  const logger = options.logger ?? silentLogger;
  const stats = options.stats ?? new TransportStats();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxSnapshotBytes = options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
  const maxBatchMessages = options.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES;
  const maxEntriesPerBatch = options.maxEntriesPerBatch ?? DEFAULT_MAX_ENTRIES_PER_BATCH;
  if (!Number.isSafeInteger(maxEntriesPerBatch) || maxEntriesPerBatch <= 0) throw new RangeError(`peer handler: maxEntriesPerBatch must be a positive integer, got ${String(maxEntriesPerBatch)}`);
  const clusterIdHex = formatId(options.clusterId);
  const serverVersion = options.serverVersion ?? DEFAULT_SERVER_VERSION;
  /** Snapshot bodies being read now (each may hold up to maxSnapshotBytes). */
  let snapshotsReceiving = 0;

  function answer(res: ServerResponse, status: number, text?: string, extra?: Record<string, string>): void {
    if (res.headersSent) return;
    res.statusCode = status;
    res.setHeader(HEADER_CLUSTER_ID, clusterIdHex);
    res.setHeader(HEADER_SERVER_VERSION, serverVersion);
    if (text !== undefined) res.setHeader('content-type', 'text/plain; charset=utf-8');
    if (extra !== undefined) for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
    res.end(text === undefined ? undefined : `${text}\n`);
  }

  /** The sender of a request, or undefined once it is answered 412 (another cluster) or 400. */
  function senderOf(req: IncomingMessage, res: ServerResponse): NodeId | undefined {
    const remoteCluster = req.headers[HEADER_CLUSTER_ID];
    if (parseId(remoteCluster) !== options.clusterId) {
      logger.warn({ local: clusterIdHex, remote: remoteCluster ?? null, from: req.headers[HEADER_FROM] ?? null }, 'request cluster ID mismatch');
      answer(res, 412, CLUSTER_ID_MISMATCH_TEXT, { connection: 'close' });
      return undefined;
    }
    const from = parseId(req.headers[HEADER_FROM]);
    if (from === undefined) answer(res, 400, 'missing or invalid X-Server-From', { connection: 'close' });
    return from;
  }

  /**
   * A snapshot sent as its file: a u32 length and the MsgSnap without data, checked as any
   * snapshot body (decode, addressing), then the file, handed to receiveSnapshotFile as it arrives
   * (at most one chunk of the request held here). Its Content-Length is required and bounded by
   * maxSnapshotBytes; at most MAX_CONCURRENT_SNAPSHOT_RECEIVES at a time.
   */
  async function receiveFile(req: IncomingMessage, res: ServerResponse, receiveSnapshotFile: NonNullable<PeerHandlerOptions['receiveSnapshotFile']>): Promise<void> {
    const from = senderOf(req, res);
    if (from === undefined) return;
    const declared = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(declared) || declared < 4) return answer(res, 411, 'a snapshot file needs its Content-Length', { connection: 'close' });
    if (declared > maxSnapshotBytes) return answer(res, 413, `body exceeds ${maxSnapshotBytes} bytes`, { connection: 'close' });
    if (snapshotsReceiving >= MAX_CONCURRENT_SNAPSHOT_RECEIVES) {
      return answer(res, 503, `${MAX_CONCURRENT_SNAPSHOT_RECEIVES} snapshots are being received already`, { connection: 'close' });
    }
    snapshotsReceiving++;
    const body = new ExactReader(req);
    try {
      const refuse = (why: string): void => {
        logger.warn({ from: formatId(from), error: why }, 'rejected a malformed snapshot');
        answer(res, 400, why, { connection: 'close' });
      };
      const lengthBytes = await body.take(4);
      const headLength = lengthBytes === null ? 0 : new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 4).getUint32(0);
      if (lengthBytes === null || headLength === 0 || headLength > Math.min(maxBodyBytes, declared - 4)) return refuse(`bad snapshot message length ${headLength}`);
      const head = await body.take(headLength);
      if (head === null) return refuse('the body ended inside the snapshot message');
      let message: Message;
      try {
        const messages = decodeBatch(head, { maxMessages: maxBatchMessages, maxEntriesPerBatch });
        checkAddressing(messages, from, options.selfId, 'snapshot');
        message = messages[0] as Message;
        if ((message.snapshot?.data.length ?? 0) !== 0) throw new WireError('a snapshot sent as its file carries no data in its message');
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        return refuse(err.message);
      }
      const fileBytes = declared - 4 - headLength;
      let received: Message;
      try {
        received = await receiveSnapshotFile(message, fileBytes, body.rest());
      } catch (err) {
        if (err instanceof SnapshotFileRefused) return refuse(`refused: ${err.message}`);
        if (body.aborted) return;
        logger.error({ from: formatId(from), error: (err as Error).message }, 'failed to receive a snapshot file');
        return answer(res, 500, 'failed to receive the snapshot', { connection: 'close' });
      }
      const out = deliverPeerMessages([received], from, declared, { selfId: options.selfId, maxBatchMessages, maxEntriesPerBatch, onMessages: options.onMessages, logger, stats });
      answer(res, out.status, out.text);
    } finally {
      snapshotsReceiving--;
    }
  }

  async function receive(req: IncomingMessage, res: ServerResponse, kind: 'messages' | 'snapshot'): Promise<void> {
    const from = senderOf(req, res);
    if (from === undefined) return;
    const contentType = req.headers['content-type'];
    if (contentType !== CONTENT_TYPE) return answer(res, 415, `expected Content-Type ${CONTENT_TYPE}`, { connection: 'close' });
    const limit = kind === 'snapshot' ? maxSnapshotBytes : maxBodyBytes;
    if (kind === 'snapshot' && snapshotsReceiving >= MAX_CONCURRENT_SNAPSHOT_RECEIVES) {
      return answer(res, 503, `${MAX_CONCURRENT_SNAPSHOT_RECEIVES} snapshots are being received already`, { connection: 'close' });
    }
    // A snapshot is read into one buffer of its declared length: its data is then a view of it, not a copy.
    if (kind === 'snapshot') snapshotsReceiving++;
    let result;
    try {
      result = await readBoundedBody(req, limit, { preallocate: kind === 'snapshot' });
    } finally {
      if (kind === 'snapshot') snapshotsReceiving--;
    }
    if (!result.ok) {
      if (result.reason === 'too-large') answer(res, 413, `body exceeds ${limit} bytes`, { connection: 'close' });
      return;
    }
    const out = acceptPeerBody(result.body, from, kind, { selfId: options.selfId, maxBatchMessages, maxEntriesPerBatch, onMessages: options.onMessages, logger, stats });
    answer(res, out.status, out.text);
  }

  return (req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== MESSAGES_PATH && path !== SNAPSHOT_PATH && path !== PROBE_PATH) {
      if (next !== undefined) return next();
      return answer(res, 404, 'not found');
    }
    if (path === PROBE_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      return answer(res, 200, JSON.stringify({ memberId: formatId(options.selfId), clusterId: clusterIdHex }), { 'content-type': 'application/json' });
    }
    if (req.method !== 'POST') return answer(res, 405, 'method not allowed', { allow: 'POST' });
    const receiveSnapshotFile = options.receiveSnapshotFile;
    if (path === SNAPSHOT_PATH && receiveSnapshotFile !== undefined && req.headers['content-type'] === SNAPSHOT_FILE_CONTENT_TYPE) {
      receiveFile(req, res, receiveSnapshotFile).catch((err: unknown) => {
        logger.error({ error: (err as Error).message }, 'peer handler failed');
        answer(res, 500, 'internal error', { connection: 'close' });
      });
      return;
    }
    receive(req, res, path === SNAPSHOT_PATH ? 'snapshot' : 'messages').catch((err: unknown) => {
      logger.error({ error: (err as Error).message }, 'peer handler failed');
      answer(res, 500, 'internal error');
    });
  };
}

/** What the receiver made of a batch: void or null when it took it, else why it refused it (answered 400). */
export type PeerBatchVerdict = string | null | void;

/**
 * The verdict on a batch from a member that was removed from the cluster: answered 410 Gone, as
 * etcd's rafthttp answers it, and the sender stops ("the member has been permanently removed").
 */
export const REFUSAL_REMOVED_MEMBER = 'the sender was removed from the cluster';

export interface PeerInputOptions {
  selfId: NodeId;
  maxBatchMessages: number;
  /** Entries in one batch, over all its messages (default DEFAULT_MAX_ENTRIES_PER_BATCH). */
  maxEntriesPerBatch?: number;
  onMessages: (messages: Message[], from: NodeId) => PeerBatchVerdict;
  logger?: TransportLogger;
  stats?: TransportStats;
}

export interface PeerInputOutcome {
  /** 204 accepted, 400 malformed or refused, 410 from a removed member, 500 the receiver failed. */
  status: number;
  text?: string;
  /** The decoded messages (when the body decoded). */
  messages?: Message[];
}

/**
 * What the peer port does with a request body once it is read: decode and validate the batch, check
 * its addressing, hand it to onMessages. Shared by the HTTP handler and the whole-member simulator's
 * network, so both run the same checks.
 */
export function acceptPeerBody(body: Uint8Array, from: NodeId, kind: 'messages' | 'snapshot', o: PeerInputOptions): PeerInputOutcome {
  const logger = o.logger ?? silentLogger;
  let messages: Message[];
  try {
    messages = decodeBatch(body, { maxMessages: o.maxBatchMessages, maxEntriesPerBatch: o.maxEntriesPerBatch ?? DEFAULT_MAX_ENTRIES_PER_BATCH });
    checkAddressing(messages, from, o.selfId, kind);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    logger.warn({ from: formatId(from), bytes: body.length, error: err.message }, 'rejected a malformed raft message batch');
    return { status: 400, text: err.message };
  }
  return deliverPeerMessages(messages, from, body.length, o);
}

/** Decoded and checked messages to onMessages, and what the sender is answered (acceptPeerBody; the simulator's network). */
export function deliverPeerMessages(messages: Message[], from: NodeId, bytes: number, o: PeerInputOptions): PeerInputOutcome {
  const logger = o.logger ?? silentLogger;
  let refusal: PeerBatchVerdict;
  try {
    refusal = o.onMessages(messages, from);
  } catch (err) {
    logger.error({ from: formatId(from), error: (err as Error).message }, 'failed to process raft messages');
    return { status: 500, text: 'failed to process raft messages', messages };
  }
  if (refusal === REFUSAL_REMOVED_MEMBER) {
    logger.warn({ from: formatId(from) }, 'refused raft messages from a removed member');
    return { status: 410, text: 'removed member', messages };
  }
  if (typeof refusal === 'string') {
    logger.warn({ from: formatId(from), messages: messages.length, reason: refusal }, 'refused raft messages');
    return { status: 400, text: `refused: ${refusal}`, messages };
  }
  o.stats?.recordReceived(from, bytes, messages);
  return { status: 204, messages };
}

function checkAddressing(messages: Message[], from: NodeId, selfId: NodeId, kind: 'messages' | 'snapshot'): void {
  if (kind === 'snapshot' && (messages.length !== 1 || (messages[0] as Message).type !== MessageType.MsgSnap)) {
    throw new WireError('/raft/snapshot carries exactly one MsgSnap');
  }
  for (const m of messages) {
    if (m.from !== from && !isForwardedRequest(m.type)) throw new WireError(`message from ${formatId(m.from)} in a request from ${formatId(from)}`);
    if (m.to !== selfId) throw new WireError(`message to ${formatId(m.to)} delivered to member ${formatId(selfId)}`);
    if (kind === 'messages' && m.type === MessageType.MsgSnap) throw new WireError('MsgSnap must be sent to /raft/snapshot');
  }
}

/**
 * Reads a request body in exact pieces (take), then the rest as it arrives (rest): one chunk of
 * the request at a time, never more (the request is paused while a chunk is handled).
 */
class ExactReader {
  private readonly it: AsyncIterator<Buffer>;
  private leftover: Buffer | null = null;
  /** The request ended before its body did (the sender went away). */
  aborted = false;

  constructor(req: IncomingMessage) {
    this.it = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  private async next(): Promise<Buffer | null> {
    if (this.leftover !== null) {
      const b = this.leftover;
      this.leftover = null;
      return b;
    }
    try {
      const r = await this.it.next();
      return r.done === true ? null : r.value;
    } catch (err) {
      this.aborted = true;
      throw err;
    }
  }

  /** Exactly n bytes, or null when the body ends first. */
  async take(n: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.next();
      if (chunk === null) return null;
      const want = n - have;
      if (chunk.length > want) {
        this.leftover = chunk.subarray(want);
        parts.push(chunk.subarray(0, want));
        have = n;
      } else {
        parts.push(chunk);
        have += chunk.length;
      }
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** The rest of the body, chunk by chunk. */
  async *rest(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await this.next();
      if (chunk === null) return;
      yield chunk;
    }
  }
}
