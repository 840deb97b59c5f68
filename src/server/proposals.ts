// This member's proposals on their way through raft. A proposal is queued until the Ready loop
// hands the whole queue to raft as one batch (one append and one MsgApp per follower for all of
// them); it then waits at the (index, term) where raft appended it, and is answered from the entry
// applied at that index only if that entry carries its term. Otherwise it was lost in a leader
// change: 'etcdserver: leader changed', never a false success. Queued and waiting together are
// bounded by maxPending.
import { ProposalDroppedError, type Entry, type ProposalTicket, type RawNode } from '../raft/index.js';
import { LEADER_CHANGED, ProposalError, TOO_MANY_REQUESTS, type NotLeaderError } from './backend.js';
import { encodeEntryCommand, type EntryCommand } from './entry-codec.js';
import type { EntryResult } from './state-machine.js';

interface Settle {
  resolve: (result: EntryResult) => void;
  reject: (err: Error) => void;
}

interface Waiter extends Settle {
  term: number;
}

interface Queued extends Settle {
  data: Uint8Array;
}

export interface ProposalsOptions {
  /** Proposals queued and waiting at once, at most; beyond it 'etcdserver: too many requests'. */
  maxPending: number;
  /** A proposal was queued: the Ready loop should run soon. */
  onQueued: () => void;
  /** `count` proposals failed (etcd_server_proposals_failed_total). */
  onFailed: (count: number) => void;
}

export class Proposals {
  private readonly o: ProposalsOptions;
  /** By the index raft appended each at. */
  private readonly waiters = new Map<number, Waiter>();
  private queue: Queued[] = [];

  constructor(options: ProposalsOptions) {
    this.o = options;
  }

  /** Proposals handed to raft and waiting for their entry to be applied. */
  get waiting(): number {
    return this.waiters.size;
  }

  get hasQueued(): boolean {
    return this.queue.length > 0;
  }

  /** Queues a command for the next batch; resolves with what applying its entry returned. */
  add(cmd: EntryCommand): Promise<EntryResult> {
    if (this.waiters.size + this.queue.length >= this.o.maxPending) {
      this.o.onFailed(1);
      return Promise.reject(new ProposalError(TOO_MANY_REQUESTS));
    }
    const data = encodeEntryCommand(cmd);
    return new Promise<EntryResult>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.o.onQueued();
    });
  }

  /**
   * Hands the queue to raft in one batch; each proposal then waits for its (index, term). When
   * raft drops the batch, every proposal in it fails: with `notLeader()` when this member is not
   * (or no longer) the leader.
   */
  flush(node: Pick<RawNode, 'proposeBatch'>, notLeader: () => NotLeaderError): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    let tickets: ProposalTicket[];
    try {
      tickets = node.proposeBatch(batch.map((p) => p.data));
    } catch (err: unknown) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.o.onFailed(batch.length);
      const failure =
        err.reason === 'not-leader' || err.reason === 'no-leader'
          ? notLeader()
          : new ProposalError(err.reason === 'leadership-transfer' ? LEADER_CHANGED : TOO_MANY_REQUESTS);
      for (const p of batch) p.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const ticket = tickets[i] as ProposalTicket;
      const p = batch[i] as Queued;
      if (this.waiters.has(ticket.index)) throw new Error(`Proposals: two proposals at index ${ticket.index}`);
      this.waiters.set(ticket.index, { term: ticket.term, resolve: p.resolve, reject: p.reject });
    }
  }

  /**
   * Proposes a membership change at once (raft takes one at a time); resolves with what applying
   * its entry returned. Rejects with `notLeader()` on a follower, or a ProposalError when raft
   * drops it (another change still pending: etcd's "etcdserver: request timed out" would follow).
   */
  addConfChange(node: Pick<RawNode, 'proposeConfChange'>, data: Uint8Array, notLeader: () => NotLeaderError): Promise<EntryResult> {
    if (this.waiters.size + this.queue.length >= this.o.maxPending) {
      this.o.onFailed(1);
      return Promise.reject(new ProposalError(TOO_MANY_REQUESTS));
    }
    let ticket: ProposalTicket;
    try {
      ticket = node.proposeConfChange(data);
    } catch (err: unknown) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.o.onFailed(1);
      if (err.reason === 'not-leader' || err.reason === 'no-leader') return Promise.reject(notLeader());
      return Promise.reject(new ProposalError(err.reason === 'leadership-transfer' ? LEADER_CHANGED : TOO_MANY_REQUESTS));
    }
    if (this.waiters.has(ticket.index)) throw new Error(`Proposals: two proposals at index ${ticket.index}`);
    return new Promise<EntryResult>((resolve, reject) => {
      this.waiters.set(ticket.index, { term: ticket.term, resolve, reject });
    });
  }

  /** Answers the proposal that waits for the entry just applied, if any (paper §5.3: same index and term, same entry). */
  settle(applied: Entry, result: EntryResult): void {
    const w = this.waiters.get(applied.index);
    if (w === undefined) return;
    this.waiters.delete(applied.index);
    if (w.term === applied.term) w.resolve(result);
    else w.reject(new ProposalError(LEADER_CHANGED));
  }

  /** Fails every proposal, queued or waiting (leadership lost, or the member stops). */
  failAll(reason: string): void {
    if (this.waiters.size === 0 && this.queue.length === 0) return;
    const failed: Settle[] = [...this.waiters.values(), ...this.queue];
    this.waiters.clear();
    this.queue = [];
    this.o.onFailed(failed.length);
    for (const p of failed) p.reject(new ProposalError(reason));
  }
}
