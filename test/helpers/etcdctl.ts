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
  endpoints: string;
  /** --no-sync: talk only to `endpoints`, not to the members' advertised client URLs. */
  noSync?: boolean;
  timeoutMs?: number;
}

export function etcdctl(args: readonly string[], opts: EtcdctlOptions): Promise<EtcdctlResult> {
  const flags = ['--endpoints', opts.endpoints, ...(opts.noSync ? ['--no-sync'] : []), '--total-timeout', '8s', ...args];
  return new Promise((resolve) => {
    execFile(
      etcdctlBinary,
      flags,
      { env: { ...process.env, ETCDCTL_API: '2' }, timeout: opts.timeoutMs ?? 15_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

export function describeRun(args: readonly string[], r: EtcdctlResult): string {
  return `etcdctl ${args.join(' ')} -> exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
}
