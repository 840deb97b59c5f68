// The real etcd (3.4, v2 API enabled) as a test target.
import { launchMembers } from './members.js';
import type { Target } from './target.js';

export interface EtcdOptions {
  members?: number;
  talkTo?: number;
  extraArgs?: string[];
  /** https:// URLs; the TLS flags go in extraArgs. */
  https?: boolean;
}

/** Path of the etcd binary: $ETCD_BIN or /usr/bin/etcd. */
export const etcdBinary = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

export function startEtcd(opts: EtcdOptions = {}): Promise<Target> {
  return launchMembers({
    label: 'etcd',
    command: etcdBinary,
    members: opts.members,
    talkTo: opts.talkTo,
    ...(opts.https === true ? { https: true } : {}),
    extraArgs: ['--enable-v2=true', '--logger', 'zap', '--log-level', 'error', ...(opts.extraArgs ?? [])],
  });
}
