// A child process run to its end with a bound, for the test helpers (test/helpers/docker-engine.ts)
// and the tools (tools/jepsen/docker-cluster.ts).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (in the repo by default) with a bound (SIGKILL on timeout); never throws. */
export function run(command: string, args: readonly string[], opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        const extra = err && code === -1 ? `\n${err.message}` : '';
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + extra });
      },
    );
  });
}
