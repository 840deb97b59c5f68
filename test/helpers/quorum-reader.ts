// Linearizable-read checks alongside a WriteLoad: `readers` loops, each picking a write that was
// acknowledged before the read started and a member, and reading that key with quorum=true (no
// redirects: every member must serve quorum reads itself, through ReadIndex). A 200 must show the
// acknowledged value (each key is written once); a 404 is a stale read — a violation. Errors and
// timeouts are allowed (no leader, a cut-off member) and counted. Followers' quorum reads are also
// the traffic that sends MsgReadIndex to the leader, which the fault tests want during a fault.
import { delay } from './child-process.js';
import type { KvClient } from './kv-client.js';
import type { WriteLoad, WriteRecord } from './write-load.js';

export interface QuorumReadOptions {
  readers: number;
  /** Client URLs a reader picks from (called for each read). */
  targets: () => readonly string[];
  /** Per-read bound; default 3000 ms. */
  readTimeoutMs?: number;
}

export class QuorumReader {
  ok = 0;
  errors = 0;
  readonly violations: string[] = [];
  /** The last error answer or transport failure, for messages. */
  lastError = '';
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly client: KvClient,
    private readonly load: WriteLoad,
    readonly opts: QuorumReadOptions,
  ) {}

  start(): void {
    if (this.running) throw new Error('QuorumReader already running');
    this.running = true;
    this.loops = Array.from({ length: this.opts.readers }, () => this.reader());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  summary(): string {
    return `quorum reads ok ${this.ok}, errors ${this.errors}, stale ${this.violations.length}`;
  }

  private pick(): WriteRecord | undefined {
    const records = this.load.records;
    // Recent writes are the interesting ones: the last 50 acknowledged.
    for (let tries = 0; tries < 20; tries++) {
      const r = records[records.length - 1 - Math.floor(Math.random() * Math.min(records.length, 50))];
      if (r?.outcome === 'acknowledged') return r;
    }
    return undefined;
  }

  /**
   * `perTarget` concurrent quorum reads on each of `targets` at once (clients that all read, or retry,
   * at the same moment: e.g. right after a fault), checked like the loops' reads; resolves when all
   * have an answer or gave up.
   */
  async burst(targets: readonly string[], perTarget: number): Promise<void> {
    const reads: Promise<boolean>[] = [];
    for (const via of targets) {
      for (let i = 0; i < perTarget; i++) {
        const record = this.pick();
        if (record) reads.push(this.readOnce(record, via));
      }
    }
    await Promise.all(reads);
  }

  private async reader(): Promise<void> {
    while (this.running) {
      const record = this.pick();
      const targets = this.opts.targets();
      const via = targets[Math.floor(Math.random() * targets.length)];
      if (!record || via === undefined) {
        await delay(50);
        continue;
      }
      if (!(await this.readOnce(record, via))) await delay(50);
    }
  }

  /** One checked quorum read; false when it got no answer or an error. */
  private async readOnce(record: WriteRecord, via: string): Promise<boolean> {
    const startedAt = Date.now();
    try {
      const res = await this.client.http.send({ method: 'GET', url: `${via}/v2/keys${record.key}?quorum=true`, timeoutMs: this.opts.readTimeoutMs ?? 3000 });
      if (res.status === 200) {
        const value = (JSON.parse(res.body) as { node?: { value?: string } }).node?.value;
        if (value === record.value) this.ok++;
        else this.violations.push(`${via}: ${record.key} read ${JSON.stringify(value)}, acknowledged ${JSON.stringify(record.value)} at ${record.endedAt}, read at ${startedAt}`);
        return true;
      }
      if (res.status === 404) {
        this.violations.push(`${via}: ${record.key} not found by a quorum read started ${startedAt - record.endedAt} ms after its acknowledgement (${res.body.slice(0, 120)})`);
        return true;
      }
      this.errors++;
      this.lastError = `${via}: ${res.status} ${res.body.slice(0, 160)}`;
      return false;
    } catch (err) {
      this.errors++;
      this.lastError = `${via}: ${(err as Error).message}`;
      return false;
    }
  }
}
