// Loopback fixtures for the transport tests: members made of a peer HTTP server and a transport.
import http from 'node:http';
import net from 'node:net';
import type { Message, NodeId } from '../../src/raft/messages.js';
import { EntryType, MessageType } from '../../src/raft/messages.js';
import { createPeerHandler, PeerTransport, TransportStats, type PeerHandlerOptions, type PeerTransportOptions, type TransportLogger } from '../../src/transport/index.js';

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
  stats: TransportStats;
  close(): Promise<void>;
}

/** Starts a peer API server on 127.0.0.1:port that records what it receives. */
export async function startPeerServer(
  selfId: NodeId,
  port: number,
  overrides: Partial<Omit<PeerHandlerOptions, 'selfId'>> = {},
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
  await listen(server, port);
  return { server, port, received, requestBytes, stats, close: () => closeServer(server) };
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
  return new PeerTransport({ selfId, clusterId: CLUSTER_ID, peers: map, ...overrides });
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
