// What the nemesis acts through: a FaultController per target. `local` wraps the launcher's control
// API (tools/jepsen/local-cluster.ts), `docker` the Docker engine for the docker-compose cluster
// (tools/jepsen/docker-cluster.ts); a list of URLs has none (no nemesis). Each action resolves once
// done and throws (with what failed) otherwise.
import { attachDockerCluster, type DockerTargetOptions } from './docker-cluster.js';
import { control, startLocalCluster, type ControlApi, type MemberInfo } from './local-cluster.js';

export type MemberState = 'running' | 'stopped' | 'paused';

export interface FaultController {
  /** e.g. "local cluster" or "docker-compose project etcd-ts". */
  readonly label: string;
  members(): MemberInfo[];
  /** SIGKILL of the member's process (container); it stays down until restart(). */
  kill(name: string): Promise<void>;
  /** Starts a killed member again (restarts a running one). */
  restart(name: string): Promise<void>;
  /** Freezes the member (SIGSTOP, docker pause): its sockets stay open, it answers nothing. */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** Every member in one group; raft traffic between groups is cut (clients still reach every member). */
  partition(groups: string[][]): Promise<void>;
  /** Heals the partition in force (a no-op without one). */
  healPartition(): Promise<void>;
  /**
   * Delays the raft traffic between the members named and the others by `ms`, both ways (etcd's
   * DELAY_PEER_PORT_TX_RX); null when the target cannot (docker).
   */
  readonly delay: ((names: string[], ms: number) => Promise<void>) | null;
  /** Heals the delay in force (a no-op without one). */
  healDelay(): Promise<void>;
  state(): Promise<{ name: string; state: MemberState }[]>;
  /** Stops the cluster when the controller started it; otherwise only lets it go. */
  stop(): Promise<void>;
}

/** Heals whatever the nemesis may have left: the partition, paused and stopped members (each a no-op when healed). */
export async function healAll(faults: FaultController): Promise<void> {
  const errors: string[] = [];
  await faults.healPartition().catch((err: Error) => errors.push(err.message));
  await faults.healDelay().catch((err: Error) => errors.push(err.message));
  for (const m of await faults.state()) {
    if (m.state === 'paused') await faults.resume(m.name).catch((err: Error) => errors.push(err.message));
    if (m.state === 'stopped') await faults.restart(m.name).catch((err: Error) => errors.push(err.message));
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
}

async function call(api: ControlApi, method: string, p: string, body?: unknown): Promise<void> {
  const res = await control(api, method, p, body);
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
  // a partition or a delay that some running member did not take (its PUT /debug/raft/faults failed)
  const errors = (res.body as { errors?: Record<string, string> } | null)?.errors ?? {};
  if (Object.keys(errors).length > 0) throw new Error(`${method} ${p}: not applied on ${JSON.stringify(errors)}`);
}

/** A fresh local three-member cluster (the launcher) and its control API. */
export async function startLocalFaults(logFile: string): Promise<FaultController> {
  const cluster = await startLocalCluster(logFile);
  const api = cluster.control;
  return {
    label: 'local cluster',
    members: () => cluster.members,
    kill: (name) => call(api, 'POST', `/api/members/${name}/kill`),
    restart: (name) => call(api, 'POST', `/api/members/${name}/restart`),
    pause: (name) => call(api, 'POST', `/api/members/${name}/pause`),
    resume: (name) => call(api, 'POST', `/api/members/${name}/resume`),
    partition: (groups) => call(api, 'POST', '/api/partition', { groups }),
    healPartition: () => call(api, 'DELETE', '/api/partition'),
    delay: (names, ms) => call(api, 'POST', '/api/delay', { members: names, ms }),
    healDelay: () => call(api, 'DELETE', '/api/delay'),
    state: async () => {
      const res = await control(api, 'GET', '/api/cluster');
      if (res.status !== 200) throw new Error(`GET /api/cluster: ${res.status} ${JSON.stringify(res.body)}`);
      const list = (res.body as { members?: { name: string; state: string }[] } | null)?.members ?? [];
      return list.map((m) => ({ name: m.name, state: m.state === 'paused' ? 'paused' : m.state === 'running' ? 'running' : 'stopped' }));
    },
    stop: cluster.stop,
  };
}

/** The target's members and its fault controller (null for a list of URLs: no nemesis there). */
export async function openTarget(
  target: 'local' | 'docker' | string[],
  opts: { logFile: string; docker?: DockerTargetOptions; log: (line: string) => void },
): Promise<{ members: MemberInfo[]; faults: FaultController | null }> {
  if (target === 'local') {
    opts.log(`jepsen: starting a local 3-member cluster (log: ${opts.logFile})`);
    const faults = await startLocalFaults(opts.logFile);
    return { members: faults.members(), faults };
  }
  if (target === 'docker') {
    const faults = await attachDockerCluster({ logFile: opts.logFile, log: opts.log, ...opts.docker });
    return { members: faults.members(), faults };
  }
  return { members: target.map((u) => ({ name: new URL(u).host, clientURL: u.replace(/\/+$/, '') })), faults: null };
}
