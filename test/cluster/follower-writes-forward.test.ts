// --follower-writes forward on three real member processes: a follower takes a write itself (no
// 307), proposes it through the leader and answers after applying it, as etcd 3.4 does. So a client
// that does not follow redirects, or drops its credentials on one, works through any member.
// (The answers, headers included, are compared with a real etcd follower's in
// test/conformance/differential-follower-forward.test.ts.)
import { describe, expect, it } from 'vitest';
import { useCluster } from './use-cluster.js';

interface Answer {
  status: number;
  location: string | null;
  index: string | null;
  json: { node?: { value?: string; modifiedIndex?: number }; errorCode?: number } | undefined;
}

/** One request, redirects NOT followed (as a client that does not follow them). */
async function call(method: string, url: string, form?: Record<string, string>, auth?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (auth) headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
  const res = await fetch(url, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    json = undefined;
  }
  return { status: res.status, location: res.headers.get('location'), index: res.headers.get('x-etcd-index'), json };
}

describe('--follower-writes forward', () => {
  const cluster = useCluster({ label: 'follower-writes-forward', extraFlags: ['--follower-writes', 'forward'] });

  it('a follower answers writes itself (never 307), and its client reads its own writes and deletes there', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const stale: string[] = [];
    for (let i = 0; i < 60; i++) {
      const url = `${follower.clientURL}/v2/keys/fwd/k${i % 4}`;
      const put = await call('PUT', url, { value: `v${i}` });
      expect([200, 201], JSON.stringify(put)).toContain(put.status);
      expect(put.location).toBeNull();
      expect(put.json?.node?.value).toBe(`v${i}`);
      // the answer's X-Etcd-Index is the follower's own store index, at least the write's
      expect(Number(put.index)).toBeGreaterThanOrEqual(put.json?.node?.modifiedIndex ?? Infinity);
      const got = await call('GET', url);
      if (got.json?.node?.value !== `v${i}`) stale.push(`GET after PUT v${i}: ${got.status}`);
      if (i % 3 === 2) {
        const del = await call('DELETE', url);
        expect(del.status).toBe(200);
        const after = await call('GET', url);
        if (after.status !== 404) stale.push(`GET after DELETE: ${after.status}`);
      }
    }
    expect(stale).toEqual([]);
    // and every member has them: the leader's copy of the last write
    const onLeader = await call('GET', `${leader.clientURL}/v2/keys/fwd/k2?quorum=true`);
    expect(onLeader.json?.node?.value).toBe('v58');
  });

  it('in-order keys (POST), compare-and-swap and its failure through a follower, with etcd\'s answers', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const q = await call('POST', `${follower.clientURL}/v2/keys/fwd/queue`, { value: 'job1' });
    expect(q.status).toBe(201);
    const cas = await call('PUT', `${follower.clientURL}/v2/keys/fwd/cas?prevValue=nope`, { value: 'x' });
    expect(cas.status).toBe(404); // key not found (100)
    expect(cas.json?.errorCode).toBe(100);
    await call('PUT', `${follower.clientURL}/v2/keys/fwd/cas`, { value: 'one' });
    const bad = await call('PUT', `${follower.clientURL}/v2/keys/fwd/cas?prevValue=two`, { value: 'x' });
    expect(bad.status).toBe(412);
    expect(bad.json?.errorCode).toBe(101);
    const good = await call('PUT', `${follower.clientURL}/v2/keys/fwd/cas?prevValue=one`, { value: 'three' });
    expect(good.status).toBe(200);
  });

  it('with v2 auth on, a client that sends credentials only to the member it calls writes through a follower', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.live().find((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower');
    const f = follower.clientURL;
    const json = async (method: string, path: string, body: unknown, auth?: string): Promise<number> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (auth) headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
      const res = await fetch(`${f}${path}`, { method, headers, body: JSON.stringify(body), redirect: 'manual', signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      return res.status;
    };
    try {
      expect(await json('PUT', '/v2/auth/users/root', { user: 'root', password: 'rootpw' })).toBe(201);
      expect(await json('PUT', '/v2/auth/enable', {})).toBe(200);
      // the guest role may no longer write anywhere
      expect(await json('PUT', '/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { read: [], write: ['/*'] } } }, 'root:rootpw')).toBe(200);
      const anonymous = await call('PUT', `${f}/v2/keys/fwd/secret`, { value: 'x' });
      expect(anonymous.status).toBe(401);
      expect(anonymous.json?.errorCode).toBe(110);
      const wrong = await call('PUT', `${f}/v2/keys/fwd/secret`, { value: 'x' }, 'root:nope');
      expect(wrong.status).toBe(401);
      const root = await call('PUT', `${f}/v2/keys/fwd/secret`, { value: 's3cret' }, 'root:rootpw');
      expect(root.status, JSON.stringify(root)).toBe(201);
      expect(root.location).toBeNull();
      expect((await call('GET', `${f}/v2/keys/fwd/secret`, undefined, 'root:rootpw')).json?.node?.value).toBe('s3cret');
    } finally {
      await json('DELETE', '/v2/auth/enable', undefined, 'root:rootpw');
    }
  });
});
