// The differential suite: every script runs on a real etcd 3.4 and on etcd-ts at the same time, and
// the normalised responses must be identical (see normalise.ts for what "identical" allows).
//   npx vitest run test/conformance/differential.test.ts
//   CONFORMANCE_SUBJECT=etcd  ... compares real etcd with a second real etcd (validates the suite)
//   CONFORMANCE_LANES=<n>     ... parallel lanes (default 4)
//   CONFORMANCE_ONLY=<text>   ... only scripts whose name contains <text>
// differential-cluster.test.ts runs the same scripts against the leaders of three-member clusters.
import { expect, it } from 'vitest';
import { defineDifferential } from './define-differential.js';
import type { Side } from './lanes.js';
import { allScripts, requestCount } from './scripts/index.js';
import { etcdTs, laneCount, realEtcd } from './targets.js';

const subjectIsEtcd = process.env['CONFORMANCE_SUBJECT'] === 'etcd';
const only = process.env['CONFORMANCE_ONLY'];
const scripts = only ? allScripts.filter((s) => s.name.includes(only)) : allScripts;
const reference: Side = realEtcd('etcd');
const subject: Side = subjectIsEtcd ? realEtcd('second etcd') : etcdTs();

defineDifferential({
  title: `${subject.label} answers every v2 script as the real etcd does`,
  scripts,
  reference,
  subject,
  lanes: laneCount,
  timeoutMs: 600_000,
  extra: () => {
    it('the suite has at least 120 scripts, one per seed example', () => {
      expect(allScripts.length).toBeGreaterThanOrEqual(120);
      expect(allScripts.filter((s) => s.ref.startsWith('seed')).map((s) => s.ref)).toEqual(
        Array.from({ length: 16 }, (_, i) => `seed ${i + 1}`).flatMap((r) => (r === 'seed 13' ? [r, r] : [r])),
      );
      const requests = allScripts.reduce((n, s) => n + requestCount(s), 0);
      console.info(`differential suite: ${allScripts.length} scripts, ${requests} requests per target`);
    });
  },
});
