#!/usr/bin/env node
// Side-by-side benchmark: the same v2bench workloads against a real etcd 3.4 cluster and an
// etcd-ts cluster, in one run on one machine, reported as ratios (etcd-ts / etcd).
//
//   npm run bench                          full run (each workload 10 s, 3 members each)
//   npm run bench -- --quick               3 s per workload (a smoke run)
//   npm run bench -- --only put-c64,get-c64
//   npm run bench -- --duration 20 --reps 2
//
// Needs /usr/bin/etcd (apt-get install etcd-server etcd-client). Servers bind to 127.0.0.1 only.
// Raw results (one v2bench JSON line per run) go to bench/results/<timestamp>.jsonl and the table
// to stdout; the etcd baseline of this machine kind is in the shared tools' baselines.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
};
const quick = argv.includes('--quick');
const durationS = Number(opt('duration', quick ? 3 : 10));
const reps = Number(opt('reps', 1));
const only = opt('only', '') ? String(opt('only', '')).split(',') : null;

const WORKLOADS = [
  { id: 'put-c1', args: ['--workload', 'put', '--clients', '1'] },
  { id: 'put-c16', args: ['--workload', 'put', '--clients', '16', '--threads', '2'] },
  { id: 'put-c64', args: ['--workload', 'put', '--clients', '64', '--threads', '2'] },
  { id: 'put-c256', args: ['--workload', 'put', '--clients', '256', '--threads', '2'] },
  { id: 'get-c64', args: ['--workload', 'get', '--clients', '64', '--threads', '2'] },
  { id: 'get-quorum-c64', args: ['--workload', 'get-quorum', '--clients', '64', '--threads', '2'] },
  { id: 'mixed-c64', args: ['--workload', 'mixed', '--clients', '64', '--threads', '2', '--read-fraction', '0.9'] },
  { id: 'watch-w64-k64-r200', args: ['--workload', 'watch', '--watchers', '64', '--watch-keys', '64', '--rate', '200'] },
  { id: 'watch-w64-k1-r100', args: ['--workload', 'watch', '--watchers', '64', '--watch-keys', '1', '--rate', '100'] },
].filter((w) => !only || only.includes(w.id));

if (WORKLOADS.length === 0) {
  console.error('bench: --only selected no workload');
  process.exit(2);
}
if (!fs.existsSync('/usr/bin/etcd')) {
  console.error('bench: /usr/bin/etcd is missing (apt-get install etcd-server etcd-client)');
  process.exit(1);
}
if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) {
  console.error('bench: dist/ is missing; run npm run build');
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-bench-'));
const children = [];

async function waitHealthy(urls, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      try {
        const r = await fetch(`${url}/health`);
        if ((await r.json()).health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`not healthy: ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function startEtcdTs() {
  const ms = [
    { name: 't1', client: 24379, peer: 24380 },
    { name: 't2', client: 24389, peer: 24390 },
    { name: 't3', client: 24399, peer: 24398 },
  ];
  const ic = ms.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const pids = [];
  for (const m of ms) {
    const dataDir = path.join(work, 'etcd-ts', m.name);
    fs.mkdirSync(dataDir, { recursive: true });
    const log = fs.openSync(path.join(work, `${m.name}.log`), 'a');
    const child = spawn(process.execPath, [
      path.join(root, 'bin', 'etcd-ts'),
      '--name', m.name, '--data-dir', dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.client}`, '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
      '--initial-cluster', ic, '--initial-cluster-token', 'bench', '--log-level', 'warn',
    ], { stdio: ['ignore', log, log] });
    children.push(child);
    pids.push(child.pid);
  }
  const endpoints = ms.map((m) => `http://127.0.0.1:${m.client}`);
  await waitHealthy(endpoints, 30_000);
  return {
    endpoints, pids,
    stop: async () => {
      for (const c of children.splice(0)) {
        c.kill('SIGTERM');
        await new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)));
      }
    },
  };
}

function etcdScript(cmd) {
  return execFileSync('bash', [path.join(root, 'bench', 'etcd-v2-cluster.sh'), cmd], {
    env: { ...process.env, BASE: path.join(work, 'etcd') },
    encoding: 'utf8',
  });
}

async function startEtcd() {
  etcdScript('start3');
  const pids = etcdScript('pids').trim().split(',').map(Number);
  return { endpoints: ['http://127.0.0.1:23379', 'http://127.0.0.1:23389', 'http://127.0.0.1:23399'], pids, stop: async () => etcdScript('stop') };
}

function runBench(target, w, label, rep) {
  const args = [path.join(root, 'bench', 'v2bench.mjs'), '--endpoints', target.endpoints.join(','), ...w.args,
    '--duration', String(durationS), '--warmup', '1', '--server-pids', target.pids.join(','), '--label', label, '--prefix', `b${rep}${w.id.replace(/[^a-z0-9]/g, '')}`];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: (durationS + 120) * 1000 });
  const result = JSON.parse(out.trim().split('\n').pop());
  return { ...result, rep };
}

const resultsDir = path.join(root, 'bench', 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const resultsFile = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
const rows = [];

try {
  // One system at a time on this 2-core machine; each gets the whole box for its runs.
  for (const system of ['etcd', 'etcd-ts']) {
    const target = system === 'etcd' ? await startEtcd() : await startEtcdTs();
    try {
      for (let rep = 1; rep <= reps; rep++) {
        for (const w of WORKLOADS) {
          process.stderr.write(`bench: ${system} ${w.id} rep ${rep}\n`);
          const r = runBench(target, w, `${system}/${w.id}`, rep);
          fs.appendFileSync(resultsFile, JSON.stringify({ system, workload_id: w.id, ...r }) + '\n');
          rows.push({ system, id: w.id, r });
        }
      }
    } finally {
      await target.stop();
    }
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
}

const pick = (system, id) => rows.filter((x) => x.system === system && x.id === id).map((x) => x.r);
const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`\nside by side, ${durationS} s per workload, ${reps} rep(s), 3 members each, one machine (${os.cpus().length} cores)`);
console.log('workload              |  etcd ops/s | etcd-ts ops/s | ratio | etcd p99 ms | etcd-ts p99 ms | etcd-ts errors');
for (const w of WORKLOADS) {
  const e = pick('etcd', w.id);
  const t = pick('etcd-ts', w.id);
  const eOps = median(e.map((r) => r.ops_per_s));
  const tOps = median(t.map((r) => r.ops_per_s));
  const p99 = (rs) => median(rs.map((r) => r.latency_ms?.p99 ?? r.notify_latency_ms?.p99 ?? NaN));
  const errs = t.reduce((s, r) => s + (r.errors ?? 0) + (r.missed ?? 0), 0);
  console.log(`${w.id.padEnd(21)} | ${fmt(eOps).padStart(11)} | ${fmt(tOps).padStart(13)} | ${fmt(tOps / eOps, 2).padStart(5)} | ${fmt(p99(e), 2).padStart(11)} | ${fmt(p99(t), 2).padStart(14)} | ${errs}`);
}
console.log(`\nraw results: ${path.relative(root, resultsFile)}`);
fs.rmSync(work, { recursive: true, force: true });
