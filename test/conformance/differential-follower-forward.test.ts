// The differential suite through a FOLLOWER, with etcd-ts's `--follower-writes forward`: every
// script runs on a follower (n2) of a real etcd 3.4 cluster, which takes writes itself, and on a
// follower of an etcd-ts cluster started with --follower-writes forward; the normalised responses,
// headers included, must be identical. This is the mode for clients that do not follow redirects
// or drop credentials on one.
//   npx vitest run test/conformance/differential-follower-forward.test.ts
//   CONFORMANCE_ONLY=<text>    ... only scripts whose name contains <text>
//   CONFORMANCE_LANES=<n>      ... parallel lanes (default 2; each lane runs one cluster per side)
import { clusterTargetFactory } from '../helpers/cluster-target.js';
import { defineDifferential } from './define-differential.js';
import type { Side } from './lanes.js';
import { allScripts } from './scripts/index.js';

const only = process.env['CONFORMANCE_ONLY'];
const clusterScripts = allScripts.filter((s) => s.singleMemberOnly === undefined);
const scripts = only ? clusterScripts.filter((s) => s.name.includes(only)) : clusterScripts;
const lanes = Math.max(1, Number(process.env['CONFORMANCE_LANES'] ?? 2) || 2);
const reference: Side = { label: 'etcd x3 (follower)', factory: clusterTargetFactory('etcd', 3, { viaFollower: true }) };
const subject: Side = {
  label: 'etcd-ts x3 --follower-writes forward (follower)',
  factory: clusterTargetFactory('etcd-ts', 3, { viaFollower: true, extraFlags: ['--follower-writes', 'forward'] }),
};

defineDifferential({
  title: `${subject.label} answers every v2 script as a follower of a real etcd cluster does`,
  scripts,
  reference,
  subject,
  lanes,
  timeoutMs: 900_000,
});
