// Network faults for the live view's partitions (issue 14) and `npm run jepsen` (issue 13), off
// unless the member was started with --debug-faults-token-file, named as etcd's functional tester
// names them:
// - a blackhole of raft traffic to and from chosen peers (BLACKHOLE_PEER_PORT_TX_RX, which etcd does
//   with iptables): raft messages to a blackholed peer are dropped before the transport sees them,
//   and messages from it are dropped (acknowledged to the sender as delivered, as a lossy network
//   would lose them) before raft does;
// - a delay of raft traffic to chosen peers (DELAY_PEER_PORT_TX_RX, which etcd does with tc netem):
//   raft messages to such a peer leave that many ms later, in order. Both directions of a link are
//   delayed by delaying it on both members (the launcher's control API does). At most
//   MAX_DELAYED_MESSAGES wait at once; beyond that they are dropped, as a full queue would drop them.
// Only raft messages: the bootstrap and backup endpoints on the peer port are untouched.
//
//   GET  /debug/raft/faults   {"blackhole":["<hex id>",...],"delay":{"<hex id>":ms,...},...counters}
//   PUT  /debug/raft/faults   {"blackhole":[...],"delay":{...}}: replaces both ([] and {} or no
//                             "delay" heal); Authorization: Bearer <token>
//
// Both need the token (the file's first line, at least 16 characters); a member without the flag
// answers 404, as for any path it does not serve.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compareIds, MessageType, type Message } from '../raft/messages.js';

export const PEER_FAULTS_PATH = '/debug/raft/faults';
const MAX_BODY_BYTES = 4096;
const MAX_IDS = 64;
const HEX_ID = /^[0-9a-f]{1,16}$/;
export const MIN_FAULTS_TOKEN_LENGTH = 16;
export const MAX_DELAY_MS = 60_000;
export const MAX_DELAYED_MESSAGES = 10_000;

export class PeerFaults {
  private blackholed = new Set<bigint>();
  /** Peer id -> ms its raft messages wait before they leave. */
  private delays = new Map<bigint, number>();
  /** Raft messages dropped so far, each way. */
  droppedOut = 0;
  droppedIn = 0;
  /** Raft messages delayed so far, and those waiting now. */
  delayedOut = 0;
  delayedNow = 0;

  /** setTimer: the member's timers (virtual ones in the simulator). */
  constructor(private readonly setTimer: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms)) {}

  get active(): boolean {
    return this.blackholed.size > 0 || this.delays.size > 0;
  }

  blackhole(ids: Iterable<bigint>): void {
    this.blackholed = new Set(ids);
  }

  delay(entries: Iterable<readonly [bigint, number]>): void {
    this.delays = new Map(entries);
  }

  delayList(): [bigint, number][] {
    return [...this.delays].sort((a, b) => compareIds(a[0], b[0]));
  }

  blocks(id: bigint): boolean {
    return this.blackholed.has(id);
  }

  list(): bigint[] {
    return [...this.blackholed].sort(compareIds);
  }

  /**
   * The messages that may leave now; those to a delayed peer are handed to `sendLater` after their
   * delay instead. `onSnapDropped` hears of each MsgSnap dropped (raft must be told it failed).
   */
  outgoing(msgs: readonly Message[], onSnapDropped: (to: bigint) => void, sendLater?: (msgs: Message[]) => void): readonly Message[] {
    if (!this.active) return msgs;
    const out: Message[] = [];
    const later = new Map<number, Message[]>();
    for (const m of msgs) {
      const ms = this.delays.get(m.to);
      if (this.blackholed.has(m.to) || (ms !== undefined && (sendLater === undefined || this.delayedNow >= MAX_DELAYED_MESSAGES))) {
        this.droppedOut++;
        if (m.type === MessageType.MsgSnap) onSnapDropped(m.to);
      } else if (ms !== undefined) {
        this.delayedOut++;
        this.delayedNow++;
        const group = later.get(ms);
        if (group === undefined) later.set(ms, [m]);
        else group.push(m);
      } else {
        out.push(m);
      }
    }
    for (const [ms, group] of later) {
      this.setTimer(() => {
        this.delayedNow -= group.length;
        sendLater?.(group);
      }, ms);
    }
    return out;
  }

  /** Whether a batch from `from` is dropped. */
  dropsIncoming(from: bigint, count: number): boolean {
    if (!this.blackholed.has(from)) return false;
    this.droppedIn += count;
    return true;
  }
}

const hex = (id: bigint): string => id.toString(16);

/** The route; `token` is the member's faults token. */
export function peerFaultsRoute(faults: PeerFaults, token: string): (req: IncomingMessage, res: ServerResponse) => void {
  if (token.length < MIN_FAULTS_TOKEN_LENGTH) throw new Error(`peer faults: the token must be at least ${MIN_FAULTS_TOKEN_LENGTH} characters`);
  const expected = Buffer.from(`Bearer ${token}`);
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const state = (): unknown => ({
    blackhole: faults.list().map(hex),
    delay: Object.fromEntries(faults.delayList().map(([id, ms]) => [hex(id), ms])),
    droppedOut: faults.droppedOut,
    droppedIn: faults.droppedIn,
    delayedOut: faults.delayedOut,
  });
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
      let ids: bigint[];
      let delays: [bigint, number][];
      const id = (x: unknown): bigint => {
        if (typeof x !== 'string' || !HEX_ID.test(x)) throw new Error('bad');
        const n = BigInt(`0x${x}`);
        if (n <= 0n) throw new Error('bad');
        return n;
      };
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { blackhole?: unknown; delay?: unknown };
        const list = body.blackhole;
        if (!Array.isArray(list) || list.length > MAX_IDS) throw new Error('bad');
        ids = list.map(id);
        const d = body.delay ?? {};
        if (typeof d !== 'object' || d === null || Array.isArray(d) || Object.keys(d).length > MAX_IDS) throw new Error('bad');
        delays = Object.entries(d).map(([k, ms]): [bigint, number] => {
          if (!Number.isInteger(ms) || (ms as number) < 1 || (ms as number) > MAX_DELAY_MS) throw new Error('bad');
          return [id(k), ms as number];
        });
      } catch {
        return send(res, 400, { message: `want {"blackhole": [hex member ids], "delay": {"<hex member id>": ms in [1, ${MAX_DELAY_MS}]}} (at most ${MAX_IDS} ids each)` });
      }
      faults.blackhole(ids);
      faults.delay(delays);
      send(res, 200, state());
    });
  };
}
