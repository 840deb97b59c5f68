// Errors opening or writing the durable Raft state. Every code is stable: the runtime maps them to
// a refusal to start with a clear message, never to a silent repair.

export type DataDirErrorCode =
  /** The data dir belongs to another cluster (etcd: "cluster ID mismatch"). */
  | 'cluster-id-mismatch'
  /** The data dir belongs to another member of this cluster. */
  | 'member-id-mismatch'
  /** The data dir was written by an unknown (newer) on-disk format. */
  | 'unsupported-format'
  /** Raft state exists but the member metadata record is missing. */
  | 'missing-metadata'
  /** A key that cannot be a key we wrote (wrong length under a known prefix). */
  | 'corrupt-key'
  /** A value whose checksum, encoding or shape is wrong, or that disagrees with its key. */
  | 'corrupt-value'
  /** Log indexes are not contiguous (or do not start right after the snapshot). */
  | 'log-gap'
  /** A log entry's term is lower than the term of the entry before it. */
  | 'term-regression'
  /** The entry at the snapshot's index has another term than the snapshot. */
  | 'snapshot-log-mismatch'
  /** HardState.commit is beyond the last index in the log: entries were lost. */
  | 'commit-beyond-log'
  /** HardState.commit is below the snapshot's index. */
  | 'commit-before-snapshot'
  /** HardState.term is lower than the term of the last log entry. */
  | 'term-behind-log'
  /** The log continues from a snapshot but no snapshot file it can continue from is whole. */
  | 'snapshot-missing'
  /** LevelDB reported corruption of its own files. */
  | 'leveldb-corruption'
  /** Another process (or another instance in this process) holds the data dir. */
  | 'data-dir-locked'
  /** Any other I/O failure opening or writing the data dir. */
  | 'io-error'
  /** The data dir is a copy made by `etcd-ts backup`: it starts only with --force-new-cluster. */
  | 'backup-needs-force-new-cluster'
  /** The data dir is a copy that `etcd-ts backup` did not finish writing. */
  | 'incomplete-backup'
  /** The store was used after close(). */
  | 'closed';

export class DataDirError extends Error {
  readonly code: DataDirErrorCode;
  constructor(code: DataDirErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${message} [${code}]`, options);
    this.name = 'DataDirError';
    this.code = code;
  }
}
