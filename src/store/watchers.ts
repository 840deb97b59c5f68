// Live watches (etcd's watcherHub and watcher). A watch on key K is registered under K; an event is
// offered to the watches registered at every prefix of its key (and, when a subtree is removed, at
// every removed node). Delivery is deferred until the write that caused it has fully applied, so a
// listener always sees a consistent store and cannot break a write by throwing.
import type { V2Event } from './event.js';
import { isHiddenBelow } from './keys.js';

/** A stream watcher may hold at most this many undelivered events (etcd's channel buffer). */
export const STREAM_BACKLOG_LIMIT = 100;

/**
 * Receives one event. Returning `false` says the consumer cannot take more for now (like
 * stream.write() returning false): further events wait in the watcher, at most STREAM_BACKLOG_LIMIT
 * of them, until resume(). Returning nothing (or true) means keep going.
 */
export type WatchListener = (ev: V2Event) => void | boolean;

export interface Watcher {
  /** store index when registered (X-Etcd-Index of a watch) */
  readonly startIndex: number;
  readonly stream: boolean;
  /**
   * Sets the listeners; events that arrived before (e.g. a waitIndex history hit) are delivered at
   * once, in order. onClose fires once when the watcher ends: after its one event (non-stream), when
   * removed, or when a stream watcher fell more than 100 events behind (etcd drops it; the events it
   * had buffered are delivered first). A stream watch answered from history gets that one event and
   * then nothing more, and stays open until removed (as etcd's).
   */
  start(onEvent: WatchListener, onClose: () => void): void;
  /** idempotent; the client went away */
  remove(): void;
  /** The consumer drained its outlet after a listener returned false: deliver what waited. */
  resume(): void;
}

export class HubWatcher implements Watcher {
  readonly startIndex: number;
  readonly stream: boolean;
  readonly key: string;
  readonly recursive: boolean;
  /** Only events with index >= sinceIndex are offered. */
  readonly sinceIndex: number;
  /** Set while registered in a hub. */
  unregister: (() => void) | null = null;

  private queue: V2Event[] = [];
  private onEvent: WatchListener | null = null;
  private onClose: (() => void) | null = null;
  private paused = false;
  /** No further events are accepted; close once the queue is delivered. */
  private ending = false;
  private closed = false;
  private draining = false;

  constructor(key: string, recursive: boolean, stream: boolean, sinceIndex: number, startIndex: number) {
    this.key = key;
    this.recursive = recursive;
    this.stream = stream;
    this.sinceIndex = sinceIndex;
    this.startIndex = startIndex;
  }

  start(onEvent: WatchListener, onClose: () => void): void {
    if (this.onEvent !== null) throw new Error('Watcher: start() called twice');
    this.onEvent = onEvent;
    this.onClose = onClose;
    if (this.closed) {
      onClose();
      return;
    }
    this.drain();
  }

  remove(): void {
    if (this.closed) return;
    this.queue = [];
    this.ending = true;
    this.detachFromHub();
    this.close();
  }

  resume(): void {
    this.paused = false;
    this.drain();
  }

  /** The one event of a watch answered from history; a stream one then stays silent. */
  deliverFromHistory(ev: V2Event): void {
    if (this.unregister !== null) throw new Error('Watcher: a history answer must not be registered');
    this.queue.push(ev);
    if (!this.stream) this.ending = true;
    this.drain();
  }

  /** An event the hub matched for this watcher. */
  offer(ev: V2Event): void {
    if (this.ending || this.closed) return;
    if (!this.stream) {
      this.ending = true;
      this.queue.push(ev);
    } else if (this.queue.length >= STREAM_BACKLOG_LIMIT) {
      // etcd's full channel: the event is lost, so the watcher is dropped.
      this.detachFromHub();
      this.ending = true;
    } else {
      this.queue.push(ev);
    }
    this.drain();
  }

  /** Leaves the hub (idempotent). */
  detachFromHub(): void {
    const unregister = this.unregister;
    this.unregister = null;
    unregister?.();
  }

  private drain(): void {
    if (this.draining || this.onEvent === null || this.closed) return;
    this.draining = true;
    try {
      while (!this.paused && this.queue.length > 0 && !this.closed) {
        const ev = this.queue.shift()!;
        if (this.onEvent(ev) === false) this.paused = true;
      }
    } finally {
      this.draining = false;
    }
    if (this.ending && this.queue.length === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    const onClose = this.onClose;
    this.onClose = null;
    this.onEvent = null;
    onClose?.();
  }
}

export class WatcherHub {
  readonly maxWatchers: number;
  private readonly byKey = new Map<string, Set<HubWatcher>>();
  private registered = 0;
  /** Matches waiting for delivery after the current write. */
  private readonly outbox: { watcher: HubWatcher; ev: V2Event }[] = [];
  private dispatching = false;

  constructor(maxWatchers: number) {
    if (!Number.isSafeInteger(maxWatchers) || maxWatchers < 0) throw new Error(`WatcherHub: bad maxWatchers ${maxWatchers}`);
    this.maxWatchers = maxWatchers;
  }

  count(): number {
    return this.registered;
  }

  /** Registers a live watcher; false when the hub is full. */
  register(w: HubWatcher): boolean {
    if (this.registered >= this.maxWatchers) return false;
    if (w.unregister !== null) throw new Error('WatcherHub: watcher already registered');
    let set = this.byKey.get(w.key);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(w.key, set);
    }
    const watchers = set;
    watchers.add(w);
    this.registered++;
    w.unregister = () => {
      if (!watchers.delete(w)) throw new Error('WatcherHub: unregistering an unknown watcher');
      this.registered--;
      if (watchers.size === 0 && this.byKey.get(w.key) === watchers) this.byKey.delete(w.key);
    };
    return true;
  }

  /**
   * The event of a write that changed `ev.node.key`: offered to watchers at the root, at every
   * ancestor and at the key itself (etcd's watcherHub.notify), in that order.
   */
  notify(ev: V2Event): void {
    if (this.registered === 0) return;
    const key = ev.node.key;
    if (key === undefined) throw new Error('WatcherHub: event without a key');
    this.match(ev, '/', false);
    for (let i = 1; i < key.length; i++) {
      if (key.charCodeAt(i) === 0x2f) this.match(ev, key.slice(0, i), false);
    }
    if (key.length > 1) this.match(ev, key, false);
  }

  /**
   * `removedPath` was removed by the event (a delete, compareAndDelete or expiry, possibly of an
   * ancestor): its watchers get the event whatever their mode. etcd then also runs notify(), so a
   * stream watcher on a removed key receives that event twice; the real etcd does.
   */
  notifyRemoved(ev: V2Event, removedPath: string): void {
    if (this.registered === 0) return;
    this.match(ev, removedPath, true);
  }

  /** Delivers what the last write matched. Re-entrant calls (a listener writing) queue behind. */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let i = 0; i < this.outbox.length; i++) {
        const { watcher, ev } = this.outbox[i]!;
        try {
          watcher.offer(ev);
        } catch (err: unknown) {
          // A listener bug must not abort the delivery to others nor the write; crash loudly instead.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    } finally {
      this.outbox.length = 0;
      this.dispatching = false;
    }
  }

  /** etcd's notifyWatchers for the watchers registered exactly at `watchPath`. */
  private match(ev: V2Event, watchPath: string, deleted: boolean): void {
    const watchers = this.byKey.get(watchPath);
    if (watchers === undefined) return;
    const eventKey = ev.node.key!;
    const originalPath = eventKey === watchPath;
    if (!originalPath && isHiddenBelow(watchPath, eventKey)) return;
    for (const w of watchers) {
      if (!(w.recursive || originalPath || deleted) || ev.index < w.sinceIndex) continue;
      if (!w.stream) w.detachFromHub(); // a one-shot watcher takes one event: never match it again
      this.outbox.push({ watcher: w, ev });
    }
  }
}
