// --target local: a fresh three-member etcd-ts cluster started by the launcher
// (cluster/local-cluster.mjs) on free loopback ports with its control API (kill -9, restart,
// SIGSTOP/SIGCONT, partitions through each member's peer fault filter). Its output goes to a log file.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PORT_RANGE, portFinder } from '../ports.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface MemberInfo {
  name: string;
  clientURL: string;
  state?: string;
}

export interface ControlApi {
  url: string;
  token: string;
}

export interface LocalCluster {
  members: MemberInfo[];
  control: ControlApi;
  stop(): Promise<void>;
}

/** Free loopback ports below the ephemeral range (tools/ports.ts), from a random place in it. */
export const freePorts = portFinder(PORT_RANGE.start, PORT_RANGE.end - PORT_RANGE.start, Math.floor(Math.random() * (PORT_RANGE.end - PORT_RANGE.start)));

export async function startLocalCluster(logFile: string, startTimeoutMs = 60_000): Promise<LocalCluster> {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm install does it)');
  }
  const ports = await freePorts(7);
  const client = ports.slice(0, 3);
  const peer = ports.slice(3, 6);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-jepsen-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(repoRoot, 'cluster', 'local-cluster.mjs'), '--fresh', '--data-dir', dataDir, '--client-ports', client.join(','), '--peer-ports', peer.join(','), '--control-port', String(ports[6])],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = fs.createWriteStream(logFile);
  let controlURL: string | null = null;
  let token: string | null = null;
  let healthy = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      log.write(line + '\n');
      const c = /control\| listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (c !== null) controlURL = c[1]!;
      const t = /[?&]token=([0-9a-f]+)/.exec(line);
      if (t !== null) token = t[1]!;
      if (line.startsWith('cluster healthy')) healthy = true;
    });
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + startTimeoutMs;
  while (!(healthy && controlURL !== null && token !== null)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the local cluster did not become healthy (see ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const members = ['infra1', 'infra2', 'infra3'].map((name, i) => ({ name, clientURL: `http://127.0.0.1:${client[i]}` }));
  return { members, control: { url: controlURL!, token: token! }, stop };
}

/** A call to the launcher's control API; resolves with the status and JSON body, never throws. */
export async function control(api: ControlApi, method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(`${api.url}${p}`, {
      method,
      headers: { Authorization: `Bearer ${api.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : null,
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  } catch (err) {
    return { status: 0, body: { message: (err as Error).message } };
  }
}
