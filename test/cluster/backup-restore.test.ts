// Disaster recovery on real processes (issue 11): a backup of a running member of a three-member
// cluster under write load (etcd-ts backup --endpoint), then every member killed, then a single
// member started from the backup with --force-new-cluster: every write acknowledged before the
// backup began is there with its value, the member serves writes at once and lists only itself,
// and it restarts without the flag. A plain start on the backup is refused naming the flag. Also
// the stopped-member path (a copy of a killed member's data dir). Values are compared, not etcd
// indexes: the old members' membership writes are not replayed, so indexes shift (see
// src/server/force-new-cluster.ts).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memberCommand } from '../helpers/cluster-binary.js';
import { ClusterMember } from '../helpers/cluster-member.js';
import type { Cluster } from '../helpers/cluster.js';
import { repoRoot } from '../helpers/etcd-ts.js';
import { readTree, waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { WriteLoad, type WriteRecord } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

function etcdTs(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/etcd-ts', ...args], { cwd: repoRoot, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function soloFlags(name: string): Promise<{ flags: string[]; clientURL: string; peerURL: string }> {
  const [client, peer] = await freePorts(2);
  const clientURL = `http://127.0.0.1:${client}`;
  const peerURL = `http://127.0.0.1:${peer}`;
  const flags = ['--name', name, '--listen-client-urls', clientURL, '--advertise-client-urls', clientURL, '--listen-peer-urls', peerURL, '--initial-advertise-peer-urls', peerURL];
  return { flags, clientURL, peerURL };
}

/** The acknowledged writes missing from the member, or with another value. */
async function missing(c: Cluster, clientURL: string, prefix: string, acked: readonly WriteRecord[]): Promise<string[]> {
  const tree = await readTree(c.client, clientURL, prefix);
  return acked.filter((r) => tree.values.get(r.key) !== r.value).map((r) => `${r.key}=${r.value} (has ${tree.values.get(r.key) ?? 'nothing'})`);
}

async function healthy(c: Cluster, m: ClusterMember): Promise<void> {
  await waitFor(async () => {
    if (m.state === 'exited') throw new Error(`${m.name} exited (${m.exitStatus}): ${m.logTail(2000)}`);
    return c.isHealthy(m);
  }, { what: `${m.name} healthy`, timeoutMs: 30_000, intervalMs: 100 });
}

describe('etcd-ts backup and --force-new-cluster', () => {
  // Small snapshots: the sources' logs are compacted, so a backup must carry the snapshot's data.
  const cluster = useCluster({ label: 'backup-restore', extraFlags: ['--snapshot-count', '100', '--experimental-snapshot-catchup-entries', '10'] });
  const restored: ClusterMember[] = [];

  it('a backup of a running member under write load restores every write acknowledged before it; the restored member serves, lists only itself, and restarts without the flag', async () => {
    const c = cluster();
    const prefix = '/backup';
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.members.map((m) => m.clientURL) });
    const source = c.members[1] as ClusterMember;
    const backupDir = path.join(c.baseDir, 'running.backup');
    let backupStartedAt = 0;
    let backupMs = 0;
    let backupRun: Awaited<ReturnType<typeof etcdTs>>;
    // A stranger on the peer port, who cannot read the data dir, gets nothing.
    for (const headers of [{}, { 'x-etcd-ts-backup-token': 'f'.repeat(48) }] as Record<string, string>[]) {
      const refused = await fetch(`${source.peerURL}/members/backup`, { headers, signal: AbortSignal.timeout(5000) });
      expect(refused.status).toBe(403);
      expect(await refused.text()).not.toContain('member/raft');
    }
    load.start();
    try {
      await load.waitAcked(300, { timeoutMs: 30_000 });
      backupStartedAt = Date.now();
      backupRun = await etcdTs(['backup', '--data-dir', source.dataDir, '--backup-dir', backupDir, '--endpoint', source.peerURL]);
      backupMs = Date.now() - backupStartedAt;
      await load.waitAcked(150, { since: Date.now(), timeoutMs: 30_000, what: 'after the backup' });
    } finally {
      await load.stop();
    }
    expect(backupRun.stderr).toBe('');
    expect(backupRun.code).toBe(0);
    expect((await fs.readdir(path.join(source.dataDir, 'member', 'snap'))).filter((n) => n.endsWith('.snap')).length).toBeGreaterThan(0);
    expect(backupRun.stdout).toMatch(/confirmed with a quorum/);
    const before = load.acknowledged.filter((r) => r.endedAt < backupStartedAt);
    const after = load.acknowledged.filter((r) => r.startedAt > backupStartedAt + backupMs);
    expect(before.length).toBeGreaterThanOrEqual(300);
    expect(after.length).toBeGreaterThanOrEqual(150);
    await Promise.all(c.members.map((m) => c.kill(m.name, 'SIGKILL')));

    // A plain start on the backup is refused, naming the flag.
    const solo = await soloFlags('restored');
    const refused = await etcdTs([...solo.flags, '--data-dir', backupDir, '--log-level', 'error'], 30_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is a backup made by etcd-ts backup .*--force-new-cluster/);

    const m = new ClusterMember({ name: 'restored', clientURL: solo.clientURL, peerURL: solo.peerURL, dataDir: backupDir, logFile: path.join(c.baseDir, 'restored.log'), command: memberCommand('etcd-ts', [...solo.flags, '--data-dir', backupDir, '--force-new-cluster'], 'warn') });
    restored.push(m);
    const startedAt = Date.now();
    m.start();
    await healthy(c, m);
    const readyMs = Date.now() - startedAt;
    expect(await missing(c, m.clientURL, prefix, before)).toEqual([]);
    const members = JSON.parse((await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/members`, timeoutMs: 3000 })).body) as { members: { name: string; clientURLs: string[]; peerURLs: string[] }[] };
    expect(members.members.map((x) => [x.name, x.clientURLs, x.peerURLs])).toEqual([['restored', [solo.clientURL], [solo.peerURL]]]);
    const put = await c.client.put(m.clientURL, `${prefix}/after-restore`, 'yes');
    expect(put.kind, JSON.stringify(put)).toBe('acknowledged');
    const tree = await readTree(c.client, m.clientURL, prefix);
    const afterPresent = after.filter((r) => tree.values.get(r.key) === r.value).length;

    // Restart without the flag: the data dir now belongs to the one-member cluster.
    await m.kill('SIGTERM');
    const plain = new ClusterMember({ name: 'restored-again', clientURL: solo.clientURL, peerURL: solo.peerURL, dataDir: backupDir, logFile: path.join(c.baseDir, 'restored-again.log'), command: memberCommand('etcd-ts', [...solo.flags, '--data-dir', backupDir], 'warn') });
    restored.push(plain);
    plain.start();
    await healthy(c, plain);
    expect(await missing(c, plain.clientURL, prefix, before)).toEqual([]);
    expect((await readTree(c.client, plain.clientURL, prefix)).values.get(`${prefix}/after-restore`)).toBe('yes');
    expect((await c.client.put(plain.clientURL, `${prefix}/after-restart`, 'yes')).kind).toBe('acknowledged');
    await plain.kill('SIGTERM');
    console.info(
      `[${c.label}] backup of a running follower took ${backupMs} ms under load (${load.summary()}); ${before.length} writes acknowledged before it all restored; ` +
        `${afterPresent} of ${after.length} acknowledged after it present; restored member healthy after ${readyMs} ms`,
    );
  }, 180_000);

  it('a backup of a stopped member restores every write it held', async () => {
    const c = cluster();
    const prefix = '/backup-stopped';
    for (const m of c.members) c.restart(m.name);
    await c.waitHealthy({ timeoutMs: 30_000 });
    await c.waitLeader({ timeoutMs: 30_000 });
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.members.map((m) => m.clientURL) });
    load.start();
    try {
      await load.waitAcked(200, { timeoutMs: 30_000 });
    } finally {
      await load.stop();
    }
    await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    await Promise.all(c.members.map((m) => c.kill(m.name, 'SIGKILL')));
    const source = c.members[2] as ClusterMember;
    const backupDir = path.join(c.baseDir, 'stopped.backup');
    expect((await fs.readdir(path.join(source.dataDir, 'member', 'snap'))).filter((n) => n.endsWith('.snap')).length).toBeGreaterThan(0);
    const run = await etcdTs(['backup', '--data-dir', source.dataDir, '--backup-dir', backupDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const again = await etcdTs(['backup', '--data-dir', source.dataDir, '--backup-dir', backupDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^etcd-ts backup: --backup-dir .* is not empty/);

    const solo = await soloFlags('restored-stopped');
    const m = new ClusterMember({ name: 'restored-stopped', clientURL: solo.clientURL, peerURL: solo.peerURL, dataDir: backupDir, logFile: path.join(c.baseDir, 'restored-stopped.log'), command: memberCommand('etcd-ts', [...solo.flags, '--data-dir', backupDir, '--force-new-cluster'], 'warn') });
    restored.push(m);
    m.start();
    await healthy(c, m);
    expect(await missing(c, m.clientURL, prefix, load.acknowledged)).toEqual([]);
    expect((await c.client.put(m.clientURL, `${prefix}/after-restore`, 'yes')).kind).toBe('acknowledged');
    await m.kill('SIGTERM');
  }, 180_000);

  it('cleans up', async () => {
    await Promise.all(restored.map(async (m) => {
      await m.forceStop();
      await m.closeLog();
    }));
  });
});
