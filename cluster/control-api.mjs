// The launcher's control API (issue 14): what the live view's buttons call. Loopback only, every
// request but a CORS preflight needs `Authorization: Bearer <token>` (a random token printed at
// start), a Host naming the loopback address (so a rebound DNS name cannot reach it) and, when the
// browser sends an Origin, a loopback one (the page is served by a member on 127.0.0.1).
//
//   GET  /api/cluster                      {"members":[{name, pid, clientURL, peerURL, state}]}
//   POST /api/members/<name>/kill          SIGKILL (kill -9); the member is stopped
//   POST /api/members/<name>/restart       SIGTERM (SIGKILL after 10 s) if running, then start it again
//   POST /api/members/<name>/pause         SIGSTOP
//   POST /api/members/<name>/resume        SIGCONT
//
// state is running, paused or stopped. One action at a time per member (409 while one runs).
import http from 'node:http';
import crypto from 'node:crypto';

const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/;
const ACTIONS = new Set(['kill', 'restart', 'pause', 'resume']);

/**
 * members: the launcher's member records ({name, client, peer, child, state}); spawnMember(m)
 * starts one again. Resolves with {url, token, close()}.
 */
export async function startControlApi({ port = 0, members, spawnMember, log = () => {}, token = crypto.randomBytes(18).toString('hex') }) {
  const busy = new Set();
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
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'authorization', 'Access-Control-Max-Age': '600' });
      return res.end();
    }
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== tokenBytes.length || !crypto.timingSafeEqual(auth, tokenBytes)) return send(401, { message: 'missing or wrong token' });
    req.resume(); // no request bodies are read
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/cluster') {
      if (req.method !== 'GET') return send(405, { message: 'GET only' });
      return send(200, { members: members.map(describe) });
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

  function describe(m) {
    return { name: m.name, pid: m.child?.pid ?? null, clientURL: `http://127.0.0.1:${m.client}`, peerURL: `http://127.0.0.1:${m.peer}`, state: m.state };
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
