// Starts one or more members of an etcd-compatible server with etcd's own flags, on free loopback
// ports, each with a temp data dir, and waits until every member's /health is true. Used for the
// real etcd and for etcd-ts alike: only the command differs.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnLogged, type Spawned } from './child-process.js';
import { waitHealthy } from './health.js';
import { freePorts } from './ports.js';
import type { Target } from './target.js';

export interface LaunchOptions {
  /** For messages, e.g. 'etcd'. */
  label: string;
  /** Executable and the arguments before etcd's flags, e.g. ['node', 'bin/etcd-ts']. */
  command: string;
  commandArgs?: string[];
  /** Working directory of the processes. */
  cwd?: string;
  /** Number of members (1 = single-member cluster). */
  members?: number;
  /** Index (in member order) of the member the test talks to. */
  talkTo?: number;
  /** Flags added after the standard ones. */
  extraArgs?: string[];
  /** Member names; default n1, n2, ... */
  names?: string[];
  env?: NodeJS.ProcessEnv;
  healthTimeoutMs?: number;
  /** https:// client and peer URLs (the TLS flags go in extraArgs; see https-client.ts for the client side). */
  https?: boolean;
}

let clusterSeq = 0;

export async function launchMembers(opts: LaunchOptions): Promise<Target> {
  const count = opts.members ?? 1;
  const ports = await freePorts(count * 2);
  const names = opts.names ?? Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const scheme = opts.https === true ? 'https' : 'http';
  const clientURLs = names.map((_, i) => `${scheme}://127.0.0.1:${ports[2 * i]}`);
  const peerURLs = names.map((_, i) => `${scheme}://127.0.0.1:${ports[2 * i + 1]}`);
  const initialCluster = names.map((n, i) => `${n}=${peerURLs[i]}`).join(',');
  const token = `${opts.label.replace(/[^a-z0-9]/gi, '')}-${process.pid}-${Date.now()}-${clusterSeq++}`;
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), `${opts.label.replace(/[^a-z0-9-]/gi, '')}-test-`));
  const processes: Spawned[] = [];
  let stopped: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await fs.rm(baseDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    for (let i = 0; i < count; i++) {
      const dataDir = path.join(baseDir, names[i] as string);
      const flags = [
        '--name', names[i] as string,
        '--data-dir', dataDir,
        '--listen-client-urls', clientURLs[i] as string,
        '--advertise-client-urls', clientURLs[i] as string,
        '--listen-peer-urls', peerURLs[i] as string,
        '--initial-advertise-peer-urls', peerURLs[i] as string,
        '--initial-cluster', initialCluster,
        ...(count > 1 ? ['--initial-cluster-state', 'new', '--initial-cluster-token', token] : []),
        ...(opts.extraArgs ?? []),
      ];
      processes.push(
        spawnLogged(opts.command, [...(opts.commandArgs ?? []), ...flags], {
          cwd: opts.cwd,
          env: { ...process.env, ...opts.env },
        }),
      );
    }
    const timeoutMs = opts.healthTimeoutMs ?? 20_000;
    await Promise.all(clientURLs.map((url) => waitHealthy(url, processes, timeoutMs)));
  } catch (err) {
    await stop();
    throw new Error(`${opts.label}: could not start ${count} member(s): ${(err as Error).message}`);
  }

  const talkTo = opts.talkTo ?? 0;
  return {
    label: count > 1 ? `${opts.label}x${count}` : opts.label,
    clientURL: clientURLs[talkTo] as string,
    clientURLs,
    peerURLs,
    logs: () => processes.map((p, i) => `--- ${names[i]} (pid ${p.pid})\n${p.logTail()}`).join('\n'),
    stop,
  };
}
