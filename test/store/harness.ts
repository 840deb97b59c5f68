// Test helpers: a store driven like the HTTP layer drives it, with a fake proposer clock.
import { v2Request, type V2Request } from '../../src/store/command.js';
import { EtcdError } from '../../src/store/errors.js';
import { eventBody, type V2Event } from '../../src/store/event.js';
import { Store, type ApplyResult, type StoreOptions, type Watcher } from '../../src/store/store.js';

/** 2026-01-01T00:00:00Z: an arbitrary, fixed start for the fake clock. */
export const T0 = Date.UTC(2026, 0, 1);

export interface WriteOptions {
  value?: string;
  dir?: boolean;
  prevValue?: string;
  prevIndex?: number;
  prevExist?: boolean | null;
  /** seconds, turned into an absolute expiration from the clock as the HTTP layer does */
  ttl?: number;
  refresh?: boolean;
  recursive?: boolean;
}

export class Harness {
  nowMs = T0;
  readonly store: Store;
  /** Every request applied, in order (for replaying into another store). */
  readonly log: V2Request[] = [];

  constructor(options?: StoreOptions, store?: Store) {
    this.store = store ?? new Store(options);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  request(method: V2Request['method'], path: string, o: WriteOptions = {}): V2Request {
    return v2Request({
      method,
      path,
      time: this.nowMs,
      val: o.value ?? '',
      dir: o.dir ?? false,
      prevValue: o.prevValue ?? '',
      prevIndex: o.prevIndex ?? 0,
      prevExist: o.prevExist ?? null,
      expiration: o.ttl === undefined ? 0 : this.nowMs + o.ttl * 1000,
      refresh: o.refresh ?? false,
      recursive: o.recursive ?? false,
    });
  }

  apply(req: V2Request): ApplyResult {
    this.log.push(req);
    return this.store.apply(req);
  }

  put(path: string, o: WriteOptions = {}): ApplyResult {
    return this.apply(this.request('PUT', path, o));
  }

  post(path: string, o: WriteOptions = {}): ApplyResult {
    return this.apply(this.request('POST', path, o));
  }

  del(path: string, o: WriteOptions = {}): ApplyResult {
    return this.apply(this.request('DELETE', path, o));
  }

  /** The leader's expiry tick at the current clock. */
  sync(): ApplyResult {
    return this.apply(this.request('SYNC', '/'));
  }

  get(path: string, o: { recursive?: boolean; sorted?: boolean } = {}): ApplyResult {
    return this.store.get(path, o.recursive ?? false, o.sorted ?? false, this.nowMs);
  }

  watch(path: string, o: { recursive?: boolean; stream?: boolean; sinceIndex?: number } = {}): Watcher {
    const result = this.store.watch(path, { recursive: o.recursive ?? false, stream: o.stream ?? false, sinceIndex: o.sinceIndex ?? 0 });
    if (!result.ok) throw result.error;
    return result.watcher;
  }
}

/** The event of a successful result; fails the test otherwise. */
export function ok(result: ApplyResult): V2Event {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error.toJSON())}`);
  if (result.event === null) throw new Error('expected an event');
  return result.event;
}

/** The error of a failed result as etcd's JSON; fails the test otherwise. */
export function err(result: ApplyResult | { ok: true } | { ok: false; error: EtcdError }): ReturnType<EtcdError['toJSON']> {
  if (result.ok) throw new Error('expected a failure');
  expectEtcdError(result.error);
  return result.error.toJSON();
}

function expectEtcdError(e: unknown): asserts e is EtcdError {
  if (!(e instanceof EtcdError)) throw new Error('not an EtcdError');
}

/** The JSON etcd sends for an event. */
export function body(ev: V2Event): string {
  return JSON.stringify(eventBody(ev));
}

/** Collects what a watcher delivers. */
export class Recorder {
  readonly events: V2Event[] = [];
  closed = 0;
  constructor(watcher: Watcher, private readonly pauseAfter = Infinity) {
    watcher.start(
      (ev) => {
        this.events.push(ev);
        return this.events.length < this.pauseAfter;
      },
      () => {
        this.closed++;
      },
    );
  }
  keys(): string[] {
    return this.events.map((e) => `${e.action} ${e.node.key ?? '/'}@${e.index}`);
  }
}

export function watchAndRecord(h: Harness, path: string, o: { recursive?: boolean; stream?: boolean; sinceIndex?: number } = {}): Recorder {
  return new Recorder(h.watch(path, o));
}
