// The safety properties of Raft (paper Figure 3), checked as the simulation runs. Each check is
// O(1) per event (or per entry), so it can run after every step of thousands of schedules.
import { MessageType, NONE, type Entry, type HardState, type Message, type NodeId } from '../../src/raft/index.js';

export class SafetyViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

/** A value proposed by the workload: 4-byte big-endian id; the leader's no-op is empty (-1). */
export function encodeValue(v: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = (v >>> 24) & 0xff;
  b[1] = (v >>> 16) & 0xff;
  b[2] = (v >>> 8) & 0xff;
  b[3] = v & 0xff;
  return b;
}

export function decodeValue(data: Uint8Array): number {
  if (data.length === 0) return -1;
  if (data.length !== 4) throw new Error(`unexpected entry payload of ${data.length} bytes`);
  return (((data[0] as number) << 24) | ((data[1] as number) << 16) | ((data[2] as number) << 8) | (data[3] as number)) >>> 0;
}

const TERM_BITS = 2 ** 20;

function key(index: number, term: number): number {
  if (term >= TERM_BITS) throw new Error(`term ${term} too large for the checker's key`);
  return index * TERM_BITS + term;
}

export class Checker {
  /** Election Safety: at most one leader per term. */
  private readonly leaders = new Map<number, NodeId>();
  /** One vote per term per node, across restarts. */
  private readonly votes = new Map<NodeId, Map<number, NodeId>>();
  /** Log Matching: (index, term) determines the entry's value and its predecessor's term. */
  private readonly entryValue = new Map<number, number>();
  private readonly entryPrevTerm = new Map<number, number>();
  /** The committed prefix: term of each committed index, and the term in which it was first seen committed. */
  private readonly committedTerm: number[] = [0];
  private readonly commitSeenInTerm: number[] = [0];
  /** State Machine Safety: the value and term applied at each index. */
  private readonly appliedValue: number[] = [];
  private readonly appliedTerm: number[] = [];
  private readonly persistedTerm = new Map<NodeId, number>();
  private readonly persistedCommit = new Map<NodeId, number>();

  /** The highest index seen committed anywhere. */
  get maxCommitted(): number {
    return this.committedTerm.length - 1;
  }

  termOfCommitted(index: number): number | undefined {
    return this.committedTerm[index];
  }

  valueAppliedAt(index: number): number | undefined {
    return this.appliedValue[index];
  }

  /** `snapshotIndex`: the leader's log before it is compacted into a snapshot of committed state. */
  onLeader(id: NodeId, term: number, termAt: (i: number) => number | undefined, snapshotIndex = 0): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) throw new SafetyViolation('Election Safety', `two leaders in term ${term}: ${prev} and ${id}`);
    if (prev === id) return;
    this.leaders.set(term, id);
    // Leader Completeness (§5.4): every entry committed in an earlier term is in this leader's
    // log. By Log Matching it suffices to check the highest such index.
    for (let i = this.maxCommitted; i > 0; i--) {
      if ((this.commitSeenInTerm[i] as number) < term) {
        const t = termAt(i);
        if (t === undefined && i < snapshotIndex) break; // inside the leader's snapshot
        if (t !== this.committedTerm[i]) {
          throw new SafetyViolation('Leader Completeness', `leader ${id} of term ${term} has term ${t} at committed index ${i} (committed term ${this.committedTerm[i]})`);
        }
        break;
      }
    }
  }

  onPersistHardState(id: NodeId, hs: HardState): void {
    const t = this.persistedTerm.get(id) ?? 0;
    if (hs.term < t) throw new SafetyViolation('Term Monotonicity', `node ${id} persisted term ${hs.term} after ${t}`);
    this.persistedTerm.set(id, hs.term);
    const c = this.persistedCommit.get(id) ?? 0;
    if (hs.commit < c) throw new SafetyViolation('Commit Monotonicity', `node ${id} persisted commit ${hs.commit} after ${c}`);
    this.persistedCommit.set(id, hs.commit);
  }

  /** Entries being made durable on `id`; prevTerm is the term of the entry before the first one. */
  onPersistEntries(id: NodeId, ents: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of ents) {
      const k = key(e.index, e.term);
      const v = decodeValue(e.data);
      const known = this.entryValue.get(k);
      if (known === undefined) {
        this.entryValue.set(k, v);
        this.entryPrevTerm.set(k, prev);
      } else {
        const kp = this.entryPrevTerm.get(k);
        if (known !== v || kp !== prev) {
          throw new SafetyViolation('Log Matching', `node ${id} has entry ${e.term}/${e.index} = ${v} after term ${prev}, elsewhere = ${known} after term ${kp}`);
        }
      }
      prev = e.term;
    }
  }

  onSend(id: NodeId, m: Message): void {
    if (m.type === MessageType.MsgVoteResp && !m.reject) {
      let byTerm = this.votes.get(id);
      if (byTerm === undefined) this.votes.set(id, (byTerm = new Map()));
      const prev = byTerm.get(m.term);
      if (prev !== undefined && prev !== m.to) throw new SafetyViolation('Single Vote', `node ${id} voted for ${prev} and ${m.to} in term ${m.term}`);
      byTerm.set(m.term, m.to);
    }
  }

  /** Node `id` (in `nodeTerm`) moved its commit index from `from` to `to`. */
  onCommit(id: NodeId, nodeTerm: number, from: number, to: number, termAt: (i: number) => number | undefined): void {
    for (let i = from + 1; i <= to; i++) {
      const t = termAt(i);
      if (t === undefined) {
        // Installed from a snapshot (compacted away): checked value by value in onSnapshotValue.
        if (i <= this.maxCommitted) continue;
        throw new SafetyViolation('Commit', `node ${id} committed index ${i} it does not hold`);
      }
      if (i <= this.maxCommitted) {
        if (this.committedTerm[i] !== t) {
          throw new SafetyViolation('Log Matching (committed)', `node ${id} committed ${t}/${i}, but ${this.committedTerm[i]}/${i} was committed before`);
        }
      } else {
        if (i !== this.maxCommitted + 1) throw new SafetyViolation('Commit', `gap in committed prefix at ${i}`);
        this.committedTerm.push(t);
        this.commitSeenInTerm.push(nodeTerm);
      }
    }
  }

  /** State Machine Safety: no two nodes apply different entries at the same index. */
  onApply(id: NodeId, e: Entry): void {
    const v = decodeValue(e.data);
    const known = this.appliedValue[e.index];
    if (known === undefined) {
      this.appliedValue[e.index] = v;
      this.appliedTerm[e.index] = e.term;
    } else if (known !== v || this.appliedTerm[e.index] !== e.term) {
      throw new SafetyViolation('State Machine Safety', `node ${id} applied ${e.term}/${e.index} = ${v}; another node applied ${this.appliedTerm[e.index]}/${e.index} = ${known}`);
    }
    if (e.index > this.maxCommitted || this.committedTerm[e.index] !== e.term) {
      throw new SafetyViolation('Applied Uncommitted', `node ${id} applied ${e.term}/${e.index} which is not in the committed prefix`);
    }
  }

  /** A value installed from a snapshot must be what was applied at that index everywhere. */
  onSnapshotValue(id: NodeId, index: number, value: number): void {
    const known = this.appliedValue[index];
    if (known === undefined) throw new SafetyViolation('Snapshot', `node ${id} installed index ${index} that nobody applied`);
    if (known !== value) throw new SafetyViolation('State Machine Safety', `node ${id} installed ${value} at ${index} from a snapshot; applied elsewhere: ${known}`);
  }

  leaderOf(term: number): NodeId {
    return this.leaders.get(term) ?? NONE;
  }
}
