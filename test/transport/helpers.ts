// Loopback fixtures for the transport tests: members made of a peer HTTP server and a transport.
import http from 'node:http';
import { afterEach } from 'vitest';
import net from 'node:net';
import type { Message, NodeId } from '../../src/raft/messages.js';
import { EntryType, MessageType } from '../../src/raft/messages.js';
import { createPeerHandler, createPeerStreamHandler, PeerTransport, TransportStats, type PeerHandlerOptions, type PeerTransportOptions, type TransportLogger } from '../../src/transport/index.js';
import { DEFAULT_MAX_BATCH_MESSAGES, DEFAULT_MAX_BODY_BYTES } from '../../src/transport/limits.js';

export const CLUSTER_ID = 0xcdf8_18194en;

export function message(from: NodeId, to: NodeId, overrides: Partial<Message> = {}): Message {
  return { type: MessageType.MsgHeartbeat, to, from, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...overrides };
}

/** A MsgApp carrying `count` entries of `payloadBytes` each; `seq` goes in commit to check order. */
export function append(from: NodeId, to: NodeId, seq: number, count = 1, payloadBytes = 16): Message {
  const entries = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(payloadBytes);
    data.fill((seq + i) & 0xff);
    entries.push({ term: 2, index: seq * count + i + 1, type: EntryType.Normal, data });
  }
  return message(from, to, { type: MessageType.MsgApp, term: 2, logTerm: 2, index: seq * count, commit: seq, entries });
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

export function recordingLogger(lines: LogLine[]): TransportLogger {
  const at = (level: LogLine['level']) => (fields: object, message: string) => {
    if (lines.length < 10_000) lines.push({ level, fields, message });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface PeerServer {
  server: http.Server;
  port: number;
  received: Message[];
  /** Content-Length of each POST the server saw. */
  requestBytes: number[];
  /** Raft streams opened to this server (upgrades taken), when it takes them. */
  streamsOpened: number;
  stats: TransportStats;
  close(): Promise<void>;
}

/** Starts a peer API server on 127.0.0.1:port that records what it receives. */
export async function startPeerServer(
  selfId: NodeId,
  port: number,
  overrides: Partial<Omit<PeerHandlerOptions, 'selfId'>> = {},
  /** Take raft streams (GET /raft/stream upgrades) as a member does; false: a server of a release without them. */
  streams = true,
): Promise<PeerServer> {
  const received: Message[] = [];
  const requestBytes: number[] = [];
  const stats = overrides.stats ?? new TransportStats();
  const handler = createPeerHandler({
    selfId,
    clusterId: CLUSTER_ID,
    onMessages: (msgs) => {
      for (const m of msgs) if (received.length < 1_000_000) received.push(m);
    },
    ...overrides,
    stats,
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') requestBytes.push(Number(req.headers['content-length'] ?? -1));
    handler(req, res);
  });
  const out: PeerServer = { server, port, received, requestBytes, streamsOpened: 0, stats, close: () => closeServer(server) };
  if (streams) {
    const upgrade = createPeerStreamHandler({
      selfId,
      clusterId: overrides.clusterId ?? CLUSTER_ID,
      serverVersion: '2.3.8',
      maxFrameBytes: overrides.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      maxBatchMessages: overrides.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES,
      ...(overrides.maxEntriesPerBatch !== undefined ? { maxEntriesPerBatch: overrides.maxEntriesPerBatch } : {}),
      ...(overrides.logger !== undefined ? { logger: overrides.logger } : {}),
      stats,
      onMessages:
        overrides.onMessages ??
        ((msgs) => {
          for (const m of msgs) if (received.length < 1_000_000) received.push(m);
        }),
    });
    const sockets = new Set<net.Socket>();
    server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      out.streamsOpened++;
      upgrade(req, socket, head);
    });
    out.close = async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    };
  }
  await listen(server, port);
  return out;
}

export function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (server instanceof http.Server) server.closeAllConnections();
    server.close(() => resolve());
  });
}

export function url(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export function transport(selfId: NodeId, peers: Record<number, number>, overrides: Partial<PeerTransportOptions> = {}): PeerTransport {
  const map = new Map<NodeId, string[]>();
  for (const [id, port] of Object.entries(peers)) map.set(BigInt(id), [url(port)]);
  // POST per batch unless a test asks for streams (test/transport/stream.test.ts)
  return new PeerTransport({ selfId, clusterId: CLUSTER_ID, peers: map, streams: false, ...overrides });
}

/** Polls until `condition` holds; fails after timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Closes what a test started, after each test of the file that calls it (at its top level):
 * `cleanups` takes any closer, `track` a transport or a peer server.
 */
export function useCleanups(): { cleanups: (() => Promise<void>)[]; track: <T extends PeerTransport | PeerServer>(x: T) => T } {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const track = <T extends PeerTransport | PeerServer>(x: T): T => {
    cleanups.push(() => x.close());
    return x;
  };
  return { cleanups, track };
}

/** The `commit` fields (the tests' sequence numbers) of the messages from one sender, in order. */
export function seqOf(msgs: Message[], from: NodeId): number[] {
  return msgs.filter((m) => m.from === from).map((m) => m.commit);
}

/**
 * The three-member traffic of the delivery tests: member 1 sends `count` appends to 2 and as many
 * heartbeats to 3, member 2 as many answers to 3 (each numbered 1..count in `commit`), then one
 * message 2 -> 1; resolves once the servers of 1, 2 and 3 received all of it.
 */
export async function sendThreeMemberTraffic(t1: PeerTransport, t2: PeerTransport, [s1, s2, s3]: readonly [PeerServer, PeerServer, PeerServer], count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    t1.send([append(1n, 2n, i), message(1n, 3n, { commit: i })]);
    t2.send([message(2n, 3n, { commit: i, type: MessageType.MsgAppResp, index: i })]);
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  t2.send([message(2n, 1n, { commit: 1 })]);
  await waitFor(() => s2.received.length === count && s3.received.length === 2 * count && s1.received.length === 1, 15_000, 'all messages');
}
