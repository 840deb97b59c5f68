// etcd-ts as a test target: `node bin/etcd-ts <etcd flags>`, which runs the compiled dist/ (the
// vitest globalSetup builds it once per run).
import { fileURLToPath } from 'node:url';
import { launchMembers } from './members.js';
import type { Target } from './target.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface EtcdTsOptions {
  members?: number;
  talkTo?: number;
  extraArgs?: string[];
  /** https:// URLs; the TLS flags go in extraArgs. */
  https?: boolean;
}

export function startEtcdTs(opts: EtcdTsOptions = {}): Promise<Target> {
  return launchMembers({
    label: 'etcd-ts',
    command: process.execPath,
    commandArgs: ['bin/etcd-ts'],
    cwd: repoRoot,
    members: opts.members,
    talkTo: opts.talkTo,
    ...(opts.https === true ? { https: true } : {}),
    extraArgs: ['--log-level', 'error', ...(opts.extraArgs ?? [])],
  });
}
