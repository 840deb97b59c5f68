// Linearizable reads (thesis §6.4): quorum=true GETs wait here until the local store has applied
// the leader's commit index at the time of the request. Concurrent reads share one ReadIndex round
// (as etcd's linearizableReadLoop): requests that arrive while a round is in flight join the next
// one. A round raft never answers (leadership changed, message lost) is re-issued after
// retryAfterMs; every waiter has a deadline, so nothing here can hang or grow without bound.
import { ProposalError, REQUEST_TIMED_OUT, TOO_MANY_REQUESTS } from './backend.js';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  deadlineMs: number;
}

export interface ReadBarrierOptions {
  memberId: bigint;
  /** Asks raft for a read index with this context; throws when raft refuses (no leader, queue full). */
  requestReadIndex: (ctx: Uint8Array) => void;
  appliedIndex: () => number;
  nowMs: () => number;
  /** How long a waiter may wait in total ('etcdserver: request timed out' after). */
  timeoutMs: number;
  /** A round unanswered for this long is issued again with a new context. */
  retryAfterMs: number;
  /** Reads waiting at once, at most; more are refused with 'etcdserver: too many requests'. */
  maxWaiters: number;
  /**
   * Random bytes of this run in every context (default none): an answer to a round of an earlier
   * run, or a forged one, cannot match a round of this one.
   */
  nonce?: Uint8Array;
}

export class ReadBarrier {
  private readonly o: ReadBarrierOptions;
  private seq = 0;
  /** Waiting for the next round to be issued. */
  private queued: Waiter[] = [];
  /** The round raft is working on: its context and the waiters it answers. */
  private round: { ctx: Uint8Array; waiters: Waiter[]; issuedMs: number } | null = null;
  /** Answered rounds waiting for the store to apply their index, in increasing index order. */
  private confirmed: { index: number; waiters: Waiter[] }[] = [];
  private waiterCount = 0;

  constructor(options: ReadBarrierOptions) {
    if (!(options.timeoutMs > 0 && options.retryAfterMs > 0 && options.maxWaiters > 0)) {
      throw new Error('ReadBarrier: timeouts and maxWaiters must be positive');
    }
    this.o = options;
  }

  /** Resolves once a read of the local store is linearizable. */
  wait(): Promise<void> {
    if (this.waiterCount >= this.o.maxWaiters) return Promise.reject(new ProposalError(TOO_MANY_REQUESTS));
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject, deadlineMs: this.o.nowMs() + this.o.timeoutMs });
      this.waiterCount++;
      this.issueIfIdle();
    });
  }

  /** Raft answered a ReadIndex request (a ReadState in a Ready). */
  onReadState(index: number, ctx: Uint8Array): void {
    const round = this.round;
    if (round === null || !sameBytes(round.ctx, ctx)) return; // an answer to a round we gave up on
    this.round = null;
    this.confirmed.push({ index, waiters: round.waiters });
    this.confirmed.sort((a, b) => a.index - b.index);
    this.onApplied();
    this.issueIfIdle();
  }

  /** The store applied more entries: release the reads that were waiting for them. */
  onApplied(): void {
    const applied = this.o.appliedIndex();
    while (this.confirmed.length > 0 && (this.confirmed[0] as { index: number }).index <= applied) {
      const done = this.confirmed.shift() as { index: number; waiters: Waiter[] };
      for (const w of done.waiters) w.resolve();
      this.waiterCount -= done.waiters.length;
    }
  }

  /** A leader became known (or changed): an unanswered round may have been lost, issue it again. */
  onLeaderChange(): void {
    if (this.round !== null) this.requeueRound();
    this.issueIfIdle();
  }

  /** Called periodically: expires waiters past their deadline and re-issues a stale round. */
  onTick(): void {
    const now = this.o.nowMs();
    const expired = (w: Waiter): boolean => {
      if (w.deadlineMs > now) return false;
      w.reject(new ProposalError(REQUEST_TIMED_OUT));
      this.waiterCount--;
      return true;
    };
    this.queued = this.queued.filter((w) => !expired(w));
    if (this.round !== null) {
      this.round.waiters = this.round.waiters.filter((w) => !expired(w));
      if (now - this.round.issuedMs >= this.o.retryAfterMs) this.requeueRound();
    }
    for (const c of this.confirmed) c.waiters = c.waiters.filter((w) => !expired(w));
    this.confirmed = this.confirmed.filter((c) => c.waiters.length > 0);
    this.issueIfIdle();
  }

  /** Fails every waiting read (the member is stopping). */
  failAll(reason: string): void {
    const all = [...this.queued, ...(this.round?.waiters ?? []), ...this.confirmed.flatMap((c) => c.waiters)];
    this.queued = [];
    this.round = null;
    this.confirmed = [];
    this.waiterCount = 0;
    for (const w of all) w.reject(new ProposalError(reason));
  }

  private requeueRound(): void {
    const round = this.round as { waiters: Waiter[] };
    this.round = null;
    this.queued = round.waiters.concat(this.queued);
  }

  private issueIfIdle(): void {
    if (this.round !== null || this.queued.length === 0) return;
    const ctx = this.nextContext();
    try {
      this.o.requestReadIndex(ctx);
    } catch {
      // No leader yet or raft's queue is full: the queued waiters stay; onLeaderChange/onTick retry.
      return;
    }
    this.round = { ctx, waiters: this.queued, issuedMs: this.o.nowMs() };
    this.queued = [];
  }

  /** Unique cluster-wide: this member's id, this run's nonce and a sequence number. */
  private nextContext(): Uint8Array {
    this.seq++;
    const nonce = this.o.nonce ?? new Uint8Array(0);
    const buf = Buffer.alloc(16 + nonce.length);
    buf.writeBigUInt64BE(BigInt(this.o.memberId), 0);
    buf.set(nonce, 8);
    buf.writeBigUInt64BE(BigInt(this.seq), 8 + nonce.length);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
