// The differential suite against the leader of a three-member cluster on both sides: every script
// runs on the leader of a real etcd 3.4 cluster and on the leader of an etcd-ts cluster, and the
// normalised responses must be identical. (differential.test.ts with CONFORMANCE_MEMBERS=3 talks to
// a fixed member instead, which on etcd-ts may be a follower that redirects writes.)
//   npx vitest run test/conformance/differential-cluster.test.ts
//   CONFORMANCE_SUBJECT=etcd   ... compares two real etcd clusters (validates the wiring)
//   CONFORMANCE_ONLY=<text>    ... only scripts whose name contains <text>
//   CONFORMANCE_LANES=<n>      ... parallel lanes (default 2; each lane runs one cluster per side)
import { clusterTargetFactory } from '../helpers/cluster-target.js';
import { defineDifferential } from './define-differential.js';
import type { Side } from './lanes.js';
import { allScripts } from './scripts/index.js';

const subjectIsEtcd = process.env['CONFORMANCE_SUBJECT'] === 'etcd';
const only = process.env['CONFORMANCE_ONLY'];
const clusterScripts = allScripts.filter((s) => s.singleMemberOnly === undefined);
const scripts = only ? clusterScripts.filter((s) => s.name.includes(only)) : clusterScripts;
const lanes = Math.max(1, Number(process.env['CONFORMANCE_LANES'] ?? 2) || 2);
const reference: Side = { label: 'etcd x3 (leader)', factory: clusterTargetFactory('etcd') };
const subject: Side = subjectIsEtcd
  ? { label: 'second etcd x3 (leader)', factory: clusterTargetFactory('etcd') }
  : { label: 'etcd-ts x3 (leader)', factory: clusterTargetFactory('etcd-ts') };

defineDifferential({
  title: `${subject.label} answers every v2 script as the leader of a real etcd cluster does`,
  scripts,
  reference,
  subject,
  lanes,
  timeoutMs: 900_000,
});
