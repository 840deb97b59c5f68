// A continuous write load for fault tests: `writers` concurrent loops, each PUTting unique keys with
// unique values through a randomly chosen member (redirects followed), and recording every
// attempt's outcome (acknowledged / failed / indeterminate) in a ledger that the checks use later.
import { delay } from './child-process.js';
import type { KvClient, WriteOutcome } from './kv-client.js';
import { waitFor } from './wait-for.js';

export interface WriteRecord {
  key: string;
  value: string;
  outcome: WriteOutcome['kind'];
  /** The modifiedIndex the acknowledgement reported. */
  index?: number;
  /** Why it was not acknowledged (first 200 characters). */
  reason?: string;
  /** The member URL the write was sent to first. */
  via: string;
  startedAt: number;
  endedAt: number;
}

export interface WriteLoadOptions {
  /** Directory the keys go under, e.g. '/nolost'. */
  prefix: string;
  writers: number;
  /** Client URLs a writer picks from (called for each write, so it may follow the cluster's state). */
  targets: () => readonly string[];
  /** Per-write bound (all redirect hops); default 4000 ms. */
  writeTimeoutMs?: number;
  /** Stop by itself after this many attempts (a safety bound); default 200,000. */
  maxAttempts?: number;
}

export class WriteLoad {
  readonly records: WriteRecord[] = [];
  private readonly tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  private running = false;
  private loops: Promise<void>[] = [];
  private attempts = 0;

  constructor(
    private readonly client: KvClient,
    readonly opts: WriteLoadOptions,
  ) {}

  start(): void {
    if (this.running) throw new Error('WriteLoad already running');
    this.running = true;
    this.loops = Array.from({ length: this.opts.writers }, (_, i) => this.writer(i));
  }

  /** Stops the writers and waits for their in-flight writes (bounded by the write timeout). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  count(kind: WriteOutcome['kind'], since = 0): number {
    let n = 0;
    for (const r of this.records) if (r.outcome === kind && r.endedAt >= since) n++;
    return n;
  }

  get acknowledged(): WriteRecord[] {
    return this.records.filter((r) => r.outcome === 'acknowledged');
  }

  /** Time of the first acknowledgement of a write that started after `t`, if any. */
  firstAckStartedAfter(t: number): number | undefined {
    let first: number | undefined;
    for (const r of this.records) if (r.outcome === 'acknowledged' && r.startedAt >= t && (first === undefined || r.endedAt < first)) first = r.endedAt;
    return first;
  }

  /** Waits until `n` more writes are acknowledged after `since` (bounded). */
  async waitAcked(n: number, opts: { since?: number; timeoutMs: number; what?: string }): Promise<void> {
    const since = opts.since ?? 0;
    await waitFor(() => this.count('acknowledged', since) >= n, {
      what: `${n} acknowledged writes${since ? ' since the last fault' : ''}${opts.what ? ` (${opts.what})` : ''}`,
      timeoutMs: opts.timeoutMs,
      intervalMs: 50,
      describe: () => `${this.summary(since)}; last non-acknowledged: ${this.lastFailure()}`,
    });
  }

  summary(since = 0): string {
    return `acknowledged ${this.count('acknowledged', since)}, failed ${this.count('failed', since)}, indeterminate ${this.count('indeterminate', since)}`;
  }

  lastFailure(): string {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i] as WriteRecord;
      if (r.outcome !== 'acknowledged') return `${r.outcome} via ${r.via}: ${r.reason ?? ''}`;
    }
    return 'none';
  }

  private async writer(id: number): Promise<void> {
    const maxAttempts = this.opts.maxAttempts ?? 200_000;
    for (let seq = 0; this.running && this.attempts < maxAttempts; seq++) {
      this.attempts++;
      const targets = this.opts.targets();
      const via = targets[Math.floor(Math.random() * targets.length)];
      if (via === undefined) {
        await delay(50);
        continue;
      }
      const key = `${this.opts.prefix}/w${id}-${String(seq).padStart(6, '0')}`;
      const value = `${this.tag}.w${id}.${seq}`;
      const startedAt = Date.now();
      const outcome = await this.client.put(via, key, value, { timeoutMs: this.opts.writeTimeoutMs ?? 4000 });
      const record: WriteRecord = { key, value, outcome: outcome.kind, via, startedAt, endedAt: Date.now() };
      if (outcome.kind === 'acknowledged') record.index = outcome.modifiedIndex;
      else record.reason = outcome.reason.slice(0, 200);
      this.records.push(record);
      // Do not hammer a dead member: a refused connection returns at once.
      if (outcome.kind !== 'acknowledged') await delay(20 + Math.floor(Math.random() * 40));
    }
  }
}
