// Is there a Docker engine, and which compose: for the docker tests (test/helpers/docker-engine.ts)
// and `npm run jepsen -- --target docker` (tools/jepsen/docker-cluster.ts).
//   ETCD_TS_COMPOSE   'v1' (docker-compose) or 'v2' (docker compose); default: v2 when it answers
import { run } from './exec.js';

export type ComposeFlavour = 'v1' | 'v2';

export interface DockerAvailability {
  ok: boolean;
  /** Why the docker tests cannot run (when !ok). */
  reason: string;
  compose?: ComposeFlavour;
  /** e.g. "engine 20.10.24, docker-compose 1.29.2". */
  versions?: string;
}

let availability: Promise<DockerAvailability> | undefined;

/** Does a Docker engine answer, with a docker CLI and a compose (v2 plugin or v1 standalone)? Cached per process. */
export function dockerAvailability(): Promise<DockerAvailability> {
  availability ??= probe();
  return availability;
}

async function probe(): Promise<DockerAvailability> {
  const info = await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 });
  if (info.code !== 0) {
    const why = info.stderr.trim().split('\n').slice(-2).join(' ') || `exit code ${info.code}`;
    return { ok: false, reason: `no Docker engine answers (\`docker version\`: ${why})` };
  }
  const engine = info.stdout.trim();
  const wanted = process.env['ETCD_TS_COMPOSE'];
  if (wanted !== undefined && wanted !== 'v1' && wanted !== 'v2') return { ok: false, reason: `ETCD_TS_COMPOSE must be v1 or v2, not ${wanted}` };
  if (wanted !== 'v1') {
    const v2 = await run('docker', ['compose', 'version', '--short'], { timeoutMs: 15_000 });
    if (v2.code === 0) return { ok: true, reason: '', compose: 'v2', versions: `engine ${engine}, docker compose ${v2.stdout.trim()}` };
    if (wanted === 'v2') return { ok: false, reason: `ETCD_TS_COMPOSE=v2 but \`docker compose version\` fails: ${v2.stderr.trim()}` };
  }
  const v1 = await run('docker-compose', ['version', '--short'], { timeoutMs: 15_000 });
  if (v1.code === 0) return { ok: true, reason: '', compose: 'v1', versions: `engine ${engine}, docker-compose ${v1.stdout.trim()}` };
  return { ok: false, reason: `Docker engine ${engine} answers, but neither \`docker compose\` (v2) nor \`docker-compose\` (v1) is installed` };
}

