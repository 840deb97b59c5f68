#!/usr/bin/env node
// What a long-lived cluster costs, side by side with the real etcd 3.4 on the same machine: load N
// keys (v2bench's `load` workload: every key written once, 64 clients), then each member's RSS and
// data-dir size, then kill -9 of all three members, a start of all three, the time until a quorum
// read succeeds, and the RSS once restarted (what the data costs, without the load's garbage). etcd-ts runs with its default flags (--snapshot-count 10000), etcd with its
// own (100000).
//
//   npm run bench:long-life                       100,000 keys of 256 bytes
//   npm run bench:long-life -- --keys 1000000 --value-size 256 --only etcd-ts
//
// Servers bind to 127.0.0.1 only; data dirs and logs go to a temp dir that is removed at the end.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 || argv[i + 1] === undefined ? dflt : argv[i + 1];
};
const keys = Number(opt('keys', 100_000));
const valueSize = Number(opt('value-size', 256));
const systems = String(opt('only', 'etcd,etcd-ts')).split(',');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-long-life-'));

const MEMBERS = [
  { name: 'l1', client: 25379, peer: 25380 },
  { name: 'l2', client: 25389, peer: 25390 },
  { name: 'l3', client: 25399, peer: 25398 },
];

function command(system, m) {
  const ic = MEMBERS.map((x) => `${x.name}=http://127.0.0.1:${x.peer}`).join(',');
  const flags = [
    '--name', m.name, '--data-dir', path.join(work, system, m.name),
    '--listen-client-urls', `http://127.0.0.1:${m.client}`, '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
    '--listen-peer-urls', `http://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
    '--initial-cluster', ic, '--initial-cluster-token', `long-life-${system}`, '--initial-cluster-state', 'new', '--log-level', 'warn',
  ];
  return system === 'etcd' ? ['/usr/bin/etcd', ['--enable-v2=true', '--logger', 'zap', ...flags]] : [process.execPath, [path.join(root, 'bin', 'etcd-ts'), ...flags]];
}

function startAll(system) {
  return MEMBERS.map((m) => {
    const [bin, args] = command(system, m);
    const log = fs.openSync(path.join(work, `${system}-${m.name}.log`), 'a');
    return spawn(bin, args, { stdio: ['ignore', log, log] });
  });
}

async function killAll(children) {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
}

async function until(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`long-life: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const endpoints = MEMBERS.map((m) => `http://127.0.0.1:${m.client}`);
const quorumRead = async () => {
  for (const url of endpoints) {
    const r = await fetch(`${url}/v2/keys/ll/k0?quorum=true`, { signal: AbortSignal.timeout(2000) });
    if (r.status === 200) return true;
  }
  return false;
};

function rssMB(pid) {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

function duMB(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) / 1048576;
}

const results = [];
try {
  for (const system of systems) {
    if (system === 'etcd' && !fs.existsSync('/usr/bin/etcd')) throw new Error('long-life: /usr/bin/etcd is missing (apt-get install etcd-server)');
    let children = startAll(system);
    await until(`${system} to elect a leader`, async () => (await fetch(`${endpoints[0]}/v2/keys/ll/k0`, { method: 'PUT', body: new URLSearchParams({ value: 'x' }), redirect: 'follow' })).ok, 30_000);
    const out = execFileSync(process.execPath, [path.join(root, 'bench', 'v2bench.mjs'), '--endpoints', endpoints.join(','), '--workload', 'load', '--keys', String(keys), '--value-size', String(valueSize), '--clients', '64', '--threads', '2', '--prefix', 'll', '--label', `${system}/load`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    const load = JSON.parse(out.trim().split('\n').pop());
    await new Promise((r) => setTimeout(r, 3000)); // settle: followers catch up, snapshots due are taken
    const rss = children.map((c) => rssMB(c.pid));
    const disk = MEMBERS.map((m) => duMB(path.join(work, system, m.name)));
    await killAll(children);
    const restartStarted = Date.now();
    children = startAll(system);
    await until(`${system} to answer a quorum read after the restart`, quorumRead, 600_000);
    const restartMs = Date.now() - restartStarted;
    await new Promise((r) => setTimeout(r, 3000));
    const rssAfterRestart = children.map((c) => rssMB(c.pid));
    await killAll(children);
    results.push({ system, keys, valueSize, loadS: load.load_elapsed_s, loadErrors: load.errors, rssMB: rss, dataDirMB: disk, restartMs, rssAfterRestartMB: rssAfterRestart });
    process.stderr.write(`long-life: ${JSON.stringify(results[results.length - 1])}\n`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(' / ');
console.log(`\n${keys} keys of ${valueSize} bytes, 3 members each, one machine (${os.cpus().length} cores)`);
console.log('system  | load s | RSS MB per member after the load | data dir MB per member | restart to first quorum read | RSS MB after the restart');
console.log('--------|-------:|----------------------------------|------------------------|-----------------------------:|-------------------------');
for (const r of results) {
  console.log(`${r.system.padEnd(7)} | ${Number(r.loadS).toFixed(1).padStart(6)} | ${fmt(r.rssMB).padEnd(32)} | ${fmt(r.dataDirMB).padEnd(22)} | ${String(r.restartMs).padStart(25)} ms | ${fmt(r.rssAfterRestartMB)}`);
}
