// A binary min-heap of timed events, ordered by (timeMs, seq): same-time events run in the order
// they were scheduled, so a schedule is deterministic.

export interface TimedEvent {
  timeMs: number;
  seq: number;
}

export class EventQueue<E extends TimedEvent> {
  private heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(e: Omit<E, 'seq'> & { seq?: number }): void {
    const ev = e as E;
    ev.seq = this.nextSeq++;
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as E;
      if (!less(ev, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = ev;
  }

  peekTime(): number {
    return this.heap.length > 0 ? (this.heap[0] as E).timeMs : Infinity;
  }

  pop(): E | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0] as E;
    const last = h.pop() as E;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(h[r] as E, h[l] as E) ? r : l;
        if (!less(h[c] as E, last)) break;
        h[i] = h[c] as E;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  clear(): void {
    this.heap = [];
  }
}

function less(a: TimedEvent, b: TimedEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}
