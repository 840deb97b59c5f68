// The checker: a history is linearizable iff each key's sub-history is (linearizability is local,
// Herlihy & Wing 1990; Porcupine's P-compositionality), so each key is searched on its own (wgl.ts)
// under one shared time budget. The verdict: 'not linearizable' if any key is, else 'unknown' if any
// search ran out of budget, else 'linearizable'.
import { describeOp, type Op } from './history.js';
import { isInformative } from './model.js';
import { checkKey, type KeyResult, type Verdict } from './wgl.js';

export type { Verdict, KeyResult } from './wgl.js';

export interface CheckOptions {
  /** Whole-check time budget; default 30 s. */
  timeBudgetMs?: number;
  /** Per-key step budget; default 20 million. */
  maxSteps?: number;
  /** Per-key memo cap in 32-bit words; default 32 Mi words (128 MiB). */
  maxMemoWords?: number;
}

export interface CheckResult {
  verdict: Verdict;
  keys: KeyResult[];
  elapsedMs: number;
  /** On a violation: the first offending key and a readable account of it. */
  violation?: {
    key: string;
    failedOp: Op | undefined;
    longestPrefix: number[];
    explanation: string[];
  };
}

export function checkHistory(history: readonly Op[], options: CheckOptions = {}): CheckResult {
  const started = Date.now();
  const deadlineMs = started + (options.timeBudgetMs ?? 30_000);
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    if (!isInformative(op)) continue;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys: KeyResult[] = [];
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    keys.push(checkKey(key, ops, { deadlineMs, maxSteps: options.maxSteps ?? 20_000_000, maxMemoWords: options.maxMemoWords ?? 32 * 1024 * 1024 }));
  }
  const bad = keys.find((k) => k.verdict === 'not linearizable');
  const verdict: Verdict = bad !== undefined ? 'not linearizable' : keys.some((k) => k.verdict === 'unknown') ? 'unknown' : 'linearizable';
  const result: CheckResult = { verdict, keys, elapsedMs: Date.now() - started };
  if (bad !== undefined) {
    const byId = new Map(history.map((o) => [o.id, o]));
    const failedOp = byId.get(bad.failedOp ?? -1);
    const prefix = bad.longestPrefix ?? [];
    result.violation = {
      key: bad.key,
      failedOp,
      longestPrefix: prefix,
      explanation: [
        `key ${bad.key}: no linearization; the longest linearizable prefix has ${prefix.length} ops, ending:`,
        ...prefix.slice(-8).map((id) => `  ${describeOp(byId.get(id)!)}`),
        failedOp !== undefined ? `then cannot place: ${describeOp(failedOp)}` : 'then nothing fits',
      ],
    };
  }
  return result;
}
