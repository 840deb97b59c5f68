// Writing a backup data dir (`etcd-ts backup`) and turning a data dir into a new one-member
// cluster (--force-new-cluster), both on the LevelDB layout of raft-log-store.ts.
//
// A backup is a plain data dir with three differences, as etcdctl backup makes for etcd: its
// metadata carries a random member id and cluster id (so it can never pass for the member it was
// copied from, nor join that cluster), a record under BACKUP_KEY says where it came from, and a
// plain start refuses it (raft-log-store.ts) until --force-new-cluster rewrites it.
//
// Crash safety: the first batch of a backup writes the new metadata and an "incomplete" record,
// the records follow, and only the last batch (fsynced, after the whole copy was validated) marks
// the record complete. An interrupted copy is refused everywhere ('incomplete-backup').
import { randomBytes } from 'node:crypto';
import type { ConfState, HardState } from '../raft/messages.js';
import {
  decodeBackupRecord,
  decodeHardState,
  decodeMetadata,
  decodeSnapshot,
  encodeBackupRecord,
  encodeConfState,
  encodeHardState,
  encodeMetadata,
  encodeSnapshot,
  FORMAT_VERSION,
  type BackupRecord,
  type MemberMetadata,
} from './codec.js';
import { DataDirError } from './errors.js';
import { BACKUP_KEY, CONF_STATE_KEY, HARD_STATE_KEY, METADATA_KEY, SNAPSHOT_KEY, entryIndexOfKey } from './keys.js';
import type { KvOp, KvStore } from './kv.js';
import { loadRaftState } from './load.js';

/** Records copied per LevelDB batch (and per chunk read from the source). */
export const BACKUP_CHUNK_RECORDS = 256;

/** A random 64-bit id, never 0 (as etcdctl backup's idutil generator gives new node and cluster ids). */
export function randomId64(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE(0);
    if (id !== 0n) return id;
  }
}

export interface BackupSource {
  /** Every key and value of the source data dir, in chunks, from one point-in-time view. */
  records: AsyncIterable<[Uint8Array, Uint8Array][]>;
  /**
   * The index the source member confirmed with a quorum before the view was taken (every entry up
   * to it is committed and in the view); undefined when none was confirmed.
   */
  confirmedIndex?: number;
}

export interface BackupSummary {
  /** The source member's metadata (its real ids and name). */
  source: MemberMetadata;
  /** What the backup's own metadata says (random ids). */
  backup: MemberMetadata;
  record: BackupRecord;
  records: number;
  entries: number;
  firstIndex: number;
  lastIndex: number;
  hardState: HardState;
}

/**
 * Copies `source` into the empty store `dest` as a backup. Throws DataDirError when the source is
 * not an etcd-ts data dir (no metadata), is a copy that did not finish, or fails validation.
 */
export async function writeBackup(dest: KvStore, source: BackupSource, nowMs: number): Promise<BackupSummary> {
  const backupMeta: MemberMetadata = { formatVersion: FORMAT_VERSION, clusterId: randomId64(), memberId: randomId64(), name: '' };
  let sourceMeta: MemberMetadata | undefined;
  let started = false;
  let records = 0;
  let entries = 0;
  const startRecord = (): BackupRecord => ({
    complete: false,
    sourceClusterId: sourceMeta?.clusterId ?? 0n,
    sourceMemberId: sourceMeta?.memberId ?? 0n,
    sourceName: sourceMeta?.name ?? '',
    takenAtMs: Math.round(nowMs),
    index: 0,
    quorum: source.confirmedIndex !== undefined,
  });
  for await (const chunk of source.records) {
    const ops: KvOp[] = [];
    for (const [key, value] of chunk) {
      records++;
      if (sameKey(key, METADATA_KEY)) {
        sourceMeta = decodeMetadata(value);
        backupMeta.name = sourceMeta.name;
        continue;
      }
      if (sameKey(key, BACKUP_KEY)) {
        // A backup of a backup: the source must be a complete one; it gets a record of its own.
        const b = decodeBackupRecord(value);
        if (!b.complete) throw new DataDirError('incomplete-backup', 'backup: the source is a copy that etcd-ts backup did not finish writing');
        continue;
      }
      if (key[0] === 0x65) {
        entryIndexOfKey(key);
        entries++;
      }
      ops.push({ type: 'put', key, value });
    }
    if (!started) {
      // 'm' sorts after 'e' (entries): the first batch marks the copy incomplete before anything else.
      started = true;
      await dest.batch([{ type: 'put', key: BACKUP_KEY, value: encodeBackupRecord(startRecord()) }], { sync: true });
    }
    if (ops.length > 0) await dest.batch(ops, { sync: false });
  }
  if (sourceMeta === undefined) {
    throw new DataDirError('missing-metadata', 'backup: the source holds no etcd-ts member metadata: it is not an etcd-ts data dir');
  }
  await dest.batch([{ type: 'put', key: METADATA_KEY, value: encodeMetadata(backupMeta) }], { sync: false });

  // The whole copy, as a start would read it (in bounded memory).
  const loaded = await loadRaftState(dest, { keepEntries: false });
  const lastIndex = Math.max(loaded.snapshot.metadata.index, loaded.storedLastIndex);
  let hardState = loaded.hardState;
  const confirmed = source.confirmedIndex;
  if (confirmed !== undefined && confirmed > lastIndex) {
    throw new DataDirError('commit-beyond-log', `backup: the member confirmed index ${confirmed} but the copy ends at ${lastIndex}`);
  }
  // The commit index on disk lags what was applied (it is written lazily): a confirmed index is committed.
  if (confirmed !== undefined && confirmed > hardState.commit) hardState = { ...hardState, commit: confirmed };
  const record: BackupRecord = { ...startRecord(), complete: true, index: confirmed ?? hardState.commit };
  await dest.batch(
    [
      { type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) },
      { type: 'put', key: BACKUP_KEY, value: encodeBackupRecord(record) },
    ],
    { sync: true },
  );
  return {
    source: sourceMeta,
    backup: backupMeta,
    record,
    records,
    entries,
    firstIndex: loaded.storedFirstIndex,
    lastIndex,
    hardState,
  };
}

export interface NewClusterIdentity {
  clusterId: bigint;
  memberId: bigint;
  name: string;
}

export interface ForcedNewCluster {
  /** The metadata the data dir had (a backup's random ids, or the old member's). */
  previous: MemberMetadata;
  /** Set when the data dir was a backup. */
  backup: BackupRecord | undefined;
  previousVoters: bigint[];
  /** The commit index on disk before, and after (the last index of the log). */
  previousCommit: number;
  commit: number;
  term: number;
}

/**
 * --force-new-cluster: rewrites the data dir in one fsynced batch so that it belongs to a new
 * one-member cluster of `identity`: metadata = identity; ConfState (and the snapshot's, if any) =
 * this member alone; HardState keeps its term, forgets its vote (it named a member of the old
 * cluster) and commits every entry of the log; a backup record is removed. The entries and the
 * snapshot data are kept as they are. Throws DataDirError for an empty or damaged dir.
 */
export async function rewriteForNewCluster(db: KvStore, identity: NewClusterIdentity): Promise<ForcedNewCluster> {
  const backupValue = await db.get(BACKUP_KEY);
  const backup = backupValue === undefined ? undefined : decodeBackupRecord(backupValue);
  if (backup !== undefined && !backup.complete) {
    throw new DataDirError('incomplete-backup', `raft log: ${db.location} is a copy that etcd-ts backup did not finish writing: take the backup again`);
  }
  const loaded = await loadRaftState(db, { keepEntries: false });
  if (loaded.metadata === undefined) {
    throw new DataDirError('missing-metadata', `--force-new-cluster needs a data dir with data, and ${db.location} is empty (is --data-dir the right one?)`);
  }
  const lastIndex = Math.max(loaded.snapshot.metadata.index, loaded.storedLastIndex);
  const alone: ConfState = { voters: [identity.memberId], learners: [] };
  const hardState: HardState = { term: loaded.hardState.term, vote: 0n, commit: lastIndex };
  const ops: KvOp[] = [
    { type: 'put', key: METADATA_KEY, value: encodeMetadata({ formatVersion: FORMAT_VERSION, ...identity, forcedAt: Math.max(1, lastIndex) }) },
    { type: 'put', key: CONF_STATE_KEY, value: encodeConfState(alone) },
    { type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) },
    { type: 'del', key: BACKUP_KEY },
  ];
  const snapValue = await db.get(SNAPSHOT_KEY);
  if (snapValue !== undefined) {
    const snap = decodeSnapshot(snapValue);
    ops.push({ type: 'put', key: SNAPSHOT_KEY, value: encodeSnapshot({ ...snap, metadata: { ...snap.metadata, confState: alone } }) });
  }
  await db.batch(ops, { sync: true });
  const previousVoters = loaded.snapshot.metadata.index > 0 ? loaded.snapshot.metadata.confState.voters : (loaded.bootstrapConfState?.voters ?? []);
  return {
    previous: loaded.metadata,
    backup,
    previousVoters: [...previousVoters],
    previousCommit: loaded.hardState.commit,
    commit: lastIndex,
    term: hardState.term,
  };
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
