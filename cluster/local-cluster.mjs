#!/usr/bin/env node
// Starts a three-member etcd-ts cluster on 127.0.0.1 with etcd's usual local ports (as etcd's own
// Procfile): infra1 client 2379 peer 12380, infra2 22379/22380, infra3 32379/32380.
//
//   npm run cluster                       start (or resume) the cluster, data in ./data/<name>
//   npm run cluster -- --fresh            wipe the data dirs first
//   npm run cluster -- --data-dir DIR     keep the data under DIR/<name>
//   npm run cluster -- --log-level info   passed to every member (default warn)
//   npm run cluster -- --follower-writes forward   followers take writes themselves (default redirect: 307)
//   npm run cluster -- --tls              https for clients and peers, client certificates required on
//                                         both sides; certificates made with openssl in DATA/certs
//                                         (default data dir ./data-tls), the curl/etcdctl lines printed
//
// Each member's log lines are prefixed with its name. Ctrl-C (SIGINT) or SIGTERM stops all three
// cleanly; if one member exits on its own the others keep running (a real cluster tolerates it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { makeClusterCerts } from './make-certs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const usage = 'usage: npm run cluster -- [--fresh] [--tls] [--data-dir DIR] [--log-level debug|info|warn|error] [--follower-writes redirect|forward]';

function parseArgs(argv) {
  const opts = { fresh: false, tls: false, dataDir: undefined, logLevel: 'warn', followerWrites: 'redirect' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) fail(`flag needs an argument: ${flag}`);
      return v;
    };
    if (flag === '--fresh') opts.fresh = true;
    else if (flag === '--tls') opts.tls = true;
    else if (flag === '--data-dir') opts.dataDir = path.resolve(value());
    else if (flag === '--log-level') opts.logLevel = value();
    else if (flag === '--follower-writes') opts.followerWrites = value();
    else if (flag === '--help' || flag === '-h') {
      console.log(usage);
      process.exit(0);
    } else fail(`unknown flag: ${arg}`);
  }
  // A TLS cluster has other peer URLs, hence other member ids: it keeps its own data.
  opts.dataDir ??= path.join(root, opts.tls ? 'data-tls' : 'data');
  return opts;
}

function fail(message) {
  console.error(`local-cluster: ${message}\n${usage}`);
  process.exit(2);
}

const members = [
  { name: 'infra1', client: 2379, peer: 12380 },
  { name: 'infra2', client: 22379, peer: 22380 },
  { name: 'infra3', client: 32379, peer: 32380 },
];
const colors = ['\x1b[36m', '\x1b[33m', '\x1b[35m'];
const reset = '\x1b[0m';

const opts = parseArgs(process.argv.slice(2));
const scheme = opts.tls ? 'https' : 'http';
const initialCluster = members.map((m) => `${m.name}=${scheme}://127.0.0.1:${m.peer}`).join(',');
let certs = null;
if (opts.tls) {
  try {
    certs = makeClusterCerts(path.join(opts.dataDir, 'certs'));
  } catch (err) {
    console.error(`local-cluster: ${err.message}`);
    process.exit(1);
  }
}
const tlsFlags = certs === null ? [] : [
  '--cert-file', certs.memberCert, '--key-file', certs.memberKey, '--trusted-ca-file', certs.ca, '--client-cert-auth',
  '--peer-cert-file', certs.memberCert, '--peer-key-file', certs.memberKey, '--peer-trusted-ca-file', certs.ca, '--peer-client-cert-auth',
];
const bin = path.join(root, 'bin', 'etcd-ts');
// bin/etcd-ts runs dist/main.js and would say the same thrice, once per member.
if (!fs.existsSync(path.join(root, 'dist', 'main.js'))) {
  console.error('local-cluster: dist/ is missing; run `npm install` (it builds) or `npm run build` first');
  process.exit(1);
}

const children = [];
let stopping = false;

for (const [i, m] of members.entries()) {
  const dataDir = path.join(opts.dataDir, m.name);
  if (opts.fresh) fs.rmSync(dataDir, { recursive: true, force: true });
  const resuming = fs.existsSync(path.join(dataDir, 'member'));
  fs.mkdirSync(dataDir, { recursive: true });
  const args = [
    bin,
    '--name', m.name,
    '--data-dir', dataDir,
    '--listen-client-urls', `${scheme}://127.0.0.1:${m.client}`,
    '--advertise-client-urls', `${scheme}://127.0.0.1:${m.client}`,
    '--listen-peer-urls', `${scheme}://127.0.0.1:${m.peer}`,
    '--initial-advertise-peer-urls', `${scheme}://127.0.0.1:${m.peer}`,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', 'etcd-ts-local-cluster',
    '--initial-cluster-state', 'new',
    '--log-level', opts.logLevel,
    '--follower-writes', opts.followerWrites,
    ...tlsFlags,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = process.stdout.isTTY ? `${colors[i]}${m.name.padEnd(6)}|${reset} ` : `${m.name.padEnd(6)}| `;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? `code ${code}`})\n`);
    children.splice(children.indexOf(child), 1);
    if (children.length === 0) process.exit(stopping ? 0 : 1);
  });
  children.push(child);
  process.stdout.write(`${prefix}${resuming ? 'resuming' : 'starting'}: client ${scheme}://127.0.0.1:${m.client}, peer ${scheme}://127.0.0.1:${m.peer}, data ${dataDir}\n`);
}

// The health checks present the client certificate when the members require one.
const dispatcher = certs === null ? undefined : new Agent({
  connect: { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
});

function tryLines() {
  const endpoints = members.map((m) => `${scheme}://127.0.0.1:${m.client}`).join(',');
  if (certs === null) {
    return `  curl -L http://127.0.0.1:2379/v2/keys/hello -XPUT -d value=world\n  ETCDCTL_API=2 etcdctl --endpoints ${endpoints} get /hello`;
  }
  const q = (p) => (/^[\w./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  return [
    `  curl -L --cacert ${q(certs.ca)} --cert ${q(certs.clientCert)} --key ${q(certs.clientKey)} https://127.0.0.1:2379/v2/keys/hello -XPUT -d value=world`,
    `  ETCDCTL_API=2 etcdctl --endpoints ${endpoints} --ca-file ${q(certs.ca)} --cert-file ${q(certs.clientCert)} --key-file ${q(certs.clientKey)} get /hello`,
    `  (without a certificate signed by ${q(certs.ca)} a client is refused during the TLS handshake)`,
  ].join('\n');
}

async function waitHealthy() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopping) {
    try {
      const answers = await Promise.all(
        members.map((m) => request(`${scheme}://127.0.0.1:${m.client}/health`, { dispatcher, signal: AbortSignal.timeout(2000) }).then((r) => r.body.json())),
      );
      if (answers.every((a) => a.health === 'true')) {
        console.log(`cluster healthy. Try:\n${tryLines()}\nCtrl-C stops all three members.`);
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) console.log('local-cluster: the cluster is not healthy after 30 s; see the member logs above');
}

function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  // A member that does not stop within 10 s is killed; its acknowledged writes are already durable.
  setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, 10_000).unref();
  process.stdout.write(`\nlocal-cluster: ${signal}, stopping the members\n`);
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
waitHealthy();
