#!/usr/bin/env node
// Side-by-side benchmark: the same v2bench workloads against a real etcd 3.4 cluster and an
// etcd-ts cluster, in one run on one machine, reported as ratios (etcd-ts / etcd).
//
//   npm run bench                          full run (each workload 10 s, 3 members each)
//   npm run bench -- --quick               3 s per workload (a smoke run)
//   npm run bench -- --only put-c64,get-c64
//   npm run bench -- --duration 20 --reps 2
//   npm run bench -- --tls                 each system over http and over https (client certificates
//                                          required on both sides, the same certificates for both):
//                                          put-c1, put-c64, get-c64 unless --only says otherwise
//
// Needs /usr/bin/etcd (apt-get install etcd-server etcd-client). Servers bind to 127.0.0.1 only.
// Raw results (one v2bench JSON line per run) go to bench/results/<timestamp>.jsonl and the table
// to stdout; the etcd baseline of this machine kind is in the shared tools' baselines.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { makeClusterCerts } from '../cluster/make-certs.mjs';

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
const tlsRun = argv.includes('--tls');
const only = opt('only', '') ? String(opt('only', '')).split(',') : tlsRun ? ['put-c1', 'put-c64', 'get-c64'] : null;

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
// --tls: one set of certificates for both systems (cluster/make-certs.mjs).
const certs = tlsRun ? makeClusterCerts(path.join(work, 'certs')) : null;
const tlsDispatcher = certs === null ? undefined : new Agent({
  connect: { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
});

async function waitHealthy(urls, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      try {
        const r = await request(`${url}/health`, { dispatcher: url.startsWith('https:') ? tlsDispatcher : undefined, signal: AbortSignal.timeout(2000) });
        if ((await r.body.json()).health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`not healthy: ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function startEtcdTs(secure) {
  const scheme = secure ? 'https' : 'http';
  const tlsFlags = secure ? [
    '--cert-file', certs.memberCert, '--key-file', certs.memberKey, '--trusted-ca-file', certs.ca, '--client-cert-auth',
    '--peer-cert-file', certs.memberCert, '--peer-key-file', certs.memberKey, '--peer-trusted-ca-file', certs.ca, '--peer-client-cert-auth',
  ] : [];
  const ms = [
    { name: 't1', client: 24379, peer: 24380 },
    { name: 't2', client: 24389, peer: 24390 },
    { name: 't3', client: 24399, peer: 24398 },
  ];
  const ic = ms.map((m) => `${m.name}=${scheme}://127.0.0.1:${m.peer}`).join(',');
  const pids = [];
  for (const m of ms) {
    const dataDir = path.join(work, `etcd-ts-${scheme}`, m.name);
    fs.mkdirSync(dataDir, { recursive: true });
    const log = fs.openSync(path.join(work, `${m.name}.log`), 'a');
    const child = spawn(process.execPath, [
      path.join(root, 'bin', 'etcd-ts'),
      '--name', m.name, '--data-dir', dataDir,
      '--listen-client-urls', `${scheme}://127.0.0.1:${m.client}`, '--advertise-client-urls', `${scheme}://127.0.0.1:${m.client}`,
      '--listen-peer-urls', `${scheme}://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `${scheme}://127.0.0.1:${m.peer}`,
      '--initial-cluster', ic, '--initial-cluster-token', 'bench', '--log-level', 'warn', ...tlsFlags,
    ], { stdio: ['ignore', log, log] });
    children.push(child);
    pids.push(child.pid);
  }
  const endpoints = ms.map((m) => `${scheme}://127.0.0.1:${m.client}`);
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

function etcdScript(cmd, secure) {
  return execFileSync('bash', [path.join(root, 'bench', 'etcd-v2-cluster.sh'), cmd], {
    env: { ...process.env, BASE: path.join(work, secure ? 'etcd-https' : 'etcd'), ...(secure ? { TLS_DIR: path.dirname(certs.ca) } : {}) },
    encoding: 'utf8',
  });
}

async function startEtcd(secure) {
  etcdScript('start3', secure);
  const pids = etcdScript('pids', secure).trim().split(',').map(Number);
  const scheme = secure ? 'https' : 'http';
  return { endpoints: [23379, 23389, 23399].map((p) => `${scheme}://127.0.0.1:${p}`), pids, stop: async () => etcdScript('stop', secure) };
}

const tlsArgs = certs === null ? [] : ['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey];

function runBench(target, w, label, rep) {
  const args = [path.join(root, 'bench', 'v2bench.mjs'), '--endpoints', target.endpoints.join(','), ...w.args,
    '--duration', String(durationS), '--warmup', '1', '--server-pids', target.pids.join(','), '--label', label, '--prefix', `b${rep}${w.id.replace(/[^a-z0-9]/g, '')}`,
    ...(target.endpoints[0].startsWith('https:') ? tlsArgs : [])];
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
  // --tls: each system over http, then over https.
  const systems = tlsRun ? ['etcd', 'etcd/https', 'etcd-ts', 'etcd-ts/https'] : ['etcd', 'etcd-ts'];
  for (const system of systems) {
    const secure = system.endsWith('/https');
    const target = system.startsWith('etcd-ts') ? await startEtcdTs(secure) : await startEtcd(secure);
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
  await tlsDispatcher?.destroy();
}

const pick = (system, id) => rows.filter((x) => x.system === system && x.id === id).map((x) => x.r);
const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`\nside by side, ${durationS} s per workload, ${reps} rep(s), 3 members each, one machine (${os.cpus().length} cores)`);
console.log('workload              |  etcd ops/s | etcd-ts ops/s | ratio | etcd p99 ms | etcd-ts p99 ms | etcd-ts errors');
const p99 = (rs) => median(rs.map((r) => r.latency_ms?.p99 ?? r.notify_latency_ms?.p99 ?? NaN));
for (const suffix of tlsRun ? ['', '/https'] : ['']) {
  for (const w of WORKLOADS) {
    const e = pick(`etcd${suffix}`, w.id);
    const t = pick(`etcd-ts${suffix}`, w.id);
    const eOps = median(e.map((r) => r.ops_per_s));
    const tOps = median(t.map((r) => r.ops_per_s));
    const errs = t.reduce((s, r) => s + (r.errors ?? 0) + (r.missed ?? 0), 0);
    console.log(`${(w.id + suffix).padEnd(21)} | ${fmt(eOps).padStart(11)} | ${fmt(tOps).padStart(13)} | ${fmt(tOps / eOps, 2).padStart(5)} | ${fmt(p99(e), 2).padStart(11)} | ${fmt(p99(t), 2).padStart(14)} | ${errs}`);
  }
}
if (tlsRun) {
  console.log('\ncost of TLS (https ops/s / http ops/s, same system)');
  console.log('workload              |  etcd | etcd-ts');
  for (const w of WORKLOADS) {
    const cost = (sys) => median(pick(`${sys}/https`, w.id).map((r) => r.ops_per_s)) / median(pick(sys, w.id).map((r) => r.ops_per_s));
    console.log(`${w.id.padEnd(21)} | ${fmt(cost('etcd'), 2).padStart(5)} | ${fmt(cost('etcd-ts'), 2).padStart(7)}`);
  }
}
console.log(`\nraw results: ${path.relative(root, resultsFile)}`);
fs.rmSync(work, { recursive: true, force: true });
