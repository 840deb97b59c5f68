// Simulated clients: they propose unique values (following the leader hint of a refused
// proposal, as the server's 307 redirect does), wait for their own node to apply them, retry the
// ones that were lost, and issue linearizable reads whose answers are checked against the writes
// committed before the read began.
import { NONE, ProposalDroppedError, ReadIndexDroppedError, type Entry, type NodeId, type ProposalTicket, type ReadState } from '../../src/raft/index.js';
import { decodeValue, encodeValue, SafetyViolation } from './checker.js';
import type { Cluster, SimNode } from './cluster.js';

interface InFlight {
  value: number;
  node: NodeId;
  gen: number;
  index: number;
  term: number;
}

interface PendingRead {
  node: NodeId;
  gen: number;
  /** Every index committed anywhere before the read was issued must be visible to it. */
  minIndex: number;
}

export class Workload {
  private nextValue = 0;
  /** Values not yet proposed successfully (new or to retry). */
  private pending: number[] = [];
  /** Accepted by a leader, waiting to be applied on that node, keyed by node then index. */
  private readonly inFlight = new Map<NodeId, Map<number, InFlight>>();
  /** Acknowledged values and the index they were acknowledged at. */
  readonly acked = new Map<number, number>();
  private readonly reads = new Map<string, PendingRead>();
  private readSeq = 0;
  proposalsAccepted = 0;
  proposalsRefused = 0;
  redirects = 0;
  readsServed = 0;

  constructor(private readonly cluster: Cluster) {
    cluster.onApply = (node, e) => this.onApply(node, e);
    cluster.onReadState = (node, rs) => this.onReadState(node, rs);
  }

  /** Values proposed but not yet acknowledged. */
  get outstanding(): number {
    let n = this.pending.length;
    for (const m of this.inFlight.values()) n += m.size;
    return n;
  }

  newValues(count: number): void {
    for (let i = 0; i < count; i++) this.pending.push(this.nextValue++);
  }

  /** Tries to place every pending value, starting at `via` and following leader hints. */
  proposePending(via: NodeId): void {
    // When `via` leads, everything pending goes as one batch (as the member runtime proposes what
    // one event-loop turn collected); otherwise value by value, following leader hints.
    if (this.pending.length > 1 && this.cluster.node(via).rn?.isLeader() === true && this.proposeBatch(via)) return;
    const retry: number[] = [];
    while (this.pending.length > 0) {
      const value = this.pending.shift() as number;
      if (!this.tryPropose(value, via)) retry.push(value);
    }
    this.pending.push(...retry);
  }

  private proposeBatch(leader: NodeId): boolean {
    const node = this.cluster.node(leader);
    const values = this.pending.slice();
    try {
      const tickets = this.cluster.withNode(leader, (rn) => rn.proposeBatch(values.map((v) => encodeValue(v))));
      if (tickets === undefined) return false;
      this.pending = [];
      tickets.forEach((ticket, i) => this.track(node, values[i] as number, ticket));
      return true;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.proposalsRefused++;
      return false;
    }
  }

  private tryPropose(value: number, via: NodeId): boolean {
    let target = via;
    for (let hop = 0; hop < 2; hop++) {
      const node = this.cluster.node(target);
      const rn = node.rn;
      if (rn === undefined) return false;
      if (!rn.isLeader()) {
        // What the HTTP layer does before proposing: redirect to the known leader (one hop), or
        // fail fast when none is known. (propose() would throw the same hint; see rawnode.test.)
        if (hop > 0 || rn.leaderId === NONE || rn.leaderId === target) return false;
        this.redirects++;
        target = rn.leaderId;
        continue;
      }
      try {
        const ticket = this.cluster.withNode(target, (rn) => rn.propose(encodeValue(value)));
        if (ticket === undefined) return false;
        this.track(node, value, ticket);
        return true;
      } catch (err) {
        if (!(err instanceof ProposalDroppedError)) throw err;
        this.proposalsRefused++;
        if (err.reason === 'not-leader' && err.leaderId !== NONE && err.leaderId !== target) {
          this.redirects++;
          target = err.leaderId;
          continue;
        }
        return false;
      }
    }
    return false;
  }

  /** `leader` accepted `value` at `ticket`: wait for it to be applied there. */
  private track(leader: SimNode, value: number, ticket: ProposalTicket): void {
    let m = this.inFlight.get(leader.id);
    if (m === undefined) this.inFlight.set(leader.id, (m = new Map()));
    const prev = m.get(ticket.index);
    if (prev !== undefined) this.pending.push(prev.value); // overwritten slot: its fate is unknown
    m.set(ticket.index, { value, node: leader.id, gen: leader.gen, index: ticket.index, term: ticket.term });
    this.proposalsAccepted++;
  }

  private onApply(node: SimNode, e: Entry): void {
    const m = this.inFlight.get(node.id);
    if (m === undefined) return;
    const f = m.get(e.index);
    if (f === undefined) return;
    m.delete(e.index);
    if (f.gen !== node.gen) {
      this.pending.push(f.value);
      return;
    }
    if (e.term === f.term) {
      if (decodeValue(e.data) !== f.value) {
        throw new SafetyViolation('Proposal Integrity', `node ${node.id} proposed ${f.value} at ${f.term}/${f.index} but applied ${decodeValue(e.data)}`);
      }
      this.acked.set(f.value, e.index);
    } else {
      // Another leader's entry took this index: the proposal was lost; retry it.
      this.pending.push(f.value);
    }
  }

  /**
   * Proposals whose entry is no longer in their node's log (overwritten by a newer leader) will
   * never be applied there: retry them. Entries of a term are only ever written by its leader, so
   * once the log lacks (index, term) the proposal is lost for good.
   */
  sweepLost(): void {
    for (const [id, m] of this.inFlight) {
      if (m.size === 0) continue;
      const rn = this.cluster.node(id).rn;
      if (rn === undefined) continue;
      for (const [index, f] of m) {
        if (rn.term > f.term && rn.raft.log.maybeTerm(index) !== f.term) {
          m.delete(index);
          this.pending.push(f.value);
        }
      }
    }
  }

  /** A crashed node's in-flight proposals have an unknown fate: retry them (duplicates are fine). */
  onCrash(id: NodeId): void {
    const m = this.inFlight.get(id);
    if (m === undefined) return;
    for (const f of m.values()) this.pending.push(f.value);
    m.clear();
  }

  /** Issues a ReadIndex request on `via`. */
  read(via: NodeId): void {
    const node = this.cluster.node(via);
    if (node.rn === undefined || node.rn.leaderId === NONE) return;
    const ctxText = `r${via}.${this.readSeq++}`;
    const ctx = Uint8Array.from(ctxText, (c) => c.charCodeAt(0));
    try {
      this.cluster.withNode(via, (rn) => rn.readIndex(ctx));
      this.reads.set(ctxText, { node: via, gen: node.gen, minIndex: this.cluster.checker.maxCommitted });
    } catch (err) {
      if (!(err instanceof ReadIndexDroppedError)) throw err;
    }
    // Bound the map: forget reads whose answer never came (leadership changed).
    if (this.reads.size > 10_000) this.reads.clear();
  }

  private onReadState(node: SimNode, rs: ReadState): void {
    const key = String.fromCharCode(...rs.requestCtx);
    const r = this.reads.get(key);
    if (r === undefined) return;
    this.reads.delete(key);
    if (r.node !== node.id) throw new SafetyViolation('ReadIndex', `read ${key} answered on node ${node.id}`);
    if (rs.index < r.minIndex) {
      throw new SafetyViolation('Linearizable Read', `read ${key} got read index ${rs.index} but index ${r.minIndex} was committed before it began`);
    }
    this.readsServed++;
  }

  /** Every acknowledged value is in every node's state machine at its index. */
  checkAckedDurable(nodes: readonly SimNode[]): void {
    for (const [value, index] of this.acked) {
      for (const n of nodes) {
        if (n.applied[index] !== value) {
          throw new SafetyViolation('Durability', `acknowledged value ${value} at index ${index} is ${n.applied[index]} on node ${n.id}`);
        }
      }
    }
  }
}
