// npm run jepsen -- [--target local|docker|URL,URL,...] [--nemesis kill,pause,partition,delay|all|none] [--time 60]
//                   [--clients 10] [--keys 5] [--seed N] [--out DIR] [--op-timeout MS] [--check-budget S]
//                   [--ops-per-key 250] [--compose-file FILE] [--compose-project NAME]
// Last line: `jepsen: linearizable, N ops, K faults, ...` (exit 0) or `jepsen: NOT linearizable, ...`
// / `jepsen: unknown, ...` (exit 1); exit 2 on bad flags.
import path from 'node:path';
import { repoRoot } from './local-cluster.js';
import { describeNemesisStats } from './nemesis-stats.js';
import { describeWatch } from './watch.js';
import { runJepsen, type FaultKind, type JepsenOptions } from './run.js';

const ALL_KINDS = ['kill', 'pause', 'partition', 'delay'] as const satisfies readonly FaultKind[];

const usage =
  'usage: npm run jepsen -- [--target local|docker|URL,URL,...] [--nemesis kill,pause,partition,delay|all|none] [--time 60]\n' +
  '                         [--clients 10] [--keys 5] [--seed N] [--out DIR] [--op-timeout MS] [--check-budget S]\n' +
  '                         [--ops-per-key 250] [--compose-file FILE] [--compose-project NAME]\n' +
  '  --target local   a fresh 3-member cluster on loopback ports (the default)\n' +
  '  --target docker  the docker-compose cluster of docker-compose.yml (created, and removed at the end, when it does not exist)\n' +
  '  --target URLs    any etcd v2 cluster, without a nemesis\n' +
  '  --nemesis defaults to all for local and docker, none for URLs';

function fail(message: string): never {
  process.stderr.write(`jepsen: ${message}\n${usage}\n`);
  process.exit(2);
}

function parse(argv: string[]): JepsenOptions {
  const seed = Date.now() % 1_000_000;
  const opts: JepsenOptions = { target: 'local', nemesis: [], timeS: 60, clients: 10, keys: 5, seed, outDir: '' };
  let nemesisGiven = false;
  let out: string | undefined;
  const int = (flag: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) fail(`${flag} wants an integer in [${min}, ${max}]: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => (eq > 0 ? arg.slice(eq + 1) : (argv[++i] ?? fail(`${flag} needs a value`)));
    switch (flag) {
      case '--target': {
        const v = value();
        opts.target = v === 'local' || v === 'docker' ? v : v.split(',').map((u) => {
          if (!/^https?:\/\/[^/]+\/?$/.test(u)) fail(`--target wants local, docker or client URLs like http://127.0.0.1:2379: ${u}`);
          return u.replace(/\/$/, '');
        });
        break;
      }
      case '--nemesis': {
        const v = value();
        nemesisGiven = true;
        const kinds = v === 'all' ? ['all'] : v === 'none' ? [] : v.split(',');
        for (const k of kinds) if (k !== 'all' && !(ALL_KINDS as readonly string[]).includes(k)) fail(`unknown nemesis: ${k}`);
        opts.nemesis = kinds as FaultKind[];
        break;
      }
      case '--time': opts.timeS = int(flag, value(), 1, 3600); break;
      case '--clients': opts.clients = int(flag, value(), 1, 100); break;
      case '--keys': opts.keys = int(flag, value(), 1, 100); break;
      case '--ops-per-key': opts.opsPerKey = int(flag, value(), 10, 1_000_000); break;
      case '--seed': opts.seed = int(flag, value(), 0, 2 ** 31 - 1); break;
      case '--out': out = value(); break;
      case '--op-timeout': opts.opTimeoutMs = int(flag, value(), 100, 60_000); break;
      case '--check-budget': opts.checkTimeBudgetMs = int(flag, value(), 1, 3600) * 1000; break;
      case '--compose-file': opts.docker = { ...opts.docker, composeFile: path.resolve(value()) }; break;
      case '--compose-project': opts.docker = { ...opts.docker, project: value() }; break;
      case '--help': case '-h': process.stdout.write(usage + '\n'); process.exit(0);
      // falls through (exit does not return)
      default: fail(`unknown flag: ${arg}`);
    }
  }
  // all: every kind the target can inject (a delay needs the members' fault filter: not docker)
  const all: FaultKind[] = opts.target === 'docker' ? ['kill', 'pause', 'partition'] : [...ALL_KINDS];
  if (!nemesisGiven && !Array.isArray(opts.target)) opts.nemesis = all;
  if ((opts.nemesis as string[]).includes('all')) opts.nemesis = all;
  if (opts.target === 'docker' && opts.nemesis.includes('delay')) fail('--nemesis delay needs --target local (the members\' fault filter); docker has kill, pause and partition');
  if (opts.docker !== undefined && opts.target !== 'docker') fail('--compose-file and --compose-project go with --target docker');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  opts.outDir = path.resolve(out ?? path.join(repoRoot, 'jepsen-results', `${stamp}-seed${opts.seed}`));
  return opts;
}

/** The checker's per-key results in one line: all keys when few, else totals and the costliest key. */
function checkerLine(result: Awaited<ReturnType<typeof runJepsen>>): string {
  const keys = result.checker.keys;
  const name = (k: (typeof keys)[number]): string => k.key.split('/').pop() ?? k.key;
  if (keys.length <= 6) return `checker: ${keys.map((k) => `${name(k)} ${k.verdict} (${k.ops} ops, ${k.steps} steps, ${k.elapsedMs} ms)`).join(', ')}`;
  const byVerdict = new Map<string, number>();
  for (const k of keys) byVerdict.set(k.verdict, (byVerdict.get(k.verdict) ?? 0) + 1);
  const worst = keys.reduce((a, b) => (b.steps > a.steps ? b : a));
  return (
    `checker: ${keys.length} keys (${[...byVerdict].map(([v, n]) => `${n} ${v}`).join(', ')}), ${result.checker.elapsedMs} ms; ` +
    `costliest ${name(worst)}: ${worst.ops} ops, ${worst.steps} steps, ${worst.elapsedMs} ms`
  );
}

const options = parse(process.argv.slice(2));
try {
  const result = await runJepsen(options);
  const byNemesis = result.faults.map(
    (f) =>
      `${f.kind}${f.delayMs !== undefined ? ` ${f.delayMs} ms` : ''} ${f.target}${f.leaderTargeted ? ' (leader)' : ''} at ${(f.startMs / 1000).toFixed(1)} s: ` +
      `recovery ${f.recoveryMs ?? '>30000'} ms${f.error !== undefined ? `; FAILED: ${f.error}` : ''}`,
  );
  process.stdout.write(
    [
      `counts: ${Object.entries(result.counts).map(([k, c]) => `${k} ${c['ok']}/${c['fail']}/${c['info']}`).join(', ')} (ok/fail/info)`,
      ...byNemesis,
      ...describeNemesisStats(result.nemesisStats),
      describeWatch(result.watch),
      `after the last heal: quorum write+read in ${result.finalRecoveryMs ?? '>30000'} ms; members ${result.converged.ok ? `converged in ${result.converged.afterMs} ms` : `did NOT converge: ${result.converged.detail}`}`,
      checkerLine(result),
      `report: ${result.files.timeline}`,
      result.summary,
    ].join('\n') + '\n',
  );
  process.exit(result.verdict === 'linearizable' && result.clusterChecksPassed ? 0 : 1);
} catch (err) {
  process.stderr.write(`jepsen: error: ${(err as Error).message}\n`);
  process.exit(1);
}
