#!/usr/bin/env node
// Side-by-side benchmark: the same v2bench workloads against a real etcd 3.4 cluster and an
// etcd-ts cluster, in one run on one machine, reported as ratios (etcd-ts / etcd).
//
//   npm run bench                          full run: 3 repetitions alternating the systems (etcd, etcd-ts,
//                                          etcd, ...), each workload 10 s, then a 100,000-key load with
//                                          every member's RSS afterwards; medians reported
//   npm run bench -- --quick               3 s per workload, 1 repetition, a 10,000-key load (a smoke run)
//   npm run bench -- --only put-c64,get-c64,load
//   npm run bench -- --duration 20 --reps 5 --load-keys 200000
//   npm run bench -- --etcd-ts-flags "--follower-writes forward"
//                                          extra flags for every etcd-ts member (split on spaces)
//   npm run bench -- --tls                 each system over http and over https (client certificates
//                                          required on both sides, the same certificates for both):
//                                          put-c1, put-c64, get-c64 unless --only says otherwise
//
// Needs /usr/bin/etcd (apt-get install etcd-server etcd-client). Servers bind to 127.0.0.1 only.
// Raw results (one v2bench JSON line per run) go to bench/results/<timestamp>.jsonl, the medians to
// <timestamp>.json, a chart of the ratios to <timestamp>.svg, and the table to stdout.
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
const reps = Number(opt('reps', quick ? 1 : 3));
const loadKeys = Number(opt('load-keys', quick ? 10_000 : 100_000));
const tlsRun = argv.includes('--tls');
// (its value starts with "--" itself, so it is taken as it is, not through opt())
const etcdTsFlagsAt = argv.indexOf('--etcd-ts-flags');
const etcdTsFlags = etcdTsFlagsAt < 0 ? [] : String(argv[etcdTsFlagsAt + 1] ?? '').split(' ').filter((f) => f !== '');
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
  // Last: PUT loadKeys fresh keys once each with 64 clients; its time, then every member's RSS.
  { id: 'load', args: ['--workload', 'load', '--keys', String(loadKeys), '--clients', '64', '--threads', '2'], load: true },
].filter((w) => (only ? only.includes(w.id) : !(tlsRun && w.load)));

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
    // a fresh cluster each time, as etcd's (bench/etcd-v2-cluster.sh wipes its data dirs): before,
    // repetitions 2 and 3 restarted on the data of the ones before
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { recursive: true });
    const log = fs.openSync(path.join(work, `${m.name}.log`), 'a');
    const child = spawn(process.execPath, [
      path.join(root, 'bin', 'etcd-ts'),
      '--name', m.name, '--data-dir', dataDir,
      '--listen-client-urls', `${scheme}://127.0.0.1:${m.client}`, '--advertise-client-urls', `${scheme}://127.0.0.1:${m.client}`,
      '--listen-peer-urls', `${scheme}://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `${scheme}://127.0.0.1:${m.peer}`,
      '--initial-cluster', ic, '--initial-cluster-token', 'bench', '--log-level', 'warn', ...tlsFlags, ...etcdTsFlags,
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
    ...(w.load ? [] : ['--duration', String(durationS), '--warmup', '1']), '--server-pids', target.pids.join(','), '--label', label, '--prefix', `b${rep}${w.id.replace(/[^a-z0-9]/g, '')}`,
    ...(target.endpoints[0].startsWith('https:') ? tlsArgs : [])];
  const boundS = w.load ? 600 + loadKeys / 100 : durationS + 120;
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: boundS * 1000 });
  const result = JSON.parse(out.trim().split('\n').pop());
  return { ...result, rep };
}

const resultsDir = path.join(root, 'bench', 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const resultsFile = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
const rows = [];

const startedAt = Date.now();
try {
  // One system at a time on this 2-core machine; each gets the whole box for its runs. The
  // repetitions alternate the systems (etcd, etcd-ts, etcd, ...), each on a fresh cluster, so a
  // drift of the machine's speed during the run touches both alike. --tls: http, then https.
  const systems = tlsRun ? ['etcd', 'etcd/https', 'etcd-ts', 'etcd-ts/https'] : ['etcd', 'etcd-ts'];
  const total = reps * systems.length * WORKLOADS.length;
  let done = 0;
  for (let rep = 1; rep <= reps; rep++) {
    for (const system of systems) {
      const secure = system.endsWith('/https');
      const target = system.startsWith('etcd-ts') ? await startEtcdTs(secure) : await startEtcd(secure);
      try {
        for (const w of WORKLOADS) {
          const elapsedS = (Date.now() - startedAt) / 1000;
          const eta = done === 0 ? '' : `, about ${Math.ceil(((elapsedS / done) * (total - done)) / 60)} min left`;
          process.stderr.write(`bench: [${done + 1}/${total}] rep ${rep}/${reps} ${system} ${w.id} (${Math.round(elapsedS)} s so far${eta})\n`);
          const r = runBench(target, w, `${system}/${w.id}`, rep);
          fs.appendFileSync(resultsFile, JSON.stringify({ system, workload_id: w.id, ...r }) + '\n');
          rows.push({ system, id: w.id, r });
          done++;
        }
      } finally {
        await target.stop();
      }
    }
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  await tlsDispatcher?.destroy();
}

const pick = (system, id) => rows.filter((x) => x.system === system && x.id === id).map((x) => x.r);
const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`\nside by side, ${durationS} s per workload, ${reps} rep(s) (medians), 3 members each, one machine (${os.cpus().length} cores)${etcdTsFlags.length > 0 ? `, etcd-ts with ${etcdTsFlags.join(' ')}` : ''}`);
console.log('workload              |  etcd ops/s | etcd-ts ops/s | ratio | etcd p99 ms | etcd-ts p99 ms | etcd-ts errors');
const p99 = (rs) => median(rs.map((r) => r.latency_ms?.p99 ?? r.notify_latency_ms?.p99 ?? NaN));
// CPU per request of the load generator and of the three servers together, in microseconds.
const cpuUs = (r, pcts) => ((pcts.reduce((a, b) => a + (b ?? 0), 0) / 100) * r.elapsed_s * 1e6) / Math.max(1, r.ops);
const summary = { date: new Date(startedAt).toISOString(), cores: os.cpus().length, duration_s: durationS, reps, load_keys: loadKeys, etcd_ts_flags: etcdTsFlags, workloads: [] };
for (const suffix of tlsRun ? ['', '/https'] : ['']) {
  for (const w of WORKLOADS) {
    const e = pick(`etcd${suffix}`, w.id);
    const t = pick(`etcd-ts${suffix}`, w.id);
    const eOps = median(e.map((r) => r.ops_per_s));
    const tOps = median(t.map((r) => r.ops_per_s));
    const errs = t.reduce((s, r) => s + (r.errors ?? 0) + (r.missed ?? 0), 0);
    console.log(`${(w.id + suffix).padEnd(21)} | ${fmt(eOps).padStart(11)} | ${fmt(tOps).padStart(13)} | ${fmt(tOps / eOps, 2).padStart(5)} | ${fmt(p99(e), 2).padStart(11)} | ${fmt(p99(t), 2).padStart(14)} | ${errs}`);
    const side = (rs) => ({
      ops_per_s: median(rs.map((r) => r.ops_per_s)),
      p50_ms: median(rs.map((r) => r.latency_ms?.p50 ?? r.notify_latency_ms?.p50 ?? NaN)),
      p99_ms: p99(rs),
      client_cpu_us_per_op: median(rs.map((r) => cpuUs(r, [r.client?.cpu_pct_one_core]))),
      server_cpu_us_per_op: median(rs.map((r) => cpuUs(r, r.server?.cpu_pct_one_core ?? []))),
      ...(w.load ? { load_s: median(rs.map((r) => r.load_elapsed_s ?? r.elapsed_s)), rss_mb_max: median(rs.map((r) => Math.max(...(r.server?.rss_mb ?? [NaN])))) } : {}),
      runs: rs.length,
    });
    summary.workloads.push({ id: w.id + suffix, etcd: side(e), etcd_ts: side(t), ratio: tOps / eOps, etcd_ts_errors: errs });
  }
}
const loadRow = summary.workloads.find((x) => x.id === 'load');
if (loadRow !== undefined) {
  const rss = (sys) => pick(sys, 'load').map((r) => (r.server?.rss_mb ?? []).join('/')).join(', ');
  console.log(`\n${loadKeys}-key load (64 clients): etcd ${fmt(loadRow.etcd.load_s, 1)} s, etcd-ts ${fmt(loadRow.etcd_ts.load_s, 1)} s ` +
    `(time ratio etcd-ts/etcd ${fmt(loadRow.etcd_ts.load_s / loadRow.etcd.load_s, 2)})`);
  console.log(`RSS per member afterwards, MB: etcd ${rss('etcd')}; etcd-ts ${rss('etcd-ts')} ` +
    `(ratio of the medians of the largest: ${fmt(loadRow.etcd_ts.rss_mb_max / loadRow.etcd.rss_mb_max, 2)})`);
}
console.log('\nCPU per request, microseconds (load generator / the three servers together), medians:');
for (const x of summary.workloads) {
  console.log(`${x.id.padEnd(21)} | etcd ${fmt(x.etcd.client_cpu_us_per_op).padStart(5)} / ${fmt(x.etcd.server_cpu_us_per_op).padStart(5)} | etcd-ts ${fmt(x.etcd_ts.client_cpu_us_per_op).padStart(5)} / ${fmt(x.etcd_ts.server_cpu_us_per_op).padStart(5)}`);
}
if (tlsRun) {
  console.log('\ncost of TLS (https ops/s / http ops/s, same system)');
  console.log('workload              |  etcd | etcd-ts');
  for (const w of WORKLOADS) {
    const cost = (sys) => median(pick(`${sys}/https`, w.id).map((r) => r.ops_per_s)) / median(pick(sys, w.id).map((r) => r.ops_per_s));
    console.log(`${w.id.padEnd(21)} | ${fmt(cost('etcd'), 2).padStart(5)} | ${fmt(cost('etcd-ts'), 2).padStart(7)}`);
  }
}
const summaryFile = resultsFile.replace(/\.jsonl$/, '.json');
const chartFile = resultsFile.replace(/\.jsonl$/, '.svg');
fs.writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + '\n');
fs.writeFileSync(chartFile, ratioChart(summary));
console.log(`\nraw results: ${path.relative(root, resultsFile)}; medians: ${path.relative(root, summaryFile)}; chart: ${path.relative(root, chartFile)}`);
fs.rmSync(work, { recursive: true, force: true });

/** A self-contained SVG: one bar per workload, etcd-ts ops/s over etcd's (the load: etcd's time over etcd-ts's), with the 1.0 line. */
function ratioChart(sum) {
  const rows = sum.workloads.map((x) => ({ id: x.id, ratio: x.id === 'load' ? x.etcd.load_s / x.etcd_ts.load_s : x.ratio }));
  const w = 720, rowH = 26, top = 48, left = 170, right = 60;
  const h = top + rows.length * rowH + 40;
  const max = Math.max(1.5, ...rows.map((r) => (Number.isFinite(r.ratio) ? r.ratio : 0))) * 1.05;
  const x = (v) => left + ((w - left - right) * v) / max;
  const esc = (t) => String(t).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  const bars = rows.map((r, i) => {
    const y = top + i * rowH;
    const v = Number.isFinite(r.ratio) ? r.ratio : 0;
    const fill = v >= 1 ? '#2e7d32' : '#c62828';
    return `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(r.id)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${Math.max(0, x(v) - left).toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>` +
      `<text x="${(x(v) + 6).toFixed(1)}" y="${y + 17}">${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '-'}</text>`;
  }).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="20" font-weight="bold">etcd-ts / etcd 3.4, ops/s (load: time), medians of ${sum.reps} rep(s), ${sum.cores} cores</text>
<text x="${left}" y="38" fill="#555">${esc(sum.date)}, ${sum.duration_s} s per workload, load of ${sum.load_keys} keys; above 1.0 etcd-ts is faster</text>
${bars}
<line x1="${x(1).toFixed(1)}" y1="${top - 4}" x2="${x(1).toFixed(1)}" y2="${top + rows.length * rowH + 4}" stroke="#000" stroke-dasharray="4 3"/>
<text x="${x(1).toFixed(1)}" y="${top + rows.length * rowH + 20}" text-anchor="middle">1.0 = etcd</text>
</svg>
`;
}
