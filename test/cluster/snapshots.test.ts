// Snapshots and log compaction on real member processes (etcd's --snapshot-count, --max-snapshots,
// --experimental-snapshot-catchup-entries): members take snapshots and compact their logs under
// write load, keep a bounded number of snapshot files, restart from a snapshot plus the log's tail
// after kill -9, catch a follower up with the leader's snapshot when the entries it lacks are
// compacted, and refuse to start on a damaged snapshot file they cannot do without, naming it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import type { ClusterMember } from '../helpers/cluster-member.js';
import { openLevelKv, raftLogDir } from '../../src/storage/index.js';
import { loadRaftState } from '../../src/storage/load.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

const SNAPSHOT_COUNT = 100;
const CATCHUP = 20;
const MAX_SNAPSHOTS = 3; // (the least etcd-ts keeps)

async function snapFiles(m: ClusterMember): Promise<string[]> {
  const dir = path.join(m.dataDir, 'member', 'snap');
  return (await fs.readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
}

async function metric(c: Cluster, m: ClusterMember, name: string): Promise<number> {
  const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/metrics`, timeoutMs: 5000 });
  let total = 0;
  for (const line of res.body.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function raftStatus(c: Cluster, m: ClusterMember): Promise<{ applied: number; snapshotIndex: number; lastIndex: number }> {
  const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/debug/raft/status`, timeoutMs: 5000 });
  return JSON.parse(res.body) as { applied: number; snapshotIndex: number; lastIndex: number };
}

async function writeAcked(c: Cluster, prefix: string, count: number, targets: () => string[]): Promise<WriteLoad> {
  const load = new WriteLoad(c.client, { prefix, writers: 4, targets });
  load.start();
  try {
    await load.waitAcked(count, { timeoutMs: 60_000 });
  } finally {
    await load.stop();
  }
  return load;
}

describe('snapshots and log compaction', () => {
  const cluster = useCluster({
    label: 'snapshots',
    extraFlags: ['--snapshot-count', String(SNAPSHOT_COUNT), '--experimental-snapshot-catchup-entries', String(CATCHUP), '--max-snapshots', String(MAX_SNAPSHOTS)],
  });
  const loads: { load: WriteLoad; prefix: string }[] = [];

  it('every member snapshots each --snapshot-count entries, compacts its log to a catch-up tail and keeps --max-snapshots files', async () => {
    const c = cluster();
    const prefix = '/snap/load';
    const load = await writeAcked(c, prefix, 600, () => c.members.map((m) => m.clientURL));
    loads.push({ load, prefix });
    await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    for (const m of c.members) {
      const files = await snapFiles(m);
      expect(files.length, `${m.name}: ${files.join(', ')}`).toBeGreaterThanOrEqual(1);
      expect(files.length, `${m.name}: ${files.join(', ')}`).toBeLessThanOrEqual(MAX_SNAPSHOTS);
      const st = await raftStatus(c, m);
      // A snapshot at most --snapshot-count entries behind what is applied (plus the entries applied
      // while the newest one is being written).
      expect(st.snapshotIndex, JSON.stringify(st)).toBeGreaterThan(0);
      expect(st.applied - st.snapshotIndex, JSON.stringify(st)).toBeLessThanOrEqual(SNAPSHOT_COUNT + 50);
      expect(await metric(c, m, 'etcd_debugging_snap_save_total_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      const newest = files[files.length - 1] as string;
      const index = parseInt(newest.slice(17, 33), 16);
      expect(index).toBeGreaterThan(0);
      expect(index).toBeLessThanOrEqual(st.snapshotIndex);
    }
  }, 120_000);

  it('kill -9 of every member, then a start of every member: each restarts from its snapshot and the log tail, and keeps every acknowledged write', async () => {
    const c = cluster();
    await Promise.all(c.members.map((m) => c.kill(m.name, 'SIGKILL')));
    for (const m of c.members) {
      // On disk: the log starts within the catch-up tail below the recorded snapshot.
      const db = await openLevelKv(raftLogDir(m.dataDir));
      try {
        const st = await loadRaftState(db, { keepEntries: false });
        const snapIndex = st.snapshot.metadata.index;
        expect(snapIndex, m.name).toBeGreaterThan(0);
        expect(st.snapshot.data.length, m.name).toBe(0); // the data is in the snapshot file
        expect(st.storedFirstIndex, m.name).toBeGreaterThan(1);
        expect(st.storedFirstIndex, m.name).toBeGreaterThanOrEqual(snapIndex - CATCHUP - SNAPSHOT_COUNT);
        expect(st.storedFirstIndex, m.name).toBeLessThanOrEqual(snapIndex + 1);
      } finally {
        await db.close();
      }
    }
    const started = Date.now();
    for (const m of c.members) c.restart(m.name);
    await c.waitHealthy({ timeoutMs: 30_000 });
    await c.waitLeader({ timeoutMs: 30_000 });
    const restartMs = Date.now() - started;
    for (const { load, prefix } of loads) await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    console.info(`[${c.label}] restart of all three from snapshots: healthy with a leader after ${restartMs} ms`);
    expect(c.crashes()).toEqual([]);
  }, 120_000);

  it('a follower whose next entries were compacted away catches up with the leader\'s snapshot', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = (await c.followers())[0] as ClusterMember;
    await c.kill(follower.name, 'SIGKILL');
    const prefix = '/snap/while-down';
    const load = await writeAcked(c, prefix, 3 * SNAPSHOT_COUNT, () => [leader.clientURL]);
    loads.push({ load, prefix });
    const leaderStatus = await raftStatus(c, leader);
    expect(leaderStatus.snapshotIndex).toBeGreaterThan(0);
    c.restart(follower.name);
    await c.waitHealthy({ timeoutMs: 30_000 });
    for (const l of loads) await waitLedgerEverywhere(c.client, c.members, l.load.records, l.prefix, 30_000);
    expect(await metric(c, follower, 'etcd_network_snapshot_receive_success')).toBeGreaterThanOrEqual(1);
    // it came as the leader's snapshot file, written to disk as it arrived (not read into memory)
    expect(await metric(c, follower, 'etcd_network_snapshot_receive_total_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(await metric(c, follower, 'etcd_network_snapshot_receive_failures')).toBe(0);
    expect(await metric(c, leader, 'etcd_network_snapshot_send_success')).toBeGreaterThanOrEqual(1);
    expect(await metric(c, leader, 'etcd_network_snapshot_send_total_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('refuses to start on a damaged snapshot file it cannot do without, naming the file; starts again once it is whole', async () => {
    const c = cluster();
    const m = (await c.followers())[0] as ClusterMember;
    await c.kill(m.name, 'SIGTERM');
    const files = await snapFiles(m);
    const newest = path.join(m.dataDir, 'member', 'snap', files[files.length - 1] as string);
    const original = await fs.readFile(newest);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff;
    await fs.writeFile(newest, damaged);
    c.restart(m.name);
    const how = await m.exited;
    expect(how).not.toBe('0');
    const log = await fs.readFile(m.logFile, 'utf8');
    // The older file's entries are compacted (catch-up 20 < count 100): no fallback is possible.
    expect(log).toContain(path.basename(newest));
    expect(log).toMatch(/snapshot-missing/);
    // The damaged file was set aside as etcd does (<name>.broken); the whole one back, it starts.
    await fs.rm(`${newest}.broken`, { force: true });
    await fs.writeFile(newest, original);
    c.restart(m.name);
    await c.waitHealthy({ timeoutMs: 30_000 });
    for (const l of loads) await waitLedgerEverywhere(c.client, c.members, l.load.records, l.prefix, 30_000);
  }, 120_000);
});
