// The raft log with its snapshot data in snapshot files (src/storage/snap-files.ts): the file is
// written before the record that names it, LevelDB keeps only the metadata, a restart loads the
// newest usable file (falling back to an older one while the log still holds the entries after
// it), refuses to start naming every file it tried when none will do, and a backup's records carry
// the data again.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/raft/messages.js';
import { decodeSnapshot, encodeSnapshotPieces } from '../../src/storage/codec.js';
import { snapshotRef } from '../../src/storage/snapshot-ref.js';
import { RaftLogStore, withSnapshotData, type OpenedRaftLog } from '../../src/storage/index.js';
import { SNAPSHOT_KEY } from '../../src/storage/keys.js';
import { openSnapshotFiles, READ_CHUNK_BYTES, snapDir, type SnapshotFiles } from '../../src/storage/snap-files.js';
import { CLUSTER_ID, MEMBER_ID, entries, makeTempDir, removeDir } from './helpers.js';

let dataDir: string;
const opened: OpenedRaftLog[] = [];
const VOTERS = { voters: [MEMBER_ID], learners: [] };

async function files(): Promise<SnapshotFiles> {
  return openSnapshotFiles(snapDir(dataDir), { maxSnapshots: 0 });
}

async function open(): Promise<OpenedRaftLog> {
  const o = await RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1', snapshotFiles: await files() });
  opened.push(o);
  return o;
}

async function reopen(o: OpenedRaftLog): Promise<OpenedRaftLog> {
  await o.store.close();
  opened.splice(opened.indexOf(o), 1);
  return open();
}

async function snapNames(): Promise<string[]> {
  return (await fs.readdir(snapDir(dataDir))).sort();
}

/** A log of 100 entries in term 2, committed to 90, with local snapshots at `at` (data [index]). */
async function logWithSnapshots(at: number[], compactTo?: number): Promise<OpenedRaftLog> {
  const o = await open();
  await o.store.save({ hardState: { term: 2, vote: 0n, commit: 90 }, entries: entries(1, 100, 2), confState: VOTERS });
  for (const i of at) await o.store.saveLocalSnapshot(o.storage.createSnapshot(i, VOTERS, Uint8Array.of(i)));
  if (compactTo !== undefined) await o.store.compact(compactTo);
  return o;
}

async function flipLastByte(name: string): Promise<void> {
  const file = path.join(snapDir(dataDir), name);
  const bytes = await fs.readFile(file);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  await fs.writeFile(file, bytes);
}

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.store.close();
  await removeDir(dataDir);
});

describe('RaftLogStore with snapshot files', () => {
  it('writes the data to a snapshot file and only the metadata to LevelDB; restarts from the file', async () => {
    const o = await logWithSnapshots([40, 80], 60);
    expect(await snapNames()).toEqual(['0000000000000002-0000000000000028.snap', '0000000000000002-0000000000000050.snap']);
    const r = await reopen(o);
    expect(r.snapshot.metadata).toEqual({ index: 80, term: 2, confState: VOTERS });
    expect(r.snapshot.data).toEqual(Uint8Array.of(80));
    expect(r.firstIndex).toBe(81);
    expect(r.lastIndex).toBe(100);
    expect(r.store.storedRange()).toEqual({ firstIndex: 61, lastIndex: 100, snapshotIndex: 80 });
    // the LevelDB record: metadata without the data
    const records = [];
    for await (const chunk of r.store.exportAll(1000)) records.push(...chunk);
    const snapRecord = records.find(([k]) => Buffer.compare(k, SNAPSHOT_KEY) === 0);
    expect(snapRecord).toBeDefined();
    // exportAll gives the data back, for a self-contained backup
    expect(decodeSnapshot(snapRecord?.[1] as Uint8Array).data).toEqual(Uint8Array.of(80));
  });

  it('falls back to an older file when the newest is damaged and the log still holds the entries after the older one', async () => {
    const o = await logWithSnapshots([40, 80], 30);
    await o.store.close();
    opened.length = 0;
    await flipLastByte('0000000000000002-0000000000000050.snap');
    const r = await open();
    expect(r.snapshot.metadata.index).toBe(40);
    expect(r.snapshot.data).toEqual(Uint8Array.of(40));
    expect(r.firstIndex).toBe(41);
    expect(r.storage.entries(41, 101, Number.MAX_SAFE_INTEGER)).toEqual(entries(41, 100, 2));
    // set aside as etcd does
    expect(await snapNames()).toContain('0000000000000002-0000000000000050.snap.broken');
  });

  it('refuses to start when no file it can continue from is whole, naming each file and why', async () => {
    const o = await logWithSnapshots([40, 80], 60);
    await o.store.close();
    opened.length = 0;
    await flipLastByte('0000000000000002-0000000000000050.snap');
    const err = await open().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DataDirError', code: 'snapshot-missing' });
    const message = (err as Error).message;
    expect(message).toContain('0000000000000002-0000000000000050.snap: checksum mismatch');
    expect(message).toContain('0000000000000002-0000000000000028.snap: the log no longer holds the entries after it (it starts at 61)');
  });

  it('uses a committed file newer than the recorded snapshot (its record was cut off), never one beyond the commit on disk', async () => {
    const o = await logWithSnapshots([40]);
    await o.store.writeSnapshotFile(o.storage.createSnapshot(80, VOTERS, Uint8Array.of(80))); // the record never follows
    const r = await reopen(o);
    expect(r.snapshot.metadata.index).toBe(80);
    expect(r.snapshot.data).toEqual(Uint8Array.of(80));
    expect(r.firstIndex).toBe(81);
    expect(r.lastIndex).toBe(100);
    // a file beyond the commit index on disk (a leader's snapshot whose record never came): ignored
    await r.store.writeSnapshotFile({ data: Uint8Array.of(95), metadata: { index: 95, term: 2, confState: VOTERS } });
    const again = await reopen(r);
    expect(again.snapshot.metadata.index).toBe(80);
    // ... and one of another term at a committed index (not this log's): ignored too
    await again.store.writeSnapshotFile({ data: Uint8Array.of(85), metadata: { index: 85, term: 1, confState: VOTERS } });
    expect((await reopen(again)).snapshot.metadata.index).toBe(80);
  });

  it('a file newer than the record brings its own voters (a member removed after the recorded snapshot stays removed)', async () => {
    const OTHER = 0x1234n;
    const o = await open();
    const both = { voters: [MEMBER_ID, OTHER], learners: [] };
    await o.store.save({ hardState: { term: 2, vote: 0n, commit: 90 }, entries: entries(1, 100, 2), confState: both });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(40, both, Uint8Array.of(40)));
    // OTHER's removal applied at 60; the snapshot at 80 has only this member; its record never follows
    await o.store.writeSnapshotFile(o.storage.createSnapshot(80, VOTERS, Uint8Array.of(80)));
    const r = await reopen(o);
    expect(r.snapshot.metadata.index).toBe(80);
    expect(r.snapshot.metadata.confState.voters).toEqual([MEMBER_ID]);
    expect(r.storage.initialState().confState.voters).toEqual([MEMBER_ID]);
  });

  it('a received snapshot: the file first, then the record replaces the log; a restart loads it', async () => {
    const o = await logWithSnapshots([]);
    const received: Snapshot = { data: Uint8Array.of(9, 9), metadata: { index: 150, term: 3, confState: VOTERS } };
    await o.store.save({ snapshot: received, hardState: { term: 3, vote: 0n, commit: 150 } });
    expect(await snapNames()).toEqual(['0000000000000003-0000000000000096.snap']);
    // raft keeps a reference to the file, not the data; the data reads back from the file
    expect(o.storage.snapshot()).toEqual({ metadata: received.metadata, data: snapshotRef(2) });
    expect(await o.store.snapshotData(o.storage.snapshot())).toEqual(received.data);
    const r = await reopen(o);
    expect(r.snapshot).toEqual(received);
    expect(r.storage.snapshot()).toEqual({ metadata: received.metadata, data: snapshotRef(2) });
    expect(r.firstIndex).toBe(151);
    expect(r.lastIndex).toBe(150);
  });

  it('a snapshot streamed from a peer as its file: received, checked, adopted by save(), loaded at restart', async () => {
    // the sender's file, as another member's snapshot directory holds it
    const senderDir = path.join(dataDir, 'sender');
    const sender = await openSnapshotFiles(senderDir);
    const state = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const sent: Snapshot = { data: state, metadata: { index: 150, term: 3, confState: VOTERS } };
    await sender.save(3, 150, await encodeSnapshotPieces(sent));
    const o = await logWithSnapshots([]);
    const streaming = o.store.streamingFiles();
    if (streaming === undefined) throw new Error('expected streaming snapshot files');
    const file = await sender.openRead(3, 150);
    let largest = 0;
    async function* watched(): AsyncGenerator<Uint8Array> {
      for await (const c of file.chunks()) {
        largest = Math.max(largest, c.length);
        yield c;
      }
    }
    await streaming.receive(3, 150, file.bytes, watched());
    expect(largest).toBeLessThanOrEqual(READ_CHUNK_BYTES);
    const got = decodeSnapshot(await streaming.readReceived(3, 150));
    expect(got.metadata).toEqual(sent.metadata);
    expect(Buffer.from(got.data).equals(state)).toBe(true);
    // not a snapshot file until raft takes it
    expect(await snapNames()).not.toContain('0000000000000003-0000000000000096.snap');
    const ref = { metadata: sent.metadata, data: snapshotRef(state.length) };
    await o.store.save({ snapshot: ref, hardState: { term: 3, vote: 0n, commit: 150 } });
    expect(await snapNames()).toContain('0000000000000003-0000000000000096.snap');
    expect((await fs.readdir(snapDir(dataDir))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(o.storage.snapshot()).toEqual(ref);
    const r = await reopen(o);
    expect(r.snapshot.metadata).toEqual(sent.metadata);
    expect(Buffer.from(r.snapshot.data).equals(state)).toBe(true);
    expect(r.firstIndex).toBe(151);
  });

  it('a backup of a member whose raft holds a reference reads the data from the file', async () => {
    const o = await logWithSnapshots([]);
    const received: Snapshot = { data: Uint8Array.of(7, 7, 7), metadata: { index: 150, term: 3, confState: VOTERS } };
    await o.store.save({ snapshot: received, hardState: { term: 3, vote: 0n, commit: 150 } });
    const records = [];
    for await (const chunk of o.store.exportAll(100)) records.push(...chunk);
    const rec = records.find(([k]) => Buffer.compare(k, SNAPSHOT_KEY) === 0);
    expect(rec).toBeDefined();
    expect(decodeSnapshot((rec as [Uint8Array, Uint8Array])[1])).toEqual(received);
  });

  it('withSnapshotData leaves whole snapshot records and other records alone', async () => {
    async function* source(): AsyncGenerator<[Uint8Array, Uint8Array][]> {
      yield [[Uint8Array.of(1), Uint8Array.of(2)]];
    }
    const out = [];
    for await (const chunk of withSnapshotData(source(), () => Promise.reject(new Error('not asked')))) out.push(...chunk);
    expect(out).toEqual([[Uint8Array.of(1), Uint8Array.of(2)]]);
  });
});
