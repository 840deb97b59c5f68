// The storage raft reads from, as etcd-io/raft's Storage: synchronous and read-only from raft's
// point of view. The application appends to it after persisting each Ready (see src/storage, which
// keeps the un-compacted log in memory and LevelDB as the durable copy, as etcd keeps a
// MemoryStorage in front of its WAL).
import { NONE, type ConfState, type Entry, type HardState, type Snapshot } from './messages.js';

export type StorageErrorCode =
  /** The requested index is older than the first retained entry (compacted into a snapshot). */
  | 'compacted'
  /** The requested index is beyond the last entry. */
  | 'unavailable'
  /** A snapshot is being produced; ask again later. */
  | 'snapshot-temporarily-unavailable';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message?: string) {
    super(message ?? `raft storage: ${code}`);
    this.name = 'StorageError';
    this.code = code;
  }
}

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

export interface Storage {
  /** The saved HardState and ConfState, read once when a node starts. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at least one entry if any exist in range, and no more than maxBytes in
   * total beyond the first (sizes as computed by entrySizeBytes). Throws StorageError('compacted')
   * when lo <= the snapshot index, StorageError('unavailable') when hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The term of entry i, for i in [firstIndex()-1, lastIndex()]; throws StorageError otherwise. */
  term(i: number): number;
  /** Index of the first entry still available (the snapshot's index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; its metadata.index is 0 when there is none. */
  snapshot(): Snapshot;
}

/** Size used for byte-bounded batching: the payload plus a fixed per-entry overhead. */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 24;
}

/**
 * Storage kept in memory, as etcd-io/raft's MemoryStorage. The durable layer (src/storage) loads
 * its LevelDB contents into one of these at startup and appends to it after each persisted Ready.
 * ents[0] is a dummy entry holding the snapshot's (index, term), so ents[i] has index
 * ents[0].index + i. Invariant: ents.length >= 1 and indexes are contiguous.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot = {
    data: new Uint8Array(0),
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
  };
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  /** Sets the membership to report before any snapshot exists (a brand-new cluster's bootstrap). */
  setConfState(cs: ConfState): void {
    this.snap = { ...this.snap, metadata: { ...this.snap.metadata, confState: cloneConfState(cs) } };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) {
      throw new StorageError('unavailable', `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (lo > hi) throw new Error(`MemoryStorage.entries: invalid range [${lo}, ${hi})`);
    // Only the dummy entry: nothing to return.
    if (this.ents.length === 1) throw new StorageError('unavailable');
    // Find the end within the byte budget first, so a far-behind follower costs O(batch), not
    // O(log): at least one entry, then whole entries while the total stays within maxBytes.
    const from = lo - offset;
    const to = hi - offset;
    if (from === to) return [];
    let end = from + 1;
    let size = entrySizeBytes(this.ents[from] as Entry);
    for (; end < to; end++) {
      size += entrySizeBytes(this.ents[end] as Entry);
      if (size > maxBytes) break;
    }
    return this.ents.slice(from, end);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new StorageError('compacted');
    if (i - offset >= this.ents.length) throw new StorageError('unavailable');
    return (this.ents[i - offset] as Entry).term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot (a follower receiving MsgSnap, or a restart). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index < this.snap.metadata.index) throw new StorageError('snapshot-temporarily-unavailable', 'snapshot out of date');
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  /** Makes a snapshot at index i (<= lastIndex) that can later be read by snapshot(). */
  createSnapshot(i: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new StorageError('snapshot-temporarily-unavailable', 'snapshot out of date');
    const offset = this.offset();
    if (i > this.lastIndex()) throw new Error(`MemoryStorage.createSnapshot: ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      data,
      metadata: {
        index: i,
        term: (this.ents[i - offset] as Entry).term,
        confState: confState ? cloneConfState(confState) : this.snap.metadata.confState,
      },
    };
    return this.snap;
  }

  /** Discards all entries before compactIndex. The application must not compact past applied. */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new StorageError('compacted');
    if (compactIndex > this.lastIndex()) throw new Error(`MemoryStorage.compact: ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head = this.ents[i] as Entry;
    this.ents = [{ term: head.term, index: head.index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries; a suffix of the existing log that conflicts (same index) is replaced.
   * Entries must be contiguous and must not leave a gap after lastIndex().
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (let k = 1; k < entries.length; k++) {
      if ((entries[k] as Entry).index !== (entries[k - 1] as Entry).index + 1) throw new Error('MemoryStorage.append: entries are not contiguous');
    }
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return; // all already compacted
    // Drop the part of `entries` that is already compacted.
    let incoming = entries;
    if (first > (entries[0] as Entry).index) incoming = entries.slice(first - (entries[0] as Entry).index);
    const offset = (incoming[0] as Entry).index - this.offset();
    if (offset > this.ents.length) {
      throw new Error(`MemoryStorage.append: missing log entry [last: ${this.lastIndex()}, append at: ${(incoming[0] as Entry).index}]`);
    }
    // Truncate a conflicting suffix in place and append: O(appended), not O(log).
    // (entries() hands out copies, so nobody else holds this array.)
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of incoming) this.ents.push(e);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}

function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
