// The sending end of one peer stream (stream.ts has the protocol): opens it with an HTTP upgrade,
// writes frames, reads the receiver's acks and refusals, and watches that its frames get through.
// One connection; it never reconnects by itself: it ends once, through onEnd, and the PeerSender
// decides what comes next (a backoff, another URL, POST for a peer without streams).
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Message } from '../raft/messages.js';
import type { PeerTLSConnectOptions } from './peer-sender.js';
import { HEADER_CLUSTER_ID, parseId } from './protocol.js';
import { decodeReply, encodeFrame, FrameReader, MAX_REPLY_FRAME_BYTES, MAX_UNACKED_FRAMES, STREAM_KEEPALIVE_MS, STREAM_PATH, STREAM_PROTOCOL } from './stream.js';

/** Bytes of a refused upgrade's answer kept for the log line. */
const MAX_ANSWER_BYTES = 512;

export interface StreamOpenOptions {
  url: string;
  headers: Readonly<Record<string, string>>;
  tls?: PeerTLSConnectOptions;
  /** Connecting and the upgrade's answer together. */
  timeoutMs: number;
}

/** Why a stream ended: 'timeout' when its frames went unacknowledged for too long. */
export interface StreamEnd {
  reason: 'timeout' | 'connection' | 'refused' | 'closed';
  message: string;
  /** For 'refused': the status the receiver gave (410: this member was removed; 400, 413, 500). */
  status?: number;
}

interface Unacked {
  sentMs: number;
  bytes: number;
  messages: readonly Message[];
}

export interface StreamCallbacks {
  /** Frames delivered: the batch, and the round trip of the newest frame of an ack. */
  onDelivered(bytes: number, messages: readonly Message[], roundTripMs: number): void;
  /** The stream is over (once); the frames not acknowledged are lost (raft retransmits). */
  onEnd(end: StreamEnd, lostMessages: number): void;
  /** Room to write again after the unacknowledged bounds were reached. */
  onWritable(): void;
}

/**
 * Asks for a stream: resolves with the socket on 101, with the status on any other answer; rejects
 * when the peer cannot be reached or does not answer in time.
 */
export function openPeerStream(o: StreamOpenOptions): Promise<{ socket: Socket; head: Buffer; clusterId: bigint | undefined } | { status: number; text: string; clusterId: bigint | undefined }> {
  const u = new URL(o.url);
  const secure = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
      path: STREAM_PATH,
      method: 'GET',
      agent: false,
      headers: { ...o.headers, connection: 'Upgrade', upgrade: STREAM_PROTOCOL },
      ...(secure && o.tls !== undefined ? o.tls : {}),
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer to the stream upgrade within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })), o.timeoutMs);
    timer.unref();
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      resolve({ socket, head, clusterId: parseId(res.headers[HEADER_CLUSTER_ID]) });
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(c);
        size += c.length;
        if (size > 64 * MAX_ANSWER_BYTES) res.destroy();
      });
      const done = (): void =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ANSWER_BYTES)).trim(), clusterId: parseId(res.headers[HEADER_CLUSTER_ID]) });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

export class PeerStreamConnection {
  private readonly reader = new FrameReader(MAX_REPLY_FRAME_BYTES);
  private readonly unacked: Unacked[] = [];
  private unackedHead = 0;
  private unackedBytes = 0;
  /** Frames the receiver says it took (mod 2^32, as it counts them). */
  private acked = 0;
  private ended = false;
  private blocked = false;
  /** Armed while frames are unacknowledged: fires when the oldest would be overdue (at most one). */
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    head: Buffer,
    private readonly maxUnackedBytes: number,
    /** The oldest frame unacknowledged for this long ends the stream ('timeout'), given the bytes unacknowledged. */
    private readonly ackTimeoutMs: (unackedBytes: number) => number,
    private readonly callbacks: StreamCallbacks,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.setKeepAlive(true, STREAM_KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.end({ reason: 'connection', message: err.message }));
    socket.on('close', () => this.end({ reason: 'closed', message: 'the peer closed the stream' }));
    if (head.length > 0) this.onData(head);
  }

  /** Whether another frame may be written now (the unacknowledged bounds). */
  get writable(): boolean {
    const room = !this.ended && this.unacked.length - this.unackedHead < MAX_UNACKED_FRAMES && this.unackedBytes < this.maxUnackedBytes;
    if (!room) this.blocked = true;
    return room;
  }

  write(body: Uint8Array, messages: readonly Message[]): void {
    if (this.ended) return;
    this.socket.write(encodeFrame(body));
    this.unacked.push({ sentMs: performance.now(), bytes: body.byteLength, messages });
    this.unackedBytes += body.byteLength;
    if (this.watchdog === undefined) this.arm(this.ackTimeoutMs(this.unackedBytes));
  }

  close(): void {
    this.end({ reason: 'closed', message: 'closed by this member' }, false);
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
      for (const f of frames) {
        const reply = decodeReply(f);
        if (reply.kind === 'refusal') return this.end({ reason: 'refused', status: reply.status, message: `peer answered ${reply.status}: ${reply.text}` });
        this.ack(reply.count, reply.holdUs / 1000);
      }
    } catch (err) {
      this.end({ reason: 'connection', message: (err as Error).message });
    }
  }

  private ack(count: number, holdMs: number): void {
    const newly = (count - this.acked) >>> 0;
    if (newly > this.unacked.length - this.unackedHead) return this.end({ reason: 'connection', message: `the peer acknowledged ${newly} frames, ${this.unacked.length - this.unackedHead} were sent` });
    this.acked = count;
    const nowMs = performance.now();
    for (let i = 0; i < newly; i++) {
      const u = this.unacked[this.unackedHead++] as Unacked;
      this.unackedBytes -= u.bytes;
      this.callbacks.onDelivered(u.bytes, u.messages, Math.max(0, nowMs - u.sentMs - holdMs));
    }
    if (this.unackedHead > 1024 && this.unackedHead * 2 > this.unacked.length) {
      this.unacked.splice(0, this.unackedHead);
      this.unackedHead = 0;
    }
    if (this.blocked && newly > 0) {
      this.blocked = false;
      this.callbacks.onWritable();
    }
  }

  private arm(delayMs: number): void {
    this.watchdog = setTimeout(() => this.check(), Math.max(1, Math.ceil(delayMs)));
    this.watchdog.unref();
  }

  /** A timer per stream only while something is unacknowledged, not a periodic one: an idle member stays idle. */
  private check(): void {
    this.watchdog = undefined;
    const oldest = this.unacked[this.unackedHead];
    if (oldest === undefined || this.ended) return;
    const timeoutMs = this.ackTimeoutMs(this.unackedBytes);
    const overdueInMs = oldest.sentMs + timeoutMs - performance.now();
    if (overdueInMs < 0) this.end({ reason: 'timeout', message: `no acknowledgement within ${timeoutMs} ms` });
    else this.arm(overdueInMs);
  }

  private end(end: StreamEnd, report = true): void {
    if (this.ended) return;
    this.ended = true;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.socket.destroy();
    let lost = 0;
    for (let i = this.unackedHead; i < this.unacked.length; i++) lost += (this.unacked[i] as Unacked).messages.length;
    this.unacked.length = 0;
    this.unackedHead = 0;
    this.unackedBytes = 0;
    if (report) this.callbacks.onEnd(end, lost);
  }
}
