// Watch checks of `npm run jepsen`: one long-poll watcher per member on the run's prefix
// (`GET /v2/keys<prefix>?wait=true&recursive=true&waitIndex=N`, the next waitIndex the event's
// modifiedIndex + 1), started at the etcd index read before the clients start, so no event of the run
// is missed. A watcher survives faults: on a connection error, a timeout or a 5xx it asks the same
// member again from the same waitIndex after a bounded backoff; when the member answers etcd's 401
// "The event in requested index is outdated and cleared" (its 1000-event history moved past the
// waitIndex, e.g. while it was down or after a restart from a snapshot) the watcher records an
// explicit cleared gap (legal etcd behaviour: counted and reported, not a violation) and resumes from
// the oldest index the member still has (from the error's cause), else from its X-Etcd-Index + 1.
//
// After the run, checkWatch: every member's stream has strictly increasing modifiedIndexes (no
// duplicates, no reordering); the union of all members' events is the run's event sequence, and each
// member's stream holds every event of the union within the range it covered (from its first
// waitIndex to its last event, less its cleared gaps), and once the cluster converged each member's
// stream reaches the union's last event (within a bound); an index carries the same event (key, action,
// value) on every member; every acknowledged write, compare-and-swap, create and delete of the history
// is in the union at its modifiedIndex with its key and value; and no event sets a value that no
// operation could have written. The probe key the runner writes after each heal is watched and
// checked like the others, except against the history (its writes are not in it).
import { Agent, request } from 'undici';
import type { Op, OpKind } from './history.js';
import type { MemberInfo } from './local-cluster.js';

export interface WatchEvent {
  /** node.modifiedIndex (for a delete, the delete's own index). */
  index: number;
  key: string;
  action: string;
  /** node.value; absent for deletes. */
  value?: string | undefined;
  /** The waitIndex of the poll that delivered it (an event below it is out of order). */
  waitIndex?: number | undefined;
}

export interface ClearedGap {
  /** The waitIndex the member refused with 401. */
  fromIndex: number;
  /** Where the watcher resumed; events in [fromIndex, resumeIndex) are not covered. */
  resumeIndex: number;
  /** The member's X-Etcd-Index in the 401. */
  etcdIndex?: number | undefined;
}

export interface MemberStream {
  member: string;
  /** The first waitIndex. */
  startIndex: number;
  events: WatchEvent[];
  cleared: ClearedGap[];
  reconnects: number;
  /** The watcher stopped early (its event or retry bound): it covers up to its last event. */
  truncated?: boolean | undefined;
  /** Last error seen (for the report). */
  lastError?: string | undefined;
}

export type WatchProblemKind = 'duplicate' | 'out-of-order' | 'gap' | 'incomplete' | 'divergent' | 'missing-ack' | 'ack-mismatch' | 'phantom';

export interface WatchProblem {
  kind: WatchProblemKind;
  member?: string | undefined;
  key: string;
  index: number;
  message: string;
}

export interface WatchCheck {
  ok: boolean;
  startIndex: number | null;
  members: Record<string, { events: number; reconnects: number; cleared: number; clearedIndexes: number; coveredTo: number; truncated: boolean; lastError?: string | undefined }>;
  /** Events per key in the union of all members. */
  keys: Record<string, number>;
  /** Acknowledged writes checked against the union, and those no member's stream covered. */
  acked: { checked: number; uncovered: number };
  problems: WatchProblem[];
  /** All problems found (the list is bounded). */
  problemCount: number;
  /** Why the check could not run (then ok is false). */
  error?: string | undefined;
}

export interface CheckWatchOptions {
  /** A key whose writes are not in the history (the runner's probe): not checked against it. */
  probeKey?: string | undefined;
  /**
   * The watches ran until every member had applied everything (after convergence): a member whose
   * stream ends before the union's last event (outside its cleared gaps, and not truncated) is a
   * problem too. Off by default (a stream may legitimately stop early).
   */
  requireComplete?: boolean | undefined;
  /** Bound on the problems listed; default 50. */
  maxProblems?: number | undefined;
}

const ACTION_OF: Partial<Record<OpKind, string>> = { write: 'set', 'cas-value': 'compareAndSwap', 'cas-index': 'compareAndSwap', create: 'create', delete: 'delete' };

const show = (e: WatchEvent): string => `${e.action} ${e.key}${e.value !== undefined ? ` ${JSON.stringify(e.value)}` : ''}@${e.index}`;

/** The checks above, on the members' streams and the run's history. Pure. */
export function checkWatch(streams: readonly MemberStream[], history: readonly Op[], options: CheckWatchOptions = {}): WatchCheck {
  const maxProblems = options.maxProblems ?? 50;
  const problems: WatchProblem[] = [];
  let problemCount = 0;
  const problem = (p: WatchProblem): void => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(p);
  };
  const members: WatchCheck['members'] = {};
  // The union: index -> the first event seen at it (and by whom).
  const union = new Map<number, { ev: WatchEvent; member: string }>();
  const covers: ((index: number) => boolean)[] = [];
  const has: Set<number>[] = [];
  for (const s of streams) {
    const seen = new Set<number>();
    let last = -Infinity;
    for (const ev of s.events) {
      if (seen.has(ev.index)) {
        problem({ kind: 'duplicate', member: s.member, key: ev.key, index: ev.index, message: `${s.member}: ${show(ev)} delivered again (after index ${last})` });
        continue;
      }
      if (ev.index <= last) {
        problem({ kind: 'out-of-order', member: s.member, key: ev.key, index: ev.index, message: `${s.member}: ${show(ev)} after index ${last}` });
      } else if (ev.index < (ev.waitIndex ?? -Infinity)) {
        problem({ kind: 'out-of-order', member: s.member, key: ev.key, index: ev.index, message: `${s.member}: ${show(ev)} answered a watch from waitIndex ${ev.waitIndex}` });
      } else if (ev.index < s.startIndex) {
        problem({ kind: 'out-of-order', member: s.member, key: ev.key, index: ev.index, message: `${s.member}: ${show(ev)} before the watch's start index ${s.startIndex}` });
      }
      seen.add(ev.index);
      last = Math.max(last, ev.index);
      const u = union.get(ev.index);
      if (u === undefined) union.set(ev.index, { ev, member: s.member });
      else if (u.ev.key !== ev.key || u.ev.action !== ev.action || u.ev.value !== ev.value) {
        problem({ kind: 'divergent', member: s.member, key: ev.key, index: ev.index, message: `index ${ev.index}: ${s.member} saw ${show(ev)}, ${u.member} saw ${show(u.ev)}` });
      }
    }
    const coveredTo = s.events.reduce((n, e) => Math.max(n, e.index), s.startIndex - 1);
    const cleared = s.cleared.map((c) => [c.fromIndex, c.resumeIndex] as const);
    covers.push((i) => i >= s.startIndex && i <= coveredTo && !cleared.some(([from, to]) => i >= from && i < to));
    has.push(seen);
    members[s.member] = {
      events: s.events.length,
      reconnects: s.reconnects,
      cleared: s.cleared.length,
      clearedIndexes: s.cleared.reduce((n, c) => n + Math.max(0, c.resumeIndex - c.fromIndex), 0),
      coveredTo,
      truncated: s.truncated === true,
      ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
    };
  }
  // Gaps: an event of the union within a member's covered range that the member did not deliver.
  const sorted = [...union.keys()].sort((a, b) => a - b);
  for (const index of sorted) {
    const { ev, member } = union.get(index)!;
    streams.forEach((s, i) => {
      if (covers[i]!(index) && !has[i]!.has(index)) {
        problem({ kind: 'gap', member: s.member, key: ev.key, index, message: `${s.member}: missed ${show(ev)} (seen by ${member}) within its covered range, no cleared gap` });
      }
    });
  }
  if (options.requireComplete === true && sorted.length > 0) {
    const lastIndex = sorted[sorted.length - 1]!;
    streams.forEach((s) => {
      if (s.truncated === true) return;
      const m = members[s.member]!;
      const missed = sorted.filter((i) => i > m.coveredTo && !s.cleared.some((c) => i >= c.fromIndex && i < c.resumeIndex));
      if (missed.length === 0) return;
      const first = union.get(missed[0]!)!.ev;
      problem({ kind: 'incomplete', member: s.member, key: first.key, index: first.index, message: `${s.member}: its watch ended at index ${m.coveredTo}, missing ${missed.length} events up to ${lastIndex} (first ${show(first)})${s.lastError !== undefined ? `; last error: ${s.lastError}` : ''}` });
    });
  }
  const keys: Record<string, number> = {};
  for (const index of sorted) {
    const k = union.get(index)!.ev.key;
    keys[k] = (keys[k] ?? 0) + 1;
  }
  // The history: acknowledged changes are in the union; no event writes a value nobody could have.
  const acked = { checked: 0, uncovered: 0 };
  const byValue = new Map<string, Op>();
  for (const op of history) {
    if (op.key === options.probeKey) continue;
    const action = ACTION_OF[op.kind];
    if (action === undefined) continue;
    if (op.value !== undefined && op.outcome !== 'fail') byValue.set(`${op.key}\n${op.value}`, op);
    if (op.outcome !== 'ok' || op.index === undefined) continue;
    acked.checked++;
    const u = union.get(op.index);
    const want = `${action} ${op.key}${op.kind !== 'delete' ? ` ${JSON.stringify(op.value)}` : ''}@${op.index}`;
    if (u === undefined) {
      if (covers.some((c) => c(op.index!))) problem({ kind: 'missing-ack', key: op.key, index: op.index, message: `acknowledged op #${op.id} (${want}) is in no member's stream, though covered` });
      else acked.uncovered++;
    } else if (u.ev.key !== op.key || u.ev.action !== action || (op.kind !== 'delete' && u.ev.value !== op.value)) {
      problem({ kind: 'ack-mismatch', member: u.member, key: op.key, index: op.index, message: `acknowledged op #${op.id} (${want}), but ${u.member} saw ${show(u.ev)} at that index` });
    }
  }
  if (history.length > 0) {
    for (const index of sorted) {
      const { ev, member } = union.get(index)!;
      if (ev.key === options.probeKey || ev.value === undefined || ev.action === 'delete') continue;
      if (!byValue.has(`${ev.key}\n${ev.value}`)) {
        problem({ kind: 'phantom', member, key: ev.key, index, message: `${member}: ${show(ev)} sets a value no operation that may have taken effect wrote` });
      }
    }
  }
  const startIndex = streams.reduce<number | null>((n, s) => (n === null ? s.startIndex : Math.min(n, s.startIndex)), null);
  return { ok: problemCount === 0, startIndex, members, keys, acked, problems, problemCount };
}

/** For the CLI: a line with the verdict and each member's counts, then the first problems. */
export function describeWatch(w: WatchCheck): string {
  if (w.error !== undefined) return `watch: FAILED: ${w.error}`;
  const members = Object.entries(w.members).map(([name, m]) => `${name} ${m.events} events, ${m.reconnects} reconnects, ${m.cleared} cleared${m.truncated ? ' (truncated)' : ''}`).join('; ');
  const head = `watch: ${w.ok ? 'ok' : `${w.problemCount} PROBLEMS`} (${Object.keys(w.keys).length} keys, ${w.acked.checked} acknowledged changes checked, ${w.acked.uncovered} not covered); ${members}`;
  return [head, ...w.problems.slice(0, 10).map((p) => `  ${p.kind}: ${p.message}`)].join('\n');
}

/** The result when the watchers could not start (counts as a failed check). */
export function watchError(error: string): WatchCheck {
  return { ok: false, startIndex: null, members: {}, keys: {}, acked: { checked: 0, uncovered: 0 }, problems: [], problemCount: 0, error };
}

export interface WatchOptions {
  /** Bound on one long poll; a poll that times out is asked again from the same waitIndex. Default 10 s. */
  pollTimeoutMs?: number;
  /** Bound on the events kept per member; default 200 000. */
  maxEvents?: number;
  /** Bound on the retries per member (errors, timeouts, cleared gaps); default 20 000. */
  maxRetries?: number;
  /** Backoff after a failed poll: doubles from 50 ms to this. Default 2000 ms. */
  maxBackoffMs?: number;
  log?: (line: string) => void;
}

export interface Watchers {
  startIndex: number;
  /** Waits (bounded) until every running watcher has delivered an event at `index` or later. */
  waitFor(index: number, boundMs: number): Promise<boolean>;
  /** Aborts the long polls and waits for the loops to end (bounded). */
  stop(): Promise<void>;
  streams(): MemberStream[];
}

const MAX_BODY = 1024 * 1024;
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** X-Etcd-Index of the first member that answers a GET of the root (bounded). */
export async function readEtcdIndex(agent: Agent, members: readonly MemberInfo[], timeoutMs = 3000): Promise<number | null> {
  for (let round = 0; round < 3; round++) {
    for (const m of members) {
      try {
        const res = await request(`${m.clientURL}/v2/keys/`, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
        await res.body.dump();
        const h = Number(res.headers['x-etcd-index']);
        if (res.statusCode < 500 && Number.isSafeInteger(h)) return h;
      } catch {
        // the next member
      }
    }
    await sleep(500);
  }
  return null;
}

/** Starts one watcher per member from the current etcd index + 1; null if no member told its index. */
export async function startWatchers(members: readonly MemberInfo[], prefix: string, options: WatchOptions = {}): Promise<Watchers | null> {
  const agent = new Agent({ keepAliveTimeout: 4000, connections: 4, connect: { timeout: 1000 }, headersTimeout: 0, bodyTimeout: 0 });
  const etcdIndex = await readEtcdIndex(agent, members);
  if (etcdIndex === null) {
    await agent.close().catch(() => {});
    return null;
  }
  const startIndex = etcdIndex + 1;
  const pollTimeoutMs = options.pollTimeoutMs ?? 10_000;
  const maxEvents = options.maxEvents ?? 200_000;
  const maxRetries = options.maxRetries ?? 20_000;
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  const stopping = new AbortController();
  const streams: MemberStream[] = members.map((m) => ({ member: m.name, startIndex, events: [], cleared: [], reconnects: 0 }));

  const loop = async (m: MemberInfo, s: MemberStream): Promise<void> => {
    let waitIndex = startIndex;
    let backoff = 50;
    let retries = 0;
    const retry = async (error: string): Promise<void> => {
      s.reconnects++;
      retries++;
      s.lastError = error;
      await sleep(backoff, stopping.signal);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    };
    while (!stopping.signal.aborted) {
      if (s.events.length >= maxEvents || retries >= maxRetries) {
        s.truncated = true;
        options.log?.(`jepsen: watch ${m.name}: stopped at waitIndex ${waitIndex} (${s.events.length} events, ${retries} retries: bound reached)`);
        return;
      }
      // One controller per poll, aborted by its timeout or by stop() (listeners removed after it).
      const poll = new AbortController();
      const signal = poll.signal;
      const abortPoll = (): void => poll.abort();
      const timer = setTimeout(abortPoll, pollTimeoutMs);
      stopping.signal.addEventListener('abort', abortPoll, { once: true });
      let status = 0;
      let headerIndex = NaN;
      let text = '';
      let gotHeaders = false;
      try {
        const res = await request(`${m.clientURL}/v2/keys${prefix}?wait=true&recursive=true&waitIndex=${waitIndex}`, { dispatcher: agent, signal });
        gotHeaders = true;
        status = res.statusCode;
        headerIndex = Number(res.headers['x-etcd-index']);
        for await (const chunk of res.body) {
          if (text.length < MAX_BODY) text += (chunk as Buffer).toString('utf8');
        }
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', abortPoll);
      } catch (err) {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', abortPoll);
        if (stopping.signal.aborted) return;
        // A long poll that simply timed out after the member answered its headers is asked again at
        // once; anything else (refused, reset, no headers in time) after a backoff.
        if (gotHeaders && signal.aborted) continue;
        const e = err as Error & { code?: string };
        await retry(signal.aborted ? `timeout after ${pollTimeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`);
        continue;
      }
      let json: { action?: string; node?: { key?: string; value?: string; modifiedIndex?: number }; errorCode?: number; cause?: string; message?: string } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // judged below
      }
      if (status === 200 && typeof json.node?.modifiedIndex === 'number' && typeof json.action === 'string') {
        const ev: WatchEvent = { index: json.node.modifiedIndex, key: json.node.key ?? '', action: json.action, waitIndex };
        if (json.node.value !== undefined && json.action !== 'delete') ev.value = json.node.value;
        s.events.push(ev);
        // Never go backwards, even on a server that answers below the waitIndex (the check flags it).
        waitIndex = Math.max(waitIndex, ev.index + 1);
        backoff = 50;
        continue;
      }
      if (json.errorCode === 401) {
        const cause = /\[(\d+)\/(\d+)\]/.exec(json.cause ?? '');
        const oldest = cause !== null ? Number(cause[1]) : NaN;
        const resume = Number.isSafeInteger(oldest) && oldest > waitIndex ? oldest : Number.isSafeInteger(headerIndex) ? Math.max(waitIndex, headerIndex + 1) : waitIndex;
        s.cleared.push({ fromIndex: waitIndex, resumeIndex: resume, ...(Number.isSafeInteger(headerIndex) ? { etcdIndex: headerIndex } : {}) });
        options.log?.(`jepsen: watch ${m.name}: history cleared at waitIndex ${waitIndex} (member index ${headerIndex}); resuming from ${resume}`);
        waitIndex = resume;
        retries++;
        continue;
      }
      await retry(status === 200 ? `200 without an event: ${text.slice(0, 100)}` : `HTTP ${status} ${text.slice(0, 200).trim()}`);
    }
  };

  const loops = members.map((m, i) => loop(m, streams[i]!));
  const lastIndex = (s: MemberStream): number => (s.events.length > 0 ? s.events[s.events.length - 1]!.index : startIndex - 1);
  let stopped: Promise<void> | null = null;
  return {
    startIndex,
    async waitFor(index, boundMs) {
      const deadline = Date.now() + boundMs;
      for (;;) {
        if (streams.every((s) => s.truncated === true || lastIndex(s) >= index)) return true;
        if (Date.now() >= deadline || stopping.signal.aborted) return false;
        await sleep(100);
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await Promise.race([Promise.allSettled(loops), sleep(5000)]);
        await agent.destroy().catch(() => {});
      })();
      return stopped;
    },
    streams: () => streams.map((s) => ({ ...s, events: [...s.events], cleared: [...s.cleared] })),
  };
}

/** After the final reads: waits (bounded) for every watcher to catch up with the union, stops them, checks. */
export async function finishWatch(watchers: Watchers | null, history: readonly Op[], probeKey: string, boundMs = 15_000): Promise<WatchCheck> {
  if (watchers === null) return watchError('no member told its etcd index: no watchers ran');
  const maxSeen = watchers.streams().reduce((n, s) => s.events.reduce((m, e) => Math.max(m, e.index), n), watchers.startIndex - 1);
  await watchers.waitFor(maxSeen, boundMs);
  await watchers.stop();
  return checkWatch(watchers.streams(), history, { probeKey, requireComplete: true });
}
