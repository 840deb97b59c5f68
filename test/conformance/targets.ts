// Which servers the conformance suite compares, from the environment:
//   CONFORMANCE_MEMBERS=3   both sides are three-member clusters; scripts talk to the leader
//                           (test/helpers/cluster-target.ts). Default 1: single members.
//   CONFORMANCE_LANES=4     parallel lanes (each lane runs one server or cluster per side);
//                           default 4 for single members, 2 for clusters.
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import type { Target } from '../helpers/target.js';
import type { Side } from './lanes.js';

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

export const members = envInt('CONFORMANCE_MEMBERS', 1);
if (members !== 1 && members !== 3) throw new Error(`CONFORMANCE_MEMBERS must be 1 or 3, got ${members}`);
export const laneCount = envInt('CONFORMANCE_LANES', members > 1 ? 2 : 4);

/** Loaded only when asked for, so single-member runs do not depend on the cluster helpers. */
async function startCluster3(kind: 'etcd' | 'etcd-ts'): Promise<Target> {
  const { startClusterTarget } = await import('../helpers/cluster-target.js');
  return startClusterTarget(kind, 3);
}

export const realEtcd = (label = 'etcd'): Side => ({
  label,
  factory: members > 1 ? () => startCluster3('etcd') : () => startEtcd(),
});

export const etcdTs = (): Side => ({
  label: 'etcd-ts',
  factory: members > 1 ? () => startCluster3('etcd-ts') : () => startEtcdTs(),
});
