// The member's clock and timers, injected: the binary uses Node's; the whole-member simulator
// (test/sim/member) passes virtual ones, so the same RaftMember code runs in virtual time and a
// schedule replays exactly from its seed. Nothing in src/server reads a clock or arms a timer any
// other way.

/** A timer that can be cancelled (cancelling twice, or after it fired, is harmless). */
export interface TimerHandle {
  cancel(): void;
}

export interface MemberTimers {
  /** Monotonic milliseconds, for deadlines and elapsed times (never the wall clock). */
  nowMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Runs fn once the current turn of the event loop is over (Node's setImmediate). */
  soon(fn: () => void): void;
}

/** Node's timers. Timers never keep the process alive on their own (the listeners do). */
export const nodeTimers: MemberTimers = {
  nowMs: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  soon(fn) {
    setImmediate(fn);
  },
};

/** A promise that resolves after ms on the given timers. */
export function sleep(timers: MemberTimers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
