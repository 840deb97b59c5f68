// Linearizability of one key's history, as a single read/write register whose written values are
// unique. The simulator splits a run's client history by key and calls the checker once per key:
// linearizability is local (Herlihy & Wing 1990), so the whole history is linearizable iff every
// key's is. This is what Jepsen (Knossos) and Porcupine do too, but they then search for a
// linearization (Wing & Gong, with Lowe's memoisation), which is NP-complete in general and
// exponential in the worst case. With unique written values every read names the one write it saw
// (a "read-mapped" history), and Gibbons & Korach ("Testing shared memories", SIAM J. Comput.
// 26(4), 1997) show that the check is then O(n log n). The derivation, adapted to our two extras:
//
// Operations are intervals [inv, comp] of logical time. A write whose outcome is unknown (timeout,
// connection error, leader changed) has comp = +inf: it may take effect at any point after its
// invocation, or never, exactly as Jepsen treats an :info op and Porcupine an op that never
// returns. The initial value null is a virtual write at [-inf, -inf].
//
// 1. Clusters. Call C(v) the write of v together with the reads that returned v. In any legal
//    sequential order of a register with unique values, C(v) is contiguous (W(v), then its reads,
//    until the next write), so a linearization is an order of the clusters plus an order inside
//    each. Real time forces o before o' whenever o.comp < o'.inv.
// 2. Inside a cluster, the write must come first. Ordering the reads by completion after it
//    respects real time unless some read completed before W(v) was invoked. So the local checks:
//    every read's value was written by some write in the history, and no read of v completes before
//    W(v) is invoked. (Vacuous for null, whose write is invoked at -inf.)
// 3. Between clusters, C(u) must precede C(v) iff some op of C(u) completes before some op of C(v)
//    is invoked, i.e. iff f(u) < s(v), with f = min comp and s = max inv over the cluster. The
//    history is linearizable iff the local checks hold and this "must precede" graph is acyclic
//    (then clusters in topological order, each ordered as in 2, is a linearization; an unread
//    indeterminate write is simply left out, which linearizability allows for a pending op).
// 4. Any cycle implies a 2-cycle. Take a shortest cycle C1 -> ... -> Ck -> C1, suppose k >= 3,
//    and let Cm have the smallest f. An edge Cm -> C(m+2) would close a shorter cycle, so
//    f(m) >= s(m+2) > f(m+1) (the edge C(m+1) -> C(m+2)), contradicting the choice of m. So the
//    graph is acyclic iff no two clusters u != v have f(u) < s(v) and f(v) < s(u).
// 5. Zones. A cluster with f < s is forward, zone (f, s); otherwise backward, zone [s, f]. Two
//    backward clusters never form a 2-cycle (s(u) <= f(u) < s(v) <= f(v) < s(u) is impossible); a
//    forward and a backward one do iff the backward zone lies strictly inside the forward one; two
//    forward ones do iff their zones overlap. This is Gibbons & Korach's zone condition. Checking
//    it: sort the forward zones by f and sweep for an overlap; once they are disjoint, their s
//    increase with f too, so only the last forward zone starting before a backward zone's s can
//    contain it (one binary search each).
//
// Do the initial value and the indeterminate writes need adjusting? No: with +-inf in place the
// argument above holds verbatim (it never assumes finite or distinct times). The null cluster has
// f = -inf, so if any read returned null its zone (-inf, s) is forward, and it conflicts exactly
// with the clusters having an op that completed before some read of null was invoked. Without
// such reads its zone [-inf, -inf] is backward and conflicts with nothing. An indeterminate write
// contributes +inf to f, so only its readers' completions bound its cluster on the left; unread,
// its zone [inv, +inf] is backward and can lie inside no forward zone, which is the same as
// dropping it.
//
// A failure names the ops that conflict (at most six: both writes and the four ops of the 2-cycle,
// or the one or two ops of a local check); those ops alone already form a non-linearizable history.

export interface RegisterWrite {
  kind: 'write';
  value: string;
  invokedAt: number;
  /** Undefined when the outcome is unknown: the write may take effect at any time after invokedAt, or never. */
  completedAt?: number | undefined;
}

export interface RegisterRead {
  kind: 'read';
  /** null: the key was absent. */
  value: string | null;
  invokedAt: number;
  completedAt: number;
}

export type RegisterOp = RegisterWrite | RegisterRead;

/** Generic in the op type so a caller's extra fields (client, request id) survive into the report. */
export type LinearizabilityResult<Op extends RegisterOp = RegisterOp> = { ok: true } | { ok: false; reason: string; ops: Op[] };

interface Cluster<Op extends RegisterOp> {
  /** null: the initial value, written by a virtual write at [-inf, -inf]. */
  readonly value: string | null;
  readonly write: Op | undefined;
  /** f: the earliest completion in the cluster, and the op (undefined: the virtual initial write). */
  first: number;
  firstOp: Op | undefined;
  /** s: the latest invocation in the cluster, and the op. */
  last: number;
  lastOp: Op | undefined;
}

function completion(op: RegisterOp): number {
  return op.completedAt ?? Infinity;
}

function show(value: string | null): string {
  if (value === null) return 'null';
  const s = JSON.stringify(value);
  return s.length > 40 ? `${s.slice(0, 37)}..."` : s;
}

/** "write of "v3" [50,100]", "write of "v3" [50,?)" (outcome unknown), "read of null [7,9]". */
export function describeOp(op: RegisterOp): string {
  const end = op.completedAt === undefined ? '?)' : `${op.completedAt}]`;
  return `${op.kind} of ${show(op.value)} [${op.invokedAt},${end}`;
}

function validate(op: RegisterOp, where: string): void {
  const bad = (why: string) => new RangeError(`${where}: ${describeOp(op)}: ${why}`);
  if (!Number.isFinite(op.invokedAt)) throw bad('invokedAt must be a finite number');
  if (op.completedAt !== undefined && !(op.completedAt > op.invokedAt)) throw bad('completedAt must be after invokedAt');
  if (op.kind === 'read' && op.completedAt === undefined) throw bad('only completed reads belong in the history');
}

function byInvocation(a: RegisterOp, b: RegisterOp): number {
  return a.invokedAt - b.invokedAt;
}

/** Checks one key's history (see the header); O(n log n). Throws on input that breaks the model (e.g. two writes of one value). */
export function checkRegisterHistory<Op extends RegisterOp>(key: string, ops: readonly Op[]): LinearizabilityResult<Op> {
  const fail = (reason: string, involved: (Op | undefined)[]): LinearizabilityResult<Op> => {
    const set = [...new Set(involved.filter((o): o is Op => o !== undefined))].sort(byInvocation);
    return { ok: false, reason, ops: set };
  };
  const initial: Cluster<Op> = { value: null, write: undefined, first: -Infinity, firstOp: undefined, last: -Infinity, lastOp: undefined };
  const clusters = new Map<string, Cluster<Op>>();
  const where = `linearizability of key ${JSON.stringify(key)}`;
  for (const op of ops) {
    validate(op, where);
    if (op.kind !== 'write') continue;
    if (clusters.has(op.value)) throw new RangeError(`${where}: ${show(op.value)} is written twice; written values must be unique`);
    clusters.set(op.value, { value: op.value, write: op, first: completion(op), firstOp: op, last: op.invokedAt, lastOp: op });
  }

  // Local checks (step 2), and the clusters' f and s (step 3).
  for (const op of ops) {
    if (op.kind !== 'read') continue;
    const c = op.value === null ? initial : clusters.get(op.value);
    if (c === undefined) return fail(`${describeOp(op)} returned a value that no write in the history wrote`, [op]);
    if (c.write !== undefined && completion(op) < c.write.invokedAt) {
      return fail(`${describeOp(op)} completed before the write of its value was invoked (${describeOp(c.write)})`, [op, c.write]);
    }
    if (completion(op) < c.first) {
      c.first = completion(op);
      c.firstOp = op;
    }
    if (op.invokedAt > c.last) {
      c.last = op.invokedAt;
      c.lastOp = op;
    }
  }

  // Zones (step 5). Forward zones must be pairwise disjoint...
  const all = [initial, ...clusters.values()];
  const forward = all.filter((c) => c.first < c.last).sort((a, b) => a.first - b.first);
  // While none overlap, each zone ends before the next starts, so only neighbours need comparing.
  for (let i = 1; i < forward.length; i++) {
    const a = forward[i - 1] as Cluster<Op>;
    const c = forward[i] as Cluster<Op>;
    if (c.first < a.last) return cycle(a, c, fail);
  }
  // ...and, now that they are, sorted by s as well; a backward zone must not lie inside one.
  for (const b of all) {
    if (b.first < b.last) continue;
    let lo = 0;
    let hi = forward.length; // forward[0..lo) start before b.last, forward[hi..) do not
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((forward[mid] as Cluster<Op>).first < b.last) lo = mid + 1;
      else hi = mid;
    }
    const a = forward[lo - 1];
    if (a !== undefined && b.first < a.last) return cycle(a, b, fail);
  }
  return { ok: true };
}

/** Explains a 2-cycle: f(a) < s(b) and f(b) < s(a), so each cluster must precede the other. */
function cycle<Op extends RegisterOp>(
  a: Cluster<Op>,
  b: Cluster<Op>,
  fail: (reason: string, involved: (Op | undefined)[]) => LinearizabilityResult<Op>,
): LinearizabilityResult<Op> {
  if (b.value === null) [a, b] = [b, a];
  const involved = [a.write, b.write, a.firstOp, a.lastOp, b.firstOp, b.lastOp];
  const bBeforeA = `${describeOp(b.firstOp as Op)} completed before ${describeOp(a.lastOp as Op)} was invoked`;
  if (a.value === null) {
    // a.firstOp is the virtual initial write, which precedes everything.
    return fail(`the initial value was read after another value took effect: ${bBeforeA}`, involved);
  }
  const aBeforeB = `${describeOp(a.firstOp as Op)} completed before ${describeOp(b.lastOp as Op)} was invoked`;
  return fail(`the write of ${show(a.value)} must take effect both before the write of ${show(b.value)} (${aBeforeB}) and after it (${bBeforeA})`, involved);
}

/**
 * The reference: Wing & Gong's exhaustive search, with Lowe's memoisation on (ops linearized,
 * current value). Exponential; for the tests' histories of up to ~12 ops. It shares no code with
 * the fast checker but the input validation, so that it can serve as its oracle. An op may be
 * linearized next iff no other op still to be linearized completed before it was invoked. An
 * indeterminate write never completes, so it blocks nothing and may stay out of the order for good
 * (it could equally always go last).
 */
export function checkRegisterHistoryBruteForce(ops: readonly RegisterOp[]): boolean {
  if (ops.length > 24) throw new RangeError(`brute force over ${ops.length} ops would not finish`);
  for (const op of ops) validate(op, 'linearizability (brute force)');
  const dead = new Set<string>(); // states already shown to lead nowhere
  const search = (done: number, value: string | null): boolean => {
    let minCompletion = Infinity;
    let rest = false; // some op left that must be linearized (not an indeterminate write)
    for (let i = 0; i < ops.length; i++) {
      if (done & (1 << i)) continue;
      const op = ops[i] as RegisterOp;
      minCompletion = Math.min(minCompletion, op.completedAt ?? Infinity);
      if (op.completedAt !== undefined) rest = true;
    }
    if (!rest) return true;
    const state = `${done}:${JSON.stringify(value)}`;
    if (dead.has(state)) return false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as RegisterOp;
      if (done & (1 << i) || op.invokedAt > minCompletion) continue;
      if (op.kind === 'read' ? op.value === value && search(done | (1 << i), value) : search(done | (1 << i), op.value)) return true;
    }
    dead.add(state);
    return false;
  };
  return search(0, null);
}
