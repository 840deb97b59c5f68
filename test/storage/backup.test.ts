// etcd-ts backup of a stopped member's data dir, and the --force-new-cluster rewrite, on real
// LevelDB dirs: the copy holds the same log under new random ids, a plain open refuses it naming
// --force-new-cluster, the rewrite makes it a one-member cluster's that opens normally afterwards,
// and every bad input gets one clear line.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup-command.js';
import { DataDirError, openLevelKv, RaftLogStore, raftLogDir, rewriteForNewCluster } from '../../src/storage/index.js';
import { CLUSTER_ID, MEMBER_ID, describeEntries, entries, makeTempDir, removeDir } from './helpers.js';

const NEW_ID = { clusterId: 0x5e11_0001n, memberId: 0x77n, name: 'restored' };

async function makeDataDir(dir: string): Promise<void> {
  const opened = await RaftLogStore.open({ dataDir: dir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'm1', initialConfState: { voters: [MEMBER_ID, 0x3c2n, 0x3c3n], learners: [] } });
  await opened.store.save({ entries: entries(1, 40, 2), hardState: { term: 3, vote: 0x3c2n, commit: 30 } });
  await opened.store.close();
}

async function run(argv: { dataDir: string; backupDir: string }): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBackup({ ...argv, skipQuorum: false, timeoutMs: 5000, withV3: false }, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('etcd-ts backup of a stopped member, and --force-new-cluster', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await makeTempDir('etcd-ts-backup-');
  });
  afterEach(async () => {
    await removeDir(tmp);
  });

  it('copies the log under new random ids; a plain open refuses the copy naming --force-new-cluster; the rewrite makes it a one-member cluster', async () => {
    const data = path.join(tmp, 'data');
    const backupDir = path.join(tmp, 'backup');
    await makeDataDir(data);
    const r = await run({ dataDir: data, backupDir });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/backup of member m1 \(3c1\) of cluster 7e271ab3 written to .*: 40 entries \(indexes 1\.\.40\), term 3; commit index 30/);

    // A plain start, with the old identity or any other, is refused with the flag named.
    for (const identity of [{ clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'm1' }, NEW_ID]) {
      const err = await RaftLogStore.open({ dataDir: backupDir, ...identity }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as DataDirError).code).toBe('backup-needs-force-new-cluster');
      expect((err as DataDirError).message).toMatch(/is a backup made by etcd-ts backup \(of member m1 3c1 of cluster 7e271ab3, at index 30\).*--force-new-cluster/);
    }

    // The source is untouched and still opens as itself.
    const source = await RaftLogStore.open({ dataDir: data, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'm1' });
    const sourceEntries = source.storage.entries(1, 41, Infinity);
    await source.store.close();

    const kv = await openLevelKv(raftLogDir(backupDir));
    const forced = await rewriteForNewCluster(kv, NEW_ID);
    await kv.close();
    expect(forced.previous.clusterId).not.toBe(CLUSTER_ID);
    expect(forced.previous.memberId).not.toBe(MEMBER_ID);
    expect(forced.previous.name).toBe('m1');
    expect(forced.backup).toMatchObject({ complete: true, sourceClusterId: CLUSTER_ID, sourceMemberId: MEMBER_ID, index: 30, quorum: false });
    expect(forced.previousVoters).toEqual([MEMBER_ID, 0x3c2n, 0x3c3n]);
    expect(forced).toMatchObject({ previousCommit: 30, commit: 40, term: 3 });

    // Opens as the new member of the new cluster, with every entry committed and only itself voting.
    const opened = await RaftLogStore.open({ dataDir: backupDir, ...NEW_ID });
    expect(opened.created).toBe(false);
    expect(opened.confState).toEqual({ voters: [NEW_ID.memberId], learners: [] });
    expect(opened.hardState).toEqual({ term: 3, vote: 0n, commit: 40 });
    expect(describeEntries(opened.storage.entries(1, 41, Infinity))).toEqual(describeEntries(sourceEntries));
    await opened.store.close();
    // ...and with the old identity not at all.
    const old = await RaftLogStore.open({ dataDir: backupDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'm1' }).catch((e: unknown) => e);
    expect((old as DataDirError).code).toBe('cluster-id-mismatch');
  });

  it('--force-new-cluster also works on an ordinary data dir, and again on its own result (idempotent)', async () => {
    const data = path.join(tmp, 'data');
    await makeDataDir(data);
    for (let round = 0; round < 2; round++) {
      const kv = await openLevelKv(raftLogDir(data));
      const forced = await rewriteForNewCluster(kv, NEW_ID);
      await kv.close();
      expect(forced.backup).toBeUndefined();
      expect(forced.commit).toBe(40);
      expect(forced.previousVoters).toEqual(round === 0 ? [MEMBER_ID, 0x3c2n, 0x3c3n] : [NEW_ID.memberId]);
    }
    const opened = await RaftLogStore.open({ dataDir: data, ...NEW_ID });
    expect(opened.confState.voters).toEqual([NEW_ID.memberId]);
    await opened.store.close();
  });

  it('--force-new-cluster refuses an empty data dir and an interrupted backup', async () => {
    const empty = await openLevelKv(raftLogDir(path.join(tmp, 'empty')));
    const e1 = await rewriteForNewCluster(empty, NEW_ID).catch((e: unknown) => e);
    await empty.close();
    expect((e1 as DataDirError).message).toMatch(/--force-new-cluster needs a data dir with data, and .* is empty/);

    // An interrupted copy: the first batch (the "incomplete" record) and some records, no more.
    const data = path.join(tmp, 'data');
    const backupDir = path.join(tmp, 'backup');
    await makeDataDir(data);
    expect((await run({ dataDir: data, backupDir })).code).toBe(0);
    const kv = await openLevelKv(raftLogDir(backupDir));
    const { encodeBackupRecord } = await import('../../src/storage/codec.js');
    await kv.batch([{ type: 'put', key: Uint8Array.of(0x62), value: encodeBackupRecord({ complete: false, sourceClusterId: 1n, sourceMemberId: 2n, sourceName: 'x', takenAtMs: 0, index: 0, quorum: false }) }], { sync: true });
    const e2 = await rewriteForNewCluster(kv, NEW_ID).catch((e: unknown) => e);
    await kv.close();
    expect((e2 as DataDirError).code).toBe('incomplete-backup');
    const e3 = await RaftLogStore.open({ dataDir: backupDir, ...NEW_ID }).catch((e: unknown) => e);
    expect((e3 as DataDirError).code).toBe('incomplete-backup');
    expect((e3 as DataDirError).message).toMatch(/did not finish writing.*take the backup again/);
  });

  it('refuses a missing data dir, a non-empty backup dir, a dir that is not an etcd-ts data dir, an etcd one, and a running member without --endpoint', async () => {
    const data = path.join(tmp, 'data');
    await makeDataDir(data);
    const missing = await run({ dataDir: path.join(tmp, 'nope'), backupDir: path.join(tmp, 'b1') });
    expect(missing).toMatchObject({ code: 1, err: [expect.stringMatching(/^etcd-ts backup: data dir .*nope does not exist$/)] });

    const full = path.join(tmp, 'full');
    await fs.mkdir(full);
    await fs.writeFile(path.join(full, 'x'), 'x');
    expect((await run({ dataDir: data, backupDir: full })).err[0]).toMatch(/--backup-dir .*full is not empty \(x\)/);

    const notOurs = path.join(tmp, 'plain');
    await fs.mkdir(notOurs);
    expect((await run({ dataDir: notOurs, backupDir: path.join(tmp, 'b2') })).err[0]).toMatch(/is not an etcd-ts data dir \(it has no member\/raft log\)/);

    const etcd = path.join(tmp, 'etcd');
    await fs.mkdir(path.join(etcd, 'member', 'wal'), { recursive: true });
    await fs.mkdir(path.join(etcd, 'member', 'snap'), { recursive: true });
    expect((await run({ dataDir: etcd, backupDir: path.join(tmp, 'b3') })).err[0]).toMatch(/is an etcd data dir \(member\/snap and member\/wal\), not an etcd-ts one: use etcdctl backup for it/);

    expect((await run({ dataDir: data, backupDir: path.join(data, 'inside') })).err[0]).toMatch(/must not contain each other/);

    // LevelDB's lock held (as by a running member): the command asks for --endpoint.
    const running = await RaftLogStore.open({ dataDir: data, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'm1' });
    try {
      const locked = await run({ dataDir: data, backupDir: path.join(tmp, 'b4') });
      expect(locked.code).toBe(1);
      expect(locked.err[0]).toMatch(/is in use by a running member \(LevelDB lock\): pass --endpoint <its peer URL>/);
    } finally {
      await running.store.close();
    }
    // Nothing was left behind by the refusals.
    for (const b of ['b1', 'b2', 'b3', 'b4']) expect(await fs.stat(path.join(tmp, b)).then(() => true, () => false)).toBe(false);
  });
});
