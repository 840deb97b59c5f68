// Network faults for the live view's partitions (issue 14), off unless the member was started with
// --debug-faults-token-file: a blackhole of raft traffic to and from chosen peers, as etcd's
// functional tester does with iptables (BLACKHOLE_PEER_PORT_TX_RX). Raft messages to a blackholed
// peer are dropped before the transport sees them, and messages from it are dropped (acknowledged
// to the sender as delivered, as a lossy network would lose them) before raft does. Only raft
// messages: the bootstrap and backup endpoints on the peer port are untouched.
//
//   GET  /debug/raft/faults   {"blackhole":["<hex id>",...]}
//   PUT  /debug/raft/faults   the same JSON: replaces the set ([] heals); Authorization: Bearer <token>
//
// Both need the token (the file's first line, at least 16 characters); a member without the flag
// answers 404, as for any path it does not serve.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageType, type Message } from '../raft/messages.js';

export const PEER_FAULTS_PATH = '/debug/raft/faults';
const MAX_BODY_BYTES = 4096;
const MAX_IDS = 64;
const HEX_ID = /^[0-9a-f]{1,16}$/;
export const MIN_FAULTS_TOKEN_LENGTH = 16;

export class PeerFaults {
  private blackholed = new Set<number>();
  /** Raft messages dropped so far, each way. */
  droppedOut = 0;
  droppedIn = 0;

  get active(): boolean {
    return this.blackholed.size > 0;
  }

  blackhole(ids: Iterable<number>): void {
    this.blackholed = new Set(ids);
  }

  blocks(id: number): boolean {
    return this.blackholed.has(id);
  }

  list(): number[] {
    return [...this.blackholed].sort((a, b) => a - b);
  }

  /** The messages that may leave; `onSnapDropped` hears of each MsgSnap dropped (raft must be told it failed). */
  outgoing(msgs: readonly Message[], onSnapDropped: (to: number) => void): readonly Message[] {
    if (this.blackholed.size === 0) return msgs;
    const out: Message[] = [];
    for (const m of msgs) {
      if (!this.blackholed.has(m.to)) out.push(m);
      else {
        this.droppedOut++;
        if (m.type === MessageType.MsgSnap) onSnapDropped(m.to);
      }
    }
    return out;
  }

  /** Whether a batch from `from` is dropped. */
  dropsIncoming(from: number, count: number): boolean {
    if (!this.blackholed.has(from)) return false;
    this.droppedIn += count;
    return true;
  }
}

const hex = (id: number): string => id.toString(16);

/** The route; `token` is the member's faults token. */
export function peerFaultsRoute(faults: PeerFaults, token: string): (req: IncomingMessage, res: ServerResponse) => void {
  if (token.length < MIN_FAULTS_TOKEN_LENGTH) throw new Error(`peer faults: the token must be at least ${MIN_FAULTS_TOKEN_LENGTH} characters`);
  const expected = Buffer.from(`Bearer ${token}`);
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const state = (): unknown => ({ blackhole: faults.list().map(hex), droppedOut: faults.droppedOut, droppedIn: faults.droppedIn });
  return (req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      req.resume();
      return send(res, 401, { message: 'missing or wrong faults token' });
    }
    if (req.method === 'GET') return send(res, 200, state());
    if (req.method !== 'PUT') {
      req.resume();
      res.setHeader('Allow', 'GET, PUT');
      return send(res, 405, { message: 'Method Not Allowed' });
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.byteLength;
      if (bytes <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (bytes > MAX_BODY_BYTES) return send(res, 413, { message: `body over ${MAX_BODY_BYTES} bytes` });
      let ids: number[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { blackhole?: unknown };
        const list = body.blackhole;
        if (!Array.isArray(list) || list.length > MAX_IDS || !list.every((x) => typeof x === 'string' && HEX_ID.test(x))) throw new Error('bad');
        ids = (list as string[]).map((x) => Number.parseInt(x, 16));
        if (!ids.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error('bad');
      } catch {
        return send(res, 400, { message: `want {"blackhole": [hex member ids]} (at most ${MAX_IDS})` });
      }
      faults.blackhole(ids);
      send(res, 200, state());
    });
  };
}
