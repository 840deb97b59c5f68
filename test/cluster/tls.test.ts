// A three-member cluster entirely over TLS (issue 15): every client and peer URL https://, each
// member presenting a certificate of the test CA and requiring one on both sides
// (--client-cert-auth, --peer-client-cert-auth). Elections, redirects, quorum reads, kill -9 and
// restart run over it; curl and `ETCDCTL_API=2 etcdctl` reach it with their TLS flags; a client
// without a certificate, or with one of another CA, and a peer with another CA's certificate are
// refused during the handshake; plain HTTP sent to an https port gets no answer and disturbs
// nothing; and with v2 auth enabled the client certificate's common name names the user, as etcd
// 3.4 does. ETCD_TS_TEST_TARGET=etcd runs the same file against the real etcd.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterTargetFromEnv } from '../helpers/cluster-binary.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import type { ClusterMember } from '../helpers/cluster-member.js';
import { describeRun, etcdctl } from '../helpers/etcdctl.js';
import { makeTestCerts, type CertPair, type TestCerts } from '../helpers/tls-certs.js';
import { waitFor } from '../helpers/wait-for.js';
import { MESSAGES_PATH } from '../../src/transport/protocol.js';
import { repoRoot } from '../helpers/etcd-ts.js';

const target = clusterTargetFromEnv();
let certs: TestCerts;
let cluster: Cluster;
const agents: Agent[] = [];

beforeAll(async () => {
  certs = await makeTestCerts(['root', 'alice', 'nobody']);
  cluster = await startCluster({ tls: { certs }, label: 'tls', startTimeoutMs: 40_000 });
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.destroy()));
  await cluster?.stopAll();
  await certs?.remove();
}, 30_000);

beforeEach((ctx) => {
  ctx.onTestFailed(() => {
    if (!cluster) return;
    cluster.markFailed();
    console.error(`===== member output of ${cluster.label} (test "${ctx.task.name}" failed)\n${cluster.logs()}`);
  });
});

/** An undici agent that trusts `ca` and presents `pair` (none when undefined). */
async function agentWith(ca: string, pair: CertPair | undefined): Promise<Agent> {
  const [caPem, cert, key] = await Promise.all([fs.readFile(ca, 'utf8'), pair && fs.readFile(pair.cert, 'utf8'), pair && fs.readFile(pair.key, 'utf8')]);
  const agent = new Agent({ connect: { ca: caPem, ...(cert !== undefined ? { cert, key } : {}), timeout: 3000 }, keepAliveTimeout: 1000 });
  agents.push(agent);
  return agent;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function send(agent: Agent, url: string, opts: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.form !== undefined) {
    body = new URLSearchParams(opts.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  }
  const res = await request(url, { method: opts.method ?? 'GET', headers, body, dispatcher: agent, signal: AbortSignal.timeout(5000) });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, killSignal: 'SIGKILL', env, ...(cwd !== undefined ? { cwd } : {}) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** Sends bytes over plain TCP and collects what comes back until the server closes (bounded). */
function plainExchange(url: string, bytes: string): Promise<{ reply: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed: false });
    }, 12_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed: true });
    });
    socket.write(bytes);
  });
}

async function healthy(m: ClusterMember): Promise<boolean> {
  return cluster.isHealthy(m, 2000);
}

describe(`a three-member ${target} cluster over TLS with client-certificate authentication on both sides`, () => {
  it('elects a leader over the https peer URLs; /v2/members lists every member with its https URLs', async () => {
    const leader = await cluster.waitLeader();
    expect(cluster.members.map((m) => m.name)).toContain(leader.name);
    const res = await cluster.client.read(`${leader.clientURL}/v2/members`);
    const members = (res.json as unknown as { members: Array<{ name: string; peerURLs: string[]; clientURLs: string[] }> }).members;
    expect(members.map((m) => [m.name, m.peerURLs, m.clientURLs]).sort()).toEqual(cluster.members.map((m) => [m.name, [m.peerURL], [m.clientURL]]).sort());
    for (const m of members) {
      expect(m.peerURLs[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(m.clientURLs[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  it.skipIf(target === 'etcd')('a follower answers a write with 307 to the leader\'s https client URL, and the write is applied there', async () => {
    const leader = await cluster.waitLeader();
    const follower = cluster.live().find((m) => m !== leader)!;
    const redirected = await cluster.client.http.send({ method: 'PUT', url: `${follower.clientURL}/v2/keys/tls/redirect?x=1`, form: { value: 'r' }, timeoutMs: 5000 });
    expect(redirected.status).toBe(307);
    // The leader's advertised client URL, scheme included, with the same path and query
    // (etcd-ts adds redirectedBy, for read-your-writes through the follower).
    expect(redirected.headers['location']).toMatch(new RegExp(`^${leader.clientURL}/v2/keys/tls/redirect\\?x=1(&|$)`));
    const outcome = await cluster.client.put(follower.clientURL, '/tls/redirect', 'followed');
    expect(outcome).toMatchObject({ kind: 'acknowledged' });
    expect(outcome.hops?.[0]).toBe(`${follower.clientURL}/v2/keys/tls/redirect`);
    expect(outcome.hops?.[1]).toMatch(new RegExp(`^${leader.clientURL}/v2/keys/tls/redirect`));
    const read = await cluster.client.get(leader.clientURL, '/tls/redirect');
    expect(read.json?.node?.value).toBe('followed');
  });

  it('a quorum read through each follower sees the value the leader acknowledged', async () => {
    const leader = await cluster.waitLeader();
    const put = await cluster.client.put(leader.clientURL, '/tls/quorum', 'q1');
    expect(put).toMatchObject({ kind: 'acknowledged' });
    for (const m of cluster.live().filter((x) => x !== leader)) {
      const read = await cluster.client.get(m.clientURL, '/tls/quorum', { quorum: true });
      expect(read.status).toBe(200);
      expect(read.json?.node?.value).toBe('q1');
    }
  });

  it('curl --cacert --cert --key and ETCDCTL_API=2 etcdctl --ca-file --cert-file --key-file write and read', async () => {
    const m = cluster.members[0]!;
    const root = certs.clients['root']!;
    const curlPut = await run('curl', ['-sS', '--max-time', '10', '-L', '--cacert', certs.ca, '--cert', root.cert, '--key', root.key, '-X', 'PUT', `${m.clientURL}/v2/keys/tls/curl`, '-d', 'value=from-curl']);
    expect(curlPut.code, curlPut.stderr).toBe(0);
    expect(JSON.parse(curlPut.stdout)).toMatchObject({ node: { key: '/tls/curl', value: 'from-curl' } });

    const tlsFlags = ['--ca-file', certs.ca, '--cert-file', root.cert, '--key-file', root.key];
    const get = ['get', '/tls/curl'];
    const got = await etcdctl([...tlsFlags, ...get], { endpoints: m.clientURL });
    expect(got.code, describeRun(get, got)).toBe(0);
    expect(got.stdout.trim()).toBe('from-curl');
    const set = ['set', '/tls/ctl', 'from-etcdctl'];
    const wrote = await etcdctl([...tlsFlags, ...set], { endpoints: cluster.members.map((x) => x.clientURL).join(',') });
    expect(wrote.code, describeRun(set, wrote)).toBe(0);
    const curlGet = await run('curl', ['-sS', '--max-time', '10', '--cacert', certs.ca, '--cert', root.cert, '--key', root.key, `${cluster.members[2]!.clientURL}/v2/keys/tls/ctl?quorum=true`]);
    expect(JSON.parse(curlGet.stdout)).toMatchObject({ node: { value: 'from-etcdctl' } });
  });

  it('a client without a certificate, or with one of another CA, is refused during the handshake; etcdctl without one fails', async () => {
    const m = cluster.members[1]!;
    const noCert = await run('curl', ['-sS', '--max-time', '10', '--cacert', certs.ca, `${m.clientURL}/v2/keys/tls/quorum`]);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stdout).toBe('');
    const other = await run('curl', ['-sS', '--max-time', '10', '--cacert', certs.ca, '--cert', certs.otherClient.cert, '--key', certs.otherClient.key, `${m.clientURL}/v2/keys/tls/quorum`]);
    expect(other.code).not.toBe(0);
    expect(other.stdout).toBe('');
    await expect(send(await agentWith(certs.ca, undefined), `${m.clientURL}/v2/keys/tls/quorum`)).rejects.toThrow();
    await expect(send(await agentWith(certs.ca, certs.otherClient), `${m.clientURL}/v2/keys/tls/quorum`)).rejects.toThrow();
    const ctl = await etcdctl(['--ca-file', certs.ca, 'get', '/tls/quorum'], { endpoints: m.clientURL, noSync: true });
    expect(ctl.code).not.toBe(0);
    // The same member serves a client with a certificate of the trusted CA.
    const ok = await send(await agentWith(certs.ca, certs.clients['nobody']), `${m.clientURL}/v2/keys/tls/quorum`);
    expect(ok.status).toBe(200);
  });

  it('a peer with a certificate of another CA (or none) cannot connect to the peer port, so cannot send a raft message', async () => {
    const m = cluster.members[0]!;
    const intruder = await agentWith(certs.ca, certs.otherMember);
    await expect(send(intruder, `${m.peerURL}/members`)).rejects.toThrow();
    await expect(send(intruder, `${m.peerURL}${MESSAGES_PATH}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' } })).rejects.toThrow();
    await expect(send(await agentWith(certs.ca, undefined), `${m.peerURL}/members`)).rejects.toThrow();
    // A member's own certificate is let in (the peer API answers).
    const member = await send(await agentWith(certs.ca, certs.member), `${m.peerURL}/members`);
    expect(member.status).toBe(200);
    expect(await healthy(m)).toBe(true);
  });

  it('plain HTTP sent to an https client or peer port gets no HTTP answer and the member keeps serving', async () => {
    const m = cluster.members[2]!;
    for (const url of [m.clientURL, m.peerURL]) {
      const { hostname, port } = new URL(url);
      const got = await plainExchange(url, `GET /v2/keys/tls/quorum HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      expect(got.closed).toBe(true);
      expect(got.reply).not.toMatch(/^HTTP\/1\.[01] 2/);
      expect(got.reply).not.toContain('q1');
    }
    expect(await healthy(m)).toBe(true);
    const read = await cluster.client.get(m.clientURL, '/tls/quorum', { quorum: true });
    expect(read.json?.node?.value).toBe('q1');
  });

  it.skipIf(target === 'etcd')('etcd-ts backup --endpoint takes a running member\'s copy over https with the peer TLS flags, and says why without them', async () => {
    const m = cluster.members[1]!;
    const backupDir = path.join(cluster.baseDir, 'tls.backup');
    const base = ['bin/etcd-ts', 'backup', '--data-dir', m.dataDir, '--endpoint', m.peerURL];
    const refused = await run(process.execPath, [...base, '--backup-dir', `${backupDir}-refused`], { ...process.env }, repoRoot);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+/);
    const ok = await run(process.execPath, [...base, '--backup-dir', backupDir, '--peer-cert-file', certs.member.cert, '--peer-key-file', certs.member.key, '--peer-trusted-ca-file', certs.ca], { ...process.env }, repoRoot);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await fs.readdir(path.join(backupDir, 'member'))).length).toBeGreaterThan(0);
  });

  it('kill -9 of the leader: the others elect a new leader over TLS, and the killed member restarts and catches up', async () => {
    const leader = await cluster.waitLeader();
    expect(await cluster.client.put(leader.clientURL, '/tls/crash', 'before')).toMatchObject({ kind: 'acknowledged' });
    await cluster.kill(leader.name, 'SIGKILL');
    const next = await cluster.waitLeader({ notIn: [leader.name], timeoutMs: 20_000 });
    expect(await cluster.client.put(next.clientURL, '/tls/crash', 'after')).toMatchObject({ kind: 'acknowledged' });
    cluster.restart(leader.name);
    await cluster.waitHealthy({ members: [leader], timeoutMs: 30_000 });
    await waitFor(async () => (await cluster.client.get(leader.clientURL, '/tls/crash')).json?.node?.value === 'after', {
      what: `${leader.name} to apply the write made while it was down`,
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const quorum = await cluster.client.get(leader.clientURL, '/tls/crash', { quorum: true });
    expect(quorum.json?.node?.value).toBe('after');
  }, 90_000);

  // Last: it leaves v2 auth enabled.
  it('with v2 auth enabled, a request without Authorization is made as the user its certificate\'s common name names (etcd 3.4)', async () => {
    const leader = await cluster.waitLeader();
    const url = leader.clientURL;
    const asRoot = await agentWith(certs.ca, certs.clients['root']);
    const asAlice = await agentWith(certs.ca, certs.clients['alice']);
    const asNobody = await agentWith(certs.ca, certs.clients['nobody']);
    expect((await send(asRoot, `${url}/v2/auth/users/root`, { method: 'PUT', json: { user: 'root', password: 'rootpw' } })).status).toBe(201);
    expect((await send(asRoot, `${url}/v2/auth/roles/tls-reader`, { method: 'PUT', json: { role: 'tls-reader', permissions: { kv: { read: ['/tls/*'], write: [] } } } })).status).toBe(201);
    expect((await send(asRoot, `${url}/v2/auth/users/alice`, { method: 'PUT', json: { user: 'alice', password: 'alicepw', roles: ['tls-reader'] } })).status).toBe(200); // etcd: 200 for a user created with roles
    expect((await send(asRoot, `${url}/v2/auth/enable`, { method: 'PUT' })).status).toBe(200);
    // The guest role keeps nothing, so an anonymous request has no access.
    const revoke = await send(asRoot, `${url}/v2/auth/roles/guest`, { method: 'PUT', json: { role: 'guest', revoke: { kv: { read: ['/*'], write: ['/*'] } } }, headers: basic('root', 'rootpw') });
    expect(revoke.status).toBe(200);

    // CN=root: the root user, without a password.
    expect((await send(asRoot, `${url}/v2/auth/users`)).status).toBe(200);
    expect((await send(asRoot, `${url}/v2/keys/tls/cn`, { method: 'PUT', form: { value: 'by-root-cert' } })).status).toBe(201);
    // CN=alice: alice's role, read-only on /tls/*.
    const aliceRead = await send(asAlice, `${url}/v2/keys/tls/cn`);
    expect(aliceRead.status).toBe(200);
    expect(JSON.parse(aliceRead.body)).toMatchObject({ node: { value: 'by-root-cert' } });
    const aliceWrite = await send(asAlice, `${url}/v2/keys/tls/cn`, { method: 'PUT', form: { value: 'x' } });
    expect(aliceWrite.status).toBe(401);
    expect(JSON.parse(aliceWrite.body)).toMatchObject({ errorCode: 110 });
    expect((await send(asAlice, `${url}/v2/auth/users`)).status).toBe(401);
    // CN=nobody names no user: the guest role, which has no access now.
    expect((await send(asNobody, `${url}/v2/keys/tls/cn`)).status).toBe(401);
    expect((await send(asNobody, `${url}/v2/auth/users`)).status).toBe(401);
    // An Authorization header wins over the certificate, both ways.
    expect((await send(asNobody, `${url}/v2/auth/users`, { headers: basic('root', 'rootpw') })).status).toBe(200);
    expect((await send(asRoot, `${url}/v2/auth/users`, { headers: basic('root', 'wrong') })).status).toBe(401);
    expect((await send(asRoot, `${url}/v2/keys/tls/cn`, { method: 'PUT', form: { value: 'y' }, headers: basic('alice', 'alicepw') })).status).toBe(401);
  });
});
