// The two sides the differential suite compares: a real etcd and etcd-ts, single members.
// (differential-cluster.test.ts runs the same scripts against three-member clusters.)
//   CONFORMANCE_LANES=4   parallel lanes (each lane runs one server per side); default 4.
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import type { Side } from './lanes.js';

const lanesFromEnv = Number(process.env['CONFORMANCE_LANES'] ?? 4);
if (!Number.isSafeInteger(lanesFromEnv) || lanesFromEnv < 1) {
  throw new Error(`CONFORMANCE_LANES must be a positive integer, got ${process.env['CONFORMANCE_LANES']}`);
}
export const laneCount = lanesFromEnv;

export const realEtcd = (label = 'etcd'): Side => ({ label, factory: () => startEtcd() });
export const etcdTs = (): Side => ({ label: 'etcd-ts', factory: () => startEtcdTs() });
