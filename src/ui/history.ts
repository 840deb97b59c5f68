// The live view's scrub-back history (issue 14): the timeline strip can be dragged back over the
// last minutes and the page shows the cluster as it was then. It keeps the events the reducer
// applied, in chunks of CHUNK_EVENTS, each with the state before its first event (the reducer never
// mutates a state, so that checkpoint is a reference that shares everything unchanged). The state
// at time t is a checkpoint plus at most CHUNK_EVENTS reduced events: exactly what the page showed.
//
// Bounded, whichever limit comes first (oldest whole chunks go first):
//   - by time: what is older than HISTORY_SPAN_MS (5 minutes) before the newest event;
//   - by count: at most MAX_HISTORY_EVENTS events, so at most MAX_HISTORY_EVENTS / CHUNK_EVENTS + 1
//     checkpoints. An event the page gathers is small (a raft stream event, a status or a log
//     window of at most 64 entries), under about 1 KB in the heap, and a checkpoint shares all but
//     what changed; together well under 50 MB in the worst case, a few MB for a quiet cluster.
// Pure: no clock, no DOM; the page and the unit tests use it alike.
import { reduce, type ViewEvent, type ViewState } from './view-state.js';

export const HISTORY_SPAN_MS = 5 * 60_000;
export const MAX_HISTORY_EVENTS = 40_000;
export const CHUNK_EVENTS = 250;

interface Chunk {
  /** The state before this chunk's first event. */
  readonly start: ViewState;
  readonly events: ViewEvent[];
}

export class LiveHistory {
  private readonly chunks: Chunk[] = [];
  private count = 0;
  private latest: ViewState;

  constructor(
    initial: ViewState,
    private readonly limits: { spanMs: number; maxEvents: number; chunkEvents: number } = { spanMs: HISTORY_SPAN_MS, maxEvents: MAX_HISTORY_EVENTS, chunkEvents: CHUNK_EVENTS },
  ) {
    this.latest = initial;
  }

  /** The present: every event applied. */
  get state(): ViewState {
    return this.latest;
  }

  /** How many events are kept. */
  get size(): number {
    return this.count;
  }

  /** How many checkpoints are kept. */
  get checkpoints(): number {
    return this.chunks.length;
  }

  /** The earliest time the history can show (the oldest checkpoint's time). */
  get startMs(): number {
    const c = this.chunks[0];
    if (c === undefined) return this.latest.now;
    return c.start.now > 0 ? c.start.now : (c.events[0]?.at ?? this.latest.now);
  }

  get endMs(): number {
    return this.latest.now;
  }

  /** Applies one event to the present and keeps it. */
  apply(ev: ViewEvent): ViewState {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.events.length >= this.limits.chunkEvents) {
      last = { start: this.latest, events: [] };
      this.chunks.push(last);
    }
    last.events.push(ev);
    this.count++;
    this.latest = reduce(this.latest, ev);
    this.evict();
    return this.latest;
  }

  private evict(): void {
    // A chunk goes only whole, and only when the next one still covers what must be kept.
    while (this.chunks.length > 1) {
      const first = this.chunks[0] as Chunk;
      const second = this.chunks[1] as Chunk;
      const tooMany = this.count - first.events.length >= this.limits.maxEvents;
      const tooOld = second.start.now > 0 && second.start.now < this.latest.now - this.limits.spanMs;
      if (!tooMany && !tooOld) return;
      this.chunks.shift();
      this.count -= first.events.length;
    }
  }

  /**
   * The state the page showed at time t: every kept event at or before t applied; `now` is t.
   * Before the kept history it is the oldest checkpoint; at or past the present, the present.
   */
  stateAt(t: number): ViewState {
    if (t >= this.latest.now) return this.latest;
    let k = this.chunks.length - 1;
    while (k > 0 && (this.chunks[k] as Chunk).start.now > t) k--;
    const c = this.chunks[k];
    if (c === undefined) return this.latest;
    let s = c.start;
    for (const e of c.events) {
      if (e.at > t) break;
      s = reduce(s, e);
    }
    return { ...s, now: Math.max(s.now, t) };
  }
}
