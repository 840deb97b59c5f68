// Durable Raft state on LevelDB, with the un-compacted log kept in memory in a raft MemoryStorage
// (as etcd keeps a MemoryStorage in front of its WAL). Layout: <data-dir>/member/raft.
//
// Order of a Ready, as etcd's raftNode: save() writes the snapshot, entries and HardState in ONE
// LevelDB batch with sync (one fsync for all the proposals of that Ready), and only once that batch
// is durable updates the MemoryStorage (applySnapshot, append, setHardState). The caller sends the
// Ready's messages that depend on this state, and calls advance(), after save() resolves.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/messages.js';
import { isEmptySnapshot, isNodeId } from '../raft/messages.js';
import { MemoryStorage } from '../raft/storage.js';
import type { SnapshotFileReader } from './snap-files.js';
import { isSnapshotRef, snapshotRef } from './snapshot-ref.js';
import { decodeSnapshot, encodeConfState, encodeEntry, encodeHardState, encodeMetadata, encodeSnapshot, encodeSnapshotPieces, FORMAT_VERSION, isLegacyIdentity, type MemberMetadata } from './codec.js';
import { DataDirError } from './errors.js';
import { loadRaftState, type LoadedRaftState, type RaftDb } from './load.js';
import { ALL_KEYS_RANGE, BACKUP_KEY, CONF_STATE_KEY, entryKey, HARD_STATE_KEY, METADATA_KEY, SNAPSHOT_KEY } from './keys.js';
import { refuseBackup } from './backup-record.js';
import { openLevelKv, type KvOp, type KvOpener } from './kv.js';

/** Deletes issued by compact() go to LevelDB in batches of at most this many keys. */
const COMPACT_CHUNK_KEYS = 10_000;

export interface BatchWritten {
  durationMs: number;
  /** Bytes of keys and values in the batch. */
  bytes: number;
  entryCount: number;
  sync: boolean;
}

export interface RaftLogStoreOptions {
  /** The member's --data-dir; the log lives in <dataDir>/member/raft. */
  dataDir: string;
  /** Expected identity: a data dir written for another cluster or member is refused. */
  clusterId: bigint;
  memberId: bigint;
  name: string;
  /**
   * The voters of a brand-new cluster. Written together with the member metadata, in one fsynced
   * batch, only when this open creates the data dir, so no crash can leave a log without the
   * ConfState raft needs to restart. Ignored for an existing data dir.
   */
  initialConfState?: ConfState;
  /**
   * The first entries of a brand-new member's log and the HardState that goes with them (a new
   * cluster's bootstrap entries, committed from the start, as etcd-io/raft's Bootstrap makes
   * them). Written in the same fsynced batch as the metadata, only when this open creates the
   * data dir; ignored for an existing one. The entries must start at index 1.
   */
  initialEntries?: readonly Entry[];
  initialHardState?: HardState;
  /** Called after every durable batch (feeds etcd_disk_wal_fsync_duration_seconds). */
  onBatchWritten?: (batch: BatchWritten) => void;
  /** The key-value store under the log: LevelDB by default; the simulator passes its disk. */
  openKv?: KvOpener;
  /**
   * Called when the data dir is empty, before anything is written to it; if it throws, open
   * fails and the dir stays empty (the member's bootstrap check, src/server/bootstrap.ts).
   */
  beforeCreate?: () => Promise<void | JoinedIdentity>;
  /**
   * Take the member and cluster ids from an existing data dir that records a join (etcd reads them
   * from its WAL), instead of refusing a data dir whose ids differ from clusterId and memberId.
   */
  adoptJoinedIdentity?: boolean;
  /**
   * Where snapshot data lives (<data-dir>/member/snap, src/storage/snap-files.ts). With it, the
   * LevelDB log records only each snapshot's metadata and the data goes to a checksummed file,
   * written durably before the record that names it; open() loads the newest usable file. Without
   * it (tests of the log alone), the data is stored in LevelDB with its metadata.
   */
  snapshotFiles?: SnapshotFileStore;
}

/** What the log needs of the snapshot directory (SnapshotFiles in src/storage/snap-files.ts). */
export interface SnapshotFileStore {
  readonly dir: string;
  save(term: number, index: number, data: Uint8Array | readonly Uint8Array[], options?: { pause?: () => Promise<void> }): Promise<void>;
  load(accept: (info: { term: number; index: number; name: string }) => boolean): Promise<{
    loaded: { term: number; index: number; name: string; data: Uint8Array } | null;
    skipped: { name: string; reason: string }[];
  }>;
  /** Streaming a snapshot file to a peer and from one (SnapshotFiles in snap-files.ts); a store without them keeps snapshots' data in memory. */
  openRead?(term: number, index: number): Promise<SnapshotFileReader>;
  receive?(term: number, index: number, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  adoptReceived?(term: number, index: number): Promise<void>;
  readReceived?(term: number, index: number): Promise<Uint8Array>;
}

export interface RaftStateUpdate {
  hardState?: HardState;
  /** Entries to append; a conflicting suffix already on disk is replaced. */
  entries?: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole log. */
  snapshot?: Snapshot;
  /** The membership before any snapshot exists (a new cluster's bootstrap). */
  confState?: ConfState;
}

export interface SaveOptions {
  /** fsync the batch (default true). See mustSync() for when raft requires it. */
  sync?: boolean;
}

export interface OpenedRaftLog {
  store: RaftLogStore;
  /** The in-memory log raft reads, rebuilt from disk; save() keeps it up to date. */
  storage: MemoryStorage;
  hardState: HardState;
  /** metadata.index is 0 when there is none. */
  snapshot: Snapshot;
  /** The snapshot's ConfState, else the one saved at bootstrap, else empty. */
  confState: ConfState;
  firstIndex: number;
  lastIndex: number;
  /** True when the data dir was created by this open (first start of this member). */
  created: boolean;
  metadata: MemberMetadata;
}

/** As etcd-io/raft's MustSync: new entries or a changed term/vote must be fsynced before replying. */
export function mustSync(previous: HardState, next: HardState | undefined, entryCount: number): boolean {
  if (entryCount > 0) return true;
  if (next === undefined) return false;
  return next.term !== previous.term || next.vote !== previous.vote;
}

export function raftLogDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'raft');
}

export class RaftLogStore {
  private readonly db: RaftDb;
  private readonly memory: MemoryStorage;
  private readonly onBatchWritten: ((batch: BatchWritten) => void) | undefined;
  private readonly files: SnapshotFileStore | undefined;
  private closed = false;
  private writing = false;
  // What is on disk: entries [storedFirstIndex, storedLastIndex] (none when first > last), the
  // snapshot index, and the last index of the log (max of the snapshot's and the last entry's).
  private storedFirstIndex: number;
  private storedLastIndex: number;
  private snapshotIndex: number;
  private lastIndex: number;
  private hardState: HardState;
  /** The commit index a crash cannot take back: of the last synced batch (which syncs all before it). */
  private durableCommit: number;

  private constructor(
    db: RaftDb,
    memory: MemoryStorage,
    init: { storedFirstIndex: number; storedLastIndex: number; snapshotIndex: number; hardState: HardState },
    onBatchWritten?: (b: BatchWritten) => void,
    files?: SnapshotFileStore,
  ) {
    this.db = db;
    this.files = files;
    this.memory = memory;
    this.storedFirstIndex = init.storedFirstIndex;
    this.storedLastIndex = init.storedLastIndex;
    this.snapshotIndex = init.snapshotIndex;
    this.lastIndex = Math.max(init.snapshotIndex, init.storedLastIndex);
    this.hardState = init.hardState;
    this.durableCommit = init.hardState.commit;
    this.onBatchWritten = onBatchWritten;
  }

  /**
   * Opens (creating on first start) the member's raft log and loads it into a MemoryStorage.
   * Throws DataDirError: cluster-id-mismatch / member-id-mismatch for a dir of another cluster or
   * member, data-dir-locked when another process holds it, and a corruption code for a damaged dir.
   */
  static async open(options: RaftLogStoreOptions): Promise<OpenedRaftLog> {
    assert.ok(isNodeId(options.clusterId), 'RaftLogStore.open: clusterId must be a positive 64-bit integer (bigint)');
    assert.ok(isNodeId(options.memberId), 'RaftLogStore.open: memberId must be a positive 64-bit integer (bigint)');
    const location = raftLogDir(options.dataDir);
    let db: RaftDb;
    try {
      db = await (options.openKv ?? openLevelKv)(location);
    } catch (err) {
      throw mapLevelError(err, location);
    }
    try {
      return await RaftLogStore.load(db, options);
    } catch (err) {
      await db.close().catch(() => undefined);
      if (err instanceof CreateRefused) throw err.reason;
      if (err instanceof DataDirError) throw err;
      throw mapLevelError(err, location);
    }
  }

  private static async load(db: RaftDb, options: RaftLogStoreOptions): Promise<OpenedRaftLog> {
    const backup = await db.get(BACKUP_KEY);
    if (backup !== undefined) throw refuseBackup(backup, options.dataDir);
    const files = options.snapshotFiles;
    let loaded = await loadRaftState(db, { keepCompactionTail: files !== undefined });
    let metadata = loaded.metadata;
    const created = metadata === undefined;
    let bootstrapConfState = loaded.bootstrapConfState;
    if (metadata === undefined) {
      let joined: void | JoinedIdentity = undefined;
      if (options.beforeCreate !== undefined) {
        try {
          joined = await options.beforeCreate();
        } catch (err) {
          throw new CreateRefused(err);
        }
      }
      metadata =
        joined === undefined
          ? { formatVersion: FORMAT_VERSION, clusterId: options.clusterId, memberId: options.memberId, name: options.name }
          : { formatVersion: FORMAT_VERSION, clusterId: joined.clusterId, memberId: joined.memberId, name: options.name, joined: true, ...(joined.members !== undefined ? { joinedMembers: joined.members.map((m) => ({ id: m.id, peerURLs: [...m.peerURLs] })) } : {}) };
      const ops: BatchOp[] = [{ type: 'put', key: METADATA_KEY, value: encodeMetadata(metadata) }];
      if (options.initialConfState !== undefined) {
        bootstrapConfState = { voters: [...options.initialConfState.voters], learners: [...options.initialConfState.learners] };
        ops.push({ type: 'put', key: CONF_STATE_KEY, value: encodeConfState(bootstrapConfState) });
      }
      const initialEntries = options.initialEntries ?? [];
      initialEntries.forEach((e, k) => {
        assert.equal(e.index, k + 1, 'RaftLogStore.open: the initial entries must be at indexes 1, 2, ...');
        ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
      });
      if (options.initialHardState !== undefined) {
        assert.ok(options.initialHardState.commit <= initialEntries.length, 'RaftLogStore.open: the initial commit index is beyond the initial entries');
        ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(options.initialHardState) });
      }
      await db.batch(ops, { sync: true });
      // Read back what was just written, through the same path as any restart.
      if (initialEntries.length > 0 || options.initialHardState !== undefined) loaded = await loadRaftState(db);
    } else if (!(metadata.joined === true && options.adoptJoinedIdentity === true)) {
      checkIdentity(metadata, options);
    }

    const memory = new MemoryStorage();
    let snapshot = loaded.snapshot;
    const fromFile = files !== undefined && !isEmptySnapshot(snapshot) && snapshot.data.length === 0;
    if (fromFile) snapshot = await chooseSnapshotFile(files, loaded);
    // raft holds a reference to the file, not the state (the caller restores from `snapshot`)
    if (!isEmptySnapshot(snapshot)) memory.applySnapshot(fromFile ? asFileRef(snapshot) : snapshot);
    else if (bootstrapConfState !== undefined) memory.setConfState(bootstrapConfState);
    memory.setHardState(loaded.hardState);
    const after = snapshot.metadata.index;
    memory.append(loaded.entries[0] !== undefined && loaded.entries[0].index <= after ? loaded.entries.filter((e) => e.index > after) : loaded.entries);

    const store = new RaftLogStore(db, memory, {
      storedFirstIndex: loaded.storedFirstIndex,
      storedLastIndex: loaded.storedLastIndex,
      snapshotIndex: loaded.snapshot.metadata.index,
      hardState: loaded.hardState,
    }, options.onBatchWritten, files);
    return {
      store,
      storage: memory,
      hardState: { ...loaded.hardState },
      snapshot,
      confState: memory.initialState().confState,
      firstIndex: memory.firstIndex(),
      lastIndex: memory.lastIndex(),
      created,
      metadata,
    };
  }

  /**
   * Persists one Ready in a single LevelDB batch (fsynced unless sync: false), then applies it to
   * the MemoryStorage. Calls must not overlap: the runtime awaits each before the next Ready.
   */
  async save(update: RaftStateUpdate, options: SaveOptions = {}): Promise<void> {
    this.assertUsable('save');
    const sync = options.sync ?? true;
    const entries = update.entries ?? [];
    const snapshot = update.snapshot !== undefined && !isEmptySnapshot(update.snapshot) ? update.snapshot : undefined;
    const ops: BatchOp[] = [];
    let storedFirst = this.storedFirstIndex;
    let storedLast = this.storedLastIndex;
    let lastIndex = this.lastIndex;
    let snapshotIndex = this.snapshotIndex;

    if (snapshot !== undefined) {
      const index = snapshot.metadata.index;
      assert.ok(index > snapshotIndex, `RaftLogStore.save: snapshot ${index} is not newer than the stored snapshot ${snapshotIndex}`);
      ops.push({ type: 'put', key: SNAPSHOT_KEY, value: this.snapshotRecord(snapshot) });
      // An incoming snapshot replaces the log (as MemoryStorage.applySnapshot does).
      for (let i = storedFirst; i <= storedLast; i++) ops.push({ type: 'del', key: entryKey(i) });
      snapshotIndex = index;
      storedFirst = index + 1;
      storedLast = index;
      lastIndex = index;
    }

    if (entries.length > 0) {
      const first = (entries[0] as Entry).index;
      const last = (entries[entries.length - 1] as Entry).index;
      assert.equal(last - first + 1, entries.length, 'RaftLogStore.save: entries are not contiguous');
      assert.ok(first > snapshotIndex, `RaftLogStore.save: entry ${first} is at or below the snapshot index ${snapshotIndex}`);
      assert.ok(first <= lastIndex + 1, `RaftLogStore.save: entry ${first} would leave a gap after the last index ${lastIndex}`);
      let prevTerm: number | undefined;
      for (let k = 0; k < entries.length; k++) {
        const e = entries[k] as Entry;
        assert.equal(e.index, first + k, 'RaftLogStore.save: entries are not contiguous');
        assert.ok(prevTerm === undefined || e.term >= prevTerm, `RaftLogStore.save: entry ${e.index} has a lower term than the entry before it`);
        prevTerm = e.term;
        ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
      }
      // A conflicting suffix beyond the new entries is stale: delete it in the same batch.
      for (let i = last + 1; i <= storedLast; i++) ops.push({ type: 'del', key: entryKey(i) });
      if (storedFirst > storedLast) storedFirst = first;
      storedLast = last;
      lastIndex = last;
    }

    let hardState = this.hardState;
    if (update.hardState !== undefined) {
      hardState = { term: update.hardState.term, vote: update.hardState.vote, commit: update.hardState.commit };
      assert.ok(hardState.commit <= lastIndex, `RaftLogStore.save: commit ${hardState.commit} is beyond the last index ${lastIndex}`);
      assert.ok(hardState.term >= this.hardState.term, `RaftLogStore.save: term goes back from ${this.hardState.term} to ${hardState.term}`);
      ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) });
    }
    if (update.confState !== undefined) ops.push({ type: 'put', key: CONF_STATE_KEY, value: encodeConfState(update.confState) });
    if (ops.length === 0) return;

    // The data first (fsynced), then the record naming it: a crash between leaves a file the log
    // does not name, which open() ignores. A snapshot streamed from a peer is in its file already.
    let inMemory = snapshot;
    if (snapshot !== undefined && isSnapshotRef(snapshot.data)) {
      const files = this.files;
      assert.ok(files?.adoptReceived !== undefined, 'RaftLogStore.save: a snapshot file reference without snapshot files');
      await files.adoptReceived(snapshot.metadata.term, snapshot.metadata.index);
    } else if (snapshot !== undefined) {
      await this.writeSnapshotFile(snapshot);
      if (this.files !== undefined) inMemory = asFileRef(snapshot);
    }
    await this.write(ops, sync, entries.length);

    this.storedFirstIndex = storedFirst;
    this.storedLastIndex = storedLast;
    this.lastIndex = lastIndex;
    this.snapshotIndex = snapshotIndex;
    this.hardState = hardState;
    if (sync) this.durableCommit = hardState.commit;
    if (inMemory !== undefined) this.memory.applySnapshot(inMemory);
    if (update.confState !== undefined && snapshot === undefined && this.memory.snapshot().metadata.index === 0) {
      this.memory.setConfState(update.confState);
    }
    this.memory.append(entries);
    if (update.hardState !== undefined) this.memory.setHardState(hardState);
  }

  /**
   * Persists a snapshot this member made of its own applied state (MemoryStorage.createSnapshot):
   * writeSnapshotFile(), then recordLocalSnapshot().
   */
  async saveLocalSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertUsable('saveLocalSnapshot');
    await this.writeSnapshotFile(snapshot);
    await this.recordLocalSnapshot(snapshot);
  }

  /**
   * Writes a snapshot's data to its file (nothing without snapshot files). It does not touch the
   * LevelDB log, so it may run while save() writes the next Ready: a member writes a snapshot of
   * tens of MB without holding up its writes. The data is not copied (it must not change until
   * this resolves) and its checksums are computed in slices, awaiting `pause` between them, so the
   * event loop is never held for long. Resolves with how long the write took (ms).
   */
  async writeSnapshotFile(snapshot: Snapshot, options: { pause?: () => Promise<void> } = {}): Promise<number> {
    this.assertOpen('writeSnapshotFile');
    if (this.files === undefined) return 0;
    assert.ok(!isSnapshotRef(snapshot.data), 'RaftLogStore.writeSnapshotFile: the snapshot\'s data is a reference to its file already');
    const started = performance.now();
    const pieces = await encodeSnapshotPieces(snapshot, options.pause);
    await this.files.save(snapshot.metadata.term, snapshot.metadata.index, pieces, { pause: options.pause });
    return performance.now() - started;
  }

  /**
   * Records a local snapshot whose file writeSnapshotFile() wrote. Unlike a snapshot in save(), it
   * keeps the log: entries after it are still needed, and entries up to it stay until compact()
   * removes them.
   */
  async recordLocalSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertUsable('recordLocalSnapshot');
    const index = snapshot.metadata.index;
    assert.ok(index > this.snapshotIndex, `RaftLogStore.recordLocalSnapshot: snapshot ${index} is not newer than ${this.snapshotIndex}`);
    assert.ok(index <= this.lastIndex, `RaftLogStore.recordLocalSnapshot: snapshot ${index} is beyond the last index ${this.lastIndex}`);
    assert.ok(index <= this.hardState.commit, `RaftLogStore.recordLocalSnapshot: snapshot ${index} is beyond the commit index on disk ${this.hardState.commit}`);
    await this.write([{ type: 'put', key: SNAPSHOT_KEY, value: this.snapshotRecord(snapshot) }], true, 0);
    this.snapshotIndex = index;
    this.durableCommit = this.hardState.commit; // (a synced batch makes the ones before it durable)
  }

  /**
   * The commit index on disk that no crash can take back (a write without sync may be lost): a
   * local snapshot never goes beyond it, so a restart always finds its file within the commit index.
   */
  committedOnDisk(): number {
    return this.durableCommit;
  }

  /** What LevelDB keeps of a snapshot: its metadata only when the data is in a file. */
  private snapshotRecord(snapshot: Snapshot): Uint8Array {
    return encodeSnapshot(this.files === undefined ? snapshot : { metadata: snapshot.metadata, data: NO_DATA });
  }

  /**
   * Deletes stored entries with index <= compactIndex, which must be covered by the stored
   * snapshot. Only the disk copy: the caller compacts the MemoryStorage with its own catch-up
   * margin. Deletes go in chunks; a crash midway leaves a shorter but contiguous prefix deleted.
   * Returns the number of entries deleted.
   */
  async compact(compactIndex: number): Promise<number> {
    this.assertUsable('compact');
    assert.ok(compactIndex <= this.snapshotIndex, `RaftLogStore.compact: ${compactIndex} is beyond the snapshot index ${this.snapshotIndex}`);
    const end = Math.min(compactIndex, this.storedLastIndex);
    let deleted = 0;
    while (this.storedFirstIndex <= end) {
      const chunkEnd = Math.min(end, this.storedFirstIndex + COMPACT_CHUNK_KEYS - 1);
      const ops: BatchOp[] = [];
      for (let i = this.storedFirstIndex; i <= chunkEnd; i++) ops.push({ type: 'del', key: entryKey(i) });
      await this.write(ops, false, 0);
      deleted += ops.length;
      this.storedFirstIndex = chunkEnd + 1;
    }
    return deleted;
  }

  /**
   * Every key and value of the data dir as one point-in-time view (a single LevelDB iterator reads
   * from the snapshot it took when it was created), in key order, in chunks of at most chunkSize
   * pairs: what `etcd-ts backup` copies from a running member. Writes go on meanwhile; a batch is
   * in the view whole or not at all, and an entry visible in it is durable (entries are written
   * with sync, and LevelDB makes a synced batch visible only after its fsync).
   */
  exportAll(chunkSize: number): AsyncIterable<[Uint8Array, Uint8Array][]> {
    this.assertOpen('exportAll');
    const files = this.files;
    const records = this.db.range(ALL_KEYS_RANGE, chunkSize);
    if (files === undefined) return records;
    // The snapshot in memory now is at least as new as the view's record (a record is written
    // after its snapshot was made); an older record's data is read back from its file.
    const inMemory = this.memory.snapshot();
    return withSnapshotData(records, async (meta) => {
      if (inMemory.metadata.index === meta.index && inMemory.metadata.term === meta.term && !isSnapshotRef(inMemory.data)) return inMemory.data;
      return snapshotFileData(files, meta);
    });
  }

  /** A snapshot's state: its data, or what its file holds when the data is a reference to it (snapshot-ref.ts). */
  async snapshotData(snapshot: Snapshot): Promise<Uint8Array> {
    return isSnapshotRef(snapshot.data) ? this.snapshotFileState(snapshot.metadata) : snapshot.data;
  }

  /** The state the snapshot file of this term and index holds; rejects with DataDirError('snapshot-missing') when there is none whole. */
  snapshotFileState(meta: { term: number; index: number }): Promise<Uint8Array> {
    assert.ok(this.files !== undefined, 'RaftLogStore.snapshotFileState: no snapshot files');
    return snapshotFileData(this.files, meta);
  }

  /** The snapshot files, when they can be streamed to and from peers (else undefined). */
  streamingFiles(): Required<Pick<SnapshotFileStore, 'openRead' | 'receive' | 'readReceived'>> | undefined {
    const f = this.files;
    if (f?.openRead === undefined || f.receive === undefined || f.adoptReceived === undefined || f.readReceived === undefined) return undefined;
    return { openRead: f.openRead.bind(f), receive: f.receive.bind(f), readReceived: f.readReceived.bind(f) };
  }

  /** Whether snapshots' data lives in files (raft then holds references to them: snapshot-ref.ts). */
  hasSnapshotFiles(): boolean {
    return this.files !== undefined;
  }

  /** The entry indexes currently on disk (first > last when there is none). */
  storedRange(): { firstIndex: number; lastIndex: number; snapshotIndex: number } {
    return { firstIndex: this.storedFirstIndex, lastIndex: this.storedLastIndex, snapshotIndex: this.snapshotIndex };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    assert.ok(!this.writing, 'RaftLogStore.close: a write is in progress');
    this.closed = true;
    await this.db.close();
  }

  private async write(ops: BatchOp[], sync: boolean, entryCount: number): Promise<void> {
    let bytes = 0;
    for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    this.writing = true;
    const started = performance.now();
    try {
      await this.db.batch(ops, { sync });
    } catch (err) {
      throw mapLevelError(err, this.db.location);
    } finally {
      this.writing = false;
    }
    this.onBatchWritten?.({ durationMs: performance.now() - started, bytes, entryCount, sync });
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new DataDirError('closed', `raft log: ${what} after close`);
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new DataDirError('closed', `raft log: ${what} after close`);
    assert.ok(!this.writing, `RaftLogStore.${what}: another write is in progress (writes must not overlap)`);
  }
}

type BatchOp = KvOp;

/**
 * A data dir's records with each snapshot record made whole: a record that holds only a
 * snapshot's metadata (its data is in a snapshot file) carries the data too. What a backup copies,
 * so that the copy is one self-contained LevelDB directory.
 */
export async function* withSnapshotData(
  records: AsyncIterable<[Uint8Array, Uint8Array][]>,
  dataOf: (meta: { term: number; index: number }) => Promise<Uint8Array>,
): AsyncGenerator<[Uint8Array, Uint8Array][]> {
  for await (const chunk of records) {
    const i = chunk.findIndex(([key]) => Buffer.compare(key, SNAPSHOT_KEY) === 0);
    if (i === -1) {
      yield chunk;
      continue;
    }
    const [key, value] = chunk[i] as [Uint8Array, Uint8Array];
    const snapshot = decodeSnapshot(value);
    if (snapshot.metadata.index > 0 && snapshot.data.length === 0) {
      const whole = encodeSnapshot({ metadata: snapshot.metadata, data: await dataOf(snapshot.metadata) });
      yield [...chunk.slice(0, i), [key, whole], ...chunk.slice(i + 1)];
    } else {
      yield chunk;
    }
  }
}

/** The data of the snapshot file of exactly this term and index; throws naming what is wrong. */
export async function snapshotFileData(files: SnapshotFileStore, meta: { term: number; index: number }): Promise<Uint8Array> {
  const { loaded, skipped } = await files.load((info) => info.term === meta.term && info.index === meta.index);
  if (loaded === null) {
    const damaged = skipped.filter((s) => s.reason !== 'declined by accept()').map((s) => `${s.name}: ${s.reason}`);
    throw new DataDirError('snapshot-missing', `raft log: no whole snapshot file for index ${meta.index} (term ${meta.term}) in ${files.dir}${damaged.length > 0 ? ` (${damaged.join('; ')})` : ''}`);
  }
  const snapshot = decodeSnapshot(loaded.data);
  return snapshot.data;
}

const NO_DATA = new Uint8Array(0);

/** The snapshot with its data replaced by a reference to its file (which holds the same data). */
function asFileRef(snapshot: Snapshot): Snapshot {
  return { metadata: snapshot.metadata, data: snapshotRef(snapshot.data.length) };
}

/**
 * The snapshot a restart starts from, when its data lives in files: the newest file that is whole
 * and that the log can continue from — at or below the commit index on disk, no older than the
 * first stored entry minus one (the entries after it are still there), and of the same term as the
 * log at that index (it may be newer than the snapshot the log records: its record was cut off). A damaged newest file thus falls
 * back to an older one while the log's compaction tail still covers the gap; otherwise the member
 * refuses to start, naming every file it tried and why.
 */
async function chooseSnapshotFile(files: SnapshotFileStore, loaded: LoadedRaftState): Promise<Snapshot> {
  const recorded = loaded.snapshot.metadata;
  const terms = new Map<number, number>();
  for (const e of loaded.entries) terms.set(e.index, e.term);
  const termAt = (i: number): number | undefined => (i === recorded.index ? recorded.term : terms.get(i));
  const declined = new Map<string, string>();
  const { loaded: file, skipped } = await files.load((info) => {
    let why: string | null = null;
    // A file newer than the recorded snapshot is one whose record a crash or stop cut off: it holds
    // committed state (a member snapshots only what the commit index on disk covers) and is used.
    if (info.index > loaded.hardState.commit) why = `beyond the commit index on disk (${loaded.hardState.commit})`;
    else if (info.index + 1 < loaded.storedFirstIndex) why = `the log no longer holds the entries after it (it starts at ${loaded.storedFirstIndex})`;
    else if (termAt(info.index) !== info.term) why = `the log's term at index ${info.index} is ${termAt(info.index) ?? 'unknown'}`;
    if (why !== null) declined.set(info.name, why);
    return why === null;
  });
  const tried = skipped.map((s) => `${s.name}: ${declined.get(s.name) ?? s.reason}`).join('; ');
  if (file === null) {
    throw new DataDirError(
      'snapshot-missing',
      `raft log: the log continues from the snapshot at index ${recorded.index} (term ${recorded.term}) but ${files.dir} has no usable snapshot file${tried === '' ? '' : ` (${tried})`}`,
    );
  }
  let snapshot: Snapshot;
  try {
    snapshot = decodeSnapshot(file.data);
  } catch (err) {
    throw new DataDirError('corrupt-value', `raft log: snapshot file ${path.join(files.dir, file.name)} holds no snapshot (${(err as Error).message})`);
  }
  if (snapshot.metadata.index !== file.index || snapshot.metadata.term !== file.term) {
    throw new DataDirError('corrupt-value', `raft log: snapshot file ${path.join(files.dir, file.name)} holds the snapshot at ${snapshot.metadata.index} (term ${snapshot.metadata.term})`);
  }
  // The voters are those as of the file's index: its own ConfState (a file newer than the record,
  // whose record a crash or stop cut off, may follow a membership change the record predates: the
  // record's voters would name a removed member, and a restarted member would wait for its vote
  // forever). Only an old cluster's files under --force-new-cluster (at or below forcedAt) take the
  // rewritten record's: that rewrite changes the record, not the files.
  const confState = snapshot.metadata.index > (loaded.metadata?.forcedAt ?? 0) ? snapshot.metadata.confState : recorded.confState;
  return { data: snapshot.data, metadata: { index: snapshot.metadata.index, term: snapshot.metadata.term, confState } };
}

/** The ids a running cluster assigned to a member that joins it (beforeCreate's answer). */
export interface JoinedIdentity {
  clusterId: bigint;
  memberId: bigint;
  /** The running cluster's members (kept in the metadata for a restart before the first snapshot). */
  members?: readonly { id: bigint; peerURLs: readonly string[] }[];
}

/** beforeCreate refused: its error passes through open unchanged. */
class CreateRefused extends Error {
  constructor(readonly reason: unknown) {
    super('refused before creating the data dir');
  }
}

function checkIdentity(stored: MemberMetadata, expected: RaftLogStoreOptions): void {
  // Written before ids were etcd's 64-bit ones: this member's dir, with its old ids (kept).
  if (isLegacyIdentity(stored, expected)) return;
  if (stored.clusterId !== expected.clusterId) {
    throw new DataDirError(
      'cluster-id-mismatch',
      `raft log: the data dir belongs to cluster ${stored.clusterId.toString(16)}, not ${expected.clusterId.toString(16)}`,
    );
  }
  if (stored.memberId !== expected.memberId) {
    throw new DataDirError(
      'member-id-mismatch',
      `raft log: the data dir belongs to member ${stored.memberId.toString(16)} (${stored.name}), not ${expected.memberId.toString(16)} (${expected.name})`,
    );
  }
}

function levelCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'LEVEL_LOCKED' || code === 'LEVEL_CORRUPTION') return code;
  }
  return undefined;
}

/** Whether LevelDB refused to open because another process holds the directory's LOCK. */
export function isLevelLocked(err: unknown): boolean {
  return levelCode(err) === 'LEVEL_LOCKED';
}

/** What a LevelDB open failure means for the member: locked, corrupt, or another I/O error. */
export function mapLevelError(err: unknown, location: string): DataDirError {
  const code = levelCode(err);
  const detail = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
  if (code === 'LEVEL_LOCKED') return new DataDirError('data-dir-locked', `raft log: ${location} is in use by another process (${detail})`, { cause: err });
  if (code === 'LEVEL_CORRUPTION' || /corrupt/i.test(detail)) {
    return new DataDirError('leveldb-corruption', `raft log: LevelDB files in ${location} are corrupt (${detail})`, { cause: err });
  }
  return new DataDirError('io-error', `raft log: LevelDB error in ${location} (${detail})`, { cause: err });
}
