// Child processes started by tests: output kept (bounded) for error messages, stopped with a bounded
// SIGTERM -> SIGKILL sequence, and killed unconditionally if the test process exits first.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const maxLogBytes = 64 * 1024;
const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
  /** The last ~64 KiB of stdout+stderr. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnLogged(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > maxLogBytes) log = log.slice(log.length - maxLogBytes);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exitedFlag = false;
  const exited = new Promise<string>((resolve) => {
    const done = (how: string): void => {
      exitedFlag = true;
      live.delete(child);
      resolve(how);
    };
    // 'exit' can come before the last of stdout and stderr is read: the output is complete once
    // both pipes have closed (bounded: a grandchild may hold them open).
    const pipesClosed = Promise.all(
      [child.stdout, child.stderr].map((s) => (s === null || s === undefined ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r())))),
    );
    child.once('exit', (code, signal) => {
      void settledWithin(pipesClosed, 2000).then(() => done(signal ?? String(code)));
    });
    child.once('error', (err) => {
      append(Buffer.from(`spawn error: ${err.message}\n`));
      done('spawn-error');
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (e.g. ENOENT); the 'error' event reports it.
  }
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    hasExited: () => exitedFlag,
    logTail: () => log,
    async stop(graceMs = 3000): Promise<void> {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const killed = await settledWithin(exited, graceMs);
      if (!killed) {
        child.kill('SIGKILL');
        await settledWithin(exited, 5000);
      }
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true when `p` settles within `ms`, else false; leaves no timer behind. */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
