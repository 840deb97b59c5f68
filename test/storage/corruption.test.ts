// A damaged data dir must be refused with a typed error, never loaded with entries missing.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeEntry, encodeHardState, encodeMetadata } from '../../src/storage/codec.js';
import { crc32 } from '../../src/storage/crc32.js';
import { entryKey, HARD_STATE_KEY, METADATA_KEY, SNAPSHOT_KEY } from '../../src/storage/keys.js';
import { DataDirError, RaftLogStore, raftLogDir, type DataDirErrorCode } from '../../src/storage/index.js';
import { CLUSTER_ID, MEMBER_ID, entries, makeTempDir, removeDir } from './helpers.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  await removeDir(dataDir);
});

function openStore() {
  return RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'infra1' });
}

/** A healthy log: entries 1..5 in term 1, commit 5, then the store is closed. */
async function writeHealthyLog(): Promise<void> {
  const o = await openStore();
  await o.store.save({ hardState: { term: 1, vote: MEMBER_ID, commit: 5 }, entries: entries(1, 5, 1) });
  await o.store.close();
}

/** Edits the LevelDB directory directly, as a crash, a bad disk or a bug would. */
async function tamper(edit: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(raftLogDir(dataDir), { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    await edit(db);
  } finally {
    await db.close();
  }
}

async function expectRefused(code: DataDirErrorCode): Promise<void> {
  const err = await openStore().then(
    async (o) => {
      await o.store.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err, `open should refuse with ${code}`).toBeInstanceOf(DataDirError);
  expect((err as DataDirError).code).toBe(code);
  // The refusal released the directory: a repaired dir could be opened by the same process.
  const db = new Level(raftLogDir(dataDir));
  await db.open();
  await db.close();
}

function framed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, crc32(payload));
  out.set(payload, 4);
  return out;
}

describe('opening a damaged data dir', () => {
  it('refuses a gap in the log indexes', async () => {
    await writeHealthyLog();
    await tamper((db) => db.del(entryKey(3)));
    await expectRefused('log-gap');
  });

  it('refuses a HardState whose commit is beyond the last entry (a lost tail)', async () => {
    await writeHealthyLog();
    await tamper((db) => db.del(entryKey(5)));
    await expectRefused('commit-beyond-log');
  });

  it('refuses a log whose member metadata is missing', async () => {
    await writeHealthyLog();
    await tamper((db) => db.del(METADATA_KEY));
    await expectRefused('missing-metadata');
  });

  it('refuses an entry with a flipped byte (checksum)', async () => {
    await writeHealthyLog();
    await tamper(async (db) => {
      const value = (await db.get(entryKey(2))) as Uint8Array;
      const damaged = Uint8Array.from(value);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0x40;
      await db.put(entryKey(2), damaged);
    });
    await expectRefused('corrupt-value');
  });

  it('refuses a value with a valid checksum that is not an entry', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(entryKey(2), framed(Uint8Array.of(0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f))));
    await expectRefused('corrupt-value');
  });

  it('refuses undecodable bytes under a valid checksum', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(entryKey(2), framed(Uint8Array.of(0x94, 0x01))));
    await expectRefused('corrupt-value');
  });

  it('refuses an entry stored under another index', async () => {
    await writeHealthyLog();
    await tamper(async (db) => db.put(entryKey(3), (await db.get(entryKey(2))) as Uint8Array));
    await expectRefused('corrupt-value');
  });

  it('refuses a malformed entry key', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(Uint8Array.of(0x65, 1, 2), encodeEntry(entries(1, 1, 1)[0]!)));
    await expectRefused('corrupt-key');
  });

  it('refuses an entry whose term goes back', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(entryKey(4), encodeEntry({ ...entries(4, 4, 1)[0]!, term: 0 })));
    await expectRefused('term-regression');
  });

  it('refuses a HardState term below the last entry term', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(HARD_STATE_KEY, encodeHardState({ term: 0, vote: 0n, commit: 5 })));
    await expectRefused('term-behind-log');
  });

  it('refuses a snapshot that disagrees with the log at its index', async () => {
    const o = await openStore();
    await o.store.save({ hardState: { term: 2, vote: 0n, commit: 4 }, entries: entries(1, 5, 2) });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(4, undefined, new Uint8Array(0)));
    await o.store.close();
    // The log below the snapshot is rewritten in term 1: the entry at the snapshot's index (4)
    // now disagrees with the snapshot's term (2), although the log itself is well-formed.
    await tamper(async (db) => {
      for (const e of entries(1, 4, 1)) await db.put(entryKey(e.index), encodeEntry(e));
    });
    await expectRefused('snapshot-log-mismatch');
  });

  it('refuses a log that starts after the snapshot, leaving a hole', async () => {
    const o = await openStore();
    await o.store.save({ hardState: { term: 1, vote: 0n, commit: 4 }, entries: entries(1, 8, 1) });
    await o.store.saveLocalSnapshot(o.storage.createSnapshot(4, undefined, new Uint8Array(0)));
    await o.store.compact(4);
    await o.store.close();
    await tamper((db) => db.del(entryKey(5)));
    await expectRefused('log-gap');
  });

  it('refuses a data dir written by an unknown format version', async () => {
    await writeHealthyLog();
    await tamper(async (db) => {
      const meta = encodeMetadata({ formatVersion: 1, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'x' });
      // Rewrite the version field (first element of the tuple) as 2, keeping the checksum valid.
      const payload = Uint8Array.from(meta.subarray(4));
      payload[1] = 2;
      await db.put(METADATA_KEY, framed(payload));
    });
    await expectRefused('unsupported-format');
  });

  it('refuses a corrupt snapshot record', async () => {
    await writeHealthyLog();
    await tamper((db) => db.put(SNAPSHOT_KEY, Uint8Array.of(1, 2, 3, 4, 5, 6)));
    await expectRefused('corrupt-value');
  });

  it('refuses LevelDB files that LevelDB itself finds corrupt', async () => {
    await writeHealthyLog();
    const dir = raftLogDir(dataDir);
    const manifest = (await fs.readdir(dir)).find((f) => f.startsWith('MANIFEST-'));
    expect(manifest).toBeDefined();
    await fs.writeFile(path.join(dir, manifest!), Buffer.alloc(512, 0x5a));
    const err = await openStore().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as DataDirError).code).toBe('leveldb-corruption');
  });
});
