// MemberTimers in virtual time, for unit tests of the member's timed parts (bootstrap check,
// publish): nothing fires until the test moves time, either to the next armed timer (fireNext) or
// by a span (advance), letting pending promise callbacks run in between.
import type { MemberTimers, TimerHandle } from '../../src/server/timers.js';

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  every: number | null;
  cancelled: boolean;
}

/** Lets every pending promise callback run (fake peers answer in microtasks). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualTimers implements MemberTimers {
  private now = 0;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  nowMs(): number {
    return this.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  soon(fn: () => void): void {
    this.add(fn, 0, null);
  }

  /** Timers armed and not cancelled. */
  get armed(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time to the earliest armed timer and fires it; false when none is armed. */
  fireNext(): boolean {
    const t = this.earliest();
    if (t === undefined) return false;
    this.fire(t);
    return true;
  }

  /** Moves time forward by ms, firing what falls due in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      const t = this.earliest();
      if (t === undefined || t.at > until) break;
      this.fire(t);
    }
    this.now = until;
    await settle();
  }

  private earliest(): VirtualTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return this.timers[0];
  }

  private fire(t: VirtualTimer): void {
    this.now = Math.max(this.now, t.at);
    if (t.every === null) t.cancelled = true;
    else t.at += t.every;
    t.fn();
  }

  private add(fn: () => void, ms: number, every: number | null): TimerHandle {
    const t: VirtualTimer = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
}
