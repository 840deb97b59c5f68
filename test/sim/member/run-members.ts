// `npm run sim -- --members ...`: runs whole-member schedules (member-schedule.ts), optionally in
// several worker processes (--jobs N: seed k goes to worker k mod N, so the schedules and their
// results are the same whatever N is). A failure prints the seed, the invariant, the last events
// and the replay command; the last line is always `sim: P passed, F failed`.
import { fork } from 'node:child_process';
import { FAULT_KINDS, runMemberSchedule, type FaultKind, type MemberScheduleResult, type MemberScheduleStats } from './member-schedule.js';

export interface MemberRunArgs {
  seeds: number;
  start: number;
  nodes: number[];
  faultMs: number;
  faults: FaultKind[];
  trace: number;
  quiet: boolean;
  maxFailures: number;
  jobs: number;
  /** Set in a worker process: which share of the seeds it runs. */
  worker?: { index: number; of: number };
}

type Totals = Pick<MemberScheduleStats, 'events' | 'virtualMs' | 'crashes' | 'stops' | 'wipes' | 'refusedStarts' | 'partitions' | 'forgeries' | 'writesOk' | 'writesUnknown' | 'readsOk' | 'tornWrites' | 'lostWrites' | 'forwardMode' | 'snapshotsTaken' | 'snapshotsInstalled' | 'snapshotFilesReceived' | 'snapshotFilesAdopted' | 'membersAdded' | 'membersRemoved' | 'membersLeft' | 'memberChangeRetries' | 'newcomerRefusals'>;
const TOTAL_KEYS: (keyof Totals)[] = ['events', 'virtualMs', 'crashes', 'stops', 'wipes', 'refusedStarts', 'partitions', 'forgeries', 'writesOk', 'writesUnknown', 'readsOk', 'tornWrites', 'lostWrites', 'forwardMode', 'snapshotsTaken', 'snapshotsInstalled', 'snapshotFilesReceived', 'snapshotFilesAdopted', 'membersAdded', 'membersRemoved', 'membersLeft', 'memberChangeRetries', 'newcomerRefusals'];
const WORKER_LINE = 'SIM-WORKER ';

interface Outcome {
  passed: number;
  failed: number;
  totals: Totals;
}

function emptyTotals(): Totals {
  return Object.fromEntries(TOTAL_KEYS.map((k) => [k, 0])) as unknown as Totals;
}

function failureReport(r: MemberScheduleResult, nodes: number, a: MemberRunArgs): string {
  const f = r.failure;
  if (f === undefined) return '';
  const faultFlag = a.faults.length === FAULT_KINDS.length ? '' : ` --faults ${a.faults.join(',')}`;
  return [
    `\nFAIL seed=${r.seed} members=${nodes} fault-ms=${a.faultMs} follower-writes=${r.stats.forwardMode === 1 ? 'forward' : 'redirect'}: ${f.invariant}`,
    `  ${f.message.split('\n').join('\n  ')}`,
    `  at t=${f.timeMs}ms; last events:`,
    ...f.trace.map((line) => `    ${line}`),
    `  replay: npm run sim -- --members --seed ${r.seed} --nodes ${nodes} --fault-ms ${a.faultMs}${faultFlag} --trace 200`,
    `  watch it: npm run sim -- --seed ${r.seed} --nodes ${nodes} --fault-ms ${a.faultMs}${faultFlag} --record seed-${r.seed}.ndjson, then "open trace" on any member's /ui/`,
    '',
  ].join('\n');
}

async function runShare(a: MemberRunArgs, index: number, of: number): Promise<Outcome> {
  const out: Outcome = { passed: 0, failed: 0, totals: emptyTotals() };
  for (let k = index; k < a.seeds; k += of) {
    const seed = a.start + k;
    const nodes = a.nodes[k % a.nodes.length] as number;
    const r = await runMemberSchedule(seed, { members: nodes, faultMs: a.faultMs, traceSize: a.trace, faults: a.faults });
    for (const key of TOTAL_KEYS) out.totals[key] += r.stats[key];
    if (r.ok) {
      out.passed++;
      if (!a.quiet && a.seeds === 1) process.stdout.write(`seed ${seed}: ok ${JSON.stringify(r.stats)}\n`);
    } else {
      out.failed++;
      if (out.failed <= a.maxFailures) process.stdout.write(failureReport(r, nodes, a));
    }
  }
  return out;
}

/** Runs the share of one worker process and reports it on stdout for the parent. */
async function runWorker(a: MemberRunArgs, w: { index: number; of: number }): Promise<void> {
  const out = await runShare(a, w.index, w.of);
  process.stdout.write(`${WORKER_LINE}${JSON.stringify(out)}\n`);
}

function runWorkers(a: MemberRunArgs, argv: readonly string[]): Promise<Outcome> {
  const jobs = Math.min(a.jobs, a.seeds);
  const all: Outcome = { passed: 0, failed: 0, totals: emptyTotals() };
  return new Promise((resolve, reject) => {
    let pending = jobs;
    for (let j = 0; j < jobs; j++) {
      const child = fork(process.argv[1] as string, [...argv, '--worker', `${j}/${jobs}`], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
      let buffered = '';
      let reported = false;
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith(WORKER_LINE)) {
            const o = JSON.parse(line.slice(WORKER_LINE.length)) as Outcome;
            all.passed += o.passed;
            all.failed += o.failed;
            for (const key of TOTAL_KEYS) all.totals[key] += o.totals[key];
            reported = true;
          } else {
            process.stdout.write(`${line}\n`);
          }
        }
      });
      child.on('exit', (code) => {
        if (!reported) return reject(new Error(`sim worker ${j} exited (${String(code)}) without a result`));
        if (--pending === 0) resolve(all);
      });
    }
  });
}

export async function runMembers(a: MemberRunArgs, argv: readonly string[]): Promise<void> {
  if (a.worker !== undefined) return runWorker(a, a.worker);
  const started = performance.now();
  const o = a.jobs > 1 ? await runWorkers(a, argv) : await runShare(a, 0, 1);
  const secs = (performance.now() - started) / 1000;
  const t = o.totals;
  if (!a.quiet) {
    console.log(
      `sim: ${a.seeds} whole-member schedules (${a.nodes.join(',')} members, ${a.faultMs / 1000}s of faults each; ${a.faults.join(', ')}) in ${secs.toFixed(1)}s with ${a.jobs} job(s); ${t.forwardMode} with --follower-writes forward; ` +
        `${(t.virtualMs / 1000).toFixed(0)}s simulated, ${t.events} events; ` +
        `${t.crashes} kill -9 (${t.tornWrites} torn writes, ${t.lostWrites} unsynced writes lost), ${t.stops} SIGTERM, ${t.wipes} empty-disk restarts (${t.refusedStarts} refused), ` +
        `${t.partitions} partitions, ${t.forgeries} forged peer inputs, ${t.snapshotsTaken} snapshots taken, ${t.snapshotsInstalled} installed from a leader (${t.snapshotFilesReceived} snapshot files received, ${t.snapshotFilesAdopted} adopted), ${t.membersAdded} members added and ${t.membersRemoved} removed (${t.membersLeft} left on their own, ${t.memberChangeRetries} changes asked again, ${t.newcomerRefusals} newcomer batches refused by a member that did not know it yet); ${t.writesOk} writes acknowledged, ${t.writesUnknown} indeterminate, ${t.readsOk} quorum reads checked`,
    );
  }
  console.log(`sim: ${o.passed} passed, ${o.failed} failed`);
  process.exitCode = o.failed > 0 ? 1 : 0;
}
