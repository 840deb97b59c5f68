// --target docker: the docker-compose cluster of the repository's docker-compose.yml (services infra1,
// infra2, infra3), faulted through the Docker engine with the docker CLI, as test/docker does:
//   kill       docker kill -s KILL <container>        restart  docker start <container>
//   pause      docker pause <container>               resume   docker unpause <container>
//   partition  docker network disconnect <project>_peer <container> for each member outside the
//              largest group (the `peer` network carries the raft traffic only; clients still reach
//              the cut-off member through the `client` network and its published port); healed with
//              docker network connect and the aliases it had (infraN-peer, infraN).
// It attaches to the project's containers when they exist (started ones that are stopped, and only
// those are stopped at the end); with none, it runs `compose up -d` (building the image if missing:
// BASE_IMAGE etc. come from the environment, as for a plain `docker-compose up -d`) and `compose
// down -v` at the end. Compose is v2 (`docker compose`) when it answers, else v1 (`docker-compose`);
// ETCD_TS_COMPOSE=v1|v2 picks one. Every docker command is bounded.
import fs from 'node:fs';
import path from 'node:path';
import type { FaultController, MemberState } from './faults.js';
import { dockerAvailability } from '../docker.js';
import { run } from '../exec.js';
import { repoRoot, type MemberInfo } from './local-cluster.js';

export interface DockerTargetOptions {
  /** Default: the repository's docker-compose.yml. */
  composeFile?: string;
  /** Compose project name; default compose's own (COMPOSE_PROJECT_NAME, else the file's directory name). */
  project?: string;
  /** Variables for compose (e.g. ETCD_TS_IMAGE, ETCD_TS_INFRA1_PORT), over the process environment. */
  env?: Record<string, string>;
  /** Bound on start until every member is healthy (an image build not included). Default 120 s. */
  startTimeoutMs?: number;
  /** Where the members' container output of the run is written at stop(). */
  logFile?: string;
  log?: (line: string) => void;
}

const services = ['infra1', 'infra2', 'infra3'] as const;


/** `docker <args>`; throws with its stderr on a non-zero exit. */
async function docker(args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const res = await run('docker', args, { timeoutMs });
  if (res.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${res.code}: ${res.stderr.trim().slice(-500)}`);
  return res.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Paused: boolean };
  Config: { Labels: Record<string, string> };
  HostConfig: { PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> };
  NetworkSettings: { Networks: Record<string, { Aliases?: string[] | null }> };
}

async function inspect(ids: readonly string[]): Promise<Inspect[]> {
  return JSON.parse(await docker(['inspect', ...ids], 15_000)) as Inspect[];
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1500) });
    return res.status === 200 && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export async function attachDockerCluster(opts: DockerTargetOptions = {}): Promise<FaultController> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const available = await dockerAvailability();
  if (!available.ok) throw new Error(`--target docker: ${available.reason}`);
  const file = path.resolve(opts.composeFile ?? path.join(repoRoot, 'docker-compose.yml'));
  if (!fs.existsSync(file)) throw new Error(`--target docker: no compose file ${file}`);
  const [cmd, ...pre] = available.compose === 'v1' ? ['docker-compose'] : ['docker', 'compose'];
  const composeName = [cmd, ...pre].join(' ');
  const composeEnv = { ...process.env, ...opts.env };
  const compose = async (args: string[], timeoutMs: number): Promise<string> => {
    const full = [...pre, '-f', file, ...(opts.project !== undefined ? ['-p', opts.project] : []), ...args];
    const res = await run(cmd!, full, { timeoutMs, cwd: path.dirname(file), env: composeEnv });
    if (res.code !== 0) throw new Error(`${cmd} ${full.join(' ')}: exit ${res.code}: ${res.stderr.trim().slice(-1500)}`);
    return res.stdout;
  };
  const v2 = cmd === 'docker';
  const containerIds = async (): Promise<Map<string, string>> => {
    const ids = (await compose(['ps', ...(v2 ? ['--all'] : []), '-q'], 30_000)).split('\n').map((s) => s.trim()).filter(Boolean);
    const byService = new Map<string, string>();
    if (ids.length === 0) return byService;
    for (const c of await inspect(ids)) {
      const s = c.Config.Labels['com.docker.compose.service'];
      if (s !== undefined && (services as readonly string[]).includes(s)) byService.set(s, c.Id);
    }
    return byService;
  };

  const attachedAt = new Date();
  let ids = await containerIds();
  /** 'down': the tool created the containers (compose down -v at the end); else the ones it started. */
  let teardown: 'down' | string[] = [];
  if (ids.size < services.length) {
    log(`jepsen: no docker-compose cluster of ${path.basename(file)} runs: ${composeName} up -d (the image is built when missing; this can take minutes)`);
    const started = Date.now();
    teardown = ids.size === 0 ? 'down' : services.filter((s) => !ids.has(s));
    try {
      await compose(['up', '-d', ...services], 20 * 60_000);
    } catch (err) {
      if (teardown === 'down') await compose(['down', '-v', '--timeout', '5'], 120_000).catch(() => undefined);
      throw err;
    }
    log(`jepsen: compose up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    ids = await containerIds();
    if (ids.size < services.length) throw new Error(`compose up: expected containers for ${services.join(', ')}, found ${[...ids.keys()].join(', ') || 'none'}`);
  }
  const id = (name: string): string => {
    const x = ids.get(name);
    if (x === undefined) throw new Error(`no member ${name}`);
    return x;
  };
  const first = await inspect(services.map(id));
  const project = first[0]!.Config.Labels['com.docker.compose.project']!;
  const members: MemberInfo[] = first.map((c, i) => {
    const binding = c.HostConfig.PortBindings?.['2379/tcp']?.[0];
    if (binding?.HostPort === undefined) throw new Error(`${services[i]}: container ${c.Name} publishes no client port 2379`);
    const host = binding.HostIp === undefined || binding.HostIp === '' || binding.HostIp === '0.0.0.0' ? '127.0.0.1' : binding.HostIp;
    return { name: services[i]!, clientURL: `http://${host}:${binding.HostPort}` };
  });
  const nets = (await docker(['network', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.network=peer', '--format', '{{.Name}}'])).split('\n').filter(Boolean);
  const peerNet = nets[0] ?? `${project}_peer`;
  /** Aliases on the peer network of each member cut off by partition(), to reconnect with. */
  const isolated = new Map<string, string[]>();

  const state = async (): Promise<{ name: string; state: MemberState }[]> =>
    (await inspect(services.map(id))).map((c, i) => ({ name: services[i]!, state: c.State.Paused ? 'paused' : c.State.Running ? 'running' : 'stopped' }));

  const healPartition = async (): Promise<void> => {
    const infos = await inspect(services.map(id));
    for (const [i, c] of infos.entries()) {
      const name = services[i]!;
      if (c.NetworkSettings.Networks[peerNet] !== undefined) {
        isolated.delete(name);
        continue;
      }
      const aliases = isolated.get(name) ?? [`${name}-peer`, name];
      await docker(['network', 'connect', ...aliases.flatMap((a) => ['--alias', a]), peerNet, c.Id], 30_000);
      isolated.delete(name);
    }
  };

  const faults: FaultController = {
    label: `docker-compose project ${project}`,
    members: () => members,
    kill: async (name) => {
      await docker(['kill', '-s', 'KILL', id(name)], 20_000);
      for (let i = 0; i < 100 && (await inspect([id(name)]))[0]!.State.Running; i++) await sleep(100);
    },
    restart: async (name) => {
      const [c] = await inspect([id(name)]);
      await docker(c!.State.Running ? ['restart', '-t', '10', id(name)] : ['start', id(name)], 60_000);
    },
    // runc sometimes fails to freeze while a process joins the cgroup (Docker's HEALTHCHECK execs one
    // every few seconds) and thaws the container again: a retry is safe (as test/helpers/compose-cluster.ts).
    pause: async (name) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await docker(['pause', id(name)], 20_000);
          return;
        } catch (err) {
          if (attempt >= 5 || !/unable to freeze/i.test((err as Error).message)) throw err;
          await sleep(100 * attempt);
        }
      }
    },
    resume: async (name) => {
      await docker(['unpause', id(name)], 20_000);
    },
    partition: async (groups) => {
      const listed = groups.flat();
      if (listed.length !== services.length || services.some((s) => !listed.includes(s))) throw new Error(`partition: every member once, got ${JSON.stringify(groups)}`);
      const majority = groups.reduce((a, b) => (b.length > a.length ? b : a));
      const cut = groups.filter((g) => g !== majority);
      if (cut.some((g) => g.length > 1)) throw new Error(`partition: docker cuts single members off the peer network; a group of ${cut.find((g) => g.length > 1)!.join(',')} cannot be kept together`);
      await healPartition();
      for (const [name] of cut) {
        const [c] = await inspect([id(name!)]);
        const aliases = (c!.NetworkSettings.Networks[peerNet]?.Aliases ?? []).filter((a) => !c!.Id.startsWith(a));
        await docker(['network', 'disconnect', '-f', peerNet, c!.Id], 30_000);
        isolated.set(name!, aliases.length > 0 ? aliases : [`${name}-peer`, name!]);
      }
    },
    healPartition,
    // (a delay would need tc netem and NET_ADMIN in the members' containers)
    delay: null,
    healDelay: async () => {},
    state,
    stop: async () => {
      // Whatever a failed run left faulted, then the container output, then down (when created here).
      await healPartition().catch(() => undefined);
      for (const m of await state().catch(() => [])) if (m.state === 'paused') await docker(['unpause', id(m.name)]).catch(() => undefined);
      if (opts.logFile !== undefined) {
        const parts: string[] = [];
        for (const name of services) {
          const res = await run('docker', ['logs', '--since', attachedAt.toISOString(), id(name)], { timeoutMs: 30_000 });
          parts.push(`----- ${name} (container ${id(name).slice(0, 12)})\n${res.stdout}${res.stderr}`);
        }
        fs.writeFileSync(opts.logFile, parts.join('\n'));
      }
      if (teardown === 'down') {
        log(`jepsen: ${composeName} down -v (the cluster was started by this run)`);
        await compose(['down', '-v', '--timeout', '5'], 120_000).catch((err: Error) => log(`jepsen: ${err.message}`));
      } else if (teardown.length > 0) {
        await compose(['stop', '--timeout', '5', ...teardown], 120_000).catch((err: Error) => log(`jepsen: ${err.message}`));
      }
    },
  };

  // Attached to a running cluster: heal what an interrupted run may have left, then start killed members.
  try {
    if ((await inspect(services.map(id))).some((c) => c.NetworkSettings.Networks[peerNet] === undefined)) log(`jepsen: reconnecting members cut off from ${peerNet}`);
    await healPartition();
    for (const m of await state()) {
      if (m.state === 'paused') {
        log(`jepsen: unpausing ${m.name}'s paused container`);
        await faults.resume(m.name);
      }
      if (m.state === 'stopped') {
        log(`jepsen: starting ${m.name}'s stopped container`);
        await faults.restart(m.name);
        if (Array.isArray(teardown)) teardown.push(m.name);
      }
    }
    const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
    for (;;) {
      const ok = await Promise.all(members.map((m) => healthy(m.clientURL)));
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`not healthy within ${opts.startTimeoutMs ?? 120_000} ms: ${members.filter((_, i) => !ok[i]).map((m) => `${m.name} (${m.clientURL})`).join(', ')}`);
      await sleep(500);
    }
  } catch (err) {
    await faults.stop().catch(() => undefined);
    throw new Error(`--target docker (${faults.label}): ${(err as Error).message}`);
  }
  log(`jepsen: attached to ${faults.label}: ${members.map((m) => `${m.name}=${m.clientURL}`).join(' ')} (peer network ${peerNet})`);
  return faults;
}
