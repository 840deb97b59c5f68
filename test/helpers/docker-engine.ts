// The Docker side of test/docker: is there an engine (and a compose) to test with, and the member image
// built from the current sources, once per source state (tagged by a hash of the build context, so a
// second test file, or a second run on unchanged sources, reuses it).
//
// Environment:
//   BASE_IMAGE                  the Dockerfile's base (default node:20-slim; when that is not present
//                               locally but local/node-base:20 is, that one: the offline setup's image)
//   ETCD_TS_COMPOSE             'v1' (docker-compose) or 'v2' (docker compose); default: v2 when it answers
//   ETCD_TS_DOCKER_IMAGE        test this image (tag) instead of building one from the sources
//   CI=true                     a missing engine fails the docker tests instead of skipping them
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../tools/exec.js';
import { delay } from './child-process.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

// Ryuk (testcontainers' reaper) is an image pulled from Docker Hub, and the host address must be the
// loopback one the compose file publishes on; the tests clean up after themselves in afterAll.
process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';

export { run, type ExecResult } from '../../tools/exec.js';

export { dockerAvailability, type ComposeFlavour, type DockerAvailability } from '../../tools/docker.js';

async function imageExists(ref: string): Promise<boolean> {
  return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 })).code === 0;
}

let baseImage: Promise<string> | undefined;

/** The BASE_IMAGE build argument (see the file comment). */
export function baseImageArg(): Promise<string> {
  baseImage ??= (async () => {
    const explicit = process.env['BASE_IMAGE'];
    if (explicit) return explicit;
    const fallback = 'local/node-base:20';
    if (!(await imageExists('node:20-slim')) && (await imageExists(fallback))) return fallback;
    return 'node:20-slim';
  })();
  return baseImage;
}

/** Files of the build context that the Dockerfile uses (the allowlist in .dockerignore), sorted. */
async function contextFiles(): Promise<string[]> {
  const top = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'cluster/Dockerfile', '.dockerignore'];
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await fs.readdir(path.join(repoRoot, dir), { withFileTypes: true });
    const nested = await Promise.all(
      entries.map((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : Promise.resolve(e.isFile() && !e.name.endsWith('.log') ? [path.join(dir, e.name)] : []))),
    );
    return nested.flat();
  };
  return [...top, ...(await walk('src')), ...(await walk('bin'))].sort();
}

/** A tag naming the image built from the current sources on the current base image. */
export async function imageTag(): Promise<string> {
  const hash = createHash('sha256');
  const base = await baseImageArg();
  const baseId = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', base], { timeoutMs: 30_000 });
  hash.update(`BASE_IMAGE=${base}@${baseId.code === 0 ? baseId.stdout.trim() : 'not-local'}\n`);
  for (const file of await contextFiles()) {
    hash.update(`${file}\n`);
    hash.update(await fs.readFile(path.join(repoRoot, file)));
  }
  return `etcd-ts:test-${hash.digest('hex').slice(0, 16)}`;
}

/** Whether the lock's holder (a pid written into it) is gone, or the lock is older than `staleMs`. */
async function lockAbandoned(lock: string, staleMs: number): Promise<boolean> {
  const stat = await fs.stat(lock).catch(() => undefined);
  if (!stat) return false;
  if (Date.now() - stat.mtimeMs > staleMs) return true;
  const pid = Number(await fs.readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
  // No pid yet: its holder is between mkdir and writing it (give it a few seconds).
  if (!Number.isInteger(pid) || pid <= 0) return Date.now() - stat.mtimeMs > 5000;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Holds a lock directory while `fn` runs, so that parallel test files build the image once. */
async function withBuildLock<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const lock = path.join(os.tmpdir(), 'etcd-ts-docker-image.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.mkdir(lock);
      await fs.writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await lockAbandoned(lock, timeoutMs)) {
        await fs.rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${lock} (another test building the image)`);
      await delay(500);
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

export interface BuiltImage {
  tag: string;
  baseImage: string;
  /** False when an image of the same sources was there already. */
  built: boolean;
  buildMs: number;
  sizeBytes: number;
}

let image: Promise<BuiltImage> | undefined;

/**
 * The member image of the current sources: reused when its tag exists, else built with
 * `docker build -f cluster/Dockerfile` (Docker's layer cache keeps a rebuild after a source change
 * short: the npm ci layers stay). Older etcd-ts:test-* images (over an hour old, not used by a container) are removed.
 */
export function ensureImage(): Promise<BuiltImage> {
  const given = process.env['ETCD_TS_DOCKER_IMAGE'];
  if (given) {
    image ??= (async () => {
      const size = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', given], { timeoutMs: 30_000 });
      if (size.code !== 0) throw new Error(`ETCD_TS_DOCKER_IMAGE=${given}: no such image (${size.stderr.trim()})`);
      return { tag: given, baseImage: await baseImageArg(), built: false, buildMs: 0, sizeBytes: Number(size.stdout.trim()) || 0 };
    })();
  }
  image ??= withBuildLock(async () => {
    const tag = await imageTag();
    const base = await baseImageArg();
    const started = Date.now();
    let built = false;
    if (!(await imageExists(tag))) {
      const env = { ...process.env };
      // The legacy builder needs no buildx plugin (Debian's docker.io has none); BuildKit is used when there.
      if (env['DOCKER_BUILDKIT'] === undefined) {
        const buildx = await run('docker', ['buildx', 'version'], { timeoutMs: 15_000 });
        env['DOCKER_BUILDKIT'] = buildx.code === 0 ? '1' : '0';
      }
      const res = await run('docker', ['build', '-f', 'cluster/Dockerfile', '--build-arg', `BASE_IMAGE=${base}`, '-t', tag, '.'], { timeoutMs: 15 * 60_000, env });
      if (res.code !== 0) {
        const out = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-60).join('\n');
        throw new Error(`docker build -f cluster/Dockerfile --build-arg BASE_IMAGE=${base} failed (exit ${res.code}):\n${out}`);
      }
      built = true;
      await removeStaleTestImages(tag);
    }
    const size = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], { timeoutMs: 30_000 });
    return { tag, baseImage: base, built, buildMs: Date.now() - started, sizeBytes: Number(size.stdout.trim()) || 0 };
  }, 20 * 60_000);
  return image;
}

async function removeStaleTestImages(keep: string): Promise<void> {
  const list = await run('docker', ['image', 'ls', 'etcd-ts', '--format', '{{.Repository}}:{{.Tag}} {{.CreatedAt}}'], { timeoutMs: 30_000 });
  if (list.code !== 0) return;
  const staleMs = 3600_000;
  for (const line of list.stdout.trim().split('\n')) {
    const [ref, ...created] = line.split(' ');
    if (!ref || ref === keep || !ref.startsWith('etcd-ts:test-')) continue;
    // CreatedAt reads "2026-01-02 03:04:05 +0000 UTC".
    const [day, time, offset = '+0000'] = created;
    const at = Date.parse(`${day}T${time}${offset.replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')}`);
    // Images still used by a container are refused by `docker rmi` without -f: kept.
    if (Number.isFinite(at) && Date.now() - at > staleMs) await run('docker', ['rmi', ref], { timeoutMs: 60_000 });
  }
}
