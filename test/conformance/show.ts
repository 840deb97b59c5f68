// Debug aid: runs the scripts whose name contains the argument against a real etcd (and, with
// --etcd-ts, against etcd-ts too) and prints the normalised transcripts / the difference.
//   npx tsx test/conformance/show.ts 'seed 7' [--etcd-ts]
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import { renderTranscript } from './compare.js';
import { ParallelRun, type Side } from './lanes.js';
import { normaliseTranscript } from './normalise.js';
import { allScripts } from './scripts/index.js';
import { verdict } from './verdict.js';

const pattern = process.argv[2] ?? '';
const withSubject = process.argv.includes('--etcd-ts');
const scripts = allScripts.filter((s) => s.name.includes(pattern));
const sides: Side[] = [{ label: 'etcd', factory: () => startEtcd() }];
if (withSubject) sides.push({ label: 'etcd-ts', factory: () => startEtcdTs() });
const run = new ParallelRun(scripts, sides, 2);
try {
  for (const s of scripts) {
    const [ref, sub] = await run.result(s.name);
    console.log(`==== ${s.name}`);
    if (ref?.transcript) console.log(renderTranscript(normaliseTranscript(ref.transcript, s)));
    else console.log(`reference failed: ${ref?.error}`);
    if (sub) console.log(verdict(s, ref ?? {}, sub, ['etcd', 'etcd-ts']).message);
  }
} finally {
  await run.stop();
}
