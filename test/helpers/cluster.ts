// A test cluster of real member processes on free loopback ports: the real etcd or etcd-ts (see
// cluster-binary.ts), started with etcd's flags, each member with its own data dir and log file
// under one temp dir. Operations a fault test needs: who is the leader (by majority), kill -9 /
// SIGTERM, restart with the same flags and data, SIGSTOP / SIGCONT, and a bounded stopAll().
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { clusterLogLevel, clusterTargetFromEnv, memberCommand, type ClusterTargetKind } from './cluster-binary.js';
import { ClusterMember } from './cluster-member.js';
import { KvClient } from './kv-client.js';
import type { ClientTLS } from './cluster-http.js';
import { memberTLSFlags, type TestCerts } from './tls-certs.js';
import { tokenWithOrderedIds } from './member-ids.js';
import { freePorts } from './ports.js';
import { WaitAbortedError, waitFor } from './wait-for.js';
import { askLeaderViews, majorityLeader, type LeaderView } from './leader-views.js';

export interface ClusterOptions {
  /** Number of members; default 3. */
  size?: 1 | 3 | 5;
  /** Default: ETCD_TS_TEST_TARGET (etcd-ts when unset). */
  target?: ClusterTargetKind;
  /** --heartbeat-interval; default 100 ms (etcd's default). */
  heartbeatMs?: number;
  /** --election-timeout; default 1000 ms (etcd's default). */
  electionMs?: number;
  /** Data dirs to use instead of fresh ones (one per member; left in place by stopAll). */
  dataDirs?: string[];
  /** Bound on the first start (every member healthy); default 30 s. */
  startTimeoutMs?: number;
  /** Label for the temp dir and messages. */
  label?: string;
  /**
   * Steer the first election towards this member: it gets `electionMs`, the others 5x that (and the
   * real etcd runs without its initial tick advance), so it normally campaigns first. A preference,
   * not a guarantee: check leader() when it matters.
   */
  preferredLeader?: string;
  /** The client ports then the peer ports (2 x size, ascending); default: free ones. */
  ports?: readonly number[];
  /** --initial-cluster-token; default: a fresh one per cluster. */
  token?: string;
  /** Pick the cluster token so that member ids ascend in name order (see member-ids.ts). */
  idsInNameOrder?: boolean;
  /** More flags for every member (e.g. ['--max-request-bytes', '12582912']). */
  extraFlags?: string[];
  /**
   * Every client and peer URL https://, each member with `certs.member` on both sides and
   * client-certificate authentication on both (tls-certs.ts); the harness's client presents
   * the certificate of `clientName` (default 'root').
   */
  tls?: { certs: TestCerts; clientName?: string };
}

/** A member's view of who leads, from its /v2/members/leader. */
export type { LeaderView } from './leader-views.js';

let clusterSeq = 0;

export class Cluster {
  readonly client: KvClient;
  private failed = false;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly target: ClusterTargetKind,
    readonly members: readonly ClusterMember[],
    readonly baseDir: string,
    private readonly ownedDataDirs: boolean,
    readonly label: string,
    clientTLS?: ClientTLS,
  ) {
    this.client = new KvClient(clientTLS !== undefined ? { tls: clientTLS } : {});
  }

  get size(): number {
    return this.members.length;
  }

  get majority(): number {
    return Math.floor(this.members.length / 2) + 1;
  }

  member(name: string): ClusterMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`${this.label}: no member named ${name} (have ${this.members.map((x) => x.name).join(', ')})`);
    return m;
  }

  /** Members whose process runs (not paused, not exited). */
  live(): ClusterMember[] {
    return this.members.filter((m) => m.state === 'running');
  }

  /** Members that exited without the harness stopping them (a crash or refusal to start). */
  crashes(): string[] {
    return this.members.filter((m) => m.crashed).map((m) => `${m.name} (pid ${m.pid})`);
  }

  async isHealthy(m: ClusterMember, timeoutMs = 1000): Promise<boolean> {
    try {
      const res = await this.client.http.send({ method: 'GET', url: `${m.clientURL}/health`, timeoutMs });
      return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }

  /** Waits until every running member (or the given ones) reports /health true. */
  async waitHealthy(opts: { timeoutMs?: number; members?: readonly ClusterMember[] } = {}): Promise<void> {
    const members = opts.members ?? this.live();
    const pending = new Set(members.map((m) => m.name));
    await waitFor(
      async () => {
        this.throwIfCrashed();
        const results = await Promise.all(members.map(async (m) => [m.name, await this.isHealthy(m)] as const));
        for (const [name, ok] of results) if (ok) pending.delete(name);
        return pending.size === 0;
      },
      {
        what: `/health "true" on ${members.map((m) => m.name).join(', ')} of ${this.label}`,
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        describe: () => `still unhealthy: ${[...pending].join(', ')}`,
      },
    );
  }

  /**
   * Waits until every running member's /v2/members lists every member with its name and client URL.
   * A member publishes these through raft after it starts (etcd does too), so a cluster can be
   * healthy, with a leader, while a member still shows `"name":""` and no clientURLs.
   */
  async waitMembersPublished(opts: { timeoutMs?: number } = {}): Promise<void> {
    const expected = JSON.stringify(this.members.map((m) => [m.name, [m.clientURL]]).sort());
    let last = '';
    await waitFor(
      async () => {
        this.throwIfCrashed();
        const views = await Promise.all(
          this.live().map(async (m) => {
            const res = await this.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/members`, timeoutMs: 1000 });
            const body = JSON.parse(res.body) as { members?: Array<{ name: string; clientURLs: string[] }> };
            return [m.name, JSON.stringify((body.members ?? []).map((x) => [x.name, x.clientURLs]).sort())] as const;
          }),
        );
        last = views.filter(([, v]) => v !== expected).map(([n, v]) => `${n}: ${v}`).join('; ');
        return views.every(([, v]) => v === expected);
      },
      {
        what: `every member of ${this.label} listed with its name and client URL in /v2/members`,
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        describe: () => last,
      },
    );
  }

  /** What each running member says about the leader (GET /v2/members/leader, 1 s bound each). */
  leaderViews(): Promise<LeaderView[]> {
    return askLeaderViews(this.client.http, this.live(), this.members, 1000);
  }

  /** The leader, when a majority of the cluster's members name the same running member. */
  async leader(): Promise<ClusterMember | undefined> {
    return majorityLeader(await this.leaderViews(), this.live(), this.majority);
  }

  /** Waits for a majority-agreed leader, optionally one that is not in `notIn`. */
  async waitLeader(opts: { timeoutMs?: number; notIn?: readonly string[]; intervalMs?: number } = {}): Promise<ClusterMember> {
    let last: LeaderView[] = [];
    return waitFor(
      async () => {
        this.throwIfCrashed();
        const l = await this.leader();
        if (!l) last = await this.leaderViews();
        return l && !(opts.notIn ?? []).includes(l.name) ? l : undefined;
      },
      {
        what: `a leader agreed by ${this.majority} of ${this.size} members of ${this.label}${opts.notIn?.length ? ` other than ${opts.notIn.join(', ')}` : ''}`,
        timeoutMs: opts.timeoutMs ?? 20_000,
        intervalMs: opts.intervalMs ?? 50,
        describe: () => JSON.stringify(last),
      },
    );
  }

  /** Running members other than the agreed leader (waits for one). */
  async followers(): Promise<ClusterMember[]> {
    const leader = await this.waitLeader();
    return this.live().filter((m) => m !== leader);
  }

  kill(name: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<string> {
    return this.member(name).kill(signal);
  }

  /** Starts an exited member again with the same flags and data dir (does not wait for health). */
  restart(name: string): void {
    this.member(name).start();
  }

  pause(name: string): void {
    this.member(name).pause();
  }

  resume(name: string): void {
    this.member(name).resume();
  }

  /** Records that a test failed: with ETCD_TS_CLUSTER_KEEP_LOGS=1, stopAll() then keeps the log files. */
  markFailed(): void {
    this.failed = true;
  }

  /** The tail of every member's output, for failure messages. */
  logs(maxCharsPerMember = 12_000): string {
    return this.members.map((m) => `----- ${m.name} ${m.clientURL} (log file ${m.logFile})\n${m.logTail(maxCharsPerMember)}`).join('\n');
  }

  /** Kills every member (SIGCONT+SIGKILL) and removes the temp dir (see markFailed for the logs). */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.members.map((m) => m.forceStop()));
      await Promise.all(this.members.map((m) => m.closeLog()));
      await this.client.close().catch(() => undefined);
      if (this.failed && process.env['ETCD_TS_CLUSTER_KEEP_LOGS'] === '1') {
        if (this.ownedDataDirs) await Promise.all(this.members.map((m) => fs.rm(m.dataDir, { recursive: true, force: true })));
        console.error(`${this.label}: complete member logs kept in ${this.baseDir}`);
      } else {
        if (this.failed) console.error(`${this.label}: set ETCD_TS_CLUSTER_KEEP_LOGS=1 to keep the complete member logs of a failed test`);
        await fs.rm(this.baseDir, { recursive: true, force: true });
      }
    })();
    return this.stopping;
  }

  /** Ends a wait at once when a member died on its own (its output is in logs()). */
  private throwIfCrashed(): void {
    const crashed = this.members.filter((m) => m.crashed);
    if (crashed.length > 0) {
      const last = (m: ClusterMember): string => m.logTail(400).trim().split('\n').slice(-3).join(' | ');
      throw new WaitAbortedError(
        `${this.label}: ${crashed.map((m) => `${m.name} (pid ${m.pid}) exited by itself with ${m.exitStatus || '?'}; its last lines: ${last(m)}`).join('\n')}`,
      );
    }
  }
}

/** Builds `size` members (ports, data dirs, flags) without starting any: the caller starts them. */
export async function createCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const size = opts.size ?? 3;
  const target = opts.target ?? clusterTargetFromEnv();
  const label = `${opts.label ?? 'cluster'}-${target}x${size}`;
  const names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  if (opts.dataDirs && opts.dataDirs.length !== size) throw new Error(`startCluster: ${opts.dataDirs.length} data dirs for ${size} members`);
  // Sorted so that client and peer URLs sort in member order (n1 first) on every run: URL lists
  // that get normalised by sorting then line up across clusters.
  const ports = opts.ports !== undefined ? [...opts.ports] : (await freePorts(size * 2)).sort((a, b) => a - b);
  if (ports.length !== size * 2) throw new Error(`startCluster: ${ports.length} ports for ${size} members`);
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), `${label.replace(/[^a-z0-9-]/gi, '')}-`));
  const scheme = opts.tls !== undefined ? 'https' : 'http';
  const clientURLs = names.map((_, i) => `${scheme}://127.0.0.1:${ports[i]}`);
  const peerURLs = names.map((_, i) => `${scheme}://127.0.0.1:${ports[size + i]}`);
  const initialCluster = names.map((n, i) => `${n}=${peerURLs[i]}`).join(',');
  const baseToken = `${label}-${process.pid}-${Date.now()}-${clusterSeq++}`;
  const token = opts.token ?? (opts.idsInNameOrder ? tokenWithOrderedIds(peerURLs, baseToken) : baseToken);
  const logLevel = clusterLogLevel();
  const electionMs = opts.electionMs ?? 1000;
  if (opts.preferredLeader !== undefined && !names.includes(opts.preferredLeader)) throw new Error(`startCluster: no member ${opts.preferredLeader}`);
  const members = names.map((name, i) => {
    const clientURL = clientURLs[i] as string;
    const peerURL = peerURLs[i] as string;
    const dataDir = opts.dataDirs?.[i] ?? path.join(baseDir, `${name}.data`);
    const flags = [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientURL,
      '--advertise-client-urls', clientURL,
      '--listen-peer-urls', peerURL,
      '--initial-advertise-peer-urls', peerURL,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', String(opts.heartbeatMs ?? 100),
      '--election-timeout', String(opts.preferredLeader === undefined || opts.preferredLeader === name ? electionMs : 5 * electionMs),
      ...(opts.preferredLeader !== undefined ? ['--initial-election-tick-advance=false'] : []),
      ...(opts.tls !== undefined ? memberTLSFlags(opts.tls.certs) : []),
      ...(opts.extraFlags ?? []),
    ];
    return new ClusterMember({ name, clientURL, peerURL, dataDir, logFile: path.join(baseDir, `${name}.log`), command: memberCommand(target, flags, logLevel) });
  });
  return new Cluster(target, members, baseDir, !opts.dataDirs, label, opts.tls !== undefined ? await clientTLSFor(opts.tls.certs, opts.tls.clientName ?? 'root') : undefined);
}

/** The PEM contents a test client needs to reach the TLS members as `clientName`. */
export async function clientTLSFor(certs: TestCerts, clientName: string): Promise<ClientTLS> {
  const pair = certs.clients[clientName];
  if (pair === undefined) throw new Error(`no client certificate for ${clientName} (have ${Object.keys(certs.clients).join(', ')})`);
  const [ca, cert, key] = await Promise.all([fs.readFile(certs.ca, 'utf8'), fs.readFile(pair.cert, 'utf8'), fs.readFile(pair.key, 'utf8')]);
  return { ca, cert, key };
}

/** Starts `size` members and waits until all are healthy, agree on a leader and list each other. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const cluster = await createCluster(opts);
  const { members, label } = cluster;
  try {
    for (const m of members) m.start();
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    const left = (): number => Math.max(1000, deadline - Date.now());
    await cluster.waitHealthy({ timeoutMs: left() });
    await cluster.waitLeader({ timeoutMs: left() });
    await cluster.waitMembersPublished({ timeoutMs: left() });
  } catch (err) {
    cluster.markFailed();
    const logs = cluster.logs(4000);
    await cluster.stopAll();
    throw new Error(`${label}: could not start: ${(err as Error).message}\n${logs}`);
  }
  return cluster;
}
