// node-etcd against one target: every call's outcome (error or body, plus X-Etcd-Index) recorded in
// a form comparable across targets (indexes relative to the session's start, times as placeholders).
import Etcd, { type Callback, type EtcdError, type Options, type Watcher } from 'node-etcd';
import type { Target } from '../helpers/target.js';
import { currentIndex } from '../conformance/runner.js';

export interface Outcome {
  error?: { errorCode: number; message: string; cause?: string; index?: number | string };
  body?: unknown;
  etcdIndex?: string;
}

type Call = (cb: Callback) => unknown;

export class NodeEtcdSession {
  readonly client: Etcd;
  readonly log: Array<{ call: string; outcome: unknown }> = [];
  private readonly watchers: Watcher[] = [];

  private constructor(
    readonly target: Target,
    readonly base: number,
  ) {
    this.client = new Etcd(target.clientURL);
  }

  static async open(target: Target): Promise<NodeEtcdSession> {
    return new NodeEtcdSession(target, await currentIndex(target.clientURL));
  }

  /** Runs one callback-style call (bounded) and records its normalised outcome. */
  async call(what: string, fn: Call, timeoutMs = 10_000): Promise<Outcome> {
    const raw = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve({ error: { errorCode: -1, message: `no callback within ${timeoutMs} ms` } }), timeoutMs);
      fn((err: EtcdError | null, body: unknown, headers: Record<string, string>) => {
        clearTimeout(timer);
        if (err) resolve({ error: err.error ?? { errorCode: err.errorCode ?? -1, message: err.message }, etcdIndex: headers?.['x-etcd-index'] });
        else resolve({ body, etcdIndex: headers?.['x-etcd-index'] });
      });
    });
    this.log.push({ call: what, outcome: this.normalise(raw) });
    return raw;
  }

  /** Starts a node-etcd watcher and collects the events it emits. */
  watch(key: string, index: number | null, options: Options = {}): { watcher: Watcher; events: Array<{ name: string; value: unknown }> } {
    const watcher = this.client.watcher(key, index, options);
    this.watchers.push(watcher);
    const events: Array<{ name: string; value: unknown }> = [];
    for (const name of ['change', 'set', 'update', 'create', 'delete', 'expire', 'compareAndSwap', 'resync', 'error']) {
      watcher.on(name, (value: unknown) => events.push({ name, value }));
    }
    return { watcher, events };
  }

  record(what: string, value: unknown): void {
    this.log.push({ call: what, outcome: this.normalise(value) });
  }

  close(): void {
    for (const w of this.watchers) w.stop();
  }

  rel(n: number): string {
    const d = n - this.base;
    return n === 0 ? '0' : d >= 0 ? `@+${d}` : `@${d}`;
  }

  normalise(value: unknown, key = ''): unknown {
    if (Array.isArray(value)) {
      const items = value.map((v) => this.normalise(v, key));
      // Unsorted listings come back in any order: compare them as sets.
      return key === 'nodes' ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.normalise(v, k)]));
    }
    if (['modifiedIndex', 'createdIndex', 'index'].includes(key) && typeof value === 'number') return this.rel(value);
    if (key === 'etcdIndex' && typeof value === 'string') return this.rel(Number(value));
    if (key === 'expiration' && typeof value === 'string') return '<expiration>';
    if (key === 'ttl' && typeof value === 'number') return value > 0 ? '<positive ttl>' : value;
    if (key === 'key' && typeof value === 'string') return value.replace(/\/(\d{20})$/, (_m, d: string) => `/{${this.rel(Number(d))}}`);
    return value;
  }
}
