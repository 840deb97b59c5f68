// The jepsen checker (tools/jepsen): hand-made histories of one etcd v2 key with known verdicts, and
// a cross-check of the search against brute force on small random histories.
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../tools/jepsen/checker.js';
import type { Op, OpKind, Outcome } from '../../tools/jepsen/history.js';
import { INITIAL_STATE, isInformative, step, type KeyState } from '../../tools/jepsen/model.js';

let nextId = 0;
function op(client: number, kind: OpKind, invokeMs: number, completeMs: number | null, outcome: Outcome, extra: Partial<Op> = {}): Op {
  return { id: nextId++, client, key: 'k', kind, invokeMs, completeMs, outcome, ...extra };
}
const write = (c: number, t0: number, t1: number | null, value: string, index?: number): Op =>
  op(c, 'write', t0, t1, t1 === null ? 'info' : 'ok', { value, index });
const read = (c: number, t0: number, t1: number, value: string | null, index?: number): Op =>
  value === null ? op(c, 'read', t0, t1, 'fail', { errorCode: 100 }) : op(c, 'read', t0, t1, 'ok', { readValue: value, index });

const verdict = (h: Op[]) => checkHistory(h).verdict;

describe('jepsen checker: hand-made histories', () => {
  it('sequential writes and reads are linearizable', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), read(1, 2, 3, 'a', 5), write(0, 4, 5, 'b', 7), read(1, 6, 7, 'b', 7)])).toBe('linearizable');
  });

  it('a read of a missing key before any write is linearizable; after an acknowledged write it is not', () => {
    expect(verdict([read(0, 0, 1, null), write(1, 2, 3, 'a', 4)])).toBe('linearizable');
    expect(verdict([write(1, 0, 1, 'a', 4), read(0, 2, 3, null)])).toBe('not linearizable');
  });

  it('a stale read after an acknowledged overwrite is not linearizable, and names the read', () => {
    const stale = read(2, 6, 7, 'a', 5);
    const result = checkHistory([write(0, 0, 1, 'a', 5), write(1, 2, 3, 'b', 6), read(2, 4, 5, 'b', 6), stale]);
    expect(result.verdict).toBe('not linearizable');
    expect(result.violation?.failedOp?.id).toBe(stale.id);
    expect(result.violation?.longestPrefix.length).toBe(3);
    expect(result.violation?.explanation.join('\n')).toContain(`#${stale.id}`);
  });

  it('concurrent reads may see either value of an overlapping write', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, 10, 'b', 6), read(2, 3, 4, 'b', 6), read(3, 5, 6, 'b', 6)])).toBe('linearizable');
    // ...but not flip back to the old one once someone saw the new one.
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, 10, 'b', 6), read(2, 3, 4, 'b', 6), read(3, 5, 6, 'a', 5)])).toBe('not linearizable');
  });

  it('a lost acknowledged write (a later read sees the value before it) is not linearizable', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), write(0, 2, 3, 'b', 6), read(1, 10, 11, 'a', 5)])).toBe('not linearizable');
  });

  it('a write that appears twice (its value read back after being overwritten) is not linearizable', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, 3, 'b', 6), read(2, 4, 5, 'a', 5)])).toBe('not linearizable');
    // Even if it is indeterminate: an op takes effect at most once.
    expect(
      verdict([write(0, 0, null, 'a'), read(1, 2, 3, 'a', 5), write(1, 4, 5, 'b', 6), read(2, 6, 7, 'a', 5)]),
    ).toBe('not linearizable');
  });

  it('an indeterminate write that took effect is possibly applied (a later read may see it)', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, null, 'b'), read(2, 10, 11, 'b', 9)])).toBe('linearizable');
    // Its index, learned from the read, must still be after the acknowledged one's.
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, null, 'b'), read(2, 10, 11, 'b', 4)])).toBe('not linearizable');
    // But it cannot take effect before it was invoked.
    expect(verdict([write(0, 0, 1, 'a', 5), read(2, 2, 3, 'b', 9), write(1, 4, null, 'b')])).toBe('not linearizable');
  });

  it('an indeterminate write that did not take effect is possibly not applied', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), write(1, 2, null, 'b'), read(2, 10, 11, 'a', 5), read(2, 12, 13, 'a', 5)])).toBe('linearizable');
  });

  it('compare-and-swap by value: success and compare failure must match the state', () => {
    const cas = (c: number, t0: number, t1: number, prev: string, value: string, outcome: Outcome, extra: Partial<Op> = {}) =>
      op(c, 'cas-value', t0, t1, outcome, { prevValue: prev, value, ...extra });
    expect(verdict([write(0, 0, 1, 'a', 5), cas(1, 2, 3, 'a', 'b', 'ok', { index: 6 }), read(0, 4, 5, 'b', 6)])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), cas(1, 2, 3, 'a', 'b', 'fail', { errorCode: 101 })])).toBe('not linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), cas(1, 2, 3, 'x', 'b', 'fail', { errorCode: 101 })])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), cas(1, 2, 3, 'x', 'b', 'ok', { index: 6 })])).toBe('not linearizable');
    // Two clients cannot both swap the same old value.
    expect(verdict([write(0, 0, 1, 'a', 5), cas(1, 2, 5, 'a', 'b', 'ok', { index: 6 }), cas(2, 2, 5, 'a', 'c', 'ok', { index: 7 })])).toBe('not linearizable');
  });

  it('compare-and-swap by index, create and delete', () => {
    expect(verdict([write(0, 0, 1, 'a', 5), op(1, 'cas-index', 2, 3, 'ok', { prevIndex: 5, value: 'b', index: 6 })])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), op(1, 'cas-index', 2, 3, 'ok', { prevIndex: 4, value: 'b', index: 6 })])).toBe('not linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), op(1, 'cas-index', 2, 3, 'fail', { prevIndex: 5, value: 'b', errorCode: 101 })])).toBe('not linearizable');
    expect(verdict([op(0, 'create', 0, 1, 'ok', { value: 'a', index: 3 }), op(1, 'create', 2, 3, 'fail', { value: 'b', errorCode: 105 })])).toBe('linearizable');
    expect(verdict([op(0, 'create', 0, 1, 'ok', { value: 'a', index: 3 }), op(1, 'create', 2, 3, 'ok', { value: 'b', index: 4 })])).toBe('not linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), op(1, 'delete', 2, 3, 'ok', { index: 6 }), read(0, 4, 5, null), op(1, 'create', 6, 7, 'ok', { value: 'c', index: 8 })])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 'a', 5), op(1, 'delete', 2, 3, 'ok', { index: 6 }), read(0, 4, 5, 'a', 5)])).toBe('not linearizable');
    expect(verdict([op(1, 'delete', 0, 1, 'fail', { errorCode: 100 }), write(0, 2, 3, 'a', 5), op(1, 'delete', 4, 5, 'fail', { errorCode: 100 })])).toBe('not linearizable');
  });

  it('keys are independent, and a violation names its key', () => {
    const h = [write(0, 0, 1, 'a', 5), { ...write(1, 0, 1, 'x', 6), key: 'j' }, read(2, 2, 3, null), { ...read(3, 2, 3, 'x', 6), key: 'j' }];
    const result = checkHistory(h);
    expect(result.verdict).toBe('not linearizable');
    expect(result.violation?.key).toBe('k');
    expect(result.keys.find((k) => k.key === 'j')?.verdict).toBe('linearizable');
  });

  it('says unknown, not a guess, when the budget runs out', () => {
    // Many concurrent indeterminate writes and reads: a step budget of 10 cannot finish.
    const h: Op[] = [];
    for (let i = 0; i < 12; i++) h.push(write(i, 0, null, `w${i}`));
    for (let i = 0; i < 12; i++) h.push(read(20 + i, 1, 100, `w${i}`, 10 + i));
    const result = checkHistory(h, { maxSteps: 10 });
    expect(result.verdict).toBe('unknown');
    expect(result.keys[0]?.reason).toMatch(/step budget/);
    expect(checkHistory(h).verdict).toBe('linearizable');
  });
});

// Brute force: every order of every subset of ops that contains all ops with a known outcome,
// respecting real time (a before b when a completed before b was invoked), replayed on the model.
function bruteForce(history: Op[]): boolean {
  const ops = history.filter(isInformative);
  const used = new Array<boolean>(ops.length).fill(false);
  const requiredLeft = (): boolean => ops.some((o, i) => !used[i] && o.outcome !== 'info');
  const go = (state: KeyState): boolean => {
    if (!requiredLeft()) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // o may go next only if no unused op completed before o was invoked.
      const blocked = ops.some((p, j) => !used[j] && j !== i && p.completeMs !== null && p.outcome !== 'info' && p.completeMs < o.invokeMs);
      if (blocked) continue;
      const next = step(state, o);
      if (next === null) continue;
      used[i] = true;
      const ok = go(next);
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(INITIAL_STATE);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHistory(rand: () => number, size: number): Op[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const values = ['a', 'b', 'c'];
  const indexes = [3, 4, 5, 6];
  const h: Op[] = [];
  for (let i = 0; i < size; i++) {
    const t0 = Math.floor(rand() * 10);
    const t1 = t0 + Math.floor(rand() * 4);
    const kind = pick<OpKind>(['read', 'read', 'write', 'write', 'cas-value', 'cas-index', 'create', 'delete']);
    const outcome = pick<Outcome>(['ok', 'ok', 'ok', 'fail', 'info']);
    const o: Op = { id: i, client: i, key: 'k', kind, invokeMs: t0, completeMs: outcome === 'info' ? null : t1, outcome };
    if (kind !== 'read' && kind !== 'delete') o.value = `${pick(values)}${i}`;
    if (kind === 'cas-value') o.prevValue = pick(h.filter((x) => x.value !== undefined).map((x) => x.value!).concat(['zz']));
    if (kind === 'cas-index') o.prevIndex = pick(indexes);
    if (outcome === 'ok') o.index = pick(indexes);
    if (outcome === 'ok' && kind === 'read') o.readValue = pick(h.filter((x) => x.value !== undefined).map((x) => x.value!).concat(['zz']));
    if (outcome === 'fail') o.errorCode = pick([100, 101, 105]);
    h.push(o);
  }
  return h;
}

describe('jepsen checker: brute-force cross-check', () => {
  it('agrees with brute force on 5000 small random histories', () => {
    const rand = mulberry32(13);
    const counts = { linearizable: 0, 'not linearizable': 0 };
    for (let n = 0; n < 5000; n++) {
      const h = randomHistory(rand, 2 + Math.floor(rand() * 6));
      const want = bruteForce(h) ? 'linearizable' : 'not linearizable';
      const got = checkHistory(h).verdict;
      if (got !== want) throw new Error(`history ${n}: checker says ${got}, brute force ${want}\n${JSON.stringify(h)}`);
      counts[want]++;
    }
    // Both verdicts are exercised.
    expect(counts.linearizable).toBeGreaterThan(100);
    expect(counts['not linearizable']).toBeGreaterThan(300);
  });
});

describe('jepsen checker: size', () => {
  it('checks a 4000-op linearizable history of 10 clients (5% indeterminate) within a step budget', () => {
    // A register executed for real: each op takes effect at a random instant inside its interval.
    const rand = mulberry32(7);
    type Pending = { op: Op; at: number };
    const pending: Pending[] = [];
    const clientFree = new Array<number>(10).fill(0);
    for (let i = 0; i < 4000; i++) {
      const c = i % 10;
      const t0 = clientFree[c]! + rand() * 2;
      const t1 = t0 + 0.5 + rand() * 6;
      clientFree[c] = t1;
      const kind = (['read', 'read', 'write', 'cas-value', 'cas-index', 'create', 'delete'] as const)[Math.floor(rand() * 7)]!;
      pending.push({ op: { id: 100_000 + i, client: c, key: 'k', kind, invokeMs: t0, completeMs: t1, outcome: 'ok' }, at: t0 + rand() * (t1 - t0) });
    }
    pending.sort((a, b) => a.at - b.at);
    let state: KeyState = INITIAL_STATE;
    let index = 1;
    let lastValue = 'none';
    for (const { op } of pending) {
      const info = op.kind !== 'read' && rand() < 0.05;
      if (op.kind !== 'read' && op.kind !== 'delete') op.value = `v${op.id}`;
      if (op.kind === 'cas-value') op.prevValue = rand() < 0.7 && state.value !== null ? state.value : lastValue;
      if (op.kind === 'cas-index') op.prevIndex = rand() < 0.7 ? state.index : state.index - 1;
      const exists = state.value !== null;
      const applies =
        op.kind === 'read' ? exists :
        op.kind === 'write' ? true :
        op.kind === 'cas-value' ? exists && state.value === op.prevValue :
        op.kind === 'cas-index' ? exists && state.index === op.prevIndex :
        op.kind === 'create' ? !exists : exists;
      if (op.kind === 'read') {
        if (applies) Object.assign(op, { readValue: state.value, index: state.index });
        else Object.assign(op, { outcome: 'fail', errorCode: 100 });
      } else if (applies) {
        index += 1 + Math.floor(rand() * 3); // other keys' writes take indexes too
        state = op.kind === 'delete' ? { value: null, index, exact: false } : { value: op.value!, index, exact: true };
        if (op.value !== undefined) lastValue = op.value;
        if (info) Object.assign(op, { outcome: 'info', completeMs: null });
        else op.index = index;
      } else {
        const code = op.kind === 'create' ? 105 : !exists ? 100 : 101;
        if (info) Object.assign(op, { outcome: 'info', completeMs: null });
        else Object.assign(op, { outcome: 'fail', errorCode: code });
      }
    }
    // Bounded by steps, not time, so the verdict does not depend on the machine's load: the search
    // takes about 5.7 million steps (about 5 s on a quiet 2-core machine); twice that is the bound.
    const result = checkHistory(pending.map((p) => p.op), { timeBudgetMs: 600_000, maxSteps: 12_000_000 });
    expect(result.keys[0]!.reason).toBeUndefined();
    expect(result.verdict).toBe('linearizable');
  }, 600_000);
});
