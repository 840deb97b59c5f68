// The storage raft reads from, as etcd-io/raft's Storage: synchronous and read-only from raft's
// point of view. The application appends to it after persisting each Ready (see src/storage, which
// keeps the un-compacted log in memory and LevelDB as the durable copy, as etcd keeps a
// MemoryStorage in front of its WAL).
import type { ConfState, Entry, HardState, Snapshot } from './messages.js';

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
