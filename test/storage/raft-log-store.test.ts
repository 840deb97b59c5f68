import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryType, type Snapshot } from '../../src/raft/messages.js';
import { DataDirError, mustSync, RaftLogStore, type BatchWritten, type OpenedRaftLog } from '../../src/storage/index.js';
import { CLUSTER_ID, MEMBER_ID, describeEntries, entries, makeTempDir, removeDir } from './helpers.js';

let dataDir: string;
const opened: OpenedRaftLog[] = [];

async function open(overrides: { clusterId?: bigint; memberId?: bigint; onBatchWritten?: (b: BatchWritten) => void } = {}): Promise<OpenedRaftLog> {
  const o = await RaftLogStore.open({
    dataDir,
    clusterId: overrides.clusterId ?? CLUSTER_ID,
    memberId: overrides.memberId ?? MEMBER_ID,
    name: 'infra1',
    ...(overrides.onBatchWritten ? { onBatchWritten: overrides.onBatchWritten } : {}),
  });
  opened.push(o);
  return o;
}

async function reopen(o: OpenedRaftLog): Promise<OpenedRaftLog> {
  await o.store.close();
  return open();
}

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.store.close();
  await removeDir(dataDir);
});

describe('RaftLogStore', () => {
  it('creates an empty log on first start and remembers the member identity', async () => {
    const o = await open();
    expect(o.created).toBe(true);
    expect(o.hardState).toEqual({ term: 0, vote: 0n, commit: 0 });
    expect(o.firstIndex).toBe(1);
    expect(o.lastIndex).toBe(0);
    expect(o.snapshot.metadata.index).toBe(0);
    const again = await reopen(o);
    expect(again.created).toBe(false);
    expect(again.metadata).toEqual({ formatVersion: 1, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1' });
  });

  it('round-trips entries and the HardState through a restart exactly', async () => {
    const o = await open();
    const ents = entries(1, 5, 1);
    ents[2] = { term: 1, index: 3, type: EntryType.ConfChange, data: Uint8Array.of(0, 255, 7) };
    ents[3] = { term: 1, index: 4, type: EntryType.Normal, data: new Uint8Array(0) };
    await o.store.save({ hardState: { term: 1, vote: MEMBER_ID, commit: 3 }, entries: ents });
    expect(o.storage.lastIndex()).toBe(5);

    const r = await reopen(o);
    expect(r.hardState).toEqual({ term: 1, vote: MEMBER_ID, commit: 3 });
    expect(r.firstIndex).toBe(1);
    expect(r.lastIndex).toBe(5);
    expect(r.storage.entries(1, 6, Number.MAX_SAFE_INTEGER)).toEqual(ents);
    expect(r.storage.initialState().hardState).toEqual({ term: 1, vote: MEMBER_ID, commit: 3 });
  });

  it('persists each Ready as one batch and reports its duration', async () => {
    const batches: BatchWritten[] = [];
    const o = await open({ onBatchWritten: (b) => batches.push(b) });
    await o.store.save({ hardState: { term: 2, vote: MEMBER_ID, commit: 0 }, entries: entries(1, 100, 2) });
    await o.store.save({ hardState: { term: 2, vote: MEMBER_ID, commit: 100 } }, { sync: false });
    expect(batches).toHaveLength(2);
    expect(batches[0]).toMatchObject({ entryCount: 100, sync: true });
    expect(batches[0]!.durationMs).toBeGreaterThan(0);
    expect(batches[0]!.bytes).toBeGreaterThan(100 * 8);
    expect(batches[1]).toMatchObject({ entryCount: 0, sync: false });
  });

  it('replaces a conflicting suffix and deletes the stale higher indexes', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 2 }, entries: entries(1, 10, 1) });
    // A new leader in term 2 overwrites from index 6; 8..10 must not survive a restart.
    await o.store.save({ hardState: { term: 2, vote: 0n, commit: 2 }, entries: entries(6, 7, 2) });
    expect(o.storage.lastIndex()).toBe(7);
    expect(o.store.storedRange()).toMatchObject({ firstIndex: 1, lastIndex: 7 });

    const r = await reopen(o);
    expect(r.lastIndex).toBe(7);
    expect(r.storage.entries(1, 8, Number.MAX_SAFE_INTEGER)).toEqual([...entries(1, 5, 1), ...entries(6, 7, 2)]);
  });

  it('appends after an overwrite and restarts with the merged log', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 0 }, entries: entries(1, 3, 1) });
    await o.store.save({ hardState: { term: 3, vote: 0n, commit: 0 }, entries: entries(2, 2, 3) });
    await o.store.save({ entries: entries(3, 6, 3) });
    const r = await reopen(o);
    expect(r.storage.entries(1, 7, Number.MAX_SAFE_INTEGER)).toEqual([...entries(1, 1, 1), ...entries(2, 6, 3)]);
  });

  it('restarts from a received snapshot, which replaces the whole log', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 4 }, entries: entries(1, 8, 1) });
    const snap: Snapshot = { data: Uint8Array.of(1, 2, 3), metadata: { index: 20, term: 4, confState: { voters: [1n, 2n, 3n], learners: [9n] } } };
    await o.store.save({ snapshot: snap, hardState: { term: 4, vote: 0n, commit: 21 }, entries: entries(21, 22, 4) });
    expect(o.storage.firstIndex()).toBe(21);
    expect(o.store.storedRange()).toEqual({ firstIndex: 21, lastIndex: 22, snapshotIndex: 20 });

    const r = await reopen(o);
    expect(r.snapshot).toEqual(snap);
    expect(r.confState).toEqual({ voters: [1n, 2n, 3n], learners: [9n] });
    expect(r.firstIndex).toBe(21);
    expect(r.lastIndex).toBe(22);
    expect(r.storage.term(20)).toBe(4);
    expect(r.storage.entries(21, 23, Number.MAX_SAFE_INTEGER)).toEqual(entries(21, 22, 4));
    expect(r.hardState.commit).toBe(21);
  });

  it('keeps the bootstrap ConfState across restarts', async () => {
    const o = await open();
    await o.store.save({ confState: { voters: [1n, 2n, 3n], learners: [] }, hardState: { term: 1, vote: 0n, commit: 0 } });
    expect(o.storage.initialState().confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
    const r = await reopen(o);
    expect(r.confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
    expect(r.storage.initialState().confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
  });

  it('writes the initial ConfState with the metadata of a new data dir only', async () => {
    const first = await RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1', initialConfState: { voters: [1n, 2n, 3n], learners: [] } });
    opened.push(first);
    expect(first.created).toBe(true);
    expect(first.confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
    expect(first.storage.initialState().confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
    await first.store.close();
    opened.length = 0;
    const again = await RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1', initialConfState: { voters: [7n], learners: [] } });
    opened.push(again);
    expect(again.created).toBe(false);
    expect(again.confState).toEqual({ voters: [1n, 2n, 3n], learners: [] });
  });

  it('writes thousands of entries in one batch and reloads them', async () => {
    const o = await open();
    const big = entries(1, 5000, 1, 1024);
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 5000 }, entries: big });
    await o.store.save({ entries: entries(5001, 10_000, 1, 64) });
    const r = await reopen(o);
    expect(r.lastIndex).toBe(10_000);
    expect(describeEntries(r.storage.entries(1, 5001, Number.MAX_SAFE_INTEGER))).toEqual(describeEntries(big));
    expect(describeEntries(r.storage.entries(5001, 10_001, Number.MAX_SAFE_INTEGER))).toEqual(describeEntries(entries(5001, 10_000, 1, 64)));
  });

  it('writes nothing when a Ready breaks an invariant, leaving the previous state intact', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 3 }, entries: entries(1, 3, 1) });
    // A gap after the last index is a bug in the caller: refused before anything reaches disk.
    await expect(o.store.save({ hardState: { term: 1, vote: 0n, commit: 3 }, entries: entries(5, 6, 1) })).rejects.toThrow(/gap/);
    // A commit index beyond the log is refused as a whole, entries included.
    await expect(o.store.save({ hardState: { term: 1, vote: 0n, commit: 9 }, entries: entries(4, 5, 1) })).rejects.toThrow(/commit/);
    const r = await reopen(o);
    expect(r.lastIndex).toBe(3);
    expect(r.hardState).toEqual({ term: 1, vote: 0n, commit: 3 });
  });

  it('refuses overlapping writes', async () => {
    const o = await open();
    const first = o.store.save({ entries: entries(1, 10, 1) });
    await expect(o.store.save({ entries: entries(11, 12, 1) })).rejects.toThrow(/in progress/);
    await first;
    expect(o.storage.lastIndex()).toBe(10);
  });

  it('refuses a data dir of another cluster or another member, and can still open it with the right ids', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 1 }, entries: entries(1, 1, 1) });
    await o.store.close();
    opened.length = 0;
    await expect(open({ clusterId: CLUSTER_ID + 1n })).rejects.toMatchObject({ code: 'cluster-id-mismatch' });
    await expect(open({ memberId: MEMBER_ID + 1n })).rejects.toMatchObject({ code: 'member-id-mismatch' });
    const r = await open();
    expect(r.lastIndex).toBe(1);
  });

  it('refuses a second open of the same data dir while it is in use', async () => {
    await open();
    const err = await RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as DataDirError).code).toBe('data-dir-locked');
  });

  it('refuses use after close with a typed error', async () => {
    const o = await open();
    await o.store.close();
    opened.length = 0;
    await expect(o.store.save({ entries: entries(1, 1, 1) })).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('RaftLogStore compaction', () => {
  it('deletes entries covered by a local snapshot and restarts from the snapshot', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 2, vote: 0n, commit: 80 }, entries: entries(1, 100, 2) });
    const snap = o.storage.createSnapshot(80, { voters: [MEMBER_ID], learners: [] }, Uint8Array.of(42));
    await o.store.saveLocalSnapshot(snap);
    expect(await o.store.compact(50)).toBe(50);
    expect(o.store.storedRange()).toEqual({ firstIndex: 51, lastIndex: 100, snapshotIndex: 80 });
    expect(await o.store.compact(80)).toBe(30);

    const r = await reopen(o);
    expect(r.snapshot.metadata).toEqual({ index: 80, term: 2, confState: { voters: [MEMBER_ID], learners: [] } });
    expect(r.snapshot.data).toEqual(Uint8Array.of(42));
    expect(r.firstIndex).toBe(81);
    expect(r.lastIndex).toBe(100);
    expect(r.storage.entries(81, 101, Number.MAX_SAFE_INTEGER)).toEqual(entries(81, 100, 2));
  });

  it('restarts from a local snapshot when older entries were not compacted yet', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 10 }, entries: entries(1, 12, 1) });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(10, undefined, Uint8Array.of(7)));
    const r = await reopen(o);
    expect(r.firstIndex).toBe(11);
    expect(r.lastIndex).toBe(12);
    expect(r.store.storedRange()).toEqual({ firstIndex: 1, lastIndex: 12, snapshotIndex: 10 });
  });

  it('refuses to compact entries that no stored snapshot covers', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 10 }, entries: entries(1, 20, 1) });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(10, undefined, new Uint8Array(0)));
    await expect(o.store.compact(11)).rejects.toThrow(/beyond the snapshot index/);
    expect(await o.store.compact(10)).toBe(10);
    expect(await o.store.compact(10)).toBe(0);
  });

  it('appends after compaction and survives a restart', async () => {
    const o = await open();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 30 }, entries: entries(1, 30, 1) });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(30, undefined, new Uint8Array(0)));
    await o.store.compact(30);
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 35 }, entries: entries(31, 35, 1) });
    const r = await reopen(o);
    expect(r.firstIndex).toBe(31);
    expect(r.storage.entries(31, 36, Number.MAX_SAFE_INTEGER)).toEqual(entries(31, 35, 1));
  });
});

describe('mustSync', () => {
  it('requires an fsync for new entries or a changed term or vote, not for a commit advance', () => {
    const hs = { term: 2, vote: 1n, commit: 5 };
    expect(mustSync(hs, undefined, 1)).toBe(true);
    expect(mustSync(hs, { ...hs, term: 3 }, 0)).toBe(true);
    expect(mustSync(hs, { ...hs, vote: 2n }, 0)).toBe(true);
    expect(mustSync(hs, { ...hs, commit: 9 }, 0)).toBe(false);
    expect(mustSync(hs, undefined, 0)).toBe(false);
  });
});
