// Runs `ETCDCTL_API=2 etcdctl` (etcd 3.4's v2 client, $ETCDCTL_BIN or /usr/bin/etcdctl) with a bound.
import { execFile } from 'node:child_process';

export const etcdctlBinary = process.env['ETCDCTL_BIN'] ?? '/usr/bin/etcdctl';

export interface EtcdctlResult {
  /** Exit code; -1 when it was killed (timeout) or could not start. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface EtcdctlOptions {
  /** --endpoints; null: pass no --endpoints and no --total-timeout (the args carry the global flags). */
  endpoints: string | null;
  /** --no-sync: talk only to `endpoints`, not to the members' advertised client URLs. */
  noSync?: boolean;
  timeoutMs?: number;
  /** Written to etcdctl's stdin (then closed): answers its password prompts. */
  input?: string;
}

export function etcdctl(args: readonly string[], opts: EtcdctlOptions): Promise<EtcdctlResult> {
  const flags = [...(opts.endpoints === null ? [] : ['--endpoints', opts.endpoints, '--total-timeout', '8s']), ...(opts.noSync ? ['--no-sync'] : []), ...args];
  return new Promise((resolve) => {
    const child = execFile(
      etcdctlBinary,
      flags,
      { env: { ...process.env, ETCDCTL_API: '2' }, timeout: opts.timeoutMs ?? 15_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    // etcdctl may exit before it reads its stdin (EPIPE): that is its answer, not a test error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

export function describeRun(args: readonly string[], r: EtcdctlResult): string {
  return `etcdctl ${args.join(' ')} -> exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
}
