// `etcd-ts backup`: copies a member's data dir into a backup that starts only with
// --force-new-cluster (src/storage/backup.ts writes it; src/server/force-new-cluster.ts starts it).
// A stopped member's data dir is opened and read directly; a running member holds LevelDB's lock,
// so its copy comes from the member itself (GET /members/backup on its peer port,
// src/server/backup-endpoint.ts). Every refusal is one line on stderr, exit code 1.
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { BackupOptions } from './backup-cli.js';
import { BACKUP_PATH, BACKUP_TOKEN_FILE, BackupStreamError, decodeBackupStream, HEADER_BACKUP_DATA_DIR, HEADER_BACKUP_INDEX, HEADER_BACKUP_MEMBER, HEADER_BACKUP_TOKEN } from './server/backup-stream.js';
import { formatId } from './server/ids.js';
import {
  ALL_KEYS_RANGE,
  BACKUP_CHUNK_RECORDS,
  DataDirError,
  isLevelLocked,
  openLevelKv,
  raftLogDir,
  writeBackup,
  withSnapshotData,
  snapshotFileData,
  type BackupSource,
  type BackupSummary,
  type KvStore,
} from './storage/index.js';
import { openSnapshotFiles, snapDir } from './storage/snap-files.js';

export interface BackupOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

class BackupError extends Error {}

const stdio: BackupOutput = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Runs the backup; resolves with the exit code (0, or 1 after one line on stderr). */
export async function runBackup(o: BackupOptions, io: BackupOutput = stdio): Promise<number> {
  try {
    const summary = await backup(o, io);
    const b = summary.record;
    io.out(
      `backup of member ${summary.source.name} (${formatId(summary.source.memberId)}) of cluster ${formatId(summary.source.clusterId)} written to ${o.backupDir}: ` +
        `${summary.entries} entries (indexes ${summary.firstIndex}..${summary.lastIndex}), term ${summary.hardState.term}; ` +
        (b.quorum ? `every write committed up to index ${b.index} (confirmed with a quorum) is in it` : `commit index ${b.index} (not confirmed with a quorum)`),
    );
    io.out(`start it as a new one-member cluster: etcd-ts --name ${summary.source.name} --data-dir ${o.backupDir} --force-new-cluster [--listen-*/--advertise-* flags]`);
    return 0;
  } catch (err: unknown) {
    if (err instanceof BackupError || err instanceof DataDirError) {
      io.err(`etcd-ts backup: ${err.message}`);
      return 1;
    }
    io.err(`etcd-ts backup: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function backup(o: BackupOptions, io: BackupOutput): Promise<BackupSummary> {
  const dataDir = path.resolve(o.dataDir);
  const backupDir = path.resolve(o.backupDir);
  const dataStat = await fs.stat(dataDir).catch(() => undefined);
  if (dataStat === undefined) throw new BackupError(`data dir ${o.dataDir} does not exist`);
  if (!dataStat.isDirectory()) throw new BackupError(`data dir ${o.dataDir} is not a directory`);
  const source = raftLogDir(dataDir);
  if (!(await exists(path.join(source, 'CURRENT')))) {
    if ((await exists(path.join(dataDir, 'member', 'wal'))) || (await exists(path.join(dataDir, 'member', 'snap')))) {
      throw new BackupError(`${o.dataDir} is an etcd data dir (member/snap and member/wal), not an etcd-ts one: use etcdctl backup for it`);
    }
    throw new BackupError(`${o.dataDir} is not an etcd-ts data dir (it has no member/raft log)`);
  }
  const realData = await fs.realpath(dataDir);
  if (isWithin(backupDir, realData) || isWithin(realData, backupDir)) {
    throw new BackupError(`--backup-dir ${o.backupDir} and --data-dir ${o.dataDir} must not contain each other`);
  }
  const backupStat = await fs.stat(backupDir).catch(() => undefined);
  if (backupStat !== undefined) {
    if (!backupStat.isDirectory()) throw new BackupError(`--backup-dir ${o.backupDir} exists and is not a directory`);
    const entries = await fs.readdir(backupDir);
    if (entries.length > 0) throw new BackupError(`--backup-dir ${o.backupDir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}): give a new or empty directory`);
  }

  let local: KvStore | undefined;
  try {
    local = await openLevelKv(source);
  } catch (err: unknown) {
    if (!isLevelLocked(err)) throw new BackupError(`cannot open ${source}: ${err instanceof Error ? err.message : String(err)}`);
    if (o.endpoint === undefined) {
      throw new BackupError(`${o.dataDir} is in use by a running member (LevelDB lock): pass --endpoint <its peer URL> to copy it through the member`);
    }
  }
  if (local !== undefined && o.endpoint !== undefined) io.err(`etcd-ts backup: ${o.dataDir} is not in use: copying it directly (--endpoint not needed)`);

  await fs.mkdir(backupDir, { recursive: true });
  const created = !backupStat;
  let dest: KvStore | undefined;
  let remote: http.IncomingMessage | undefined;
  try {
    let from: BackupSource;
    if (local !== undefined) {
      const files = await openSnapshotFiles(snapDir(o.dataDir), { maxSnapshots: 0 });
      from = { records: withSnapshotData(local.range(ALL_KEYS_RANGE, BACKUP_CHUNK_RECORDS), (meta) => snapshotFileData(files, meta)) };
    } else {
      remote = await requestCopy(o.endpoint as string, o);
      const reported = decodeURIComponent(String(remote.headers[HEADER_BACKUP_DATA_DIR] ?? ''));
      const reportedReal = await fs.realpath(reported).catch(() => reported);
      if (reportedReal !== realData) {
        throw new BackupError(`the member at ${o.endpoint} (${String(remote.headers[HEADER_BACKUP_MEMBER] ?? '?')}) runs on data dir ${reported}, not ${o.dataDir}`);
      }
      const index = Number(remote.headers[HEADER_BACKUP_INDEX]);
      from = { records: decodeBackupStream(remote, BACKUP_CHUNK_RECORDS), ...(o.skipQuorum || !Number.isSafeInteger(index) ? {} : { confirmedIndex: index }) };
    }
    dest = await openLevelKv(raftLogDir(backupDir));
    const summary = await writeBackup(dest, from, Date.now());
    await dest.close();
    dest = undefined;
    return summary;
  } catch (err: unknown) {
    await dest?.close().catch(() => undefined);
    remote?.destroy();
    // Nothing half-written stays behind (an interrupted copy is also marked incomplete on disk).
    await fs.rm(created ? backupDir : path.join(backupDir, 'member'), { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof BackupStreamError) throw new BackupError(err.message);
    throw err;
  } finally {
    await local?.close().catch(() => undefined);
  }
}

/** GET <endpoint>/members/backup; resolves with the 200 answer (its body is the stream). */
async function requestCopy(endpoint: string, o: BackupOptions): Promise<http.IncomingMessage> {
  const tokenFile = path.join(o.dataDir, ...BACKUP_TOKEN_FILE);
  const token = (await fs.readFile(tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new BackupError(`cannot read ${tokenFile} (${err.code ?? err.message}): a running member's backup is taken where its data dir is readable`);
  })).trim();
  const url = new URL(BACKUP_PATH, endpoint.endsWith('/') ? endpoint : endpoint + '/');
  if (o.skipQuorum) url.searchParams.set('quorum', 'false');
  const tls: https.RequestOptions = {};
  if (o.peerTLS !== undefined) {
    const read = (flag: string, file: string): Promise<string> =>
      fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new BackupError(`--${flag} "${file}": cannot read the file (${err.code ?? err.message})`);
      });
    if (o.peerTLS.trustedCAFile !== '') tls.ca = await read('peer-trusted-ca-file', o.peerTLS.trustedCAFile);
    if (o.peerTLS.certFile !== '') {
      tls.cert = await read('peer-cert-file', o.peerTLS.certFile);
      tls.key = await read('peer-key-file', o.peerTLS.keyFile);
    }
  }
  const get = url.protocol === 'https:' ? https.get : http.get;
  return await new Promise((resolve, reject) => {
    const req = get(url, { timeout: o.timeoutMs, headers: { [HEADER_BACKUP_TOKEN]: token }, ...tls }, (res) => {
      if (res.statusCode === 200) {
        resolve(res);
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < 2000) text += d;
      });
      res.on('end', () => {
        const detail = text.trim().split('\n')[0] ?? '';
        reject(new BackupError(res.statusCode === 404 ? `${endpoint} has no backup endpoint (is it the peer URL of an etcd-ts member?)` : `${endpoint} answered ${res.statusCode}: ${detail}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new BackupError(`${endpoint} did not answer within ${o.timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof BackupError ? err : new BackupError(`cannot reach ${endpoint}: ${err.message}`)));
  });
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
