// Reads and validates everything a restart needs from the LevelDB directory. Any inconsistency is a
// DataDirError: a member must refuse to start on a damaged log rather than replay a wrong one.
import type { ConfState, Entry, HardState, Snapshot } from '../raft/messages.js';
import { EMPTY_HARD_STATE, isEmptyHardState } from '../raft/messages.js';
import { decodeConfState, decodeEntry, decodeHardState, decodeMetadata, decodeSnapshot, type MemberMetadata } from './codec.js';
import { DataDirError } from './errors.js';
import { CONF_STATE_KEY, ENTRY_RANGE, HARD_STATE_KEY, METADATA_KEY, SNAPSHOT_KEY, entryIndexOfKey } from './keys.js';
import type { KvStore } from './kv.js';

export type RaftDb = KvStore;

/** Entries are read from LevelDB in chunks of this many, bounding one iterator step's memory. */
const LOAD_CHUNK_ENTRIES = 1024;

export interface LoadedRaftState {
  /** Undefined only for a brand-new (completely empty) directory. */
  metadata: MemberMetadata | undefined;
  hardState: HardState;
  /** metadata.index is 0 when no snapshot was ever saved. */
  snapshot: Snapshot;
  /** The ConfState saved at bootstrap, if any (the snapshot's ConfState takes precedence). */
  bootstrapConfState: ConfState | undefined;
  /** Entries after the snapshot, in order: what the in-memory log is rebuilt from (all stored entries with keepCompactionTail). */
  entries: Entry[];
  /** Lowest and highest entry index stored on disk (first = last + 1 when there is none). */
  storedFirstIndex: number;
  storedLastIndex: number;
}

export const EMPTY_SNAPSHOT: Readonly<Snapshot> = Object.freeze({
  data: new Uint8Array(0),
  metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
});

export interface LoadOptions {
  /**
   * Keep the entries after the snapshot in `entries` (default true). False validates the whole log
   * in bounded memory (`entries` stays empty; the last entry's index and term are still checked).
   */
  keepEntries?: boolean;
  /**
   * Keep the stored entries at and below the snapshot index too (a restart that may fall back to
   * an older snapshot file needs them); default false.
   */
  keepCompactionTail?: boolean;
}

export async function loadRaftState(db: RaftDb, options: LoadOptions = {}): Promise<LoadedRaftState> {
  const keepEntries = options.keepEntries ?? true;
  const keepTail = options.keepCompactionTail ?? false;
  const metaValue = await db.get(METADATA_KEY);
  const metadata = metaValue === undefined ? undefined : decodeMetadata(metaValue);
  if (metadata === undefined && !(await isEmpty(db))) {
    throw new DataDirError('missing-metadata', 'raft log: the data dir holds raft state but no member metadata');
  }
  const hsValue = await db.get(HARD_STATE_KEY);
  const hardState = hsValue === undefined ? { ...EMPTY_HARD_STATE } : decodeHardState(hsValue);
  const snapValue = await db.get(SNAPSHOT_KEY);
  const snapshot = snapValue === undefined ? EMPTY_SNAPSHOT : decodeSnapshot(snapValue);
  const csValue = await db.get(CONF_STATE_KEY);
  const bootstrapConfState = csValue === undefined ? undefined : decodeConfState(csValue);

  const snapIndex = snapshot.metadata.index;
  const entries: Entry[] = [];
  let storedFirstIndex = 0;
  let prev: Entry | undefined;
  for await (const chunk of db.range(ENTRY_RANGE, LOAD_CHUNK_ENTRIES)) {
    for (const [key, value] of chunk) {
      const index = entryIndexOfKey(key);
      const entry = decodeEntry(value);
      if (entry.index !== index) {
        throw new DataDirError('corrupt-value', `raft log: entry stored under index ${index} says index ${entry.index}`);
      }
      if (prev === undefined) {
        storedFirstIndex = index;
      } else {
        if (index !== prev.index + 1) {
          throw new DataDirError('log-gap', `raft log: entries jump from index ${prev.index} to ${index}`);
        }
        if (entry.term < prev.term) {
          throw new DataDirError('term-regression', `raft log: entry ${index} has term ${entry.term} after term ${prev.term}`);
        }
      }
      if (index === snapIndex && entry.term !== snapshot.metadata.term) {
        throw new DataDirError(
          'snapshot-log-mismatch',
          `raft log: entry ${index} has term ${entry.term} but the snapshot at that index has term ${snapshot.metadata.term}`,
        );
      }
      if ((index > snapIndex || keepTail) && keepEntries) entries.push(entry);
      prev = entry;
    }
  }

  // No entry on disk is represented as the empty range [snapIndex + 1, snapIndex].
  const storedLastIndex = prev === undefined ? snapIndex : prev.index;
  if (prev === undefined) storedFirstIndex = snapIndex + 1;
  if (storedFirstIndex > snapIndex + 1) {
    throw new DataDirError('log-gap', `raft log: the snapshot ends at index ${snapIndex} but the log starts at ${storedFirstIndex}`);
  }
  const lastIndex = Math.max(snapIndex, storedLastIndex);
  const lastTerm = prev !== undefined && prev.index > snapIndex ? prev.term : snapshot.metadata.term;
  checkHardState(hardState, { snapIndex, lastIndex, lastTerm });
  return { metadata, hardState, snapshot, bootstrapConfState, entries, storedFirstIndex, storedLastIndex };
}

function checkHardState(hs: HardState, log: { snapIndex: number; lastIndex: number; lastTerm: number }): void {
  if (hs.commit > log.lastIndex) {
    throw new DataDirError('commit-beyond-log', `raft log: HardState commit ${hs.commit} is beyond the last index ${log.lastIndex}: committed entries are missing`);
  }
  if (!isEmptyHardState(hs) && hs.commit < log.snapIndex) {
    throw new DataDirError('commit-before-snapshot', `raft log: HardState commit ${hs.commit} is below the snapshot index ${log.snapIndex}`);
  }
  if (hs.term < log.lastTerm) {
    throw new DataDirError('term-behind-log', `raft log: HardState term ${hs.term} is below the last entry's term ${log.lastTerm}`);
  }
}

async function isEmpty(db: RaftDb): Promise<boolean> {
  return db.isEmpty();
}
