// GET /debug/raft/events (issue 14, "see consensus happen"): what this member's raft does, as a
// Server-Sent Events stream. The hub here is pure (no I/O of its own, injectable timers): the member
// calls its hooks, the route (raft-debug.ts) turns an HTTP response into a sink.
//
// The rules it keeps:
//   - nothing is built while nobody listens: the member checks `enabled` before calling a hook, and
//     each hook checks it again;
//   - state events (append, commit, apply) are coalesced and flushed at most every flushIntervalMs
//     (default 50 ms: at most 20 flushes a second); commit and apply keep the latest value, append
//     merges the ranges it saw (first index and its term, last index and its term, count and bytes
//     summed; when both terms are equal every entry of the range has that term);
//   - role, vote and snapshot events are always kept and sent at once;
//   - message events (send, recv) are sampled: at most messagesPerSecond per link
//     (from > to > type) in each one-second window; what was dropped is reported in a `dropped`
//     event at the next flush ({"send": n, "recv": m}, counts since the previous `dropped`);
//   - each event has a per-member sequence number as its SSE id; the last ringSize events are kept
//     so that a reconnect with Last-Event-ID resumes where it left off; an id older than the ring
//     (or from another run of the member) gets a `reset` event, then the current state. Ids start
//     at firstId: the member passes its wall clock in ms x 100, so a restarted member's ids are
//     above every id its previous run sent (that run would have needed 100 events a millisecond),
//     and the id a reconnecting page sends from the previous run is always "older than the ring".
//     The first frame of a new subscriber (the member's state, `initial`) carries the newest id
//     sent, so a client that saw only that frame resumes after it too;
//   - `lastId` is the newest id sent: /debug/raft/status and /debug/raft/log answer it in
//     X-Raft-Event-Id, so a reader of both the stream and those answers can tell which is newer
//     (an answer with id K holds every change sent as id <= K; a change it holds that was still
//     pending is sent later with an id > K);
//   - a subscriber whose unsent output exceeds maxBufferedBytes is disconnected (never queued
//     forever); at most maxSubscribers at a time; a `: ping` comment every heartbeatMs.
import type { Ready } from '../raft/rawnode.js';
import { MessageType, type Entry, type Message } from '../raft/messages.js';
import type { MemberTimers, TimerHandle } from './timers.js';

export type RaftEventKind = 'role' | 'vote' | 'append' | 'commit' | 'apply' | 'snapshot' | 'send' | 'recv' | 'dropped' | 'reset';

/** Where a subscriber's frames go: an HTTP response in the route, a fake in tests. */
export interface EventSink {
  write(chunk: string): void;
  /** Bytes written but not yet handed to the network (res.writableLength). */
  bufferedBytes(): number;
  /** Ends the stream (the hub has already forgotten this subscriber). */
  close(): void;
}

/** What a new subscriber is told first (the member's state when it connects). */
export interface RaftEventsState {
  role: string;
  term: number;
  lead: bigint;
  vote: bigint;
  commit: number;
  applied: number;
}

/** Event ids a member may send per millisecond of its wall clock before its next run's overlap (see firstId). */
export const RAFT_EVENT_IDS_PER_MS = 100;

export interface RaftEventsOptions {
  timers: MemberTimers;
  ringSize?: number;
  flushIntervalMs?: number;
  messagesPerSecond?: number;
  maxSubscribers?: number;
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** The first event's id is firstId + 1 (default 0; at most Number.MAX_SAFE_INTEGER / 10). */
  firstId?: number;
}

export interface Subscription {
  close(): void;
}

interface Frame {
  id: number;
  text: string;
}

const hex = (id: bigint): string => id.toString(16);

export class RaftEvents {
  /** Events built since the hub was created (tests check it stays 0 while nobody listens). */
  built = 0;
  /** State flushes so far. */
  flushes = 0;
  /** Subscribers disconnected for reading too slowly. */
  slowDisconnects = 0;

  private readonly timers: MemberTimers;
  private readonly ringSize: number;
  private readonly flushIntervalMs: number;
  private readonly messagesPerSecond: number;
  private readonly maxSubscribers: number;
  private readonly maxBufferedBytes: number;
  private readonly heartbeatMs: number;

  private readonly subscribers = new Set<EventSink>();
  private seq = 0;
  private readonly ring: (Frame | undefined)[];
  private ringStart = 0;
  private ringLength = 0;

  private pendingAppend: { from: number; to: number; fromTerm: number; toTerm: number; count: number; bytes: number } | null = null;
  private pendingCommit: number | null = null;
  private pendingApply: number | null = null;
  private lastCommit = -1;
  private lastApply = -1;
  private dropped = { send: 0, recv: 0 };
  private flushTimer: TimerHandle | null = null;
  private lastFlushAt = -Infinity;
  private heartbeat: TimerHandle | null = null;

  private linkWindowStart = -Infinity;
  private readonly linkCounts = new Map<string, number>();
  private voteTerm = 0;
  private vote = 0n;

  constructor(options: RaftEventsOptions) {
    this.timers = options.timers;
    this.ringSize = options.ringSize ?? 1000;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.messagesPerSecond = options.messagesPerSecond ?? 10;
    this.maxSubscribers = options.maxSubscribers ?? 16;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.seq = Math.max(0, Math.min(Math.floor(options.firstId ?? 0), Math.floor(Number.MAX_SAFE_INTEGER / 10)));
    this.ring = new Array<Frame | undefined>(this.ringSize);
  }

  /** Whether anyone listens: the member calls no hook otherwise. */
  get enabled(): boolean {
    return this.subscribers.size > 0;
  }

  /** Whether a new subscriber would be refused (maxSubscribers listen). */
  get full(): boolean {
    return this.subscribers.size >= this.maxSubscribers;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The id of the newest event (0 before the first). */
  get lastId(): number {
    return this.seq;
  }

  // ---- hooks (the member calls them only when `enabled`)

  /** One Ready taken by the member: role and vote changes, messages sent, entries to persist, commit. */
  onReady(rd: Ready, term: number): void {
    if (!this.enabled) return;
    if (rd.softState !== undefined) this.role(rd.softState.role, rd.hardState?.term ?? term, rd.softState.lead);
    const hs = rd.hardState;
    if (hs !== undefined) {
      if (hs.vote !== 0n && (hs.term !== this.voteTerm || hs.vote !== this.vote)) this.emit('vote', { term: hs.term, to: hex(hs.vote) });
      this.voteTerm = hs.term;
      this.vote = hs.vote;
    }
    if (rd.messages.length > 0) this.messages('send', rd.messages);
    if (rd.messagesAfterPersist.length > 0) this.messages('send', rd.messagesAfterPersist);
    if (rd.entries.length > 0) this.append(rd.entries);
    if (hs !== undefined && hs.commit !== this.lastCommit) this.pendingCommitSet(hs.commit);
  }

  role(role: string, term: number, lead: bigint): void {
    if (!this.enabled) return;
    this.emit('role', { role, term, lead: hex(lead) });
  }

  /** Entries handed to the log to persist. */
  append(entries: readonly Entry[]): void {
    if (!this.enabled || entries.length === 0) return;
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    const first = entries[0] as Entry;
    const last = entries[entries.length - 1] as Entry;
    const from = first.index;
    const to = last.index;
    const p = this.pendingAppend;
    if (p === null) this.pendingAppend = { from, to, fromTerm: first.term, toTerm: last.term, count: entries.length, bytes };
    else {
      if (from <= p.from) {
        p.from = from;
        p.fromTerm = first.term;
      }
      p.to = to;
      p.toTerm = last.term;
      p.count += entries.length;
      p.bytes += bytes;
    }
    this.scheduleFlush();
  }

  commit(index: number): void {
    if (!this.enabled || index === this.lastCommit) return;
    this.pendingCommitSet(index);
  }

  applied(index: number): void {
    if (!this.enabled || index === this.lastApply) return;
    this.pendingApply = index;
    this.scheduleFlush();
  }

  snapshotTaken(index: number, compactedTo: number): void {
    if (!this.enabled) return;
    this.emit('snapshot', { taken: true, index, compactedTo });
  }

  snapshotInstalled(index: number): void {
    if (!this.enabled) return;
    this.emit('snapshot', { installed: true, index });
  }

  /** Raft messages sent or received, sampled per link. */
  messages(dir: 'send' | 'recv', msgs: readonly Message[]): void {
    if (!this.enabled) return;
    const now = this.timers.nowMs();
    if (now - this.linkWindowStart >= 1000) {
      this.linkWindowStart = now;
      this.linkCounts.clear();
    }
    for (const m of msgs) {
      const key = `${m.from}>${m.to}>${m.type}`;
      const n = this.linkCounts.get(key) ?? 0;
      if (n >= this.messagesPerSecond) {
        this.dropped[dir]++;
        this.scheduleFlush();
        continue;
      }
      this.linkCounts.set(key, n + 1);
      this.emit(dir, {
        type: MessageType[m.type] ?? String(m.type),
        peer: hex(dir === 'send' ? m.to : m.from),
        term: m.term,
        index: m.index,
        commit: m.commit,
        entries: m.entries.length,
        reject: m.reject,
      });
    }
  }

  // ---- subscribers

  /**
   * A new subscriber; null when maxSubscribers already listen. With lastEventId it resumes after
   * that event (from the ring), or gets a `reset` then the current state when the ring no longer
   * holds what follows it.
   */
  subscribe(sink: EventSink, state: RaftEventsState, lastEventId?: number): Subscription | null {
    if (this.subscribers.size >= this.maxSubscribers) return null;
    if (this.subscribers.size === 0) {
      // What was seen before anyone listened is stale: start from the member's state now.
      this.voteTerm = state.term;
      this.vote = state.vote;
      this.lastCommit = state.commit;
      this.lastApply = state.applied;
      this.linkCounts.clear();
      this.linkWindowStart = -Infinity;
      this.heartbeat = this.timers.setInterval(() => this.ping(), this.heartbeatMs);
    }
    this.subscribers.add(sink);
    sink.write('retry: 1000\n\n');
    const oldest = this.ringLength === 0 ? this.seq + 1 : (this.ring[this.ringStart] as Frame).id;
    if (lastEventId !== undefined && lastEventId >= oldest - 1 && lastEventId <= this.seq) {
      for (let i = 0; i < this.ringLength; i++) {
        const f = this.ring[(this.ringStart + i) % this.ringSize] as Frame;
        if (f.id > lastEventId) this.deliver(sink, f.text);
      }
    } else {
      if (lastEventId !== undefined) {
        this.deliver(sink, frame(null, 'reset', { lastEventId, oldestId: oldest, newestId: this.seq }));
      }
      // The state now, as of the newest event sent: its id is that event's, so a client that
      // reconnects with it resumes with what follows (ids are ever-increasing, see firstId).
      this.deliver(sink, frame(this.seq, 'role', { role: state.role, term: state.term, lead: hex(state.lead), commit: state.commit, applied: state.applied, initial: true }));
    }
    return { close: () => this.remove(sink) };
  }

  /** Ends every subscriber's stream (the member is stopping). */
  closeAll(): void {
    for (const s of [...this.subscribers]) {
      this.remove(s);
      s.close();
    }
  }

  // ---- internals

  private pendingCommitSet(index: number): void {
    this.pendingCommit = index;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null) return;
    const delay = Math.max(0, this.lastFlushAt + this.flushIntervalMs - this.timers.nowMs());
    this.flushTimer = this.timers.setTimeout(() => this.flush(), delay);
  }

  private flush(): void {
    this.flushTimer = null;
    this.lastFlushAt = this.timers.nowMs();
    if (!this.enabled) {
      this.clearPending();
      return;
    }
    this.flushes++;
    const a = this.pendingAppend;
    if (a !== null) this.emit('append', { from: a.from, to: a.to, fromTerm: a.fromTerm, toTerm: a.toTerm, count: a.count, bytes: a.bytes });
    if (this.pendingCommit !== null && this.pendingCommit !== this.lastCommit) {
      this.lastCommit = this.pendingCommit;
      this.emit('commit', { index: this.pendingCommit });
    }
    if (this.pendingApply !== null && this.pendingApply !== this.lastApply) {
      this.lastApply = this.pendingApply;
      this.emit('apply', { index: this.pendingApply });
    }
    if (this.dropped.send + this.dropped.recv > 0) this.emit('dropped', { ...this.dropped });
    this.clearPending();
  }

  private clearPending(): void {
    this.pendingAppend = null;
    this.pendingCommit = null;
    this.pendingApply = null;
    this.dropped = { send: 0, recv: 0 };
  }

  private emit(kind: RaftEventKind, data: Record<string, unknown>): void {
    this.built++;
    const id = ++this.seq;
    const f: Frame = { id, text: frame(id, kind, data) };
    if (this.ringLength < this.ringSize) {
      this.ring[(this.ringStart + this.ringLength) % this.ringSize] = f;
      this.ringLength++;
    } else {
      this.ring[this.ringStart] = f;
      this.ringStart = (this.ringStart + 1) % this.ringSize;
    }
    for (const s of [...this.subscribers]) this.deliver(s, f.text);
  }

  /** Writes to one subscriber, or disconnects it once its unsent output is over the cap. */
  private deliver(sink: EventSink, text: string): void {
    if (!this.subscribers.has(sink)) return;
    if (sink.bufferedBytes() + text.length > this.maxBufferedBytes) {
      this.slowDisconnects++;
      this.remove(sink);
      sink.close();
      return;
    }
    sink.write(text);
  }

  private ping(): void {
    for (const s of [...this.subscribers]) this.deliver(s, ': ping\n\n');
  }

  private remove(sink: EventSink): void {
    if (!this.subscribers.delete(sink)) return;
    if (this.subscribers.size === 0) {
      this.heartbeat?.cancel();
      this.heartbeat = null;
      this.flushTimer?.cancel();
      this.flushTimer = null;
      this.clearPending();
    }
  }
}

/** One SSE event: `id:` (none for per-subscriber events), `event:`, one JSON `data:` line. */
function frame(id: number | null, kind: RaftEventKind, data: Record<string, unknown>): string {
  return `${id === null ? '' : `id: ${id}\n`}event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`;
}
