// v2 auth in a three-member cluster (docs §10): the auth state is replicated through the log, so
// users, roles and the enabled flag set through one member are enforced by every member, each
// checking passwords against its own copy of the replicated hashes. Auth changes sent to a
// follower are redirected to the leader on etcd-ts (307, like keys writes) and forwarded
// internally by the real etcd; either way they end up applied everywhere.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ClusterMember } from '../helpers/cluster-member.js';
import { waitFor } from '../helpers/wait-for.js';
import { useCluster } from './use-cluster.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const ROOT = basic('root', 'rootpw');
const DAN = basic('dan', 'danpw');

/** One request with optional Authorization; a 307 is followed (same method, body and credentials) a few times. */
async function send(url: string, method: 'GET' | 'PUT' | 'DELETE', opts: { auth?: string; json?: unknown; form?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.auth !== undefined) headers['authorization'] = opts.auth;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.form !== undefined) {
    body = opts.form;
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(current, { method, headers, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.body.text();
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    const location = flat['location'];
    if (res.statusCode !== 307 || location === undefined || !/^https?:\/\//.test(location)) return { status: res.statusCode, headers: flat, body: text };
    current = location;
  }
  throw new Error(`${method} ${url}: too many redirects`);
}

/** Waits until `check` holds on every member (followers apply what the leader acknowledged a little later). */
async function onEveryMember(members: readonly ClusterMember[], what: string, check: (m: ClusterMember) => Promise<boolean>): Promise<void> {
  for (const m of members) {
    await waitFor(async () => check(m), { what: `${what} on ${m.name}`, timeoutMs: 10_000, intervalMs: 100 });
  }
}

describe('v2 auth across the cluster', () => {
  const cluster = useCluster({ label: 'auth' });

  it('auth enabled through the leader is enforced by every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const at = leader.clientURL;
    expect((await send(`${at}/v2/auth/users/root`, 'PUT', { json: { user: 'root', password: 'rootpw' } })).status).toBe(201);
    const reader = { role: 'reader', permissions: { kv: { read: ['/pub/*'], write: [] } } };
    expect((await send(`${at}/v2/auth/roles/reader`, 'PUT', { json: reader })).status).toBe(201);
    expect((await send(`${at}/v2/auth/users/dan`, 'PUT', { json: { user: 'dan', password: 'danpw', roles: ['reader'] } })).status).toBe(200);
    expect((await send(`${at}/v2/keys/pub/x`, 'PUT', { form: 'value=1' })).status).toBe(201);
    expect((await send(`${at}/v2/auth/enable`, 'PUT')).status).toBe(200);
    const revoke = { role: 'guest', revoke: { kv: { read: ['/*'], write: ['/*'] } } };
    expect((await send(`${at}/v2/auth/roles/guest`, 'PUT', { auth: ROOT, json: revoke })).status).toBe(200);

    await onEveryMember(c.members, 'anonymous reads refused', async (m) => (await send(`${m.clientURL}/v2/keys/pub/x`, 'GET')).status === 401);
    for (const m of c.members) {
      expect((await send(`${m.clientURL}/v2/auth/enable`, 'GET')).body, m.name).toBe('{"enabled":true}\n');
      const denied = await send(`${m.clientURL}/v2/keys/pub/x`, 'GET', { auth: basic('dan', 'wrong') });
      expect(denied.status, m.name).toBe(401);
      expect(JSON.parse(denied.body)).toEqual({ errorCode: 110, message: 'The request requires user authentication', cause: 'Insufficient credentials', index: 0 });
      const read = await send(`${m.clientURL}/v2/keys/pub/x`, 'GET', { auth: DAN });
      expect(read.status, m.name).toBe(200);
      expect(JSON.parse(read.body)).toMatchObject({ node: { key: '/pub/x', value: '1' } });
      expect((await send(`${m.clientURL}/v2/keys/pub`, 'GET', { auth: DAN })).status, m.name).toBe(401);
      // refused on the member itself, before any proposal or redirect
      expect((await send(`${m.clientURL}/v2/keys/pub/x`, 'PUT', { auth: DAN, form: 'value=2' })).status, m.name).toBe(401);
      expect((await send(`${m.clientURL}/v2/auth/users`, 'GET')).status, m.name).toBe(401);
      const users = await send(`${m.clientURL}/v2/auth/users`, 'GET', { auth: ROOT });
      expect((JSON.parse(users.body) as { users: { user: string }[] }).users.map((u) => u.user), m.name).toEqual(['dan', 'root']);
      expect((await send(`${m.clientURL}/v2/members`, 'GET')).status, m.name).toBe(200);
    }
  });

  it('a member restarted from its data dir enforces the same auth (rebuilt from the log)', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.members.find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    await c.kill(follower.name, 'SIGKILL');
    c.restart(follower.name);
    await c.waitHealthy({ timeoutMs: 20_000 });
    await onEveryMember([follower], 'auth enabled after the restart', async (m) => (await send(`${m.clientURL}/v2/auth/enable`, 'GET')).body === '{"enabled":true}\n');
    expect((await send(`${follower.clientURL}/v2/keys/pub/x`, 'GET')).status).toBe(401);
    expect((await send(`${follower.clientURL}/v2/keys/pub/x`, 'GET', { auth: DAN })).status).toBe(200);
    expect((await send(`${follower.clientURL}/v2/keys/pub/x`, 'GET', { auth: basic('dan', 'wrong') })).status).toBe(401);
  });

  it('changes made through a follower (redirected on etcd-ts) reach every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.members.find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const grant = { role: 'reader', grant: { kv: { write: ['/pub/*'] } } };
    const granted = await send(`${follower.clientURL}/v2/auth/roles/reader`, 'PUT', { auth: ROOT, json: grant });
    expect(granted.status).toBe(200);
    expect(granted.body).toBe('{"role":"reader","permissions":{"kv":{"read":["/pub/*"],"write":["/pub/*"]}}}\n');
    await onEveryMember(c.members, 'dan may write /pub/*', async (m) => {
      const res = await send(`${m.clientURL}/v2/keys/pub/${m.name}`, 'PUT', { auth: DAN, form: `value=${m.name}` });
      return res.status === 201 || res.status === 200;
    });

    expect((await send(`${follower.clientURL}/v2/auth/enable`, 'DELETE', { auth: ROOT })).status).toBe(200);
    await onEveryMember(c.members, 'auth disabled', async (m) => (await send(`${m.clientURL}/v2/auth/enable`, 'GET')).body === '{"enabled":false}\n');
    for (const m of c.members) expect((await send(`${m.clientURL}/v2/keys/pub/x`, 'GET')).status, m.name).toBe(200);
  });

  it('every member reports the same etcd index after the auth changes', async () => {
    const c = cluster();
    await onEveryMember(c.members, 'the same etcd index as the leader', async (m) => {
      const indexes = await Promise.all(c.members.map(async (x) => (await send(`${x.clientURL}/v2/keys/`, 'GET')).headers['x-etcd-index']));
      return indexes.every((i) => i === indexes[0]) && (await send(`${m.clientURL}/v2/keys/`, 'GET')).headers['x-etcd-index'] === indexes[0];
    });
  });

  it('no member exited on its own', () => {
    expect(cluster().crashes()).toEqual([]);
  });
});
