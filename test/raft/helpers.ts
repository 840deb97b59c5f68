// Test helpers in the style of etcd-io/raft's raft_test.go: a Raft over a MemoryStorage, a way to
// "persist" its unstable state and step its self-addressed responses (advanceMessagesAfterAppend),
// and a synchronous in-memory network that delivers messages until none are left.
import { resolveConfig, type RaftConfig } from '../../src/raft/config.js';
import { EntryType, MemoryStorage, MessageType, NONE, type Entry, type Message, type NodeId } from '../../src/raft/index.js';
import { localMessage, Raft } from '../../src/raft/raft.js';
import { appliedSnapshot } from '../../src/raft/snapshot.js';
import { mulberry32 } from '../sim/prng.js';

export type TestRaftOptions = Partial<Omit<RaftConfig, 'id' | 'storage'>>;

/** A storage whose ConfState lists `peers` as voters. */
export function newTestStorage(peers: readonly NodeId[]): MemoryStorage {
  const s = new MemoryStorage();
  s.setConfState({ voters: [...peers], learners: [] });
  return s;
}

let seedCounter = 1;

/** A Raft with CheckQuorum and Pre-Vote off unless asked for (as etcd's newTestRaft). */
export function newTestRaft(id: NodeId, electionTicks: number, heartbeatTicks: number, storage: MemoryStorage, opts: TestRaftOptions = {}): Raft {
  return new Raft(
    resolveConfig({
      id,
      storage,
      electionTicks,
      heartbeatTicks,
      checkQuorum: false,
      preVote: false,
      maxInflightMsgs: 256,
      random: mulberry32(seedCounter++ * 7919 + Number(id)),
      ...opts,
    }),
  );
}

/** Ids 1..n. */
export function idsBySize(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => BigInt(i + 1));
}

/** Entries with consecutive indexes from `first`, one per term given. */
export function entriesFrom(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: EntryType.Normal, data: new Uint8Array(0) }));
}

export function dataEntry(term: number, index: number, text: string): Entry {
  return { term, index, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}

/** Makes the raft's unstable entries and HardState durable in its MemoryStorage. */
export function persist(r: Raft): void {
  const storage = r.log.storage as MemoryStorage;
  r.log.acceptUnstable();
  const snap = r.log.unstable.snapshot;
  if (snap !== undefined) {
    storage.applySnapshot(snap);
    appliedSnapshot(r, snap);
  }
  const ents = r.log.unstable.entries;
  if (ents.length > 0) {
    storage.append(ents);
    const last = ents[ents.length - 1] as Entry;
    r.log.stableTo(last.index, last.term);
  }
  storage.setHardState(r.hardState());
}

/** Persists, then steps the responses addressed to itself and queues the others for sending. */
export function advanceMessagesAfterAppend(r: Raft): void {
  for (;;) {
    persist(r);
    const msgs = r.msgsAfterAppend;
    if (msgs.length === 0) return;
    r.msgsAfterAppend = [];
    for (const m of msgs) {
      if (m.to === r.id) r.step(m);
      else r.msgs.push(m);
    }
  }
}

/** Everything the raft would send, after making its state durable. */
export function readMessages(r: Raft): Message[] {
  advanceMessagesAfterAppend(r);
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

/** Committed entries not yet handed out, then marks them applied. */
export function takeCommitted(r: Raft): Entry[] {
  const ents = r.log.nextCommittedEnts();
  if (ents.length > 0) r.log.appliedTo((ents[ents.length - 1] as Entry).index, 0);
  return ents;
}

/** All entries from firstIndex to lastIndex. */
export function allEntries(r: Raft): Entry[] {
  const first = r.log.firstIndex();
  const last = r.log.lastIndex();
  if (last < first) return [];
  return r.log.slice(first, last + 1, Number.MAX_SAFE_INTEGER);
}

export function terms(ents: readonly Entry[]): string {
  return ents.map((e) => `${e.term}/${e.index}`).join(' ');
}

/** A message as a plain object with only the given fields (for readable assertions). */
export function msg(m: Partial<Message> & { type: MessageType }): Message {
  return { to: NONE, from: NONE, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...m };
}

/** The local message `type` addressed to `id` (for stepping through a Network). */
export function local(type: MessageType, id: NodeId): Message {
  const m = localMessage(type, id);
  m.to = id;
  return m;
}

/** Summarizes messages as `from->to Type` (plus fields), sorted, for order-insensitive comparison. */
export function summarize(msgs: readonly Message[], fields: (keyof Message)[] = []): string[] {
  return msgs
    .map((m) => {
      let s = `${m.from}->${m.to} ${MessageType[m.type]} term=${m.term}`;
      for (const f of fields) {
        const v = m[f];
        s += ` ${f}=${Array.isArray(v) ? terms(v as Entry[]) : String(v)}`;
      }
      return s;
    })
    .sort();
}

/** A peer that swallows every message (etcd's nopStepper / blackHole). */
export const BLACK_HOLE = 'black-hole' as const;

type Peer = Raft | typeof BLACK_HOLE;

/**
 * A synchronous network (etcd's newNetwork): send() delivers messages, and everything they
 * trigger, until no message is left. Links can be cut, nodes isolated, message types ignored,
 * and links made lossy with a seeded drop rate.
 */
export class Network {
  readonly peers = new Map<NodeId, Peer>();
  private readonly dropRate = new Map<string, number>();
  private readonly ignored = new Set<MessageType>();
  private readonly rand = mulberry32(12345);
  /** Every message delivered, for counting. */
  readonly delivered: Message[] = [];
  /** Optional hook run on each message before delivery; return false to drop it. */
  intercept: ((m: Message) => boolean) | undefined;

  /**
   * peers[i] is the node with id i+1: a Raft, BLACK_HOLE, or undefined for a fresh Raft on a
   * fresh storage (election 10, heartbeat 1, options `opts`).
   */
  constructor(peers: (Raft | typeof BLACK_HOLE | undefined)[], opts: TestRaftOptions = {}) {
    const ids = idsBySize(peers.length);
    peers.forEach((p, i) => {
      const id = BigInt(i + 1);
      this.peers.set(id, p ?? newTestRaft(id, 10, 1, newTestStorage(ids), opts));
    });
  }

  raft(id: NodeId): Raft {
    const p = this.peers.get(id);
    if (p === undefined || p === BLACK_HOLE) throw new Error(`peer ${id} is not a raft`);
    return p;
  }

  send(...msgs: Message[]): void {
    const queue = [...msgs];
    while (queue.length > 0) {
      const m = queue.shift() as Message;
      const p = this.peers.get(m.to);
      if (p === undefined || p === BLACK_HOLE) continue;
      this.delivered.push(m);
      p.step(m);
      for (const out of readMessages(p)) if (this.keep(out)) queue.push(out);
    }
  }

  /** Delivers one local message to `id` (MsgHup, MsgBeat, ...). */
  sendLocal(type: MessageType, id: NodeId): void {
    this.send(local(type, id));
  }

  /** Proposes on `id` and delivers what follows. */
  propose(id: NodeId, text = 'somedata'): void {
    const r = this.raft(id);
    r.propose(new TextEncoder().encode(text));
    const out = readMessages(r).filter((m) => this.keep(m));
    this.send(...out);
  }

  private keep(m: Message): boolean {
    if (this.ignored.has(m.type)) return false;
    const rate = this.dropRate.get(`${m.from}-${m.to}`) ?? 0;
    if (rate > 0 && this.rand() < rate) return false;
    if (this.intercept !== undefined && !this.intercept(m)) return false;
    return true;
  }

  drop(from: NodeId, to: NodeId, rate: number): void {
    this.dropRate.set(`${from}-${to}`, rate);
  }

  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b, 2);
    this.drop(b, a, 2);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.dropRate.clear();
    this.ignored.clear();
  }
}
