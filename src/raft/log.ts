// The raft log (etcd-io/raft log.go): the durable prefix in Storage followed by the unstable tail.
//
//   snapshot/compacted | storage entries ........ | unstable entries ......
//   ... firstIndex-1   | firstIndex ...           | unstable.offset ... lastIndex
//
// Invariants: applied <= applying <= committed <= lastIndex; firstIndex-1 <= committed.
// Reads are bounded: no call copies more than the requested byte budget of entries.
import type { Entry, Snapshot } from './messages.js';
import { panic } from './assert.js';
import { UnstableLog } from './log-unstable.js';
import { entrySizeBytes, StorageError, type Storage } from './storage.js';

export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** The highest index known to be stored on a majority (§5.3). Never decreases. */
  committed: number;
  /** The highest index handed to the application in a Ready's committedEntries. */
  applying: number;
  /** The highest index the application has applied (acknowledged by advance()). */
  applied: number;
  /** Bound on the bytes of committed entries handed out but not yet applied. */
  readonly maxApplyingEntsBytes: number;
  private applyingEntsBytes = 0;
  private applyingEntsPaused = false;

  constructor(storage: Storage, maxApplyingEntsBytes: number) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    if (!(firstIndex >= 1 && lastIndex >= firstIndex - 1)) panic(`storage range [${firstIndex}, ${lastIndex}] is invalid`);
    this.storage = storage;
    this.unstable = new UnstableLog(lastIndex + 1);
    // Everything up to the snapshot is committed and applied (its state is in the snapshot).
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.maxApplyingEntsBytes = maxApplyingEntsBytes;
  }

  toString(): string {
    return `committed=${this.committed} applied=${this.applied} applying=${this.applying} unstable.offset=${this.unstable.offset} unstable.offsetInProgress=${this.unstable.offsetInProgress} len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * The follower side of AppendEntries (§5.3): if our log has (prevIndex, prevTerm), append the
   * new entries, truncating at the first conflict, and advance commit to min(commit, last new).
   * Returns the index of the last new entry, or undefined if the consistency check failed.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) panic(`entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      const offset = prevIndex + 1;
      if (!(ci - offset <= ents.length)) panic(`conflict index ${ci} out of range of the appended entries`);
      this.append(ci - offset === 0 ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(commit, lastNewIndex));
    return lastNewIndex;
  }

  /** Appends entries (truncating an uncommitted conflicting suffix); returns the new lastIndex. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    if (after < this.committed) panic(`append after(${after}) is out of range [committed(${this.committed})]`);
    if (!(after <= this.lastIndex())) panic(`append would leave a gap: after ${after}, lastIndex ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of `ents` that is not already in the log with the same term:
   * a conflict (same index, different term) or the first new entry. 0 if all are present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or whose term is unknown because it is
   * compacted), with that term (0 when unknown). Used for fast backtracking over divergent logs:
   * a log never has a term larger than `term` below such an index. Terms never decrease along a
   * log, so this is a binary search rather than a walk down the divergent tail.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    const lo0 = this.firstIndex() - 1;
    // Outside what we hold, the term is unknown: assume a possible match there.
    if (index < lo0 || index > this.lastIndex()) return { index, term: 0 };
    const termAtLo = this.term(lo0);
    if (termAtLo > term) {
      // Everything we still hold is newer; the answer lies in the compacted prefix.
      return { index: Math.max(lo0 - 1, 0), term: 0 };
    }
    // Invariant: term(lo) <= term; answer in [lo, hi].
    let lo = lo0;
    let hi = index;
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      if (this.term(mid) <= term) lo = mid;
      else hi = mid - 1;
    }
    return { index: lo, term: this.term(lo) };
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  /**
   * Committed entries not yet handed out for application, at most maxApplyingEntsBytes of them.
   * They may include entries not yet durable locally: RawNode runs in etcd's synchronous-storage
   * mode, where the application persists a Ready before it applies it.
   */
  nextCommittedEnts(): Entry[] {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    const maxBytes = this.maxApplyingEntsBytes - this.applyingEntsBytes;
    if (!(maxBytes > 0)) panic(`applying entry size (${this.maxApplyingEntsBytes}-${this.applyingEntsBytes}) not positive`);
    return this.slice(lo, hi, maxBytes);
  }

  hasNextCommittedEnts(): boolean {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.committed;
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== undefined;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Advances the commit index; it never decreases and never passes the last index. */
  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        panic(`tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
      }
      this.committed = toCommit;
    }
  }

  appliedTo(i: number, sizeBytes: number): void {
    if (this.committed < i || i < this.applied) {
      panic(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingEntsBytes = Math.max(0, this.applyingEntsBytes - sizeBytes);
    this.applyingEntsPaused = this.applyingEntsBytes >= this.maxApplyingEntsBytes;
  }

  /** Entries up to i (of sizeBytes in total) were handed out for application. */
  acceptApplying(i: number, sizeBytes: number): void {
    if (this.committed < i) panic(`applying(${i}) is out of range [prevApplying(${this.applying}), committed(${this.committed})]`);
    this.applying = i;
    this.applyingEntsBytes += sizeBytes;
    // Pause when the budget is used up, or when the batch was cut short by it.
    this.applyingEntsPaused = this.applyingEntsBytes >= this.maxApplyingEntsBytes || i < this.committed;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry i, for i in [firstIndex-1, lastIndex] (the entry before firstIndex is
   * compacted but its term is kept for the AppendEntries consistency check).
   * Returns undefined when i is compacted or beyond the log.
   */
  maybeTerm(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof StorageError && (err.code === 'compacted' || err.code === 'unavailable')) return undefined;
      throw err;
    }
  }

  /** The term of entry i, which must be in [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const t = this.maybeTerm(i);
    if (t === undefined) panic(`term(${i}) is out of the log [${this.firstIndex() - 1}, ${this.lastIndex()}]`);
    return t;
  }

  /** Entries from i to the end, at most maxBytes (but at least one). Throws StorageError('compacted'). */
  entries(i: number, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxBytes);
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.maybeTerm(i);
    return t !== undefined && t === term;
  }

  /**
   * Commits up to maxIndex if entry maxIndex is from `term` — only entries of the leader's current
   * term are committed by counting replicas (§5.4.2, Figure 8).
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && term !== 0 && this.maybeTerm(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /**
   * Entries [lo, hi), the longest prefix within maxBytes but at least one entry. Reads the storage
   * part first, then the unstable part, never copying beyond the budget.
   * Throws StorageError('compacted') when lo < firstIndex.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > hi) panic(`invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new StorageError('compacted');
    const upper = this.lastIndex() + 1;
    if (hi > upper) panic(`slice[${lo},${hi}) out of bound [${first},${upper - 1}]`);
    if (lo === hi) return [];

    const offset = this.unstable.offset;
    let ents: Entry[] = [];
    let sizeBytes = 0;
    if (lo < offset) {
      const storedHi = Math.min(hi, offset);
      ents = this.storage.entries(lo, storedHi, maxBytes);
      if (ents.length === 0) panic(`storage returned no entries for [${lo}, ${storedHi})`);
      if (ents.length < storedHi - lo || hi <= offset) return ents;
      for (const e of ents) sizeBytes += entrySizeBytes(e);
      if (sizeBytes >= maxBytes) return ents;
    }
    if (hi > offset) {
      const from = Math.max(lo, offset);
      const base = this.unstable.entries;
      let end = from - offset;
      const endMax = hi - offset;
      // At least one entry overall.
      while (end < endMax) {
        const s = entrySizeBytes(base[end] as Entry);
        if ((ents.length > 0 || end > from - offset) && sizeBytes + s > maxBytes) break;
        sizeBytes += s;
        end++;
      }
      const tail = base.slice(from - offset, end);
      // Storage may hand out an array it keeps: never append to it in place.
      return ents.length === 0 ? tail : ents.concat(tail);
    }
    return ents;
  }
}

/** Sum of entry payload sizes, for the uncommitted-bytes bound (an empty no-op counts 0). */
export function payloadBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += e.data.byteLength;
  return n;
}

/** Sum of entrySizeBytes, for the applying bound. */
export function entriesSizeBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySizeBytes(e);
  return n;
}
