// The safety properties the whole-member simulator checks as events happen, on what real members
// do (their applies, roles, votes, disk writes), independent of the member's own bookkeeping:
//   - State Machine Safety: every member applies the same entry (term and bytes) at an index;
//   - Election Safety: at most one leader per term, and only members lead;
//   - Single Vote: a member grants at most one vote per term, across restarts;
//   - Durable Commit: the commit index a member writes never covers an entry on its disk that is
//     not the committed one (checked against what members applied at that index).
// Client-level linearizability is checked per key from the clients' histories (clients.ts).
import { EntryType, Role, type Entry, type Message, type SoftState } from '../../../src/raft/index.js';
import { decodeMemberChange } from '../../../src/server/entry-codec.js';
import { decodeEntry, decodeHardState } from '../../../src/storage/codec.js';
import { entryKey, HARD_STATE_KEY } from '../../../src/storage/keys.js';
import { SafetyViolation } from '../checker.js';
import { simKeyString } from './sim-disk.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HARD_STATE = simKeyString(HARD_STATE_KEY);

export class MemberChecker {
  /** The first entry applied at each index, anywhere. */
  private readonly applied = new Map<number, { term: number; data: Uint8Array; by: string }>();
  private readonly leaders = new Map<number, string>();
  private readonly votes = new Map<string, Map<number, bigint>>();
  /** Entries a member's durable commit index covered, waiting to be compared with what gets applied. */
  private readonly durableClaims = new Map<number, { term: number; data: Uint8Array; by: string }[]>();
  /** The commit index last seen on each member's disk (checked from there on). */
  private readonly diskCommit = new Map<string, number>();
  maxApplied = 0;
  /** ReadIndex rounds in flight: context -> the highest index applied anywhere when it was asked. */
  private readonly readRounds = new Map<string, number>();

  /** The index of each member's removal, where it was first applied (the removal is committed there). */
  private readonly removedAt = new Map<bigint, number>();

  /** `memberIds`: every member ever added (the initial ones, then each addMember's id before it starts). */
  constructor(private readonly memberIds: Set<bigint>) {}

  /** A member added at run time (known before it can start, let alone lead). */
  addMember(id: bigint): void {
    this.memberIds.add(id);
  }

  /** Whether a committed entry removed this member. */
  isRemoved(id: bigint): boolean {
    return this.removedAt.has(id);
  }

  onApply(member: string, e: Entry): void {
    const known = this.applied.get(e.index);
    if (known === undefined) {
      this.applied.set(e.index, { term: e.term, data: e.data.slice(), by: member });
      if (e.type === EntryType.ConfChange) {
        const change = decodeMemberChange(e.data);
        if (change.change === 'remove' && !this.removedAt.has(change.memberId)) this.removedAt.set(change.memberId, e.index);
      }
      if (e.index > this.maxApplied) this.maxApplied = e.index;
      const claims = this.durableClaims.get(e.index);
      if (claims !== undefined) {
        this.durableClaims.delete(e.index);
        for (const c of claims) this.compareClaim(e.index, c);
      }
    } else if (known.term !== e.term || !sameBytes(known.data, e.data)) {
      throw new SafetyViolation('State Machine Safety', `${member} applied entry ${e.term}/${e.index}; ${known.by} applied ${known.term}/${e.index} with ${sameBytes(known.data, e.data) ? 'the same' : 'other'} bytes`);
    }
  }

  /**
   * `applied`: the reporting member's applied index. Only members lead: the leader is a member that
   * was added, and a member that applied the removal of X (X refuses nothing, but every raft
   * message from X is answered 410 there) never follows X afterwards, nor leads if it is X.
   */
  onSoftState(member: string, memberId: bigint, ss: SoftState, term: number, applied = 0): void {
    if (ss.lead !== 0n && !this.memberIds.has(ss.lead)) {
      throw new SafetyViolation('Leader Is A Member', `${member} follows ${ss.lead.toString(16)} in term ${term}, which is not a member`);
    }
    const removedAt = ss.lead === 0n ? undefined : this.removedAt.get(ss.lead);
    if (removedAt !== undefined && removedAt <= applied) {
      throw new SafetyViolation('Leader Is A Member', `${member} follows ${ss.lead.toString(16)} in term ${term} after it applied that member's removal at ${removedAt} (applied ${applied})`);
    }
    if (ss.role !== Role.Leader) return;
    const ownRemoval = this.removedAt.get(memberId);
    if (ownRemoval !== undefined && ownRemoval <= applied) throw new SafetyViolation('Leader Is A Member', `${member} leads term ${term} after it applied its own removal at ${ownRemoval}`);
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== member) throw new SafetyViolation('Election Safety', `two leaders in term ${term}: ${prev} and ${member}`);
    this.leaders.set(term, member);
    void memberId;
  }

  /** Every raft message a member sends (a granted vote is checked here: it promises durable state). */
  onSend(member: string, m: Message, granted: boolean): void {
    if (!granted) return;
    let byTerm = this.votes.get(member);
    if (byTerm === undefined) this.votes.set(member, (byTerm = new Map()));
    const prev = byTerm.get(m.term);
    if (prev !== undefined && prev !== m.to) {
      throw new SafetyViolation('Single Vote', `${member} granted its vote in term ${m.term} to ${prev.toString(16)} and to ${m.to.toString(16)}`);
    }
    byTerm.set(m.term, m.to);
  }

  /** A batch reached a member's disk: the commit index it records must cover only committed entries. */
  onDiskBatch(member: string, view: ReadonlyMap<string, Uint8Array>): void {
    const hsValue = view.get(HARD_STATE);
    if (hsValue === undefined) return;
    const commit = decodeHardState(hsValue).commit;
    const from = this.diskCommit.get(member) ?? 0;
    if (commit <= from) {
      this.diskCommit.set(member, commit);
      return;
    }
    for (let i = from + 1; i <= commit; i++) {
      const value = view.get(simKeyString(entryKey(i)));
      if (value === undefined) continue; // compacted or behind a snapshot (checked by load at restart)
      const e = decodeEntry(value);
      const claim = { term: e.term, data: e.data.slice(), by: member };
      const known = this.applied.get(i);
      if (known !== undefined) this.compareClaim(i, claim);
      else {
        let list = this.durableClaims.get(i);
        if (list === undefined) this.durableClaims.set(i, (list = []));
        if (list.length < 16) list.push(claim);
      }
    }
    this.diskCommit.set(member, commit);
  }

  /** A member's disk was wiped or restarted from what survived: recheck from its durable commit. */
  onDiskReset(member: string): void {
    this.diskCommit.delete(member);
  }

  private compareClaim(index: number, c: { term: number; data: Uint8Array; by: string }): void {
    const known = this.applied.get(index);
    if (known === undefined) return;
    if (known.term !== c.term || !sameBytes(known.data, c.data)) {
      throw new SafetyViolation('Durable Commit', `${c.by} wrote a commit index covering its entry ${c.term}/${index}, but the committed entry at ${index} is ${known.term}/${index}`);
    }
  }

  /**
   * Linearizable reads (thesis §6.4): a ReadIndex answer is at least every index committed before
   * the round was asked (here: applied by anyone, which only committed entries are).
   */
  onReadIndexRequested(member: string, ctx: Uint8Array): void {
    if (this.readRounds.size > 100_000) this.readRounds.clear();
    this.readRounds.set(`${member}:${Buffer.from(ctx).toString('hex')}`, this.maxApplied);
  }

  onReadIndex(member: string, ctx: Uint8Array, index: number): void {
    const key = `${member}:${Buffer.from(ctx).toString('hex')}`;
    const floor = this.readRounds.get(key);
    if (floor === undefined) return; // asked by an earlier incarnation
    this.readRounds.delete(key);
    if (index < floor) {
      throw new SafetyViolation('Linearizable Read Index', `${member} got read index ${index}, but index ${floor} was committed (and applied) before it asked`);
    }
  }

  /** A member restarted: its read rounds in flight are gone with its memory. */
  forgetReads(member: string): void {
    for (const key of this.readRounds.keys()) if (key.startsWith(`${member}:`)) this.readRounds.delete(key);
  }

  appliedTermAt(index: number): number | undefined {
    return this.applied.get(index)?.term;
  }
}
