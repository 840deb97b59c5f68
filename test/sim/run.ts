// npm run sim -- --seeds N [--start S] [--nodes 3|5|7] [--steps K] [--seed X] [--trace T] [--quiet]
// npm run sim -- --members [--seeds N] [--start S] [--nodes 1,3,5] [--fault-ms MS] [--faults k,..] [--jobs J] [--seed X] [--trace T]
// npm run sim -- --seed S --record FILE [--nodes 3] [--fault-ms MS] [--faults k,..]   one whole-member run, recorded
//   as the live view's events (NDJSON, virtual time) for the page to replay (/ui/?trace=URL or "open trace")
//
// Runs N random schedules (seeds S, S+1, ...): of raft cores (the default), or of whole members
// (--members: the real RaftMember with simulated disks, network and clock; see member/README.md).
// A failure prints the seed, the invariant, the last events and the one-line replay command. The
// last line is always `sim: P passed, F failed`.
import { FAULT_KINDS, type FaultKind } from './member/member-schedule.js';
import { runMembers } from './member/run-members.js';
import { runSchedule, type ScheduleResult } from './schedule.js';
import fs from 'node:fs';
import { runMemberSchedule } from './member/member-schedule.js';
import { TraceRecorder } from './member/trace-recorder.js';

interface Args {
  members: boolean;
  faultMs: number;
  faults: FaultKind[];
  jobs: number;
  worker: { index: number; of: number } | undefined;
  seeds: number;
  start: number;
  nodes: number[];
  steps: number;
  trace: number;
  quiet: boolean;
  maxFailures: number;
  record: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { members: argv.includes('--members'), faultMs: 20_000, faults: [...FAULT_KINDS], jobs: 1, worker: undefined, seeds: 100, start: 1, nodes: [], steps: 300, trace: 40, quiet: false, maxFailures: 5, record: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--seeds':
        args.seeds = Number(next());
        break;
      case '--start':
        args.start = Number(next());
        break;
      case '--seed':
        args.start = Number(next());
        args.seeds = 1;
        break;
      case '--nodes':
        args.nodes = next().split(',').map(Number);
        break;
      case '--steps':
        args.steps = Number(next());
        break;
      case '--trace':
        args.trace = Number(next());
        break;
      case '--max-failures':
        args.maxFailures = Number(next());
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--members':
        break;
      case '--record':
        args.record = next();
        // only whole members have the event hubs the live view reads
        args.members = true;
        break;
      case '--fault-ms':
        args.faultMs = Number(next());
        break;
      case '--jobs':
        args.jobs = Number(next());
        break;
      case '--worker': {
        const [index, of] = next().split('/').map(Number);
        args.worker = { index: index as number, of: of as number };
        break;
      }
      case '--faults': {
        const kinds = next().split(',').filter((k) => k !== '');
        for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`--faults: unknown fault ${k} (known: ${FAULT_KINDS.join(', ')})`);
        args.faults = kinds as FaultKind[];
        break;
      }
      case '--':
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (args.nodes.length === 0) args.nodes = args.members ? [1, 3, 3, 5] : [3, 5];
  const allowed = args.members ? [1, 3, 5] : [3, 5, 7];
  for (const n of args.nodes) if (!allowed.includes(n)) throw new Error(`--nodes must be one of ${allowed.join(', ')} (got ${n})`);
  if (!Number.isSafeInteger(args.faultMs) || args.faultMs < 1000) throw new Error('--fault-ms must be an integer >= 1000');
  if (!Number.isSafeInteger(args.jobs) || args.jobs < 1 || args.jobs > 64) throw new Error('--jobs must be an integer in [1, 64]');
  if (!Number.isSafeInteger(args.seeds) || args.seeds < 1) throw new Error('--seeds must be a positive integer');
  return args;
}

function report(r: ScheduleResult, nodes: number, steps: number): void {
  const f = r.failure;
  if (f === undefined) return;
  console.log(`\nFAIL seed=${r.seed} nodes=${nodes} steps=${steps}: ${f.invariant}`);
  console.log(`  ${f.message.split('\n').join('\n  ')}`);
  console.log(`  at t=${f.timeMs}ms; last events:`);
  for (const line of f.trace) console.log(`    ${line}`);
  console.log(`  replay: npm run sim -- --seed ${r.seed} --nodes ${nodes} --steps ${steps} --trace 200`);
}

/** One whole-member run, recorded for the live view. */
async function record(args: Args, file: string): Promise<void> {
  if (args.seeds !== 1) throw new Error('--record needs one run: give --seed S');
  const nodes = args.nodes[0] === 1 || args.nodes.length === 0 ? 3 : (args.nodes[0] as number);
  let recorder: TraceRecorder | undefined;
  const r = await runMemberSchedule(args.start, {
    members: nodes,
    faultMs: args.faultMs,
    traceSize: args.trace,
    faults: args.faults,
    record: (nowMs) => (recorder = new TraceRecorder(nowMs)),
  });
  const rec = recorder as TraceRecorder;
  fs.writeFileSync(file, rec.text());
  if (r.failure !== undefined) {
    console.log(`FAIL seed=${r.seed} members=${nodes}: ${r.failure.invariant}\n  ${r.failure.message.split('\n').join('\n  ')}\n  at t=${r.failure.timeMs}ms`);
  }
  console.log(
    `recorded seed ${args.start} (${nodes} members, ${(r.stats.virtualMs / 1000).toFixed(1)} s simulated) as ${rec.lines.length} events${rec.truncated ? ' (cut at the limit)' : ''} in ${file}\n` +
      `watch it: open /ui/ on any member (npm run cluster prints the URL) and pick the file with "open trace",\n` +
      `  or serve it with CORS and open /ui/?trace=<its URL>`,
  );
  if (!args.quiet) console.log(`seed ${args.start}: ${r.ok ? 'ok' : 'failed'} ${JSON.stringify(r.stats)}`);
  console.log(`sim: ${r.ok ? 1 : 0} passed, ${r.ok ? 0 : 1} failed`);
  process.exitCode = r.ok ? 0 : 1;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.record !== undefined) {
    void record(args, args.record);
    return;
  }
  if (args.members) {
    void runMembers(
      { seeds: args.seeds, start: args.start, nodes: args.nodes, faultMs: args.faultMs, faults: args.faults, trace: args.trace, quiet: args.quiet, maxFailures: args.maxFailures, jobs: args.jobs, ...(args.worker !== undefined ? { worker: args.worker } : {}) },
      process.argv.slice(2),
    );
    return;
  }
  let passed = 0;
  let failed = 0;
  let events = 0;
  let messages = 0;
  let virtualMs = 0;
  let maxConvergence = 0;
  let snapshots = 0;
  let acked = 0;
  let reads = 0;
  const started = performance.now();
  for (let k = 0; k < args.seeds; k++) {
    const seed = args.start + k;
    const nodes = args.nodes[k % args.nodes.length] as number;
    const r = runSchedule(seed, { nodes, steps: args.steps, traceSize: args.trace });
    events += r.stats.events;
    messages += r.stats.messages;
    virtualMs += r.stats.virtualMs;
    maxConvergence = Math.max(maxConvergence, r.stats.convergenceTicks);
    snapshots += r.stats.snapshots;
    acked += r.stats.acked;
    reads += r.stats.reads;
    if (r.ok) {
      passed++;
      if (!args.quiet && args.seeds === 1) console.log(`seed ${seed}: ok ${JSON.stringify(r.stats)}`);
    } else {
      failed++;
      if (failed <= args.maxFailures) report(r, nodes, args.steps);
    }
  }
  const secs = (performance.now() - started) / 1000;
  if (!args.quiet) {
    console.log(
      `sim: ${args.seeds} schedules in ${secs.toFixed(1)}s = ${(args.seeds / secs).toFixed(1)} schedules/s; ` +
        `${(events / secs / 1e6).toFixed(2)}M events/s; ${messages} messages; ${(virtualMs / 1000).toFixed(0)}s simulated; ` +
        `${acked} writes acknowledged, ${reads} linearizable reads checked, ${snapshots} snapshots installed; ` +
        `slowest convergence after healing ${maxConvergence} ticks`,
    );
  }
  console.log(`sim: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
