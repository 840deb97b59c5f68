// Replaying a recorded run (issue 14): a trace is the live view's own events (view-state.ts), one
// JSON object per line, in time order (the simulator writes them: `npm run sim -- --seed S --record
// FILE`). Seeking is fast because the state after every CHECKPOINT_EVERY events is kept: the reducer
// never mutates a state, so a checkpoint is a reference, and seeking reduces at most that many events.
// Pure: no DOM, no clock; the page and the tests use it alike.
import { emptyState, reduce, type ViewEvent, type ViewState } from './view-state.js';

export const CHECKPOINT_EVERY = 500;
/** Events read from a trace at most (a longer one is refused, never half-read silently). */
export const MAX_TRACE_EVENTS = 500_000;
const KINDS = new Set(['members', 'raft', 'status', 'log', 'connection', 'process', 'write', 'partition']);

/** The events of an NDJSON trace; throws naming the first bad line. */
export function parseTrace(text: string): ViewEvent[] {
  const events: ViewEvent[] = [];
  let lineNo = 0;
  let lastAt = -Infinity;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    if (events.length >= MAX_TRACE_EVENTS) throw new Error(`trace: more than ${MAX_TRACE_EVENTS} events`);
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw new Error(`trace line ${lineNo}: not JSON`);
    }
    const e = ev as { kind?: unknown; at?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.kind !== 'string' || !KINDS.has(e.kind) || typeof e.at !== 'number' || !Number.isFinite(e.at)) {
      throw new Error(`trace line ${lineNo}: not a live view event (kind and at)`);
    }
    if (e.at < lastAt) throw new Error(`trace line ${lineNo}: time goes back (${e.at} after ${lastAt})`);
    lastAt = e.at;
    events.push(ev as ViewEvent);
  }
  return events;
}

export class Replay {
  readonly events: readonly ViewEvent[];
  /** checkpoints[k] is the state after the first k * CHECKPOINT_EVERY events. */
  private readonly checkpoints: ViewState[] = [];

  constructor(events: readonly ViewEvent[]) {
    this.events = events;
    let s = emptyState();
    this.checkpoints.push(s);
    for (let i = 0; i < events.length; i++) {
      s = reduce(s, events[i] as ViewEvent);
      if ((i + 1) % CHECKPOINT_EVERY === 0) this.checkpoints.push(s);
    }
  }

  get startMs(): number {
    return this.events[0]?.at ?? 0;
  }

  get endMs(): number {
    return this.events[this.events.length - 1]?.at ?? 0;
  }

  /** How many events happen at or before t. */
  countAt(t: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.events[mid] as ViewEvent).at <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The state after the first n events. */
  stateAfter(n: number): ViewState {
    const k = Math.min(Math.floor(n / CHECKPOINT_EVERY), this.checkpoints.length - 1);
    let s = this.checkpoints[k] as ViewState;
    for (let i = k * CHECKPOINT_EVERY; i < n; i++) s = reduce(s, this.events[i] as ViewEvent);
    return s;
  }

  /** The state at time t: every event at or before t applied; `now` is t. */
  stateAt(t: number): { state: ViewState; count: number } {
    const count = this.countAt(t);
    const s = this.stateAfter(count);
    return { state: { ...s, now: Math.max(s.now, t) }, count };
  }
}
