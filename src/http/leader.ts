// Running an operation that only the leader can do (a proposal, a ReadIndex barrier) and turning its
// failures into answers: NotLeaderError -> a 307 to the leader's client URL (absolute, never this
// member itself), no known leader -> wait a bounded time for one, ProposalError or a timeout ->
// etcd's 500 {"errorCode":300,"message":"Raft Internal Error"}. Nothing here can hang: every wait
// has a deadline.
import { NotLeaderError, ProposalError, REQUEST_TIMED_OUT, type ClientBackend } from '../server/backend.js';

export type LeaderOutcome<T> =
  | { kind: 'done'; value: T }
  /** Absolute base URL of the leader's client endpoint, without a trailing slash. */
  | { kind: 'redirect'; leaderURL: string }
  /** etcd's Raft Internal Error cause, e.g. 'etcdserver: request timed out'. */
  | { kind: 'failed'; cause: string };

export interface LeaderOptions {
  /** How long one operation may take before 'etcdserver: request timed out'. */
  requestTimeoutMs: number;
  /** How long to wait for a leader to be known before giving up. */
  leaderWaitMs: number;
  /** Poll period while waiting for a leader. */
  leaderPollMs?: number;
  /** Redirect to the leader even when the member forwards writes (membership changes run on the leader only). */
  neverForward?: boolean;
}

const NO_LEADER = 'etcdserver: no leader';

/** Runs `op` on this member if it leads, else says where the leader is; retries while a leader is being elected. */
export async function onLeader<T>(backend: ClientBackend, op: () => Promise<T>, options: LeaderOptions): Promise<LeaderOutcome<T>> {
  const deadlineMs = Date.now() + options.leaderWaitMs;
  const pollMs = options.leaderPollMs ?? 25;
  for (;;) {
    let notLeader: NotLeaderError;
    try {
      return { kind: 'done', value: await withTimeout(op(), options.requestTimeoutMs) };
    } catch (err: unknown) {
      if (err instanceof ProposalError) return { kind: 'failed', cause: err.reason };
      if (err instanceof TimeoutError) return { kind: 'failed', cause: REQUEST_TIMED_OUT };
      if (!(err instanceof NotLeaderError)) throw err;
      notLeader = err;
    }
    // --follower-writes forward: a member that knows a leader takes the write itself (op forwards it).
    const forwards = options.neverForward !== true && (backend.forwardsWrites?.() ?? false);
    const hinted = forwards ? null : otherMemberURL(backend, notLeader.leaderClientURLs);
    if (hinted !== null) return { kind: 'redirect', leaderURL: hinted };
    // No usable hint: wait (bounded) until some member is known to lead, then redirect or retry here.
    for (;;) {
      if (Date.now() >= deadlineMs) return { kind: 'failed', cause: NO_LEADER };
      await sleep(pollMs);
      const leader = backend.leader();
      if (leader === null) continue;
      if (leader.id === backend.self.id || forwards) break; // run op again (each round sleeps, the deadline bounds them)
      const url = otherMemberURL(backend, leader.clientURLs);
      if (url !== null) return { kind: 'redirect', leaderURL: url };
    }
  }
}

const absoluteBaseURL = /^https?:\/\/[^/]+$/;

/** The first of `urls` that is not one of this member's own client URLs, without a trailing slash. */
function otherMemberURL(backend: ClientBackend, urls: readonly string[]): string | null {
  for (const url of urls) {
    const base = url.endsWith('/') ? url.slice(0, -1) : url;
    if (!absoluteBaseURL.test(base)) continue; // only absolute URLs can be followed by clients
    if (backend.self.clientURLs.some((own) => own === base || own === url)) continue;
    return base;
  }
  return null;
}

class TimeoutError extends Error {}

/** Rejects with a TimeoutError after `ms`; the operation itself keeps running (as etcd's proposals do). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The member a write was redirected from (`?redirectedBy=`, src/http/respond.ts), if any. */
export function redirectedByOf(requestURL: string | undefined): string | undefined {
  const q = (requestURL ?? '').indexOf('?');
  if (q === -1) return undefined;
  return new URLSearchParams(requestURL?.slice(q + 1)).get('redirectedBy') ?? undefined;
}

/**
 * Read-your-writes after a redirect: when this write reached the leader through a 307 from another
 * member (`redirectedBy`), waits until that member applied it. Resolves with null, or with etcd's
 * cause when the member did not apply it in time.
 */
export async function awaitRedirectingMember(backend: ClientBackend, redirectedBy: string | undefined): Promise<string | null> {
  if (redirectedBy === undefined || redirectedBy === backend.self.id || backend.waitAppliedOn === undefined) return null;
  try {
    await backend.waitAppliedOn(redirectedBy);
    return null;
  } catch (err: unknown) {
    if (err instanceof ProposalError) return err.reason;
    throw err;
  }
}
