// Bounded polling: every wait in the multi-process tests names what it waits for, so a timeout says
// what never happened (and the last thing observed) instead of a bare "test timed out".
import { delay } from './child-process.js';

export interface WaitOptions {
  /** What is awaited, for the error message ("a leader agreed by 2 of 3 members"). */
  what: string;
  timeoutMs: number;
  /** Pause between probes; default 100 ms. */
  intervalMs?: number;
}

/** A probe's answer: a value (done) or `undefined` / `false` / `null` (not yet). */
export type Probe<T> = () => Promise<T | undefined | false | null> | T | undefined | false | null;

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** Thrown by a probe to end the wait at once (the awaited thing can no longer happen). */
export class WaitAbortedError extends Error {
  override readonly name = 'WaitAbortedError';
}

/**
 * Calls `probe` until it returns a value or `timeoutMs` has passed. A probe that throws counts as
 * "not yet" (except WaitAbortedError, which ends the wait); its last error (or `describe()` of the last state) goes into the timeout message.
 */
export async function waitFor<T>(probe: Probe<T>, opts: WaitOptions & { describe?: () => string }): Promise<T> {
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  const intervalMs = opts.intervalMs ?? 100;
  let lastError = '';
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
      lastError = '';
    } catch (err) {
      if (err instanceof WaitAbortedError) throw err;
      lastError = (err as Error).message;
    }
    if (Date.now() + intervalMs > deadline) {
      const last = opts.describe?.() ?? '';
      const details = [last && `last observed: ${last}`, lastError && `last error: ${lastError}`].filter(Boolean).join('; ');
      throw new WaitTimeoutError(
        `timed out after ${Date.now() - start} ms (limit ${opts.timeoutMs} ms, ${attempt + 1} probes) waiting for ${opts.what}${details ? ` — ${details}` : ''}`,
      );
    }
    await delay(intervalMs);
  }
}

/** Resolves with `promise`'s value, or rejects naming `what` after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
