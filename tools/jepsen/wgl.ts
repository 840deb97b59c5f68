// Linearizability of one key's history: the Wing & Gong search with Lowe's memoisation ("Testing
// for linearizability", Concurrency and Computation 29(4), 2017), as Porcupine implements it.
//
// The history is a list of call and return entries in time order (a call before a return at the
// same time: such ops count as concurrent, the conservative choice). The search walks it, trying to
// linearize the op of each call it meets (lifting the call and its return out of the list) if the
// model accepts it in the current state and the configuration (set of linearized ops, state) was
// not seen before; meeting a return whose op is not yet linearized means the current prefix cannot
// be extended, so it backtracks. Indeterminate ops have no return entry (they complete at
// +infinity): they may be linearized anywhere after their call, or never; the search succeeds once
// every op with a known outcome is linearized.
//
// Bounded: a deadline, a step budget and a cap on the memo's size; running out gives 'unknown'.
import type { Op } from './history.js';
import { INITIAL_STATE, stateKey, step, type KeyState } from './model.js';

export type Verdict = 'linearizable' | 'not linearizable' | 'unknown';

export interface SearchBudget {
  /** Date.now() after which the search gives up. */
  deadlineMs: number;
  /** Most call entries tried. */
  maxSteps: number;
  /** Most 32-bit words kept in the memo (each configuration keeps a copy of its bitset). */
  maxMemoWords: number;
}

export interface KeyResult {
  key: string;
  verdict: Verdict;
  /** Ops checked (informative ones; see model.isInformative). */
  ops: number;
  steps: number;
  memoEntries: number;
  elapsedMs: number;
  /** Why 'unknown'. */
  reason?: string;
  /** On a violation: the longest linearizable prefix found (op ids, in linearization order)... */
  longestPrefix?: number[];
  /** ...and the op that could not be placed after it (its return was reached first). */
  failedOp?: number;
}

interface Entry {
  op: number;
  call: boolean;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** For a call: its return entry (null for an indeterminate op). */
  match: Entry | null;
}

function lift(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
  const r = e.match;
  if (r !== null) {
    r.prev!.next = r.next;
    if (r.next !== null) r.next.prev = r.prev;
  }
}

function unlift(e: Entry): void {
  const r = e.match;
  if (r !== null) {
    r.prev!.next = r;
    if (r.next !== null) r.next.prev = r;
  }
  e.prev!.next = e;
  if (e.next !== null) e.next.prev = e;
}

/** Checks one key's ops (all on the same key, already filtered to the informative ones). */
export function checkKey(key: string, ops: readonly Op[], budget: SearchBudget): KeyResult {
  const started = Date.now();
  const n = ops.length;
  const words = Math.max(1, Math.ceil(n / 32));
  const raw: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    const call: Entry = { op: i, call: true, time: op.invokeMs, prev: null, next: null, match: null };
    raw.push(call);
    if (op.completeMs !== null && op.outcome !== 'info') {
      const ret: Entry = { op: i, call: false, time: op.completeMs, prev: null, next: null, match: null };
      call.match = ret;
      raw.push(ret);
    }
  }
  raw.sort((a, b) => a.time - b.time || (a.call === b.call ? a.op - b.op : a.call ? -1 : 1));
  const head: Entry = { op: -1, call: false, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of raw) {
    e.prev = last;
    last.next = e;
    last = e;
  }
  let required = ops.filter((o) => o.outcome !== 'info').length;

  // Linearized ops as a bitset over all ops, and the same restricted to the indeterminate ones.
  const bits = new Uint32Array(words);
  const infoMask = new Uint32Array(words);
  ops.forEach((o, i) => {
    if (o.outcome === 'info') infoMask[i >>> 5]! |= 1 << (i & 31);
  });
  // Memo: configurations seen, by (a hash of the linearized ops with a known outcome, the state),
  // each with a copy of its bitset. A configuration is dominated by one seen with the same state,
  // the same known-outcome ops and a subset of its indeterminate ops: the latter can still do
  // everything the former can (indeterminate ops are optional and never block others), so if it
  // failed, so will this one. Without this, every subset of overwritten indeterminate writes would
  // be a new configuration.
  const zobrist = ops.map(() => (Math.random() * 0x100000000) >>> 0);
  let hash = 0;
  const memo = new Map<string, Uint32Array[]>();
  let memoWords = 0;
  let memoEntries = 0;
  const seen = (state: KeyState): boolean => {
    const k = `${hash}|${stateKey(state)}`;
    const list = memo.get(k);
    if (list !== undefined) {
      for (const b of list) {
        let dominated = true;
        for (let w = 0; w < words; w++) {
          const known = ~infoMask[w]!;
          // Same known-outcome ops; b's indeterminate ops a subset of ours.
          if (((b[w]! ^ bits[w]!) & known) !== 0 || (b[w]! & ~bits[w]! & infoMask[w]!) !== 0) {
            dominated = false;
            break;
          }
        }
        if (dominated) return true;
      }
    }
    const copy = bits.slice();
    if (list === undefined) memo.set(k, [copy]);
    else list.push(copy);
    memoWords += words;
    memoEntries++;
    return false;
  };
  const flip = (i: number): void => {
    bits[i >>> 5]! ^= 1 << (i & 31);
    if (ops[i]!.outcome !== 'info') hash = (hash ^ zobrist[i]!) >>> 0;
  };

  // The candidates at each point are the calls before the first unlinearized return. They are tried
  // in two passes, the ops with a known outcome first (phase 0), then the indeterminate ones (phase
  // 1): the same candidates, but an optional op is linearized only when nothing else fits.
  const stack: { entry: Entry; phase: 0 | 1; state: KeyState }[] = [];
  let state: KeyState = INITIAL_STATE;
  let entry: Entry | null = head.next;
  let phase: 0 | 1 = 0;
  let steps = 0;
  let bestDepth = -1;
  let bestPrefix: number[] = [];
  let failedOp = -1;
  const result = (verdict: Verdict, extra: Partial<KeyResult> = {}): KeyResult => ({
    key, verdict, ops: n, steps, memoEntries, elapsedMs: Date.now() - started, ...extra,
  });

  while (required > 0) {
    if (entry !== null && entry.call) {
      const op = ops[entry.op]!;
      if ((op.outcome === 'info') !== (phase === 1)) {
        entry = entry.next;
        continue;
      }
      if (++steps > budget.maxSteps) return result('unknown', { reason: `step budget (${budget.maxSteps}) spent` });
      if ((steps & 1023) === 0 && Date.now() > budget.deadlineMs) return result('unknown', { reason: 'time budget spent' });
      const next = step(state, op);
      if (next !== null) {
        flip(entry.op);
        if (!seen(next)) {
          if (memoWords > budget.maxMemoWords) return result('unknown', { reason: `memo cap (${budget.maxMemoWords} words) reached` });
          stack.push({ entry, phase, state });
          state = next;
          lift(entry);
          if (op.outcome !== 'info') required--;
          entry = head.next;
          phase = 0;
          continue;
        }
        flip(entry.op);
      }
      entry = entry.next;
      continue;
    }
    if (phase === 0) {
      // Known-outcome candidates exhausted: now the indeterminate ones.
      if (entry !== null && phase === 0 && stack.length > bestDepth) {
        bestDepth = stack.length;
        bestPrefix = stack.map((s) => ops[s.entry.op]!.id);
        failedOp = ops[entry.op]!.id;
      }
      phase = 1;
      entry = head.next;
      continue;
    }
    // A return whose op is not linearized (or the end of the list): backtrack.
    const top = stack.pop();
    if (top === undefined) {
      return result('not linearizable', { longestPrefix: bestPrefix, failedOp });
    }
    state = top.state;
    unlift(top.entry);
    flip(top.entry.op);
    if (ops[top.entry.op]!.outcome !== 'info') required++;
    entry = top.entry.next;
    phase = top.phase;
  }
  return result('linearizable');
}
