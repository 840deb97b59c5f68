// The launcher's control API (issue 14): what the live view's buttons call. Loopback only, every
// request but a CORS preflight needs `Authorization: Bearer <token>` (a random token printed at
// start), a Host naming the loopback address (so a rebound DNS name cannot reach it) and, when the
// browser sends an Origin, a loopback one (the page is served by a member on 127.0.0.1, over http or,
// for a TLS cluster, https: the API itself stays on loopback http, which browsers let an https page
// call since http://127.0.0.1 counts as potentially trustworthy).
//
//   GET  /api/cluster                      {"members":[{name, pid, clientURL, peerURL, state}]}
//   POST /api/members/<name>/kill          SIGKILL (kill -9); the member is stopped
//   POST /api/members/<name>/restart       SIGTERM (SIGKILL after 10 s) if running, then start it again
//   POST /api/members/<name>/pause         SIGSTOP
//   POST /api/members/<name>/resume        SIGCONT
//   POST /api/partition {"groups":[["infra1"],["infra2","infra3"]]}   every member listed once: each
//                                          member's raft traffic to and from the other groups is
//                                          blackholed (its PUT /debug/raft/faults, with faultsToken)
//   DELETE /api/partition                  heals
//   POST /api/delay {"members":["infra1"],"ms":300}   the raft traffic between the members named and
//                                          the others is delayed by ms (1-60000) both ways (each
//                                          member delays what it sends over those links: its PUT
//                                          /debug/raft/faults); etcd's functional tester's
//                                          DELAY_PEER_PORT_TX_RX
//   DELETE /api/delay                      heals
//
// state is running, paused or stopped. One action at a time per member (409 while one runs). A
// member restarted or resumed while partitioned gets its filter again.
import http from 'node:http';
import crypto from 'node:crypto';

const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/;
const ACTIONS = new Set(['kill', 'restart', 'pause', 'resume']);

/**
 * members: the launcher's member records ({name, client, peer, child, state}); spawnMember(m)
 * starts one again. scheme is the members' URL scheme (https for a TLS cluster) and fetch what
 * reaches them (for a TLS cluster, one that trusts its CA and presents a client certificate).
 * Resolves with {url, token, close()}.
 */
export async function startControlApi({
  port = 0,
  members,
  spawnMember,
  log = () => {},
  token = crypto.randomBytes(18).toString('hex'),
  faultsToken = null,
  scheme = 'http',
  fetch = globalThis.fetch,
}) {
  const busy = new Set();
  /** The partition in force: groups of member names, or null. */
  let partition = null;
  /** The delay in force: {members: [names], ms}, or null. */
  let delay = null;
  /** The two network faults: POST sets one (replacing what was in force), DELETE heals it. */
  const faultRoutes = {
    '/api/partition': {
      what: 'partitions', key: 'partition', healed: 'heal', parse: (text) => parseGroups(text),
      set: (v) => (partition = v), describe: (g) => `partition ${g.map((x) => x.join(',')).join(' | ')}`,
    },
    '/api/delay': {
      what: 'delays', key: 'delay', healed: 'delay healed', parse: (text) => parseDelay(text),
      set: (v) => (delay = v), describe: (d) => `delay ${d.members.join(',')} by ${d.ms} ms`,
    },
  };
  const tokenBytes = Buffer.from(`Bearer ${token}`);
  let address = '';

  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const send = (status, body) => {
      const text = JSON.stringify(body) + '\n';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
      res.end(text);
    };
    if (req.headers.host !== address && req.headers.host !== address.replace('127.0.0.1', 'localhost')) return send(421, { message: 'wrong Host' });
    if (origin !== undefined) {
      if (!LOOPBACK_ORIGIN.test(origin)) return send(403, { message: 'origin not allowed' });
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, DELETE', 'Access-Control-Allow-Headers': 'authorization, content-type', 'Access-Control-Max-Age': '600' });
      return res.end();
    }
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== tokenBytes.length || !crypto.timingSafeEqual(auth, tokenBytes)) return send(401, { message: 'missing or wrong token' });
    const url = new URL(req.url ?? '/', 'http://x');
    const fault = faultRoutes[url.pathname];
    if (fault !== undefined) {
      if (faultsToken === null) return send(404, { message: `${fault.what} need the members started with --debug-faults-token-file` });
      if (req.method === 'DELETE') {
        req.resume();
        fault.set(null);
        log(fault.healed);
        return void applyPartition().then((errors) => send(200, { [fault.key]: null, errors }));
      }
      if (req.method !== 'POST') return send(405, { message: 'POST or DELETE only' });
      return void readBody(req).then(
        (text) => {
          const value = fault.parse(text);
          if (typeof value === 'string') return send(400, { message: value });
          fault.set(value);
          log(fault.describe(value));
          return applyPartition().then((errors) => send(200, { [fault.key]: value, errors }));
        },
        (err) => send(413, { message: err.message }),
      );
    }
    req.resume(); // no other request reads a body
    if (url.pathname === '/api/cluster') {
      if (req.method !== 'GET') return send(405, { message: 'GET only' });
      return send(200, { members: members.map(describe), partition, delay, partitions: faultsToken !== null });
    }
    const match = /^\/api\/members\/([a-z0-9_-]+)\/([a-z]+)$/.exec(url.pathname);
    if (match === null) return send(404, { message: 'not found' });
    if (req.method !== 'POST') return send(405, { message: 'POST only' });
    const [, name, action] = match;
    const m = members.find((x) => x.name === name);
    if (m === undefined) return send(404, { message: `no member ${name}` });
    if (!ACTIONS.has(action)) return send(404, { message: `no action ${action}` });
    if (busy.has(name)) return send(409, { message: `${name}: another action is under way` });
    busy.add(name);
    act(m, action).then(
      () => send(200, describe(m)),
      (err) => send(409, { message: err.message, ...describe(m) }),
    ).finally(() => busy.delete(name));
  });

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let bytes = 0;
      req.on('data', (c) => {
        bytes += c.length;
        if (bytes <= 4096) chunks.push(c);
      });
      req.on('end', () => (bytes > 4096 ? reject(new Error('body over 4096 bytes')) : resolve(Buffer.concat(chunks).toString('utf8'))));
      req.on('error', reject);
    });
  }

  /** groups of names, every member exactly once; or why not. */
  function parseGroups(text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return 'want JSON {"groups": [["infra1"], ["infra2", "infra3"]]}';
    }
    const groups = body?.groups;
    if (!Array.isArray(groups) || groups.length < 2 || !groups.every((g) => Array.isArray(g) && g.length > 0)) return 'groups: at least two non-empty lists of member names';
    const names = groups.flat();
    const known = members.map((m) => m.name);
    if (names.length !== known.length || !known.every((n) => names.includes(n))) return `groups must list each member once: ${known.join(', ')}`;
    return groups.map((g) => g.map(String));
  }

  /** The members' ids by name, from the first member that answers /v2/members. */
  async function memberIds() {
    for (const m of members) {
      if (m.state !== 'running') continue;
      try {
        const res = await fetch(`${scheme}://127.0.0.1:${m.client}/v2/members`, { signal: AbortSignal.timeout(2000) });
        const body = await res.json();
        return new Map(body.members.map((x) => [x.name, x.id]));
      } catch {
        // the next one
      }
    }
    throw new Error('no member answers /v2/members');
  }

  /** {members, ms}: member names (some, not all) and a delay in ms; or why not. */
  function parseDelay(text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return 'want JSON {"members": ["infra1"], "ms": 300}';
    }
    const names = body?.members;
    const known = members.map((m) => m.name);
    if (!Array.isArray(names) || names.length === 0 || names.length >= known.length || !names.every((n) => known.includes(n)) || new Set(names).size !== names.length) {
      return `members: some of ${known.join(', ')} (not all), each once`;
    }
    if (!Number.isInteger(body.ms) || body.ms < 1 || body.ms > 60_000) return 'ms: an integer in [1, 60000]';
    return { members: names.map(String), ms: body.ms };
  }

  /** Sends each running member its blackhole list and its delays; returns the errors, by member. */
  async function applyPartition(only = null) {
    const errors = {};
    let ids;
    try {
      ids = await memberIds();
    } catch (err) {
      return { all: err.message };
    }
    await Promise.all(
      members
        .filter((m) => m.state === 'running' && (only === null || m === only))
        .map(async (m) => {
          const group = partition?.find((g) => g.includes(m.name)) ?? [];
          const blackhole = partition === null ? [] : members.filter((x) => !group.includes(x.name)).map((x) => ids.get(x.name)).filter((id) => id !== undefined);
          // A named member delays what it sends to the others; the others what they send to it.
          const slowed = delay === null ? [] : delay.members.includes(m.name) ? members.filter((x) => !delay.members.includes(x.name)) : members.filter((x) => delay.members.includes(x.name));
          const delays = Object.fromEntries(slowed.map((x) => [ids.get(x.name), delay.ms]).filter(([id]) => id !== undefined));
          try {
            const res = await fetch(`${scheme}://127.0.0.1:${m.client}/debug/raft/faults`, {
              method: 'PUT',
              headers: { Authorization: `Bearer ${faultsToken}`, 'Content-Type': 'application/json' },
              body: JSON.stringify({ blackhole, delay: delays }),
              signal: AbortSignal.timeout(2000),
            });
            if (!res.ok) errors[m.name] = `${res.status} ${(await res.text()).trim()}`;
          } catch (err) {
            errors[m.name] = err.message;
          }
        }),
    );
    return errors;
  }

  /** A member that starts again while partitioned (or delayed) gets its filter once its client port answers. */
  async function reapply(m) {
    if (partition === null && delay === null) return;
    for (let i = 0; i < 50 && (partition !== null || delay !== null) && m.state === 'running'; i++) {
      const errors = await applyPartition(m);
      if (errors[m.name] === undefined && errors.all === undefined) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  function describe(m) {
    return { name: m.name, pid: m.child?.pid ?? null, clientURL: `${scheme}://127.0.0.1:${m.client}`, peerURL: `${scheme}://127.0.0.1:${m.peer}`, state: m.state };
  }

  function exited(m, ms) {
    const child = m.child;
    if (child === null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async function act(m, action) {
    log(`${action} ${m.name}`);
    switch (action) {
      case 'kill': {
        if (m.child === null) throw new Error(`${m.name} is not running`);
        m.child.kill('SIGKILL');
        if (!(await exited(m, 5000))) throw new Error(`${m.name} did not exit after SIGKILL`);
        return;
      }
      case 'restart': {
        if (m.child !== null) {
          if (m.state === 'paused') m.child.kill('SIGCONT');
          m.child.kill('SIGTERM');
          if (!(await exited(m, 10_000))) {
            m.child?.kill('SIGKILL');
            await exited(m, 5000);
          }
        }
        spawnMember(m);
        void reapply(m);
        return;
      }
      case 'pause': {
        if (m.state !== 'running') throw new Error(`${m.name} is ${m.state}`);
        m.child.kill('SIGSTOP');
        m.state = 'paused';
        return;
      }
      case 'resume': {
        if (m.state !== 'paused') throw new Error(`${m.name} is ${m.state}`);
        m.child.kill('SIGCONT');
        m.state = 'running';
        void reapply(m);
        return;
      }
    }
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  address = `127.0.0.1:${server.address().port}`;
  const url = `http://${address}`;
  log(`listening on ${url} (loopback only; token required)`);
  return { url, token, close: () => server.close() };
}
