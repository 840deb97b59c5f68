#!/usr/bin/env node
// Starts a three-member etcd-ts cluster on 127.0.0.1 with etcd's usual local ports (as etcd's own
// Procfile): infra1 client 2379 peer 12380, infra2 22379/22380, infra3 32379/32380.
//
//   npm run cluster                       start (or resume) the cluster, data in ./data/<name>
//   npm run cluster -- --fresh            wipe the data dirs first
//   npm run cluster -- --data-dir DIR     keep the data under DIR/<name>
//   npm run cluster -- --log-level info   passed to every member (default warn)
//   npm run cluster -- --follower-writes forward   followers take writes themselves (default redirect: 307)
//   npm run cluster -- --client-ports 2379,22379,32379 --peer-ports 12380,22380,32380   other ports
//   npm run cluster -- --control-port N   the control API's port (default: any free port)
//   npm run cluster -- --no-control       no control API
//   npm run cluster -- --tls              https for clients and peers, client certificates required on
//                                         both sides; certificates made with openssl in DATA/certs
//                                         (default data dir ./data-tls), the curl/etcdctl lines printed
//
// Each member's log lines are prefixed with its name. Ctrl-C (SIGINT) or SIGTERM stops all three
// cleanly; if one member exits on its own the others keep running (a real cluster tolerates it).
//
// The control API (cluster/control-api.mjs; loopback only, a random token printed at start) lets the
// live view (/ui/ on any member) list the members and kill -9, restart, pause (SIGSTOP) and resume
// (SIGCONT) each one, and partition them (the members then run with --debug-faults-token-file).
// The printed live view URL carries its address and token.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { startControlApi } from './control-api.mjs';
import { makeClusterCerts } from './make-certs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const usage =
  'usage: npm run cluster -- [--fresh] [--tls] [--data-dir DIR] [--log-level debug|info|warn|error] [--follower-writes redirect|forward]\n' +
  '                          [--client-ports P1,P2,P3] [--peer-ports P1,P2,P3] [--control-port N] [--no-control]';

function parsePorts(flag, v) {
  const ports = v.split(',').map((x) => Number(x));
  if (ports.length !== 3 || !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) fail(`${flag} wants three ports, comma-separated: ${v}`);
  return ports;
}

function parseArgs(argv) {
  const opts = {
    fresh: false,
    tls: false,
    dataDir: undefined,
    logLevel: 'warn',
    followerWrites: 'redirect',
    clientPorts: [2379, 22379, 32379],
    peerPorts: [12380, 22380, 32380],
    control: true,
    controlPort: 0,
  };
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
    else if (flag === '--client-ports') opts.clientPorts = parsePorts(flag, value());
    else if (flag === '--peer-ports') opts.peerPorts = parsePorts(flag, value());
    else if (flag === '--no-control') opts.control = false;
    else if (flag === '--control-port') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0 || v > 65535) fail(`--control-port wants a port: ${v}`);
      opts.controlPort = v;
    } else if (flag === '--help' || flag === '-h') {
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

const opts = parseArgs(process.argv.slice(2));
const scheme = opts.tls ? 'https' : 'http';
const members = ['infra1', 'infra2', 'infra3'].map((name, i) => ({
  name,
  client: opts.clientPorts[i],
  peer: opts.peerPorts[i],
  dataDir: path.join(opts.dataDir, name),
  /** The running process, or null. */
  child: null,
  /** running | paused | stopped */
  state: 'stopped',
  prefix: '',
}));
const initialCluster = members.map((m) => `${m.name}=${scheme}://127.0.0.1:${m.peer}`).join(',');
const colors = ['\x1b[36m', '\x1b[33m', '\x1b[35m'];
const reset = '\x1b[0m';

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

let stopping = false;
// With the control API, the members take a faults token (a file only this user can read), so the
// page can partition them (PUT /debug/raft/faults; off in a member started without the flag).
const faultsTokenFile = path.join(opts.dataDir, 'faults-token');
let faultsToken = null;
if (opts.control) {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  faultsToken = crypto.randomBytes(18).toString('hex');
  fs.writeFileSync(faultsTokenFile, faultsToken + '\n', { mode: 0o600 });
}

function spawnMember(m) {
  const resuming = fs.existsSync(path.join(m.dataDir, 'member'));
  fs.mkdirSync(m.dataDir, { recursive: true });
  const args = [
    bin,
    '--name', m.name,
    '--data-dir', m.dataDir,
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
    ...(faultsToken !== null ? ['--debug-faults-token-file', faultsTokenFile] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  m.child = child;
  m.state = 'running';
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(m.prefix + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${m.prefix}exited (${signal ?? `code ${code}`})\n`);
    if (m.child === child) {
      m.child = null;
      m.state = 'stopped';
    }
    // Without the control API nothing can start a member again: stop once all three are gone.
    if (members.every((x) => x.child === null) && (stopping || !opts.control)) process.exit(stopping ? 0 : 1);
  });
  process.stdout.write(`${m.prefix}${resuming ? 'resuming' : 'starting'}: client ${scheme}://127.0.0.1:${m.client}, peer ${scheme}://127.0.0.1:${m.peer}, data ${m.dataDir}\n`);
}

// The health checks and the control API's calls to the members (GET /v2/members, PUT
// /debug/raft/faults) present the client certificate when the members require one.
const dispatcher = certs === null ? undefined : new Agent({
  connect: { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
});
const memberFetch = dispatcher === undefined ? fetch : (url, init) => undiciFetch(url, { ...init, dispatcher });

for (const [i, m] of members.entries()) {
  m.prefix = process.stdout.isTTY ? `${colors[i]}${m.name.padEnd(6)}|${reset} ` : `${m.name.padEnd(6)}| `;
  if (opts.fresh) fs.rmSync(m.dataDir, { recursive: true, force: true });
  spawnMember(m);
}

// With --tls the members serve the live view over https while the control API stays on loopback
// http: browsers treat http://127.0.0.1 as potentially trustworthy, so the https page may call it
// (no mixed-content block), and the API accepts https loopback origins. The browser must trust the
// cluster's CA and present the client certificate (client.crt/client.key, e.g. imported as a
// PKCS#12 file) to open the page, as any client of these members must.
let control = null;
if (opts.control) {
  control = await startControlApi({
    port: opts.controlPort,
    members,
    spawnMember,
    faultsToken,
    scheme,
    fetch: memberFetch,
    log: (line) => process.stdout.write(`control| ${line}\n`),
  });
}

function tryLines() {
  const endpoints = members.map((m) => `${scheme}://127.0.0.1:${m.client}`).join(',');
  const first = `${scheme}://127.0.0.1:${members[0].client}`;
  const live = control === null ? `live view (read-only): ${first}/ui/` : `live view: ${first}/ui/?control=${control.url}&token=${control.token}`;
  if (certs === null) {
    return `  curl -L ${first}/v2/keys/hello -XPUT -d value=world\n  ETCDCTL_API=2 etcdctl --endpoints ${endpoints} get /hello\n${live}`;
  }
  const q = (p) => (/^[\w./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  return [
    `  curl -L --cacert ${q(certs.ca)} --cert ${q(certs.clientCert)} --key ${q(certs.clientKey)} ${first}/v2/keys/hello -XPUT -d value=world`,
    `  ETCDCTL_API=2 etcdctl --endpoints ${endpoints} --ca-file ${q(certs.ca)} --cert-file ${q(certs.clientCert)} --key-file ${q(certs.clientKey)} get /hello`,
    `  (without a certificate signed by ${q(certs.ca)} a client is refused during the TLS handshake)`,
    live,
    `  (the browser must trust ${q(certs.ca)} and present the client certificate, e.g.`,
    `   openssl pkcs12 -export -in ${q(certs.clientCert)} -inkey ${q(certs.clientKey)} -out client.p12, then import client.p12)`,
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
  control?.close();
  const running = members.filter((m) => m.child !== null);
  if (running.length === 0) process.exit(0);
  for (const m of running) {
    // A paused member cannot act on SIGTERM until it runs again.
    if (m.state === 'paused') m.child.kill('SIGCONT');
    m.child.kill('SIGTERM');
  }
  // A member that does not stop within 10 s is killed; its acknowledged writes are already durable.
  setTimeout(() => {
    for (const m of members) m.child?.kill('SIGKILL');
  }, 10_000).unref();
  process.stdout.write(`\nlocal-cluster: ${signal}, stopping the members\n`);
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
waitHealthy();
