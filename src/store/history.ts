// The last `capacity` events (etcd's EventHistory), for watches with a waitIndex. Every successful
// write, refresh and expiry consumes exactly one index and records exactly one event, so the retained
// events have consecutive indexes and index N sits at a computable slot of the ring.
import { ErrorCode, EtcdError } from './errors.js';
import type { V2Event } from './event.js';

export class EventHistory {
  readonly capacity: number;
  private readonly ring: (V2Event | undefined)[];
  /** Slot of the oldest retained event. */
  private front = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`EventHistory: bad capacity ${capacity}`);
    this.capacity = capacity;
    this.ring = new Array<V2Event | undefined>(capacity).fill(undefined);
  }

  size(): number {
    return this.count;
  }

  /** Index of the oldest retained event; 0 when empty (as etcd's zero StartIndex). */
  oldestIndex(): number {
    return this.count === 0 ? 0 : this.at(0).index;
  }

  /** Index of the newest retained event; 0 when empty. */
  newestIndex(): number {
    return this.count === 0 ? 0 : this.at(this.count - 1).index;
  }

  add(ev: V2Event): void {
    if (this.count > 0 && ev.index !== this.newestIndex() + 1) {
      throw new Error(`EventHistory: event ${ev.index} does not follow ${this.newestIndex()}`);
    }
    if (this.count < this.capacity) {
      this.ring[(this.front + this.count) % this.capacity] = ev;
      this.count++;
      return;
    }
    this.ring[this.front] = ev; // overwrite the oldest
    this.front = (this.front + 1) % this.capacity;
  }

  /** Oldest first: for snapshots. */
  events(): V2Event[] {
    const out: V2Event[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i));
    return out;
  }

  /**
   * etcd's EventHistory.scan: the first non-refresh event with index >= sinceIndex that concerns
   * `key`: the key itself; with `recursive`, anything below it (hidden keys included); and the delete
   * or expiry of a directory whose key is a plain string prefix of `key` (etcd compares raw strings,
   * so deleting `/fo` matches a watch on `/foo`; the real etcd answers so). null when nothing
   * retained matches or sinceIndex is in the future. A sinceIndex older than the oldest retained
   * event is etcd's 401, checked before any matching; its index is the caller's store index.
   */
  scan(key: string, recursive: boolean, sinceIndex: number, storeIndex: number): V2Event | null | EtcdError {
    if (this.count === 0) return null;
    const oldest = this.oldestIndex();
    if (sinceIndex < oldest) {
      return new EtcdError(ErrorCode.EventIndexCleared, `the requested history has been cleared [${oldest}/${sinceIndex}]`, storeIndex);
    }
    if (sinceIndex > this.newestIndex()) return null;
    const prefix = key.endsWith('/') ? key : `${key}/`;
    for (let i = sinceIndex - oldest; i < this.count; i++) {
      const ev = this.at(i);
      if (ev.refresh === true) continue;
      const eventKey = ev.node.key ?? '/';
      if (eventKey === key) return ev;
      if (recursive && eventKey.startsWith(prefix)) return ev;
      const prev = ev.prevNode;
      if ((ev.action === 'delete' || ev.action === 'expire') && prev?.dir === true && key.startsWith(prev.key ?? '/')) return ev;
    }
    return null;
  }

  private at(offset: number): V2Event {
    const ev = this.ring[(this.front + offset) % this.capacity];
    if (ev === undefined) throw new Error(`EventHistory: empty slot at offset ${offset}`);
    return ev;
  }
}
