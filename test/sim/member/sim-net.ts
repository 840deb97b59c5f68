// The simulated network between whole members: raft batches travel encoded exactly as on the
// wire (src/transport/wire.ts) and are decoded and checked by the receiver's real peer input path;
// peer API requests (publish, the bootstrap check) go to the receiver's PeerApiHandler. Latency,
// loss, duplication, reordering, partitions and one-way cuts come from the seed.
import { MessageType, type Message } from '../../../src/raft/messages.js';
import { peerJsonText, type PeerApiReply, type PeerApiRequest, type PeerClient } from '../../../src/server/peer-api.js';
import type { PeerNetwork, PeerNetworkOptions, RaftMember } from '../../../src/server/raft-member.js';
import { acceptPeerBody, deliverPeerMessages, SnapshotFileRefused } from '../../../src/transport/handler.js';
import type { SnapshotFileSource } from '../../../src/transport/peer-sender.js';
import { isSnapshotRef } from '../../../src/storage/snapshot-ref.js';
import { SnapshotReceiveError } from '../../../src/storage/snap-files.js';
import { encodeBatch } from '../../../src/transport/wire.js';
import type { Rng } from '../prng.js';
import type { Owner, World } from './world.js';

export interface NetConditions {
  dropRate: number;
  dupRate: number;
  /** Probability that a batch is held back 200..2000 ms (reordering). */
  longDelayRate: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const RELIABLE: NetConditions = { dropRate: 0, dupRate: 0, longDelayRate: 0, minDelayMs: 1, maxDelayMs: 5 };

/** One member's presence on the network (replaced at every incarnation). */
export interface Endpoint {
  owner: Owner;
  /** Set once RaftMember.open resolved; raft traffic before that finds no listener. */
  member: RaftMember | null;
  /** Whether the peer listener answers (false while stopped, and before listen). */
  listening: boolean;
  /** The peer API before the member exists (the bootstrap check serves GET /members). */
  preStartApi?: (req: PeerApiRequest) => Promise<import('../../../src/server/peer-api.js').PeerApiResponse> | import('../../../src/server/peer-api.js').PeerApiResponse | undefined;
}

export interface PeerInputRecord {
  from: bigint;
  to: bigint;
  status: number;
  text: string;
}

export class SimNetwork {
  conditions: NetConditions = RELIABLE;
  readonly endpoints = new Map<bigint, Endpoint>();
  batchesSent = 0;
  messagesSent = 0;
  /** Called for every raft message handed to the network (vote checks). */
  onSend: ((m: Message) => void) | undefined;
  /** After a member took a batch of raft messages (the simulator may interrupt it right then). */
  onDelivered: ((to: bigint, messages: readonly Message[]) => void) | undefined;
  /** Every answer other than 204 to a member's own (not forged) raft traffic. */
  onPeerInput: ((r: PeerInputRecord, messages: readonly Message[]) => void) | undefined;
  private readonly cut = new Set<string>();
  private readonly lastArrivalMs = new Map<string, number>();
  private readonly lastUnreachableMs = new Map<string, number>();

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    /** member id -> its peer URL and client URL (members added at run time get theirs with addAddress). */
    readonly addresses: Map<bigint, { peerURL: string; clientURL: string }>,
  ) {}

  /** A member added at run time gets its place on the network. */
  addAddress(id: bigint, peerURL: string, clientURL: string): void {
    this.addresses.set(id, { peerURL, clientURL });
  }

  // ---- faults

  partition(groups: readonly (readonly bigint[])[]): void {
    this.cut.clear();
    const groupOf = new Map<bigint, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.addresses.keys()) for (const b of this.addresses.keys()) if (a !== b && groupOf.get(a) !== groupOf.get(b)) this.cut.add(`${a}>${b}`);
  }

  cutOneWay(from: bigint, to: bigint): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.lastArrivalMs.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  canTalk(from: bigint, to: bigint): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  // ---- raft traffic

  /** The PeerNetwork a member incarnation sends raft messages with. */
  networkFor(owner: Owner): (o: PeerNetworkOptions) => PeerNetwork {
    return (o) => {
      let closed = false;
      return {
        // with the member's snapshot files, a snapshot goes as its file (sendSnapshotFile)
        sendsSnapshotFiles: o.snapshotFiles !== undefined,
        send: (messages) => {
          if (closed || owner.dead) return;
          const byPeer = new Map<bigint, Message[]>();
          for (const m of messages) {
            this.onSend?.(m);
            if (m.type === MessageType.MsgSnap) {
              // As the real transport: alone on the snapshot path, its outcome reported to raft.
              this.sendSnapshot(o.selfId, m, o, owner);
              continue;
            }
            let list = byPeer.get(m.to);
            if (list === undefined) byPeer.set(m.to, (list = []));
            list.push(m);
          }
          for (const [to, list] of byPeer) this.sendBatch(o.selfId, to, list, o, owner);
        },
        updatePeer: () => undefined,
        removePeer: () => undefined,
        close: async () => {
          closed = true;
        },
      };
    };
  }

  private sendBatch(from: bigint, to: bigint, messages: Message[], o: PeerNetworkOptions, senderOwner: Owner): void {
    this.batchesSent++;
    this.messagesSent += messages.length;
    const c = this.conditions;
    const dest = this.endpoints.get(to);
    const reachable = dest !== undefined && !dest.owner.dead && dest.listening && this.canTalk(from, to);
    if (!reachable || this.rng.chance(c.dropRate)) {
      if (!reachable) this.reportUnreachable(from, to, o.onUnreachable, senderOwner);
      return;
    }
    const body = encodeBatch(messages);
    const sentAt = this.world.nowMs;
    const copies = this.rng.chance(c.dupRate) ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      let delay = this.rng.int(c.minDelayMs, c.maxDelayMs);
      if (this.rng.chance(c.longDelayRate)) delay += this.rng.int(200, 2000);
      const link = `${from}>${to}`;
      let arrival = this.world.nowMs + delay;
      // Without reordering faults a link is FIFO, as one HTTP/1.1 pipeline is.
      if (c.longDelayRate === 0) arrival = Math.max(arrival, this.lastArrivalMs.get(link) ?? 0);
      this.lastArrivalMs.set(link, arrival);
      this.world.at(arrival, () => this.answered(from, to, this.deliver(from, to, body, dest), o, senderOwner, sentAt), dest.owner);
    }
  }

  /** A MsgSnap: delivered (or lost) like a batch of its own, then raft hears how it ended. */
  private sendSnapshot(from: bigint, m: Message, o: PeerNetworkOptions, senderOwner: Owner): void {
    this.batchesSent++;
    this.messagesSent++;
    const to = m.to;
    const dest = this.endpoints.get(to);
    const reachable = dest !== undefined && !dest.owner.dead && dest.listening && this.canTalk(from, to);
    let reported = false;
    const report = (status: 'finish' | 'failure'): void => {
      if (reported) return;
      reported = true;
      this.world.after(this.rng.int(1, 5), () => o.onSnapshotStatus(to, status, 0), senderOwner);
    };
    // The real transport's request times out when the receiver dies with it in hand.
    this.world.after(5000, () => report('failure'), senderOwner);
    if (!reachable || this.rng.chance(this.conditions.dropRate)) {
      if (!reachable) this.reportUnreachable(from, to, o.onUnreachable, senderOwner);
      report('failure');
      return;
    }
    const delay = this.rng.int(this.conditions.minDelayMs, this.conditions.maxDelayMs) + this.rng.int(0, 50);
    const snap = m.snapshot;
    if (snap !== undefined && isSnapshotRef(snap.data)) {
      // As PeerTransport: the sender's file is read, and the receiver writes, checks and adopts it.
      const files = o.snapshotFiles;
      if (files === undefined) return report('failure');
      this.readFile(files, snap.metadata.term, snap.metadata.index).then(
        (file) => {
          if (senderOwner.dead) return;
          this.world.after(
            delay,
            () => {
              void this.deliverFile(from, to, { ...m, snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } }, file, dest).then((r) => {
                if (dest.owner.dead && r.status === 0) return; // the receiver died with it in hand: the timeout reports it
                this.answered(from, to, r, o, senderOwner, this.world.nowMs - delay);
                report(r.status === 204 ? 'finish' : 'failure');
              });
            },
            dest.owner,
          );
        },
        () => report('failure'),
      );
      return;
    }
    const body = encodeBatch([m]);
    this.world.after(
      delay,
      () => {
        const r = this.deliver(from, to, body, dest, 'snapshot');
        this.answered(from, to, r, o, senderOwner, this.world.nowMs - delay);
        report(r.status === 204 ? 'finish' : 'failure');
      },
      dest.owner,
    );
  }

  /**
   * The sender hears the answer as the real transport does: a round trip (etcd's ActiveSince, which
   * the strict reconfiguration checks read), or 410 Gone (the sender was removed: it leaves).
   */
  private answered(from: bigint, to: bigint, r: PeerInputRecord, o: PeerNetworkOptions, senderOwner: Owner, sentAt: number): void {
    if (senderOwner.dead || r.status === 0) return;
    if (r.status === 410) {
      this.world.after(this.rng.int(1, 3), () => o.onRemovedByPeer?.(to), senderOwner);
      return;
    }
    if (r.status >= 200 && r.status < 300 && this.canTalk(to, from)) o.onRoundTrip?.(to, this.world.nowMs - sentAt);
  }

  private reportUnreachable(from: bigint, to: bigint, onUnreachable: (id: bigint) => void, owner: Owner): void {
    const key = `${from}>${to}`;
    const last = this.lastUnreachableMs.get(key) ?? -Infinity;
    if (this.world.nowMs - last < 100) return;
    this.lastUnreachableMs.set(key, this.world.nowMs);
    this.world.after(this.rng.int(1, 5), () => onUnreachable(to), owner);
  }

  /** Delivers a request body on the receiver's peer input path; returns the HTTP status it answered. */
  /** The sender's snapshot file, as openRead gives it. */
  private async readFile(files: SnapshotFileSource, term: number, index: number): Promise<Uint8Array> {
    const reader = await files.openRead(term, index);
    const parts: Uint8Array[] = [];
    for await (const c of reader.chunks()) parts.push(c.slice());
    await reader.close();
    const out = new Uint8Array(reader.bytes);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** A snapshot file arrives: the receiver's own path (RaftMember.receiveSnapshotFile, then the peer input checks). */
  private async deliverFile(from: bigint, to: bigint, head: Message, file: Uint8Array, dest: Endpoint): Promise<PeerInputRecord> {
    const member = dest.member;
    if (member === null || !dest.listening || dest.owner.dead) return { from, to, status: 0, text: 'connection refused' };
    const cut = this.rng.chance(this.conditions.dropRate) ? this.rng.int(0, file.length - 1) : file.length;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < cut; at += 16 * 1024) yield file.subarray(at, Math.min(cut, at + 16 * 1024));
    }
    let message: Message;
    try {
      message = await member.receiveSnapshotFile(head, file.length, chunks());
    } catch (err) {
      const record = { from, to, status: err instanceof SnapshotFileRefused || err instanceof SnapshotReceiveError ? 400 : 500, text: (err as Error).message };
      // a transfer the network cut off is the network's doing, not the member's
      if (cut === file.length && !dest.owner.dead) this.onPeerInput?.(record, [head]);
      return record;
    }
    if (dest.owner.dead || dest.member !== member) return { from, to, status: 0, text: 'connection reset' };
    const out = deliverPeerMessages([message], from, file.length, member.peerInputOptions());
    const record = { from, to, status: out.status, text: out.text ?? '' };
    if (out.status !== 204) this.onPeerInput?.(record, [message]);
    else this.onDelivered?.(to, [message]);
    return record;
  }

  deliver(from: bigint, to: bigint, body: Uint8Array, dest: Endpoint, kind: 'messages' | 'snapshot' = 'messages', forged = false): PeerInputRecord {
    const member = dest.member;
    let record: PeerInputRecord;
    if (member === null || !dest.listening) {
      record = { from, to, status: 0, text: 'connection refused' };
    } else {
      const out = acceptPeerBody(body, from, kind, member.peerInputOptions());
      record = { from, to, status: out.status, text: out.text ?? '' };
      if (!forged && (out.status !== 204 || out.messages === undefined)) this.onPeerInput?.(record, out.messages ?? []);
      if (!forged && out.status === 204 && out.messages !== undefined) this.onDelivered?.(to, out.messages);
    }
    return record;
  }

  // ---- the peer API

  /** The PeerClient a member incarnation (or its bootstrap check) uses. */
  clientFor(selfId: bigint, owner: Owner): PeerClient {
    return {
      request: (baseURL, req, timeoutMs) =>
        new Promise<PeerApiReply>((resolve, reject) => {
          let settled = false;
          const settle = (fn: () => void): void => {
            if (settled) return;
            settled = true;
            fn();
          };
          this.world.after(timeoutMs, () => settle(() => reject(new Error('timeout'))), owner);
          const to = this.idByPeerURL(baseURL);
          const dest = to === undefined ? undefined : this.endpoints.get(to);
          if (to === undefined || dest === undefined || dest.owner.dead || !dest.listening || !this.canTalk(selfId, to) || !this.canTalk(to, selfId)) {
            // Refused at once when nobody listens; a cut link answers nothing (the timeout fires).
            if (to !== undefined && this.canTalk(selfId, to) && (dest === undefined || dest.owner.dead || !dest.listening)) {
              this.world.after(this.rng.int(1, 3), () => settle(() => reject(new Error('ECONNREFUSED'))), owner);
            }
            return;
          }
          const body = req.json === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(peerJsonText(req.json), 'utf8'));
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
          const q = req.path.indexOf('?');
          const apiReq: PeerApiRequest = { method: req.method, path: q === -1 ? req.path : req.path.slice(0, q), query: q === -1 ? '' : req.path.slice(q + 1), headers, body };
          this.world.after(
            this.rng.int(this.conditions.minDelayMs, this.conditions.maxDelayMs),
            () => {
              const handler = dest.member?.peerApi ?? dest.preStartApi;
              // The peer port answers 503 while the member is neither open nor checking its bootstrap.
              void Promise.resolve(handler === undefined ? { status: 503, text: 'etcdserver: not ready' } : handler(apiReq)).then((res) => {
                const reply: PeerApiReply = {
                  status: res?.status ?? 404,
                  headers: res?.headers ?? {},
                  body: new Uint8Array(Buffer.from(res?.json !== undefined ? peerJsonText(res.json) : (res?.text ?? ''), 'utf8')),
                };
                if (owner.dead) return;
                this.world.after(this.rng.int(this.conditions.minDelayMs, this.conditions.maxDelayMs), () => settle(() => resolve(reply)), owner);
              });
            },
            dest.owner,
          );
        }),
    };
  }

  idByPeerURL(url: string): bigint | undefined {
    const base = url.replace(/\/$/, '');
    for (const [id, a] of this.addresses) if (a.peerURL === base) return id;
    return undefined;
  }

  idByClientURL(url: string): bigint | undefined {
    const base = url.replace(/\/$/, '');
    for (const [id, a] of this.addresses) if (a.clientURL === base) return id;
    return undefined;
  }
}

export function isVoteGrant(m: Message): boolean {
  return m.type === MessageType.MsgVoteResp && !m.reject;
}
