// A three-member cluster from the repository's own docker-compose.yml, started through testcontainers'
// DockerComposeEnvironment (compose v2, or v1 as a standalone executable) under a project name of its
// own, on free 127.0.0.1 ports (ETCD_TS_INFRA{1,2,3}_PORT) and the image built by docker-engine.ts.
// Faults act on the real containers: SIGKILL and start, docker pause / unpause, and a partition that
// disconnects a container from the compose `peer` network (its client port stays reachable from the
// host, so what the cut-off member answers can be observed) and reconnects it with its aliases.
//
// Services under a compose profile (infra4, profile "replace": the replacement of a dead member) are
// not started by `up`; startProfileService() starts one later with `compose --profile <p> up -d <s>`,
// as a user does, on the free port chosen for it at the start, and adds it to `members`.
//
// Members are `{ name, clientURL }` like the process harness's, so write-load.ts and ledger-check.ts
// work unchanged. A container that the restart policy (unless-stopped) brought back, or one that
// exited without the test killing it, or a fatal log line, is reported by crashes().
import type Dockerode from 'dockerode';
import { DockerComposeEnvironment, getContainerRuntimeClient, type StartedDockerComposeEnvironment, type WaitStrategy } from 'testcontainers';
import type { ClusterMember } from './cluster-member.js';
import { delay } from './child-process.js';
import { dockerAvailability, ensureImage, repoRoot, run, type BuiltImage, type ComposeFlavour } from './docker-engine.js';
import { KvClient } from './kv-client.js';
import { freePorts } from './ports.js';
import { WaitAbortedError, waitFor, withTimeout } from './wait-for.js';
import { askLeaderViews, majorityLeader, type LeaderView } from './leader-views.js';

export const serviceNames = ['infra1', 'infra2', 'infra3'] as const;
/** docker-compose.yml's services under a profile, with it: not started by a plain `up`. */
export const profileServices = { infra4: 'replace' } as const;
export type ProfileServiceName = keyof typeof profileServices;
export type ServiceName = (typeof serviceNames)[number] | ProfileServiceName;
const allServiceNames: readonly ServiceName[] = [...serviceNames, ...(Object.keys(profileServices) as ProfileServiceName[])];

export interface DockerMember {
  /** The compose service and the member's --name. */
  readonly name: ServiceName;
  /** http://127.0.0.1:<published port>, also the member's advertised client URL. */
  readonly clientURL: string;
  readonly containerId: string;
}

export type { LeaderView } from './leader-views.js';

/** testcontainers' wait runs before ours; ours says what was awaited and prints member logs. */
class NoWait implements WaitStrategy {
  private timeoutMs = 60_000;
  async waitUntilReady(): Promise<void> {}
  withStartupTimeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }
  isStartupTimeoutSet(): boolean {
    return true;
  }
  getStartupTimeout(): number {
    return this.timeoutMs;
  }
}

let projectSeq = 0;

export class ComposeCluster {
  readonly client = new KvClient();
  /** Killed by the test and not started again. */
  private readonly down = new Set<ServiceName>();
  private readonly paused = new Set<ServiceName>();
  /** Cut off from the peer network: the aliases to reconnect with. */
  private readonly isolated = new Map<ServiceName, string[]>();
  private downing: Promise<void> | null = null;

  constructor(
    readonly project: string,
    /** The three of a plain `up`, then the profile services started by startProfileService(). */
    readonly members: DockerMember[],
    readonly image: BuiltImage,
    readonly compose: ComposeFlavour,
    readonly docker: Dockerode,
    private readonly env: StartedDockerComposeEnvironment,
    /** Every service's published client port (the profile services' too). */
    readonly ports: Readonly<Record<ServiceName, number>>,
    /** The variables compose ran with (image, ports, log level). */
    private readonly composeEnv: Readonly<Record<string, string>>,
  ) {}

  get label(): string {
    return `compose project ${this.project}`;
  }

  /** For ledger-check.ts, which reads only `name` and `clientURL`. */
  get ledgerMembers(): readonly ClusterMember[] {
    return this.members as unknown as readonly ClusterMember[];
  }

  member(name: string): DockerMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`${this.label}: no member ${name}`);
    return m;
  }

  container(name: string): Dockerode.Container {
    return this.docker.getContainer(this.member(name).containerId);
  }

  inspect(name: string): Promise<Dockerode.ContainerInspectInfo> {
    return withTimeout(this.container(name).inspect(), 10_000, `docker inspect ${name}`);
  }

  /** Members whose process runs and is not frozen (a partitioned one runs: it answers clients). */
  live(): DockerMember[] {
    return this.members.filter((m) => !this.down.has(m.name) && !this.paused.has(m.name));
  }

  async isHealthy(m: DockerMember, timeoutMs = 1000): Promise<boolean> {
    try {
      const res = await this.client.http.send({ method: 'GET', url: `${m.clientURL}/health`, timeoutMs });
      return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }

  /** Docker's own view: the image's HEALTHCHECK status ('healthy', 'unhealthy', 'starting'). */
  async dockerHealth(name: string): Promise<string> {
    return (await this.inspect(name)).State.Health?.Status ?? 'none';
  }

  /** Waits until each given member's /health says "true" (and, with `docker`, Docker says healthy). */
  async waitHealthy(opts: { members?: readonly DockerMember[]; timeoutMs?: number; docker?: boolean } = {}): Promise<void> {
    const members = opts.members ?? this.live();
    const state = new Map<string, string>();
    await waitFor(
      async () => {
        await this.throwIfCrashed();
        const results = await Promise.all(
          members.map(async (m) => {
            const http = await this.isHealthy(m);
            const docker = opts.docker ? await this.dockerHealth(m.name) : 'healthy';
            state.set(m.name, `/health ${http ? 'true' : 'not true'}, docker ${docker}`);
            return http && docker === 'healthy';
          }),
        );
        return results.every(Boolean);
      },
      {
        what: `${members.map((m) => m.name).join(', ')} of ${this.label} healthy${opts.docker ? ' (/health and Docker HEALTHCHECK)' : ''}`,
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 250,
        describe: () => [...state].map(([n, s]) => `${n}: ${s}`).join('; '),
      },
    );
  }

  /** Waits until every live member lists exactly `expectedMembers` (default: all) with their names and client URLs. */
  async waitMembersPublished(timeoutMs = 30_000, expectedMembers: readonly DockerMember[] = this.members): Promise<void> {
    const expected = JSON.stringify(expectedMembers.map((m) => [m.name, [m.clientURL]]).sort());
    let last = '';
    await waitFor(
      async () => {
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
      { what: `every member of ${this.label} listed in /v2/members`, timeoutMs, intervalMs: 200, describe: () => last },
    );
  }

  /** GET /v2/members/leader on each given member (default: the live ones). */
  leaderViews(among: readonly DockerMember[] = this.live(), timeoutMs = 1000): Promise<LeaderView[]> {
    return askLeaderViews(this.client.http, among, this.members, timeoutMs);
  }

  /** The leader named by a majority (2 of 3) of the live members, when it is live itself. */
  async leader(): Promise<DockerMember | undefined> {
    return majorityLeader(await this.leaderViews(), this.live(), 2);
  }

  async waitLeader(opts: { notIn?: readonly string[]; timeoutMs?: number } = {}): Promise<DockerMember> {
    let last: LeaderView[] = [];
    return waitFor(
      async () => {
        await this.throwIfCrashed();
        const l = await this.leader();
        if (!l) last = await this.leaderViews();
        return l && !(opts.notIn ?? []).includes(l.name) ? l : undefined;
      },
      {
        what: `a leader agreed by 2 of 3 members of ${this.label}${opts.notIn?.length ? ` other than ${opts.notIn.join(', ')}` : ''}`,
        timeoutMs: opts.timeoutMs ?? 20_000,
        intervalMs: 50,
        describe: () => JSON.stringify(last),
      },
    );
  }

  /** Waits until every given member names the same leader (after a heal or a restart). */
  async waitAllAgree(members: readonly DockerMember[] = this.live(), timeoutMs = 20_000): Promise<DockerMember> {
    let last: LeaderView[] = [];
    return waitFor(
      async () => {
        last = await this.leaderViews(members);
        const names = new Set(last.map((v) => v.leaderName));
        const [only] = [...names];
        return names.size === 1 && only !== undefined ? this.member(only) : undefined;
      },
      { what: `${members.map((m) => m.name).join(', ')} of ${this.label} naming the same leader`, timeoutMs, intervalMs: 50, describe: () => JSON.stringify(last) },
    );
  }

  /** `docker kill -s KILL`: the whole container dies at once (no shutdown, no flush). */
  async kill(name: ServiceName): Promise<void> {
    await withTimeout(this.container(name).kill({ signal: 'SIGKILL' }), 15_000, `docker kill ${name}`);
    this.down.add(name);
    await waitFor(async () => !(await this.inspect(name)).State.Running, { what: `${name}'s container to stop after SIGKILL`, timeoutMs: 15_000 });
  }

  /** `docker start` of a killed member (same container, same volume, same flags). */
  async start(name: ServiceName): Promise<void> {
    await withTimeout(this.container(name).start(), 30_000, `docker start ${name}`);
    this.down.delete(name);
  }

  /**
   * `compose --profile <its profile> up -d <name>` (the README's command) with the variables the
   * cluster was started with; the service becomes a member of `members`. Does not wait for health.
   */
  async startProfileService(name: ProfileServiceName): Promise<DockerMember> {
    const [command, ...pre] = this.compose === 'v1' ? ['docker-compose'] : ['docker', 'compose'];
    const args = [...pre, '-p', this.project, '-f', 'docker-compose.yml', '--profile', profileServices[name], 'up', '-d', '--no-build', name];
    const res = await run(command as string, args, { timeoutMs: 120_000, env: { ...process.env, ...this.composeEnv, COMPOSE_PROJECT_NAME: this.project } });
    if (res.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.slice(-2000)}`);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${this.project}`, `com.docker.compose.service=${name}`] } });
    const [c] = containers;
    if (containers.length !== 1 || !c) throw new Error(`${this.label}: expected one container for ${name} after compose up, found ${containers.length}`);
    const member: DockerMember = { name, clientURL: `http://127.0.0.1:${this.ports[name]}`, containerId: c.Id };
    this.members.push(member);
    return member;
  }

  /**
   * `docker pause` (cgroup freezer). runc sometimes fails to freeze ("unable to freeze") when a process
   * joins the cgroup meanwhile (Docker's HEALTHCHECK execs one every few seconds); it thaws the
   * container again then, so a retry is safe.
   */
  async pause(name: ServiceName): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await withTimeout(this.container(name).pause(), 15_000, `docker pause ${name}`);
        break;
      } catch (err) {
        if (attempt >= 5 || !/unable to freeze/i.test((err as Error).message)) throw err;
        await delay(100 * attempt);
      }
    }
    this.paused.add(name);
    const state = (await this.inspect(name)).State;
    if (!state.Paused) throw new Error(`${name}: docker pause returned but the container is ${state.Status}`);
  }

  async unpause(name: ServiceName): Promise<void> {
    await withTimeout(this.container(name).unpause(), 15_000, `docker unpause ${name}`);
    this.paused.delete(name);
  }

  /** The compose `peer` network (raft traffic only). */
  async peerNetwork(): Promise<Dockerode.NetworkInspectInfo> {
    const nets = await this.docker.listNetworks({ filters: { label: [`com.docker.compose.project=${this.project}`, 'com.docker.compose.network=peer'] } });
    const [net] = nets;
    if (nets.length !== 1 || !net) throw new Error(`${this.label}: expected one compose network "peer", found ${nets.map((n) => n.Name).join(', ') || 'none'}`);
    return net;
  }

  /** Cuts `name` off from the other members: disconnected from the peer network; clients still reach it. */
  async isolate(name: ServiceName): Promise<void> {
    const net = await this.peerNetwork();
    const info = await this.inspect(name);
    const endpoint = info.NetworkSettings.Networks[net.Name] as { Aliases?: string[] | null } | undefined;
    if (!endpoint) throw new Error(`${name} is not on ${net.Name}`);
    const aliases = (endpoint.Aliases ?? []).filter((a) => !info.Id.startsWith(a));
    await withTimeout(this.docker.getNetwork(net.Id).disconnect({ Container: info.Id, Force: true }), 15_000, `docker network disconnect ${net.Name} ${name}`);
    this.isolated.set(name, aliases);
  }

  /** Reconnects an isolated member to the peer network with the aliases it had (infraN, infraN-peer). */
  async heal(name: ServiceName): Promise<void> {
    const aliases = this.isolated.get(name);
    if (!aliases) throw new Error(`${name} is not isolated`);
    const net = await this.peerNetwork();
    await withTimeout(
      this.docker.getNetwork(net.Id).connect({ Container: this.member(name).containerId, EndpointConfig: { Aliases: aliases } }),
      15_000,
      `docker network connect ${net.Name} ${name}`,
    );
    this.isolated.delete(name);
  }

  /** A member's /v2/stats/self state (StateLeader / StateFollower / ...), or the error. */
  async raftState(m: DockerMember, timeoutMs = 1000): Promise<string> {
    try {
      const res = await this.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/stats/self`, timeoutMs });
      return (JSON.parse(res.body) as { state?: string }).state ?? `status ${res.status}`;
    } catch (err) {
      return `<${(err as Error).message}>`;
    }
  }

  /** The last `lines` lines of a member container's output. */
  async logs(name: string, lines = 80): Promise<string> {
    const res = await run('docker', ['logs', '--tail', String(lines), this.member(name).containerId], { timeoutMs: 15_000 });
    return `${res.stdout}${res.stderr}`;
  }

  async allLogs(lines = 60, maxLineChars = 400): Promise<string> {
    const parts = await Promise.all(
      this.members.map(async (m) => {
        const text = (await this.logs(m.name, lines)).split('\n').map((l) => (l.length > maxLineChars ? `${l.slice(0, maxLineChars)}…` : l));
        return `----- ${m.name} (${m.clientURL}, container ${m.containerId.slice(0, 12)})\n${text.join('\n')}`;
      }),
    );
    return parts.join('\n');
  }

  /**
   * Members that crashed: brought back by the restart policy (RestartCount > 0), exited without the
   * test killing them, or that logged a fatal line ("level":60, "member cannot continue").
   */
  async crashes(): Promise<string[]> {
    const out: string[] = [];
    for (const m of this.members) {
      const info = await this.inspect(m.name);
      if (info.RestartCount > 0) out.push(`${m.name}: restarted ${info.RestartCount} time(s) by Docker's restart policy (its process exited by itself)`);
      if (!info.State.Running && !this.down.has(m.name)) out.push(`${m.name}: container not running (${info.State.Status}, exit code ${info.State.ExitCode})`);
      const logs = await run('docker', ['logs', m.containerId], { timeoutMs: 30_000 });
      const fatal = `${logs.stdout}\n${logs.stderr}`.split('\n').filter((l) => l.includes('"level":60'));
      if (fatal.length > 0) out.push(`${m.name}: ${fatal.length} fatal log line(s), first: ${fatal[0]?.slice(0, 1500)}`);
    }
    return out;
  }

  private async throwIfCrashed(): Promise<void> {
    for (const m of this.members) {
      if (this.down.has(m.name)) continue;
      const info = await this.inspect(m.name);
      if (info.RestartCount > 0 || !info.State.Running) {
        throw new WaitAbortedError(`${m.name} crashed (${info.State.Status}, restarts ${info.RestartCount}); its last lines:\n${await this.logs(m.name, 5)}`);
      }
    }
  }

  /** Unfreezes and reconnects what a test left faulted, then `compose down -v` (bounded). */
  async composeDown(): Promise<void> {
    for (const name of [...this.paused]) await this.unpause(name).catch(() => undefined);
    for (const name of [...this.isolated.keys()]) await this.heal(name).catch(() => undefined);
    await withTimeout(this.env.down({ removeVolumes: true, timeout: 5_000 }), 60_000, `compose down -v of ${this.project}`);
  }

  /**
   * composeDown(), then removes whatever of the project is left (containers, networks, volumes), so
   * that a failed test leaves nothing behind. Idempotent, bounded.
   */
  stop(): Promise<void> {
    this.downing ??= (async () => {
      await this.composeDown().catch((err: Error) => console.error(`${this.label}: compose down failed: ${err.message}`));
      await this.client.close().catch(() => undefined);
      const left = await removeProjectLeftovers(this.docker, this.project).catch((err: Error) => [`(listing failed: ${err.message})`]);
      if (left.length > 0) console.error(`${this.label}: removed what compose down left: ${left.join(', ')}`);
    })();
    return this.downing;
  }
}

/** Force-removes a project's containers, networks and volumes (after a failed up or down). */
export async function removeProjectLeftovers(docker: Dockerode, project: string): Promise<string[]> {
  const label = `com.docker.compose.project=${project}`;
  const removed: string[] = [];
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  for (const c of containers) {
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
    removed.push(`container ${c.Names.join(',')}`);
  }
  for (const n of await docker.listNetworks({ filters: { label: [label] } })) {
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
    removed.push(`network ${n.Name}`);
  }
  const volumes = await docker.listVolumes({ filters: { label: [label] } });
  for (const v of volumes.Volumes ?? []) {
    await docker.getVolume(v.Name).remove().catch(() => undefined);
    removed.push(`volume ${v.Name}`);
  }
  return removed;
}

/** What `label` names in docker (for the leftover check of the compose test). */
export async function projectResources(docker: Dockerode, project: string): Promise<string[]> {
  const label = `com.docker.compose.project=${project}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  const volumes = (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [];
  return [...containers.map((c) => `container ${c.Names.join(',')}`), ...networks.map((n) => `network ${n.Name}`), ...volumes.map((v) => `volume ${v.Name}`)];
}

export interface ComposeClusterOptions {
  /** Part of the project name and of messages. */
  label: string;
  /**
   * Profiles to give compose (`--profile`), so that `down` also removes their services; `up` then
   * names the three services of a plain `up`, so only those start. Default: none (a plain `up`).
   */
  profiles?: readonly string[];
  /** Bound on start (image build not included); default 90 s. */
  startTimeoutMs?: number;
}

/**
 * Builds (or reuses) the image, then `compose up -d` of docker-compose.yml under a fresh project name
 * on free ports, and waits until every member is healthy (its /health and Docker's HEALTHCHECK), a
 * leader is agreed and the members have published their client URLs. Leaves nothing behind on failure.
 */
export async function startComposeCluster(opts: ComposeClusterOptions): Promise<ComposeCluster> {
  const availability = await dockerAvailability();
  if (!availability.ok || !availability.compose) throw new Error(availability.reason);
  const image = await ensureImage();
  const runtime = await withTimeout(getContainerRuntimeClient(), 30_000, 'testcontainers: a container runtime');
  const docker = runtime.container.dockerode;
  let project = '';
  let ports: number[] = [];
  let env: Record<string, string> = {};
  let started: StartedDockerComposeEnvironment | undefined;
  // Free ports are free when asked for; another test may take one before Docker binds it: retry.
  for (let attempt = 1; !started; attempt++) {
    project = `etcdts-${opts.label.toLowerCase().replace(/[^a-z0-9]/g, '')}-${process.pid}-${Date.now().toString(36)}${projectSeq++}`;
    ports = await freePorts(allServiceNames.length);
    env = {
      ETCD_TS_IMAGE: image.tag,
      BASE_IMAGE: image.baseImage,
      ETCD_TS_LOG_LEVEL: process.env['ETCD_TS_CLUSTER_LOG_LEVEL'] ?? 'info',
    };
    allServiceNames.forEach((s, i) => (env[`ETCD_TS_${s.toUpperCase()}_PORT`] = String(ports[i])));
    let environment = new DockerComposeEnvironment(repoRoot, 'docker-compose.yml')
      .withProjectName(project)
      .withEnvironment(env)
      .withDefaultWaitStrategy(new NoWait())
      .withClientOptions(availability.compose === 'v1' ? { executable: { standalone: true } } : {});
    if (opts.profiles?.length) environment = environment.withProfiles(...opts.profiles);
    try {
      started = await withTimeout(environment.up(opts.profiles?.length ? [...serviceNames] : undefined), 120_000, `compose up of ${project}`);
    } catch (err) {
      await removeProjectLeftovers(docker, project).catch(() => undefined);
      const message = (err as Error).message;
      if (attempt < 3 && /already allocated|address already in use/i.test(message)) continue;
      throw new Error(`compose up (${availability.compose}) of docker-compose.yml as ${project} failed: ${message}`);
    }
  }
  const containers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  const members = serviceNames.map((name, i): DockerMember => {
    const c = containers.find((x) => x.Labels['com.docker.compose.service'] === name);
    if (!c) throw new Error(`${project}: no container for service ${name}`);
    return { name, clientURL: `http://127.0.0.1:${ports[i]}`, containerId: c.Id };
  });
  const portOf = Object.fromEntries(allServiceNames.map((s, i) => [s, ports[i] as number])) as Record<ServiceName, number>;
  const cluster = new ComposeCluster(project, members, image, availability.compose, docker, started, portOf, env);
  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
    const left = (): number => Math.max(1000, deadline - Date.now());
    await cluster.waitHealthy({ docker: true, timeoutMs: left() });
    await cluster.waitLeader({ timeoutMs: left() });
    await cluster.waitMembersPublished(left());
  } catch (err) {
    const logs = await cluster.allLogs(40).catch(() => '');
    await cluster.stop();
    throw new Error(`${project}: did not become a healthy cluster: ${(err as Error).message}\n${logs}`);
  }
  return cluster;
}
