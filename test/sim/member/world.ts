// Virtual time for whole members: one event queue drives every member's timers, disk completions
// and network deliveries. The members are the real RaftMember code, which is asynchronous (it
// awaits its disk); after each event the driver lets every promise continuation run (Node runs all
// microtasks before a setImmediate callback) before it takes the next event, so the order of
// everything is a function of the seed alone: no real timer, socket or file is involved.
import type { MemberTimers, TimerHandle } from '../../../src/server/timers.js';
import { SafetyViolation } from '../checker.js';
import { EventQueue } from '../event-queue.js';

/** What events belong to: a member incarnation, a client, the network. A dead owner's events are dropped. */
export class Owner {
  dead = false;
  constructor(readonly name: string) {}
}

interface WorldEvent {
  timeMs: number;
  seq: number;
  fn: () => void;
  owner: Owner | undefined;
  cancelled: boolean;
}

/** Thrown out of run() when a member's code failed in a way the process would not survive. */
export class UncaughtInSimulation extends Error {
  constructor(
    readonly owner: string,
    readonly reason: unknown,
  ) {
    super(`uncaught in ${owner}: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
    this.name = 'UncaughtInSimulation';
  }
}

const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Events at one virtual instant, at most: more means a livelock. */
const MAX_EVENTS_AT_SAME_TIME = 200_000;

export class World {
  nowMs = 0;
  eventsProcessed = 0;
  private readonly queue = new EventQueue<WorldEvent>();
  private sameTime = 0;
  /** The first failure an event raised; run() stops and rethrows it. */
  private failure: unknown = undefined;

  /** Runs fn at virtual time atMs (not before now), unless its owner is dead by then. */
  at(atMs: number, fn: () => void, owner?: Owner): { cancel(): void } {
    const ev: WorldEvent = { timeMs: Math.max(atMs, this.nowMs), seq: 0, fn, owner, cancelled: false };
    this.queue.push(ev);
    return {
      cancel: () => {
        ev.cancelled = true;
      },
    };
  }

  after(ms: number, fn: () => void, owner?: Owner): { cancel(): void } {
    return this.at(this.nowMs + ms, fn, owner);
  }

  /** Records a failure from outside an event (e.g. an unhandled rejection); run() rethrows it. */
  fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
  }

  /** Processes every event up to untilMs (inclusive), then sets the clock to untilMs. */
  async runUntil(untilMs: number): Promise<void> {
    while (this.queue.peekTime() <= untilMs) {
      const ev = this.queue.pop() as WorldEvent;
      if (ev.cancelled || ev.owner?.dead === true) continue;
      if (ev.timeMs === this.nowMs) {
        if (++this.sameTime > MAX_EVENTS_AT_SAME_TIME) throw new Error(`livelock: more than ${MAX_EVENTS_AT_SAME_TIME} events at t=${this.nowMs}ms`);
      } else {
        this.sameTime = 0;
        this.nowMs = ev.timeMs;
      }
      this.eventsProcessed++;
      try {
        ev.fn();
      } catch (err: unknown) {
        // A check that failed inside an event reports itself; anything else is the member's crash.
        this.fail(err instanceof SafetyViolation ? err : new UncaughtInSimulation(ev.owner?.name ?? 'world', err));
      }
      await drainMicrotasks();
      if (this.failure !== undefined) throw this.failure;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.nowMs + ms);
  }

  /** Runs until pred() holds (checked every stepMs) or maxMs elapse; returns whether it held. */
  async runUntilTrue(pred: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
    const deadline = this.nowMs + maxMs;
    while (this.nowMs < deadline) {
      if (pred()) return true;
      await this.runUntil(Math.min(deadline, this.nowMs + stepMs));
    }
    return pred();
  }
}

/** A member incarnation's timers: virtual, and gone with the incarnation. */
export function ownerTimers(world: World, owner: Owner): MemberTimers {
  return {
    nowMs: () => world.nowMs,
    setTimeout(fn, ms): TimerHandle {
      return world.after(Math.max(0, ms), fn, owner);
    },
    setInterval(fn, ms): TimerHandle {
      let current: { cancel(): void };
      let cancelled = false;
      const arm = (): void => {
        current = world.after(Math.max(1, ms), () => {
          if (cancelled) return;
          arm();
          fn();
        }, owner);
      };
      arm();
      return {
        cancel: () => {
          cancelled = true;
          current.cancel();
        },
      };
    },
    soon(fn) {
      world.after(0, fn, owner);
    },
  };
}
