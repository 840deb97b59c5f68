// The tail of the log that is not yet durable (etcd-io/raft log_unstable.go): entries and maybe a
// snapshot that raft has accepted but the application has not yet persisted.
//
// Invariants:
//   entries[i].index === offset + i (contiguous);
//   if snapshot is set, offset === snapshot.metadata.index + 1;
//   offset <= offsetInProgress <= offset + entries.length.
// Entries in [offset, offsetInProgress) were handed out in a Ready whose persistence is under way;
// those at or after offsetInProgress are still to be handed out.
import type { Entry, Snapshot } from './messages.js';
import { assert, panic } from './assert.js';

export class UnstableLog {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: number;
  snapshotInProgress = false;
  offsetInProgress: number;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index if a snapshot is pending (entries before it are gone), else undefined. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot !== undefined ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== undefined) return this.snapshot.metadata.index;
    return undefined;
  }

  /** The term of entry i if the unstable part knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const k = i - this.offset;
    if (k >= this.entries.length) {
      // i === offset with no entries: only the snapshot (handled above when i < offset) can answer.
      return undefined;
    }
    return (this.entries[k] as Entry).term;
  }

  /** Entries not yet handed out in a Ready. */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (inProgress === this.entries.length) return [];
    return this.entries.slice(inProgress);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently unstable as handed out in a Ready (being persisted). */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * Entries up to (i, t) are durable: drop them from the unstable tail. Ignored when entry i is
   * no longer (i, t), i.e. it was overwritten by a newer leader while the write was under way.
   */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    if (i < this.offset) return; // matched the snapshot; only stableSnapTo may clear it
    if (gt !== t) return;
    const num = i + 1 - this.offset;
    this.entries = num === this.entries.length ? [] : this.entries.slice(num);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces the whole unstable state with a snapshot (the log before it is discarded). */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /**
   * Appends `ents`, first truncating any unstable entries at or after ents[0].index (a conflicting
   * suffix from a deposed leader, §5.3). The caller guarantees ents[0].index <= lastIndex + 1.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const fromIndex = (ents[0] as Entry).index;
    if (fromIndex === this.offset + this.entries.length) {
      // The common case: a direct continuation.
      for (const e of ents) this.entries.push(e);
    } else if (fromIndex <= this.offset) {
      // Replace the whole unstable tail (and part of what storage holds, which the application
      // overwrites when it persists these entries).
      this.entries = ents.slice();
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      // Truncate to fromIndex, then append.
      const kept = this.entries.slice(0, fromIndex - this.offset);
      for (const e of ents) kept.push(e);
      this.entries = kept;
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
  }

  /** O(1) structural check (contiguity is maintained by truncateAndAppend; its ends are checked). */
  checkInvariants(): void {
    const n = this.entries.length;
    if (n > 0) {
      if (!((this.entries[0] as Entry).index === this.offset)) panic(`unstable entries start at ${(this.entries[0] as Entry).index}, offset ${this.offset}`);
      if (!((this.entries[n - 1] as Entry).index === this.offset + n - 1)) panic(`unstable entries not contiguous up to ${this.offset + n - 1}`);
    }
    if (this.snapshot !== undefined) assert(this.offset === this.snapshot.metadata.index + 1, 'unstable offset != snapshot index + 1');
    assert(this.offset <= this.offsetInProgress && this.offsetInProgress <= this.offset + this.entries.length, 'offsetInProgress out of range');
  }
}
