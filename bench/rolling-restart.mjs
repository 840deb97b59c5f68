#!/usr/bin/env node
// rolling-restart.mjs - client-visible unavailability of a rolling restart of a 3-member cluster.
//
//   node bench/rolling-restart.mjs [--bin path/to/bin/etcd-ts] [--rounds 3] [--election-ms 1000]
//        [--heartbeat-ms 100] [--clients 4] [--json out.json]
//        [--order both|followers-first|leader-first] [--timeout-ms 2000] [--gap-ms 2*heartbeat]
//        [--pause-ms 1000] [--baseline-ms 3000] [--retry-ms 10] [--ready-timeout-ms 30000]
//        [--log-level info] [--keep-logs DIR] [--skip-restarting]
//
// Zero dependencies (Node 20 standard library and its global fetch). What it does:
//   * starts 3 members of --bin (default: this repo's bin/etcd-ts) on free 127.0.0.1 ports, each
//     with its own data dir in a temp dir, and waits until every member answers /health 200 and a
//     quorum GET works;
//   * runs --clients closed-loop writers: client c PUTs value=<its counter> to /v2/keys/roll/<c>
//     through a random member, follows 301/302/307/308 (to the Location's member, at most 3 hops),
//     each operation bounded by --timeout-ms (the whole redirect chain); after a failure it sleeps
//     --retry-ms and tries again through another random member. The completion time of every
//     successful write and of every failure is recorded. A restarted member accepts connections
//     before it is ready and holds requests until then (as etcd does), so a client that picks it
//     waits; --skip-restarting makes the clients pick only among the other members from the
//     SIGTERM until the restarted member is ready (a client that health-checks its endpoints);
//     redirects are still followed wherever they point;
//   * after --baseline-ms of steady load, performs rolling restarts: for each member in turn
//     SIGTERM, wait for its exit (SIGKILL after 5 s + 2 election timeouts + 5 s), restart it with the
//     same flags and data dir, wait until it answers /health 200, a quorum GET through it works, it
//     knows a leader and the whole cluster is healthy (--ready-timeout-ms), then pause --pause-ms.
//     Orders: followers-first (etcd-operator style: every follower, then the leader) and
//     leader-first (the leader, then the rest followers-first). --order both (default) does one
//     pass of each per round; --rounds rounds. A restart is a "leader" restart when the member led
//     the cluster when it got its SIGTERM (asked through /v2/stats/self just before);
//   * reports: the longest gap between consecutive successful writes (all clients merged), the total
//     time of gaps longer than --gap-ms (default 2 heartbeats), failed requests by kind, and per
//     restart: stop time (SIGTERM -> exit), start -> ready time, total; "held": from when the
//     restarted member accepts connections until it answers its first request (a client that
//     picks it waits that long); the time until a surviving member led (leader restarts); the
//     longest gap among the gaps ending in its window (from its SIGTERM to the next SIGTERM), and
//     the longest gap overlapping the stop phase (SIGTERM..exit) and the rejoin phase
//     (spawn..ready+pause); the failures in its window; whether the stopping member's log says
//     'stopping: handing leadership over'. Summaries by role and by order x role. --json writes it
//     all, with every gap > --gap-ms and what the clients were waiting on at its midpoint
//     (first-hop member and outcome of the requests in flight). At the end every client's key is
//     read with quorum=true: a value below the client's last acknowledged counter is a lost
//     acknowledged write.
//
// Every wait is bounded, and a hard deadline bounds the whole run. The members and the temp dir are
// removed on exit, on errors and on SIGINT/SIGTERM (--keep-logs DIR copies the member logs first).
// Exit code 0 on a completed run (whatever the figures), 1 on an error, 2 on bad flags, 130 on SIGINT.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opts = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) die(`unexpected argument ${a}`);
  let k = a.slice(2);
  let v;
  const eq = k.indexOf('=');
  if (eq >= 0) {
    v = k.slice(eq + 1);
    k = k.slice(0, eq);
  } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) v = argv[++i];
  else v = true;
  opts[k] = v;
}
function die(msg) {
  process.stderr.write(`rolling-restart: ${msg}\n`);
  process.exit(2);
}
if (opts.help || opts.h) {
  const text = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\nimport ')[0];
  process.stdout.write(text.replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}
const KNOWN = ['bin', 'rounds', 'election-ms', 'heartbeat-ms', 'clients', 'json', 'order', 'timeout-ms', 'gap-ms', 'pause-ms',
  'baseline-ms', 'retry-ms', 'ready-timeout-ms', 'log-level', 'keep-logs', 'skip-restarting'];
for (const k of Object.keys(opts)) if (!KNOWN.includes(k)) die(`unknown flag --${k} (see --help)`);
const num = (k, d, min = 0) => {
  if (opts[k] === undefined) return d;
  const n = Number(opts[k]);
  if (!Number.isFinite(n) || n < min) die(`--${k} must be a number >= ${min}`);
  return n;
};
const str = (k, d) => {
  if (opts[k] === undefined) return d;
  if (opts[k] === true) die(`--${k} needs a value`);
  return String(opts[k]);
};
const bin = path.resolve(str('bin', path.join(root, 'bin', 'etcd-ts')));
const rounds = Math.floor(num('rounds', 3, 1));
const electionMs = Math.floor(num('election-ms', 1000, 1));
const heartbeatMs = Math.floor(num('heartbeat-ms', 100, 1));
const nClients = Math.floor(num('clients', 4, 1));
const jsonOut = opts.json === undefined ? null : path.resolve(str('json', ''));
const order = str('order', 'both');
if (!['both', 'followers-first', 'leader-first'].includes(order)) die('--order must be both, followers-first or leader-first');
const timeoutMs = num('timeout-ms', 2000, 1);
const gapMs = num('gap-ms', 2 * heartbeatMs, 1);
const pauseMs = num('pause-ms', 1000);
const baselineMs = num('baseline-ms', 3000);
const retryMs = num('retry-ms', 10);
const readyTimeoutMs = num('ready-timeout-ms', 30_000, 1000);
const logLevel = str('log-level', 'info');
const keepLogs = opts['keep-logs'] === undefined ? null : path.resolve(str('keep-logs', ''));
const skipRestarting = opts['skip-restarting'] === true || opts['skip-restarting'] === 'true';
const VARIANTS = order === 'both' ? ['followers-first', 'leader-first'] : [order];
/** The member's own bound on its stop (main.ts: 5 s + two election timeouts), plus slack. */
const stopTimeoutMs = 5000 + 2 * electionMs + 5000;

if (!fs.existsSync(bin)) die(`--bin ${bin} does not exist`);
if (!fs.existsSync(path.join(path.dirname(bin), '..', 'dist', 'main.js'))) {
  die(`${path.join(path.dirname(bin), '..', 'dist', 'main.js')} is missing: run npm run build in ${path.resolve(path.dirname(bin), '..')}`);
}

// ---------------------------------------------------------------- small helpers
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`rolling-restart: ${msg}\n`);
const r1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

/** One HTTP request, bounded; never follows redirects. Resolves {status, headers, text}; rejects on transport errors/timeouts. */
async function request(url, { method = 'GET', body, timeout = 1000, signal } = {}) {
  const init = { method, redirect: 'manual', signal: signal ?? AbortSignal.timeout(Math.max(1, Math.ceil(timeout))) };
  if (body !== undefined) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  }
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, headers: r.headers, text };
}

/** A short name for a failed request: timeout, ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ... */
function errKind(e) {
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const c = e?.cause;
  if (c?.code) return c.code;
  if (c?.name === 'TimeoutError') return 'timeout';
  return String(c?.message ?? e?.message ?? e).slice(0, 60);
}

function freePorts(n) {
  return new Promise((resolve, reject) => {
    const servers = [];
    const ports = [];
    const next = () => {
      if (ports.length === n) {
        let left = servers.length;
        for (const s of servers) s.close(() => --left === 0 && resolve(ports));
        return;
      }
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        servers.push(s);
        ports.push(s.address().port);
        next();
      });
    };
    next();
  });
}

/** Polls fn (async; truthy = done) every pollMs until it is truthy; throws after timeoutMs. */
async function waitFor(what, fn, timeoutMs, pollMs = 50) {
  const deadline = now() + timeoutMs;
  let last;
  for (;;) {
    if (aborting) throw new Error('aborted');
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${errKind(last)})` : ''}`);
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------- the cluster
let aborting = false;
let workDir = null;
const members = [];

function memberArgs(m, initialCluster, token) {
  return [
    bin,
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientURL, '--advertise-client-urls', m.clientURL,
    '--listen-peer-urls', m.peerURL, '--initial-advertise-peer-urls', m.peerURL,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', token,
    '--initial-cluster-state', 'new',
    '--heartbeat-interval', String(heartbeatMs),
    '--election-timeout', String(electionMs),
    '--log-level', logLevel,
  ];
}

function startMember(m) {
  fs.appendFileSync(m.logPath, `### rolling-restart: start #${m.starts + 1} of ${m.name} at ${new Date().toISOString()}\n`);
  m.logOffset = fs.statSync(m.logPath).size;
  const fd = fs.openSync(m.logPath, 'a');
  const child = spawn(process.execPath, m.args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  m.child = child;
  m.starts++;
  m.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('exit', () => {
    if (m.child === child) m.child = null;
  });
}

/** SIGTERM, wait for the exit (bounded), SIGKILL if it did not. */
async function stopMember(m) {
  const child = m.child;
  if (!child) return { code: null, signal: null, killed: false };
  child.kill('SIGTERM');
  let timer;
  const res = await Promise.race([m.exited, new Promise((r) => (timer = setTimeout(() => r(null), stopTimeoutMs)))]);
  clearTimeout(timer);
  if (res) return { ...res, killed: false };
  log(`${m.name} did not exit within ${stopTimeoutMs} ms of SIGTERM: SIGKILL`);
  child.kill('SIGKILL');
  const res2 = await Promise.race([m.exited, sleep(5000).then(() => ({ code: null, signal: 'unknown' }))]);
  return { ...res2, killed: true };
}

async function health(m, timeout = 1500) {
  const r = await request(`${m.clientURL}/health`, { timeout });
  return r.status === 200 && JSON.parse(r.text).health === 'true';
}

async function selfStats(m, timeout = 500) {
  const r = await request(`${m.clientURL}/v2/stats/self`, { timeout });
  if (r.status !== 200) throw new Error(`stats/self ${r.status}`);
  return JSON.parse(r.text);
}

async function quorumGet(m, key = 'roll', timeout = 2000) {
  const r = await request(`${m.clientURL}/v2/keys/${key}?quorum=true`, { timeout });
  return r;
}

/** The member every live member agrees leads (state StateLeader, and the others name it). */
async function findLeader(timeout = 5 * electionMs + 5000) {
  return waitFor('one agreed leader', async () => {
    const live = members.filter((m) => m.child);
    const stats = await Promise.all(live.map((m) => selfStats(m).catch(() => null)));
    if (stats.some((s) => s === null)) return null;
    const leaders = live.filter((m, i) => stats[i].state === 'StateLeader');
    if (leaders.length !== 1) return null;
    const id = stats[live.indexOf(leaders[0])].id;
    if (!stats.every((s) => s.leaderInfo?.leader === id)) return null;
    return leaders[0];
  }, timeout, 25);
}

/** The member answers /health, a quorum GET through it works and it knows a leader; every member is healthy. */
async function waitMemberReady(m) {
  return waitFor(`${m.name} ready and the cluster healthy`, async () => {
    if (!m.child) throw new Error(`${m.name} exited`);
    if (!(await health(m))) return false;
    const q = await quorumGet(m);
    if (q.status !== 200 && q.status !== 404) return false;
    const s = await selfStats(m);
    if (!s.leaderInfo || s.leaderInfo.leader === '0') return false;
    const all = await Promise.all(members.map((x) => health(x).catch(() => false)));
    return all.every(Boolean);
  }, readyTimeoutMs, 50);
}

// ---------------------------------------------------------------- the load
let loadStop = false;
const successes = []; // completion times (ms, performance.now())
const failures = []; // {t, client, member, kind}
const ops = []; // every attempt: {t0, t1, m (first-hop member), ok, kind}
let redirectsFollowed = 0;
const lastAck = new Array(nClients).fill(0);

async function clientLoop(c) {
  let seq = 0;
  while (!loadStop) {
    const pool = skipRestarting ? members.filter((x) => !x.restarting) : members;
    const m = pool[Math.floor(Math.random() * pool.length)];
    const t0 = now();
    const body = `value=${++seq}`;
    let url = `${m.clientURL}/v2/keys/roll/${c}`;
    const signal = AbortSignal.timeout(Math.ceil(timeoutMs));
    let kind = null;
    try {
      for (let hop = 0; ; hop++) {
        const r = await request(url, { method: 'PUT', body, signal });
        const loc = r.headers.get('location');
        if ([301, 302, 307, 308].includes(r.status) && loc && hop < 3) {
          url = new URL(loc, url).href;
          redirectsFollowed++;
          continue;
        }
        if (r.status < 200 || r.status >= 300) {
          let cause = '';
          try {
            const j = JSON.parse(r.text);
            cause = j.cause || j.message || '';
          } catch {
            // not JSON
          }
          kind = `http ${r.status}${cause ? ` ${cause}` : ''}`;
        }
        break;
      }
    } catch (e) {
      kind = errKind(e);
    }
    const t = now();
    ops.push({ t0, t1: t, m: m.name, ok: kind === null, kind });
    if (kind === null) {
      successes.push(t);
      lastAck[c] = seq;
    } else {
      failures.push({ t, client: c, member: m.name, kind });
      if (retryMs > 0) await sleep(retryMs);
    }
  }
}

// ---------------------------------------------------------------- restarts
const restarts = [];

/** Polls the other members until one of them leads (not `target`); resolves the time or null when stopped. */
function watchNewLeader(target, tKill, stopSignal) {
  return (async () => {
    while (!stopSignal.done && !aborting) {
      const others = members.filter((m) => m !== target && m.child);
      const stats = await Promise.all(others.map((m) => selfStats(m, 300).catch(() => null)));
      const i = stats.findIndex((s) => s && s.state === 'StateLeader');
      if (i >= 0) return { ms: now() - tKill, member: others[i].name };
      await sleep(10);
    }
    return null;
  })();
}

/**
 * When the restarted member starts accepting TCP connections (listen) and when it first answers a
 * request (serve: a GET /v2/stats/self sent once it listens, held by the member until it is ready).
 * serve - listen = how long a client that picks it waits.
 */
function watchServing(m) {
  return (async () => {
    const deadline = now() + readyTimeoutMs;
    const port = Number(new URL(m.clientURL).port);
    let listen = null;
    while (listen === null && now() < deadline && !aborting && m.child) {
      const okConn = await new Promise((resolve) => {
        const sock = net.connect({ port, host: '127.0.0.1' });
        sock.once('connect', () => { sock.destroy(); resolve(true); });
        sock.once('error', () => { sock.destroy(); resolve(false); });
      });
      if (okConn) listen = now();
      else await sleep(10);
    }
    let serve = null;
    while (listen !== null && serve === null && now() < deadline && !aborting && m.child) {
      try {
        const r = await request(`${m.clientURL}/v2/stats/self`, { timeout: Math.max(1, deadline - now()) });
        if (r.status === 200) serve = now();
      } catch {
        await sleep(10);
      }
    }
    return { listen, serve };
  })();
}

function readStopLog(m, fromOffset) {
  let text = '';
  try {
    const fd = fs.openSync(m.logPath, 'r');
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - fromOffset));
    fs.readSync(fd, buf, 0, buf.length, fromOffset);
    fs.closeSync(fd);
    text = buf.toString('utf8');
  } catch {
    // no log
  }
  const lines = text.split('\n');
  const find = (s) => lines.find((l) => l.includes(s)) ?? null;
  const handover = find('stopping: handing leadership over');
  const notInTime = find('leadership was not handed over in time');
  const stopped = find('member stopped');
  const timeOf = (l) => {
    try {
      return JSON.parse(l).time;
    } catch {
      return null;
    }
  };
  return {
    handover_logged: handover !== null,
    handover_not_in_time: notInTime !== null,
    member_stopped_logged: stopped !== null,
    // pino's time: ms since the epoch; handover line -> 'member stopped' line
    handover_to_stopped_ms: handover && stopped ? timeOf(stopped) - timeOf(handover) : null,
  };
}

async function restartMember(m, info) {
  const leaderBefore = info.leader;
  const offset = m.logOffset;
  m.restarting = true;
  const tKill = now();
  const watchState = { done: false };
  const newLeader = info.role === 'leader' ? watchNewLeader(m, tKill, watchState) : Promise.resolve(null);
  const exit = await stopMember(m);
  const tExit = now();
  const logInfo = readStopLog(m, offset);
  startMember(m);
  const tSpawn = now();
  const serving = watchServing(m);
  let ready = true;
  let readyError = null;
  try {
    await waitMemberReady(m);
  } catch (e) {
    ready = false;
    readyError = e.message;
  }
  const tReady = now();
  m.restarting = false;
  watchState.done = true;
  const nl = await newLeader;
  const sv = await serving;
  let leaderAfter = null;
  if (ready) leaderAfter = (await findLeader().catch(() => null))?.name ?? null;
  const rec = {
    round: info.round, variant: info.variant, step: info.step, member: m.name, role: info.role,
    leader_before: leaderBefore.name, leader_after: leaderAfter,
    t_kill: tKill, t_exit: tExit, t_spawn: tSpawn, t_ready: tReady,
    stop_ms: r1(tExit - tKill), start_to_ready_ms: r1(tReady - tSpawn), restart_ms: r1(tReady - tKill),
    listening_ms: sv.listen === null ? null : r1(sv.listen - tSpawn), serving_ms: sv.serve === null ? null : r1(sv.serve - tSpawn),
    held_ms: sv.listen === null || sv.serve === null ? null : r1(sv.serve - sv.listen),
    new_leader_ms: nl ? r1(nl.ms) : null, new_leader: nl?.member ?? null,
    exit_code: exit.code, exit_signal: exit.signal, sigkilled: exit.killed,
    ...logInfo,
  };
  restarts.push(rec);
  log(`round ${info.round} ${info.variant} step ${info.step}: ${m.name} (${info.role}) stop ${rec.stop_ms} ms, ready after ${rec.restart_ms} ms` +
    (info.role === 'leader' ? `, new leader ${rec.new_leader ?? '?'} after ${rec.new_leader_ms ?? '?'} ms, handover logged: ${rec.handover_logged}` : ''));
  if (!ready) throw new Error(`restart of ${m.name}: ${readyError}`);
}

async function rollingPass(variant, round) {
  const done = new Set();
  for (let step = 1; step <= members.length; step++) {
    const leader = await findLeader();
    const remaining = members.filter((m) => !done.has(m));
    let target;
    if (variant === 'leader-first' && step === 1) target = leader;
    else target = remaining.find((m) => m !== leader) ?? leader;
    await restartMember(target, { variant, round, step, role: target === leader ? 'leader' : 'follower', leader });
    done.add(target);
    await sleep(pauseMs);
  }
}

// ---------------------------------------------------------------- analysis
/** Gaps between consecutive successes: [{a, b, ms}] (a = previous success, b = next). */
function gapsOf(ts) {
  const out = [];
  for (let i = 1; i < ts.length; i++) out.push({ a: ts[i - 1], b: ts[i], ms: ts[i] - ts[i - 1] });
  return out;
}
/** What the clients were waiting on at the gap's midpoint: 'm1 ok' x 3 = three requests to m1 in flight that later succeeded. */
function waitingOn(g) {
  const mid = (g.a + g.b) / 2;
  const c = {};
  for (const o of ops) if (o.t0 <= mid && o.t1 >= mid) {
    const k = `${o.m} ${o.ok ? 'ok' : o.kind}`;
    c[k] = (c[k] || 0) + 1;
  }
  return Object.entries(c).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} x${n}`).join(', ') || 'none (retrying)';
}
const maxOf = (xs) => xs.reduce((m, x) => Math.max(m, x), 0);
const mean = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

function analyse(tLoadStart, tFirstKill, tLoadEnd) {
  const ts = [...successes].sort((a, b) => a - b);
  const gaps = gapsOf(ts);
  // baseline: steady load before the first restart (skipping the first 500 ms)
  const baseGaps = gaps.filter((g) => g.a >= tLoadStart + 500 && g.b <= tFirstKill);
  const rollGaps = gaps.filter((g) => g.b > tFirstKill && g.a < tLoadEnd);
  const longest = rollGaps.reduce((m, g) => (g.ms > (m?.ms ?? -1) ? g : m), null);
  const big = rollGaps.filter((g) => g.ms > gapMs);
  for (let i = 0; i < restarts.length; i++) {
    const r = restarts[i];
    const wEnd = i + 1 < restarts.length ? restarts[i + 1].t_kill : tLoadEnd;
    const inWin = gaps.filter((g) => g.b > r.t_kill && g.b <= wEnd);
    const overlap = (x, y) => gaps.filter((g) => g.a < y && g.b > x).map((g) => g.ms);
    const worst = inWin.reduce((m, g) => (g.ms > (m?.ms ?? -1) ? g : m), null);
    r.max_gap_ms = r1(worst?.ms ?? 0);
    r.max_gap_starts_after_kill_ms = worst ? r1(worst.a - r.t_kill) : null;
    r.max_gap_waiting_on = worst ? waitingOn(worst) : null;
    r.gap_stop_phase_ms = r1(maxOf(overlap(r.t_kill, r.t_exit)));
    r.gap_rejoin_phase_ms = r1(maxOf(overlap(r.t_spawn, Math.min(wEnd, r.t_ready + pauseMs))));
    r.unavailable_ms = r1(inWin.filter((g) => g.ms > gapMs).reduce((s, g) => s + g.ms, 0));
    r.failed = failures.filter((f) => f.t > r.t_kill && f.t <= wEnd).length;
    r.writes = ts.filter((t) => t > r.t_kill && t <= wEnd).length;
  }
  const kinds = {};
  for (const f of failures) kinds[f.kind] = (kinds[f.kind] || 0) + 1;
  const summarise = (rs) => ({
    restarts: rs.length,
    max_gap_ms: { median: r1(median(rs.map((r) => r.max_gap_ms))), mean: r1(mean(rs.map((r) => r.max_gap_ms))), max: r1(maxOf(rs.map((r) => r.max_gap_ms))) },
    gap_stop_phase_ms_mean: r1(mean(rs.map((r) => r.gap_stop_phase_ms))),
    gap_rejoin_phase_ms_mean: r1(mean(rs.map((r) => r.gap_rejoin_phase_ms))),
    unavailable_ms_mean: r1(mean(rs.map((r) => r.unavailable_ms))),
    failed_mean: r1(mean(rs.map((r) => r.failed))),
    stop_ms_mean: r1(mean(rs.map((r) => r.stop_ms))),
    restart_ms_mean: r1(mean(rs.map((r) => r.restart_ms))),
    held_ms_mean: r1(mean(rs.filter((r) => r.held_ms !== null).map((r) => r.held_ms))),
    new_leader_ms_mean: r1(mean(rs.filter((r) => r.new_leader_ms !== null).map((r) => r.new_leader_ms))),
    handover_logged: rs.filter((r) => r.handover_logged).length,
  });
  const byRole = {};
  for (const role of ['leader', 'follower']) byRole[role] = summarise(restarts.filter((r) => r.role === role));
  const byVariantRole = {};
  for (const v of VARIANTS) for (const role of ['leader', 'follower']) byVariantRole[`${v}/${role}`] = summarise(restarts.filter((r) => r.variant === v && r.role === role));
  return {
    writes: ts.length,
    writes_per_s: r1(ts.length / ((tLoadEnd - tLoadStart) / 1000)),
    failed: failures.length,
    failed_by_kind: kinds,
    redirects_followed: redirectsFollowed,
    baseline: { ms: r1(tFirstKill - tLoadStart), longest_gap_ms: r1(maxOf(baseGaps.map((g) => g.ms))), gaps_over_threshold: baseGaps.filter((g) => g.ms > gapMs).length },
    longest_gap_ms: r1(longest?.ms ?? 0),
    longest_gap_at_s: longest ? r1((longest.a - tLoadStart) / 1000) : null,
    gap_threshold_ms: gapMs,
    unavailable_total_ms: r1(big.reduce((s, g) => s + g.ms, 0)),
    gaps_over_threshold: big.map((g) => ({ from_s: r1((g.a - tLoadStart) / 1000), ms: r1(g.ms), waiting_on: waitingOn(g) })),
    by_role: byRole,
    by_variant_role: byVariantRole,
    restarts: restarts.map((r) => {
      const { t_kill, t_exit, t_spawn, t_ready, ...rest } = r;
      return { at_s: r1((t_kill - tLoadStart) / 1000), ...rest, exit_ms_after_kill: r1(t_exit - t_kill), ready_s: r1((t_ready - tLoadStart) / 1000) };
    }),
  };
}

function printReport(res, meta) {
  const f = (x) => (x === null || x === undefined || Number.isNaN(x) ? '-' : String(x));
  const pad = (s, n) => f(s).padStart(n);
  const out = [];
  out.push('');
  out.push(`rolling restart: 3 members, election ${electionMs} ms, heartbeat ${heartbeatMs} ms, ${nClients} clients, ${rounds} round(s) x ${VARIANTS.join(' + ')}`);
  out.push(`bin ${meta.bin}; ${os.cpus().length} cores, load average ${meta.host_loadavg_start?.join(' ')} at the start, ${meta.host_loadavg_end.join(' ')} at the end; request timeout ${timeoutMs} ms; gap threshold ${gapMs} ms; clients ${skipRestarting ? 'skip the restarting member' : 'pick any member'}`);
  out.push('');
  out.push('round variant          step member role     |  stop ms  ready ms  total ms  held ms | new leader ms | max gap ms (stop / rejoin) | unavail ms | failed | handover log | requests in flight at the max gap midpoint');
  for (const r of res.restarts) {
    out.push(`${pad(r.round, 5)} ${r.variant.padEnd(16)} ${pad(r.step, 4)} ${r.member.padEnd(6)} ${r.role.padEnd(8)} | ${pad(r.stop_ms, 8)} ${pad(r.start_to_ready_ms, 9)} ${pad(r.restart_ms, 9)} ${pad(r.held_ms, 8)} | ${pad(r.new_leader_ms, 13)} | ${pad(r.max_gap_ms, 10)} (${pad(r.gap_stop_phase_ms, 6)} / ${pad(r.gap_rejoin_phase_ms, 6)}) | ${pad(r.unavailable_ms, 10)} | ${pad(r.failed, 6)} | ${(r.role === 'leader' ? (r.handover_logged ? 'yes' : 'no') + (r.handover_not_in_time ? ' (late)' : '') : '').padEnd(12)} | ${r.max_gap_waiting_on ?? ''}`);
  }
  out.push('');
  out.push('group                      |  n | max gap ms median / mean / max | stop-phase gap mean | rejoin gap mean | unavail ms mean | failed mean | stop ms mean | restart ms mean | held ms mean | new leader ms mean');
  const row = (name, s) => out.push(`${name.padEnd(26)} | ${pad(s.restarts, 2)} | ${pad(s.max_gap_ms.median, 8)} / ${pad(s.max_gap_ms.mean, 7)} / ${pad(s.max_gap_ms.max, 7)} | ${pad(s.gap_stop_phase_ms_mean, 19)} | ${pad(s.gap_rejoin_phase_ms_mean, 15)} | ${pad(s.unavailable_ms_mean, 15)} | ${pad(s.failed_mean, 11)} | ${pad(s.stop_ms_mean, 12)} | ${pad(s.restart_ms_mean, 15)} | ${pad(s.held_ms_mean, 12)} | ${pad(s.new_leader_ms_mean, 18)}`);
  for (const [k, s] of Object.entries(res.by_role)) row(k, s);
  if (VARIANTS.length > 1) for (const [k, s] of Object.entries(res.by_variant_role)) row(k, s);
  out.push('');
  out.push(`writes ${res.writes} (${res.writes_per_s}/s), failed requests ${res.failed}, redirects followed ${res.redirects_followed}`);
  if (res.failed) out.push(`failures by kind: ${Object.entries(res.failed_by_kind).map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  out.push(`baseline (${res.baseline.ms} ms of steady load, no restart): longest gap ${res.baseline.longest_gap_ms} ms`);
  out.push(`longest gap between successful writes during the restarts: ${res.longest_gap_ms} ms (at ${res.longest_gap_at_s} s)`);
  out.push(`total time in gaps > ${gapMs} ms: ${res.unavailable_total_ms} ms (${res.gaps_over_threshold.length} gaps)`);
  out.push(`leader restarts with 'stopping: handing leadership over' in the stopping member's log: ${res.by_role.leader.handover_logged}/${res.by_role.leader.restarts}`);
  out.push(`acknowledged writes lost (final quorum read below the last acknowledged counter): ${res.lost_acknowledged_writes ?? '-'}`);
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- cleanup
let cleaning = null;
let loadAvgStart = null;
function cleanup() {
  cleaning ??= (async () => {
    aborting = true;
    loadStop = true;
    const live = members.filter((m) => m.child);
    for (const m of live) m.child?.kill('SIGTERM');
    await Promise.race([Promise.all(live.map((m) => m.exited)), sleep(stopTimeoutMs)]);
    for (const m of members) m.child?.kill('SIGKILL');
    await Promise.race([Promise.all(live.map((m) => m.exited)), sleep(2000)]);
    if (workDir && keepLogs) {
      try {
        fs.mkdirSync(keepLogs, { recursive: true });
        for (const m of members) fs.copyFileSync(m.logPath, path.join(keepLogs, `${m.name}.log`));
        log(`member logs copied to ${keepLogs}`);
      } catch (e) {
        log(`could not copy the logs: ${e.message}`);
      }
    }
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    workDir = null;
  })();
  return cleaning;
}
// Last resort (process.exit from anywhere): no member outlives us, no temp dir stays.
process.on('exit', () => {
  for (const m of members) {
    try {
      m.child?.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (signalled) process.exit(130); // a second Ctrl-C: the exit handler kills and removes
    signalled = true;
    log(`${sig}: stopping the members and removing ${workDir ?? 'nothing'}`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- main
const perRestartBoundMs = stopTimeoutMs + 5000 + readyTimeoutMs + pauseMs + 3 * (5 * electionMs + 5000);
const hardDeadlineMs = 60_000 + baselineMs + rounds * VARIANTS.length * 3 * perRestartBoundMs + readyTimeoutMs;
const hardDeadline = setTimeout(() => {
  log(`hard deadline (${Math.round(hardDeadlineMs / 1000)} s) hit`);
  cleanup().finally(() => process.exit(3));
}, hardDeadlineMs);
hardDeadline.unref();

async function main() {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-roll-'));
  const ports = await freePorts(6);
  for (let i = 0; i < 3; i++) {
    const name = `m${i + 1}`;
    const dataDir = path.join(workDir, name);
    fs.mkdirSync(dataDir);
    members.push({
      name, dataDir, logPath: path.join(workDir, `${name}.log`),
      clientURL: `http://127.0.0.1:${ports[2 * i]}`, peerURL: `http://127.0.0.1:${ports[2 * i + 1]}`,
      child: null, exited: null, restarting: false, starts: 0, logOffset: 0, args: null,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerURL}`).join(',');
  const token = `roll-${process.pid}-${Date.now()}`;
  for (const m of members) m.args = memberArgs(m, initialCluster, token);
  log(`starting 3 members of ${bin} in ${workDir}`);
  for (const m of members) startMember(m);
  await waitFor('every member healthy', async () => (await Promise.all(members.map((m) => health(m).catch(() => false)))).every(Boolean), 30_000, 100);
  await waitFor('a first write', async () => (await request(`${(await findLeader()).clientURL}/v2/keys/roll/init`, { method: 'PUT', body: 'value=0', timeout: 2000 })).status < 300, 10_000);
  await waitFor('a quorum GET through every member', async () => (await Promise.all(members.map((m) => quorumGet(m).then((r) => r.status === 200)))).every(Boolean), 10_000);
  const firstLeader = await findLeader();
  log(`cluster healthy, leader ${firstLeader.name}; ${nClients} clients writing, ${baselineMs} ms baseline`);

  loadAvgStart = os.loadavg().map((x) => r1(x));
  const tLoadStart = now();
  const loops = Array.from({ length: nClients }, (_, c) => clientLoop(c));
  await sleep(baselineMs);
  const tFirstKill = now();
  let runError = null;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const v of VARIANTS) {
        log(`round ${round}/${rounds}: ${v}`);
        await rollingPass(v, round);
      }
    }
  } catch (e) {
    runError = e;
  }
  const tLoadEnd = now();
  loadStop = true;
  await Promise.race([Promise.all(loops), sleep(timeoutMs + retryMs + 2000)]);
  if (runError) throw runError;

  const res = analyse(tLoadStart, tFirstKill, tLoadEnd);
  // every client's key, read with quorum=true: never below its last acknowledged counter
  let lost = 0;
  const finalValues = [];
  for (let c = 0; c < nClients; c++) {
    if (lastAck[c] === 0) continue;
    const r = await waitFor(`a quorum read of roll/${c}`, async () => {
      const x = await quorumGet(members[c % members.length], `roll/${c}`);
      return x.status === 200 ? x : null;
    }, 10_000);
    const v = Number(JSON.parse(r.text).node.value);
    finalValues.push({ client: c, last_acknowledged: lastAck[c], final_value: v });
    if (!(v >= lastAck[c])) lost++;
  }
  res.lost_acknowledged_writes = lost;
  res.final_values = finalValues;
  const meta = { bin, rounds, election_ms: electionMs, heartbeat_ms: heartbeatMs, clients: nClients, order: VARIANTS, timeout_ms: timeoutMs,
    host_loadavg_start: loadAvgStart, host_loadavg_end: os.loadavg().map((x) => r1(x)),
    pause_ms: pauseMs, skip_restarting: skipRestarting, baseline_ms: baselineMs, retry_ms: retryMs, cores: os.cpus().length, node: process.version, date: new Date().toISOString() };
  printReport(res, meta);
  if (jsonOut) {
    fs.writeFileSync(jsonOut, JSON.stringify({ tool: 'rolling-restart', ...meta, ...res }, null, 1) + '\n');
    log(`JSON written to ${jsonOut}`);
  }
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  if (!signalled) log(`error: ${e?.stack ?? e}`);
  if (workDir && !signalled) {
    for (const m of members) {
      try {
        const tail = fs.readFileSync(m.logPath, 'utf8').trimEnd().split('\n').slice(-5).join('\n  ');
        log(`last lines of ${m.name}'s log:\n  ${tail}`);
      } catch {
        // no log
      }
    }
  }
  exitCode = 1;
} finally {
  if (!signalled) {
    await cleanup();
    process.exit(exitCode);
  }
}
