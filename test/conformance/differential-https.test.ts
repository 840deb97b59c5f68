// The differential suite over https (issue 15): every script on a real etcd 3.4 and on etcd-ts, both
// serving https with client-certificate authentication on the client and peer sides, with the same
// certificates (made by openssl at test time); the normalised responses must be identical. The
// client's certificate has CN=no-such-user-cn, a name no script gives a user, so requests stay anonymous
// unless a script sends Authorization (the common-name rule is checked in test/cluster/tls.test.ts).
//   npx vitest run test/conformance/differential-https.test.ts   (CONFORMANCE_ONLY / _LANES as in differential.test.ts)
import fs from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import { useClientTLS } from '../helpers/https-client.js';
import { makeTestCerts, memberTLSFlags, type TestCerts } from '../helpers/tls-certs.js';
import { defineDifferential } from './define-differential.js';
import type { Side } from './lanes.js';
import { allScripts } from './scripts/index.js';
import { laneCount } from './targets.js';

let certs: TestCerts | undefined;

// Registered before the suite's own beforeAll, so the certificates exist before any server starts.
beforeAll(async () => {
  certs = await makeTestCerts(['no-such-user-cn']);
  const client = certs.clients['no-such-user-cn']!;
  const [ca, cert, key] = await Promise.all([fs.readFile(certs.ca, 'utf8'), fs.readFile(client.cert, 'utf8'), fs.readFile(client.key, 'utf8')]);
  useClientTLS({ ca, cert, key });
}, 60_000);

afterAll(async () => {
  await certs?.remove();
});

function flags(): string[] {
  if (certs === undefined) throw new Error('the test certificates were not made (see the beforeAll error)');
  return memberTLSFlags(certs);
}

const only = process.env['CONFORMANCE_ONLY'];
const reference: Side = { label: 'etcd over https', factory: () => startEtcd({ https: true, extraArgs: flags() }) };
const subject: Side = { label: 'etcd-ts over https', factory: () => startEtcdTs({ https: true, extraArgs: flags() }) };

defineDifferential({
  title: 'etcd-ts over https answers every v2 script as the real etcd over https does',
  scripts: only ? allScripts.filter((s) => s.name.includes(only)) : allScripts,
  reference,
  subject,
  lanes: laneCount,
  timeoutMs: 600_000,
});
