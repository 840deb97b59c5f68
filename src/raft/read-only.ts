// The leader's queue of ReadIndex requests (etcd-io/raft read_only.go, ReadOnlySafe; thesis §6.4).
// A read at index i is safe once a majority has acknowledged a heartbeat sent after the request
// arrived: then no newer leader can have committed anything this leader does not know of.
// Bounded by maxPending; requests are keyed by their context, which must be unique cluster-wide.
import type { Message, NodeId } from './messages.js';
import { assert } from './assert.js';

export interface ReadIndexStatus {
  /** The request (from this node or forwarded by a follower). */
  req: Message;
  /** The leader's commit index when the request arrived. */
  index: number;
  /** Voters that acknowledged a heartbeat carrying this request's context (or a later one's). */
  acks: Set<NodeId>;
}

/** A string key for a request context (contexts are small opaque byte strings). */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i] as number);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Keys in arrival order; a heartbeat ack for one key confirms every earlier one too. */
  private queue: string[] = [];

  constructor(readonly maxPending: number) {
    assert(maxPending > 0, 'maxPending must be positive');
  }

  get size(): number {
    return this.queue.length;
  }

  isFull(): boolean {
    return this.queue.length >= this.maxPending;
  }

  /** Queues a request read at `index`. A duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const ctx = m.context;
    assert(ctx !== undefined && ctx.length > 0, 'ReadIndex request without a context');
    const key = contextKey(ctx);
    if (this.pending.has(key)) return;
    assert(!this.isFull(), 'ReadOnly queue overflow');
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat for `ctx`; returns the acks so far. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Dequeues and returns every request up to and including the one for `ctx`. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of released) {
      const rs = this.pending.get(k);
      assert(rs !== undefined, 'ReadOnly queue and map out of sync');
      this.pending.delete(k);
      out.push(rs);
    }
    return out;
  }

  /** The context of the newest pending request, carried by the next heartbeat. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1] as string)?.req.context;
  }
}
