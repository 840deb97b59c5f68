// The peer stream: one long-lived connection per sender lane, as etcd's rafthttp keeps its
// msgappv2 and message streams, instead of one HTTP request (and one 204) per batch.
//
//   GET /raft/stream  Connection: Upgrade, Upgrade: etcd-ts-raft-stream/1, with the same
//                     X-Etcd-Cluster-ID / X-Server-From / X-Server-Version headers as a POST
//     -> 101 Switching Protocols (with the receiver's X-Etcd-Cluster-ID), then raw frames
//     -> or the POST's refusals, as an HTTP answer: 412 cluster ID mismatch, 400, 503 not ready;
//        a member without streams (an earlier release) answers 404, and the sender uses POST.
//
// After the 101 the connection carries frames, each a 4-byte big-endian length and that many bytes.
// Sender to receiver, a frame is a batch exactly as POST /raft/messages carries it (wire.ts); the
// receiver takes each through the same checks as a POST body (acceptPeerBody: decode, addressing,
// the peer guard). Receiver to sender go two kinds, told apart by their first byte:
//   ACK     [1, count u32, holdUs u32]: frames taken so far (mod 2^32), and how many µs ago the
//           newest of them arrived (so the sender's round trip leaves out the ack's own delay).
//           Sent at most every ACK_DELAY_MS per stream (one write where a POST costs a 204 per
//           batch); the sender measures round trips with it and knows that
//           its frames get through: a network that silently drops packets (a partition, a paused
//           peer) is noticed after requestTimeoutMs without an ack, as a POST times out, instead of
//           after TCP's own retransmission timeouts.
//   REFUSAL [2, JSON {"status":400|410|413|500,"text":...}]: the receiver refused a frame and closes
//           the connection; the sender treats it as the same status of a POST.
// Snapshots still travel alone on POST /raft/snapshot.
//
// Bounds: a frame is at most the receiver's maxBodyBytes (a longer one is refused: the sender never
// sends one); the receiver holds at most one partial frame per stream and at most
// MAX_STREAMS_PER_MEMBER streams; a sender has at most maxInflightRequests * maxBatchBytes bytes and
// MAX_UNACKED_FRAMES frames written and not acknowledged, and its queue is bounded as before.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NodeId } from '../raft/messages.js';
import { acceptPeerBody, type PeerInputOptions } from './handler.js';
import type { TransportLogger } from './logger.js';
import { CLUSTER_ID_MISMATCH_TEXT, CONTENT_TYPE, formatId, HEADER_CLUSTER_ID, HEADER_FROM, HEADER_SERVER_VERSION, parseId } from './protocol.js';

export const STREAM_PATH = '/raft/stream';
export const STREAM_PROTOCOL = 'etcd-ts-raft-stream/1';
export const FRAME_HEADER_BYTES = 4;
/** A frame from the receiver (an ack or a refusal) is at most this long (the sender reads no more). */
export const MAX_REPLY_FRAME_BYTES = 4096;
export const FRAME_ACK = 1;
export const FRAME_REFUSAL = 2;
/** A receiver acknowledges at most this often per stream. */
export const ACK_DELAY_MS = 10;
/** The sender stops writing with this many frames unacknowledged (a bound; acks come every ACK_DELAY_MS). */
export const MAX_UNACKED_FRAMES = 8192;

export function encodeAck(count: number, holdUs: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 9);
  frame.writeUInt32BE(9, 0);
  frame.writeUInt8(FRAME_ACK, 4);
  frame.writeUInt32BE(count >>> 0, 5);
  frame.writeUInt32BE(Math.max(0, Math.min(0xffff_ffff, Math.round(holdUs))), 9);
  return frame;
}

export function encodeRefusal(status: number, text: string): Buffer {
  const json = Buffer.from(JSON.stringify({ status, text: text.slice(0, MAX_REPLY_FRAME_BYTES / 4) }));
  return encodeFrame(Buffer.concat([Buffer.from([FRAME_REFUSAL]), json]));
}

export type ReplyFrame = { kind: 'ack'; count: number; holdUs: number } | { kind: 'refusal'; status: number; text: string };

/** A frame from the receiver; throws on one that is neither an ack nor a refusal. */
export function decodeReply(frame: Buffer): ReplyFrame {
  if (frame.length === 9 && frame[0] === FRAME_ACK) return { kind: 'ack', count: frame.readUInt32BE(1), holdUs: frame.readUInt32BE(5) };
  if (frame.length >= 1 && frame[0] === FRAME_REFUSAL) {
    const parsed: unknown = JSON.parse(frame.subarray(1).toString('utf8'));
    const status = (parsed as { status?: unknown }).status;
    const text = (parsed as { text?: unknown }).text;
    if (typeof status === 'number' && typeof text === 'string') return { kind: 'refusal', status, text };
  }
  throw new Error('malformed reply frame on a raft stream');
}

/** A frame: the 4-byte length, then the body, in one buffer (one write). */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameTooLargeError extends Error {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`stream frame of ${bytes} bytes exceeds ${maxBytes}`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Cuts a byte stream into frames. Holds at most one partial frame (its declared length is checked
 * against maxFrameBytes before any of it is kept).
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The body length of the frame being read, once its header is in. */
  private want = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** The frames this chunk completes, in order. Throws FrameTooLargeError on a frame over the bound. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let buf: Buffer;
    if (this.pendingBytes === 0) buf = chunk;
    else {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let at = 0;
    for (;;) {
      if (this.want < 0) {
        if (buf.length - at < FRAME_HEADER_BYTES) break;
        this.want = buf.readUInt32BE(at);
        if (this.want > this.maxFrameBytes) throw new FrameTooLargeError(this.want, this.maxFrameBytes);
        at += FRAME_HEADER_BYTES;
      }
      if (buf.length - at < this.want) break;
      // a view, no copy: the decoded entries' data are views into it, as into a POST's body
      frames.push(buf.subarray(at, at + this.want));
      at += this.want;
      this.want = -1;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  /** Bytes held of a frame not yet complete. */
  get heldBytes(): number {
    return this.pendingBytes;
  }
}

export interface PeerStreamHandlerOptions extends Omit<PeerInputOptions, 'maxBatchMessages'> {
  clusterId: bigint;
  serverVersion: string;
  maxBatchMessages: number;
  /** The largest frame (the receiver's maxBodyBytes). */
  maxFrameBytes: number;
}

/**
 * Answers an upgrade request with a plain HTTP status and text and closes the connection (the
 * server no longer writes for an upgraded socket). `headerLines`: more header lines, each ending
 * in CRLF.
 */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string, headerLines = ''): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${headerLines}` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** What the peer port's server calls on an upgrade request ('upgrade' event). */
export type PeerUpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * TCP keepalive on both ends of a stream, after this much idle time: a stream may rightly stay idle
 * for days (a lane with nothing to say), and one whose other end vanished without a word (a host
 * cut off, then gone) is found by the kernel's probes and closed, not kept forever.
 */
export const STREAM_KEEPALIVE_MS = 30_000;

/** Streams open now, per handler: each holds at most one partial frame. */
export const MAX_STREAMS_PER_MEMBER = 256;

/**
 * The receiving side of /raft/stream: checks the upgrade as a POST's headers are checked, answers
 * 101 and takes frames; anything else gets an HTTP answer and the connection closes.
 */
export function createPeerStreamHandler(o: PeerStreamHandlerOptions): PeerUpgradeHandler & { readonly openStreams: number } {
  const clusterIdHex = formatId(o.clusterId);
  const logger: TransportLogger | undefined = o.logger;
  let open = 0;
  const refuse = (socket: Duplex, status: number, reason: string, text: string): void =>
    refuseUpgrade(socket, status, reason, text, `${HEADER_CLUSTER_ID}: ${clusterIdHex}\r\n${HEADER_SERVER_VERSION}: ${o.serverVersion}\r\n`);
  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== STREAM_PATH) return refuse(socket, 404, 'Not Found', '404 page not found');
    if (req.method !== 'GET') return refuse(socket, 405, 'Method Not Allowed', 'method not allowed');
    if (String(req.headers['upgrade'] ?? '').toLowerCase() !== STREAM_PROTOCOL) return refuse(socket, 400, 'Bad Request', `expected Upgrade: ${STREAM_PROTOCOL}`);
    const remoteCluster = req.headers[HEADER_CLUSTER_ID];
    if (parseId(remoteCluster) !== o.clusterId) {
      logger?.warn({ local: clusterIdHex, remote: remoteCluster ?? null, from: req.headers[HEADER_FROM] ?? null }, 'request cluster ID mismatch');
      return refuse(socket, 412, 'Precondition Failed', CLUSTER_ID_MISMATCH_TEXT);
    }
    const from = parseId(req.headers[HEADER_FROM]);
    if (from === undefined) return refuse(socket, 400, 'Bad Request', 'missing or invalid X-Server-From');
    if (open >= MAX_STREAMS_PER_MEMBER) return refuse(socket, 503, 'Service Unavailable', `${MAX_STREAMS_PER_MEMBER} peer streams are open already`);
    open++;
    socket.once('close', () => open--);
    (socket as Partial<Socket>).setNoDelay?.(true);
    (socket as Partial<Socket>).setKeepAlive?.(true, STREAM_KEEPALIVE_MS);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\n` +
        `${HEADER_CLUSTER_ID}: ${clusterIdHex}\r\n${HEADER_SERVER_VERSION}: ${o.serverVersion}\r\nContent-Type: ${CONTENT_TYPE}\r\n\r\n`,
    );
    receiveFrames(socket, from, head, o);
  };
  Object.defineProperty(handler, 'openStreams', { get: () => open });
  return handler as PeerUpgradeHandler & { readonly openStreams: number };
}

function receiveFrames(socket: Duplex, from: NodeId, head: Buffer, o: PeerStreamHandlerOptions): void {
  const reader = new FrameReader(o.maxFrameBytes);
  let done = false;
  let taken = 0;
  let newestAtMs = 0;
  let ackTimer: NodeJS.Timeout | undefined;
  const ack = (): void => {
    ackTimer = undefined;
    if (!done) socket.write(encodeAck(taken, (performance.now() - newestAtMs) * 1000));
  };
  const refuse = (status: number, text: string): void => {
    done = true;
    if (ackTimer !== undefined) clearTimeout(ackTimer);
    socket.off('data', onData);
    socket.end(encodeRefusal(status, text));
    // a sender that does not close its side is cut after a moment
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const onData = (chunk: Buffer): void => {
    if (done) return;
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      o.logger?.warn({ from: formatId(from), error: (err as Error).message }, 'rejected a raft message stream frame');
      return refuse(413, (err as Error).message);
    }
    for (const body of frames) {
      let out;
      try {
        out = acceptPeerBody(body, from, 'messages', o);
      } catch (err) {
        o.logger?.error({ from: formatId(from), error: (err as Error).message }, 'peer stream handler failed');
        return refuse(500, 'internal error');
      }
      if (out.status !== 204) return refuse(out.status, out.text ?? '');
      taken++;
    }
    if (frames.length > 0) {
      newestAtMs = performance.now();
      ackTimer ??= setTimeout(ack, ACK_DELAY_MS);
    }
  };
  socket.on('data', onData);
  socket.once('close', () => {
    done = true;
    if (ackTimer !== undefined) clearTimeout(ackTimer);
  });
  if (head.length > 0) onData(head);
}
