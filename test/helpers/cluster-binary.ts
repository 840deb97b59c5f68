// Which server binary the multi-process cluster tests start. Both speak etcd's flags and the v2 API:
//   ETCD_TS_TEST_TARGET=etcd     the real etcd 3.4 ($ETCD_BIN or /usr/bin/etcd) with --enable-v2=true
//   (unset) or =etcd-ts          `node bin/etcd-ts` (runs dist/, built by the vitest globalSetup)
// ETCD_TS_CLUSTER_LOG_LEVEL sets --log-level (default warn; etcd's info is chatty but useful).
import { etcdBinary } from './etcd.js';
import { repoRoot } from './etcd-ts.js';

export type ClusterTargetKind = 'etcd' | 'etcd-ts';

export function clusterTargetFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterTargetKind {
  const v = env['ETCD_TS_TEST_TARGET'] ?? 'etcd-ts';
  if (v === 'etcd' || v === 'etcd-ts') return v;
  throw new Error(`ETCD_TS_TEST_TARGET must be "etcd" or "etcd-ts", got ${JSON.stringify(v)}`);
}

export interface MemberCommand {
  command: string;
  args: string[];
  cwd: string;
}

/** The command line starting one member of `target` with etcd's `flags`. */
export function memberCommand(target: ClusterTargetKind, flags: readonly string[], logLevel: string): MemberCommand {
  if (target === 'etcd') {
    return { command: etcdBinary, args: ['--enable-v2=true', '--logger', 'zap', '--log-level', logLevel, ...flags], cwd: repoRoot };
  }
  return { command: process.execPath, args: ['bin/etcd-ts', ...flags, '--log-level', logLevel], cwd: repoRoot };
}

export function clusterLogLevel(env: NodeJS.ProcessEnv = process.env): string {
  return env['ETCD_TS_CLUSTER_LOG_LEVEL'] ?? 'warn';
}
