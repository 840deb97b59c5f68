// The external shapes of the v2 store: nodes as etcd serialises them (NodeExtern) and the events a
// write, an expiry or a read produces. Objects are always built with their keys in etcd's JSON field
// order and without undefined-valued keys, so JSON.stringify gives etcd's bytes.

export type Action = 'get' | 'set' | 'create' | 'update' | 'compareAndSwap' | 'delete' | 'compareAndDelete' | 'expire';

/**
 * Field order (etcd's NodeExtern): key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex.
 * Absent fields are omitted, never undefined-valued.
 */
export interface NodeExtern {
  key?: string;
  value?: string;
  dir?: true;
  expiration?: string;
  ttl?: number;
  nodes?: NodeExtern[];
  modifiedIndex?: number;
  createdIndex?: number;
}

/** Events are shared between the writer, history and every watcher: treat them as read-only. */
export interface V2Event {
  action: Action;
  node: NodeExtern;
  prevNode?: NodeExtern;
  /** etcd index of the event: node.modifiedIndex for writes and expiries, the store index for a get. */
  index: number;
  /** a refresh: recorded in history, never delivered to watchers */
  refresh?: boolean;
}

export interface EventBody {
  action: Action;
  node: NodeExtern;
  prevNode?: NodeExtern;
}

/** The JSON body etcd sends for an event, in etcd's order (no index, no refresh flag). */
export function eventBody(ev: V2Event): EventBody {
  if (ev.prevNode === undefined) return { action: ev.action, node: ev.node };
  return { action: ev.action, node: ev.node, prevNode: ev.prevNode };
}

const nsPerMs = 1_000_000;

/**
 * Go's time.RFC3339Nano of the UTC instant: `2026-11-27T05:19:40.61384549Z`, trailing zeros of the
 * fraction trimmed (and the dot too when the fraction is zero). Sub-millisecond precision is kept to
 * the nanosecond the double carries.
 */
export function formatExpiration(expirationMs: number): string {
  if (!Number.isFinite(expirationMs)) throw new Error(`formatExpiration: not a finite time ${expirationMs}`);
  let wholeMs = Math.floor(expirationMs);
  let subMsNs = Math.round((expirationMs - wholeMs) * nsPerMs);
  if (subMsNs === nsPerMs) {
    wholeMs += 1;
    subMsNs = 0;
  }
  const iso = new Date(wholeMs).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const msOfSecond = ((wholeMs % 1000) + 1000) % 1000;
  const fractionNs = msOfSecond * nsPerMs + subMsNs;
  const seconds = iso.slice(0, 19);
  if (fractionNs === 0) return `${seconds}Z`;
  const fraction = String(fractionNs).padStart(9, '0').replace(/0+$/, '');
  return `${seconds}.${fraction}Z`;
}

/**
 * etcd's `ttl`: ceiling((expiration - now) / 1 s) for a future expiration, Go's truncation toward
 * zero otherwise (so a just-passed expiration gives 0 and a long-passed one a negative number, as
 * etcd reports for a key whose expiry sync is late). The difference is first rounded to the
 * microsecond: the proposer computes expiration = time + ttl * 1000 in floating point, and that
 * rounding noise must not turn a fresh `ttl=5` into 6.
 */
export function remainingTtlSeconds(expirationMs: number, nowMs: number): number {
  const remainingUs = Math.round((expirationMs - nowMs) * 1000);
  const ttl = remainingUs > 0 ? Math.ceil(remainingUs / 1_000_000) : Math.trunc(remainingUs / 1_000_000);
  return ttl === 0 ? 0 : ttl; // no -0
}
