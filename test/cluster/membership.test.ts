// Membership changes on real member processes (etcd's member add / remove through the log):
// replacing a dead member under write load with `etcdctl member add` and the ETCD_* lines it prints
// (the newcomer catches up from the leader's snapshot), a leader that removes itself, and a cluster
// grown from 1 to 5 members that survives two members down and shrinks back to 3.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import { ClusterMember } from '../helpers/cluster-member.js';
import { clusterLogLevel, memberCommand } from '../helpers/cluster-binary.js';
import { describeRun, etcdctl } from '../helpers/etcdctl.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { freePorts } from '../helpers/ports.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

interface MemberJSON {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

const SNAPSHOT_FLAGS = ['--snapshot-count', '200', '--experimental-snapshot-catchup-entries', '50'];
const started: ClusterMember[] = [];

afterAll(async () => {
  await Promise.all(started.map((m) => m.forceStop().catch(() => undefined)));
});

async function members(c: Cluster, url: string): Promise<MemberJSON[]> {
  const res = await c.client.http.send({ method: 'GET', url: `${url}/v2/members`, timeoutMs: 5000 });
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as { members: MemberJSON[] }).members;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Sends a membership request to the leader, again while etcd's strict checks refuse it (500; the peers must be connected for 5 s), bounded. */
async function onLeaderUntil(c: Cluster, leaderURL: () => Promise<string>, req: { method: string; path: string; body?: string }, want: number, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const url = await leaderURL();
    const res = await fetch(`${url}${req.path}`, {
      method: req.method,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
      ...(req.body !== undefined ? { body: req.body, headers: { 'Content-Type': 'application/json' } } : {}),
    })
      .then(async (r) => ({ status: r.status, body: await r.text() }))
      .catch((err: unknown) => ({ status: 0, body: String(err) }));
    if (res.status === want) return res.body;
    last = `${res.status} ${res.body}`;
    await sleep(500);
  }
  throw new Error(`${req.method} ${req.path}: no ${want} within ${timeoutMs} ms; last: ${last}`);
}

/** A member that joins with --initial-cluster-state existing (from flags or from the ETCD_* lines of `etcdctl member add`). */
async function joiner(c: Cluster, name: string, peerURL: string, env: Record<string, string>, extraFlags: string[] = []): Promise<ClusterMember> {
  const [clientPort] = await freePorts(1);
  const clientURL = `http://127.0.0.1:${clientPort}`;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `join-${name}-`));
  const flags = ['--data-dir', dataDir, '--listen-client-urls', clientURL, '--advertise-client-urls', clientURL, '--listen-peer-urls', peerURL, ...SNAPSHOT_FLAGS, ...extraFlags];
  const m = new ClusterMember({ name, clientURL, peerURL, dataDir, logFile: path.join(c.baseDir, `${name}.log`), command: memberCommand(c.target, flags, clusterLogLevel()), env });
  started.push(m);
  m.start();
  return m;
}

async function waitHealthy(c: Cluster, m: ClusterMember, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (m.state === 'exited') throw new Error(`${m.name} exited (${m.exitStatus}); see ${m.logFile}`);
    const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/health`, timeoutMs: 2000 }).catch(() => null);
    if (res?.status === 200) return;
    await sleep(200);
  }
  throw new Error(`${m.name} not healthy within ${timeoutMs} ms`);
}

async function metric(c: Cluster, m: ClusterMember, name: string): Promise<number> {
  const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/metrics`, timeoutMs: 5000 });
  let total = 0;
  for (const line of res.body.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

describe('membership changes', () => {
  const cluster = useCluster({ label: 'membership', extraFlags: SNAPSHOT_FLAGS });

  it('replaces a dead member under write load: member remove, then member add with the ETCD_* lines etcdctl prints; the newcomer catches up by snapshot and nothing acknowledged is lost', async () => {
    const c = cluster();
    const [n1, n2, n3] = [c.member('n1'), c.member('n2'), c.member('n3')];
    let live: ClusterMember[] = [n1, n2, n3];
    const prefix = '/replace';
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => live.filter((m) => m.state === 'running').map((m) => m.clientURL) });
    load.start();
    try {
      await load.waitAcked(400, { timeoutMs: 60_000 });
      const before = await members(c, n1.clientURL);
      const deadId = before.find((m) => m.name === 'n3')?.id as string;
      await n3.kill('SIGKILL');
      live = [n1, n2];
      const t0 = Date.now();
      await c.waitLeader({ notIn: ['n3'] }); // (a follower redirects to the leader it knows: not the dead one)
      // Removing a member that is down is safe (etcd's mayRemoveMember): no wait for health.
      const removed = await etcdctl(['member', 'remove', deadId], { endpoints: n1.clientURL, noSync: true });
      expect(removed.stdout, describeRun(['member', 'remove', deadId], removed)).toContain(`Removed member ${deadId} from cluster`);
      const tRemoved = Date.now() - t0;
      expect((await members(c, n2.clientURL)).map((m) => m.name).sort()).toEqual(['n1', 'n2']);
      // Removing it again: etcd's 410.
      const again = await c.client.http.send({ method: 'DELETE', url: `${(await c.waitLeader()).clientURL}/v2/members/${deadId}`, timeoutMs: 5000 });
      expect(again.status).toBe(410);
      expect(JSON.parse(again.body)).toEqual({ message: `Member permanently removed: ${deadId}` });

      const [peerPort] = await freePorts(1);
      const newPeer = `http://127.0.0.1:${peerPort}`;
      let added = { code: -1, stdout: '', stderr: '' };
      const addDeadline = Date.now() + 30_000;
      while (Date.now() < addDeadline) {
        added = await etcdctl(['member', 'add', 'n4', newPeer], { endpoints: n1.clientURL, noSync: true });
        if (added.code === 0) break;
        await sleep(500); // the cluster must look healthy for 5 s (etcd's strict reconfiguration check)
      }
      expect(added.code, describeRun(['member', 'add', 'n4', newPeer], added)).toBe(0);
      const tAdded = Date.now() - t0;
      const env: Record<string, string> = {};
      for (const line of added.stdout.split('\n')) {
        const m = /^(ETCD_[A-Z_]+)="(.*)"$/.exec(line.trim());
        if (m !== null) env[m[1] as string] = m[2] as string;
      }
      expect(Object.keys(env).sort()).toEqual(['ETCD_INITIAL_CLUSTER', 'ETCD_INITIAL_CLUSTER_STATE', 'ETCD_NAME']);
      expect(env['ETCD_INITIAL_CLUSTER_STATE']).toBe('existing');
      // (as for etcd, the new member's own URLs are its flags; etcdctl prints the cluster's side)
      const n4 = await joiner(c, 'n4', newPeer, env, ['--initial-advertise-peer-urls', newPeer]);
      await waitHealthy(c, n4);
      const tHealthy = Date.now() - t0;
      live = [n1, n2, n4];
      await load.waitAcked(load.acknowledged.length + 200, { timeoutMs: 60_000 });
      await load.stop();
      const checks = await waitLedgerEverywhere(c.client, live, load.records, prefix, 60_000);
      expect(checks.length).toBe(3);
      // The leader had compacted its log far beyond what n4 lacked: it caught up from a snapshot.
      expect(await metric(c, n4, 'etcd_network_snapshot_receive_success')).toBeGreaterThanOrEqual(1);
      const after = await members(c, n4.clientURL);
      expect(after.map((m) => m.name).sort()).toEqual(['n1', 'n2', 'n4']);
      expect(after.find((m) => m.name === 'n4')?.clientURLs).toEqual([n4.clientURL]);
      console.log(
        `[membership] replacement: removed ${deadId} ${tRemoved} ms after the kill, added n4 at ${tAdded} ms, n4 healthy at ${tHealthy} ms; ` +
          `writes acknowledged ${load.acknowledged.length}, failed ${load.count('failed')}, indeterminate ${load.count('indeterminate')}; member list: ${after.map((m) => `${m.id}:${m.name}`).join(', ')}`,
      );
      // A restart of the newcomer takes its ids from its data dir (etcd reads them from its WAL).
      await n4.kill('SIGTERM');
      n4.start();
      await waitHealthy(c, n4);
      expect((await members(c, n4.clientURL)).find((m) => m.name === 'n4')?.id).toBe(after.find((m) => m.name === 'n4')?.id);
    } finally {
      await load.stop();
    }
  }, 240_000);

  it('a leader that removes itself commits the change, hands over and exits cleanly; the others go on', async () => {
    const c = cluster();
    const running = (): ClusterMember[] => [c.member('n1'), c.member('n2'), c.member('n3'), ...started].filter((m) => m.state === 'running');
    const lead = await c.waitLeader();
    const list = await members(c, lead.clientURL);
    const leadId = list.find((m) => m.name === lead.name)?.id as string;
    await onLeaderUntil(c, async () => (await c.waitLeader()).clientURL, { method: 'DELETE', path: `/v2/members/${leadId}` }, 204);
    const exit = await Promise.race([lead.exited, sleep(20_000).then(() => 'still running')]);
    expect(exit).toBe('0');
    expect(lead.logTail(4000)).toContain('the member has been permanently removed from the cluster');
    const others = running();
    let next: ClusterMember | undefined;
    for (let i = 0; i < 100 && next === undefined; i++) {
      for (const m of others) {
        const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/members/leader`, timeoutMs: 2000 }).catch(() => null);
        const url = res?.status === 200 ? (JSON.parse(res.body) as MemberJSON).clientURLs[0] : undefined;
        next = others.find((o) => o.clientURL === url);
        if (next !== undefined) break;
      }
      if (next === undefined) await sleep(100);
    }
    if (next === undefined) throw new Error('no new leader among the others');
    const put = await c.client.http.send({ method: 'PUT', url: `${next.clientURL}/v2/keys/after-self-removal`, form: { value: '1' }, timeoutMs: 5000 });
    expect(put.status, put.body).toBe(201);
    expect((await members(c, next.clientURL)).map((m) => m.id)).not.toContain(leadId);
  }, 120_000);
});

describe('growing and shrinking', () => {
  const cluster = useCluster({ label: 'grow', size: 1, extraFlags: SNAPSHOT_FLAGS });

  it('grows 1 -> 3 -> 5, survives two members down, and shrinks back to 3', async () => {
    const c = cluster();
    const n1 = c.member('n1');
    const all: ClusterMember[] = [n1];
    const leaderURL = async (): Promise<string> => {
      for (const m of all) {
        if (m.state !== 'running') continue;
        const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/members/leader`, timeoutMs: 2000 }).catch(() => null);
        if (res?.status === 200) return (JSON.parse(res.body) as MemberJSON).clientURLs[0] as string;
      }
      return n1.clientURL;
    };
    const put = async (key: string): Promise<number> => {
      const url = await leaderURL();
      const res = await c.client.http.send({ method: 'PUT', url: `${url}/v2/keys/grow/${key}`, form: { value: '1' }, timeoutMs: 5000 }).catch(() => ({ status: 0, body: '' }));
      return res.status;
    };
    for (let i = 0; i < 300; i++) expect(await put(`a${i}`)).toBe(201);
    for (const name of ['n2', 'n3', 'n4', 'n5']) {
      const [peerPort] = await freePorts(1);
      const peerURL = `http://127.0.0.1:${peerPort}`;
      const body = await onLeaderUntil(c, leaderURL, { method: 'POST', path: '/v2/members', body: JSON.stringify({ peerURLs: [peerURL] }) }, 201);
      const record = JSON.parse(body) as MemberJSON;
      expect(record).toMatchObject({ name: '', peerURLs: [peerURL], clientURLs: [] });
      const list = await members(c, await leaderURL());
      const initialCluster = list.map((m) => `${m.id === record.id ? name : m.name}=${m.peerURLs[0]}`).join(',');
      const m = await joiner(c, name, peerURL, {}, ['--name', name, '--initial-advertise-peer-urls', peerURL, '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing']);
      all.push(m);
      await waitHealthy(c, m);
      expect(await put(`after-${name}`)).toBe(201);
    }
    const five = await members(c, n1.clientURL);
    expect(five.map((m) => m.name).sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    // Two of five down: the other three are a quorum.
    const lead = await leaderURL();
    const down = all.filter((m) => m.clientURL !== lead).slice(0, 2);
    for (const m of down) await m.kill('SIGKILL');
    let ok = 0;
    for (let i = 0; i < 50; i++) if ((await put(`two-down-${i}`)) === 201) ok++;
    expect(ok).toBeGreaterThanOrEqual(45);
    // Shrink back to 3: remove the two dead members (safe: they are down).
    for (const m of down) {
      const id = five.find((x) => x.name === m.name)?.id as string;
      await onLeaderUntil(c, leaderURL, { method: 'DELETE', path: `/v2/members/${id}` }, 204);
    }
    const three = await members(c, await leaderURL());
    expect(three.length).toBe(3);
    expect(three.map((m) => m.name)).not.toContain(down[0]?.name);
    expect(await put('after-shrink')).toBe(201);
    // A removed member that was down and comes back is told so by its old peers (410 Gone) and exits.
    const back = down[0] as ClusterMember;
    back.start();
    const exit = await Promise.race([back.exited, sleep(30_000).then(() => 'still running')]);
    expect(exit).toBe('0');
    expect(back.logTail(4000)).toContain('the member has been permanently removed from the cluster');
    // Every key is on every remaining member.
    for (const m of all.filter((x) => x.state === 'running')) {
      const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/keys/grow/after-shrink?quorum=true`, timeoutMs: 5000 });
      expect(res.status, `${m.name}: ${res.body}`).toBe(200);
    }
    console.log(`[membership] grew 1 -> 5 with ${300 + 4} writes, ${ok}/50 writes with two of five down, shrank to ${three.map((m) => m.name).join(',')}`);
  }, 240_000);
});
