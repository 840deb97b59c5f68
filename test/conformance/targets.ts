// Which servers the conformance suite compares, from the environment:
//   CONFORMANCE_MEMBERS=3      both sides are three-member clusters (default 1)
//   CONFORMANCE_TALK_TO=1      the member (0-based) the scripts talk to (default 0)
//   CONFORMANCE_LANES=4        parallel lanes (default 4; each lane runs one server per side)
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import type { Side } from './lanes.js';

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

export const members = envInt('CONFORMANCE_MEMBERS', 1);
export const talkTo = envInt('CONFORMANCE_TALK_TO', 0);
export const laneCount = Math.max(1, envInt('CONFORMANCE_LANES', members > 1 ? 2 : 4));

export const realEtcd = (label = 'etcd'): Side => ({ label, factory: () => startEtcd({ members, talkTo }) });
export const etcdTs = (): Side => ({ label: 'etcd-ts', factory: () => startEtcdTs({ members, talkTo }) });
