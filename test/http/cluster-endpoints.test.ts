// /v2/members, /v2/machines, /v2/stats/*, /version and /health of a single member, in etcd's shapes
// (docs §8; bodies compared with what etcd 3.4.23 answered for its own single member).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, request, startTestMember, type TestMember } from './harness.js';

let m: TestMember;
let memberJSON: string;
beforeAll(async () => {
  m = await startTestMember();
  memberJSON = `{"id":"1e05c52164694d","name":"test","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["${m.member.self.clientURLs[0]}"]}`;
});
afterAll(() => m.close());

describe('members', () => {
  it('lists members with a trailing newline and the cluster id header', async () => {
    for (const path of ['/v2/members', '/v2/members/']) {
      const res = await request(m.url, path);
      expect(res.status).toBe(200);
      expect(res.body).toBe(`{"members":[${memberJSON}]}\n`);
      expect(res.headers['x-etcd-cluster-id']).toBe('1818194e3a8c32');
      expect(res.headers['content-type']).toBe('application/json');
    }
  });

  it('names the leader', async () => {
    const res = await request(m.url, '/v2/members/leader');
    expect(res.body).toBe(memberJSON + '\n');
  });

  it('answers 404 {"message":"Not found"} for other member paths', async () => {
    for (const path of ['/v2/members/xyz', '/v2/members/leader/']) {
      const res = await request(m.url, path);
      expect(res.status).toBe(404);
      expect(res.body).toBe('{"message":"Not found"}');
    }
  });

  it('validates membership changes as etcd does', async () => {
    const json = { 'Content-Type': 'application/json' };
    const cases: [string, string, string | undefined, Record<string, string>, number, string][] = [
      ['HEAD', '/v2/members', undefined, {}, 405, ''],
      ['PUT', '/v2/members', undefined, {}, 405, 'Method Not Allowed\n'],
      ['DELETE', '/v2/members/zzz', undefined, {}, 404, '{"message":"No such member: zzz"}'],
      ['DELETE', '/v2/members/0abc', undefined, {}, 404, '{"message":"No such member: abc"}'],
      ['POST', '/v2/members', '{"peerURLs":["http://127.0.0.1:1"]}', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415,
        '{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}'],
      ['POST', '/v2/members', '', json, 400, '{"message":"unexpected end of JSON input"}'],
      ['POST', '/v2/members', '{}', json, 400, '{"message":"no valid URLs given"}'],
      ['POST', '/v2/members', '{"peerURLs":["not a url"]}', json, 400, '{"message":"URL scheme must be http, https, unix, or unixs: not a url"}'],
      ['POST', '/v2/members', '{"peerURLs":["http://127.0.0.1:2380"]}', json, 409, '{"message":"membership: peerURL exists"}'],
    ];
    for (const [method, path, body, headers, status, expected] of cases) {
      const res = await request(m.url, path, { method, ...(body !== undefined ? { body } : {}), headers });
      expect(res.status, `${method} ${path} ${body}`).toBe(status);
      expect(res.body, `${method} ${path} ${body}`).toBe(expected);
    }
  });

  it('refuses a valid membership change in etcd shape (needs the cluster runtime)', async () => {
    const res = await request(m.url, '/v2/members', {
      method: 'POST',
      body: '{"peerURLs":["http://127.0.0.1:34380"]}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ message: expect.any(String) });
  });
});

describe('machines', () => {
  it('lists client URLs as text without a newline; GET and HEAD only', async () => {
    const res = await request(m.url, '/v2/machines');
    expect(res.status).toBe(200);
    expect(res.body).toBe(m.member.self.clientURLs[0]);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect((await request(m.url, '/v2/machines', { method: 'HEAD' })).status).toBe(200);
    const post = await request(m.url, '/v2/machines', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET,HEAD');
  });
});

describe('stats', () => {
  it('reports self stats in etcd field order without a newline', async () => {
    const res = await request(m.url, '/v2/stats/self');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      /^\{"name":"test","id":"1e05c52164694d","state":"StateLeader","startTime":"[^"]+Z","leaderInfo":\{"leader":"1e05c52164694d","uptime":"[0-9.]+(ns|µs|ms|s)","startTime":"[^"]+Z"\},"recvAppendRequestCnt":0,"sendAppendRequestCnt":0\}$/,
    );
  });

  it('reports the leader with no followers', async () => {
    const res = await request(m.url, '/v2/stats/leader');
    expect(res.body).toBe('{"leader":"1e05c52164694d","followers":{}}');
  });

  it('reports the 16 store counters in order; each keys request counts one auth lookup', async () => {
    await put(m.url, '/v2/keys/s', 'value=1');
    const res = await request(m.url, '/v2/stats/store');
    expect(Object.keys(res.json as object)).toEqual([
      'getsSuccess', 'getsFail', 'setsSuccess', 'setsFail', 'deleteSuccess', 'deleteFail', 'updateSuccess', 'updateFail',
      'createSuccess', 'createFail', 'compareAndSwapSuccess', 'compareAndSwapFail', 'compareAndDeleteSuccess',
      'compareAndDeleteFail', 'expireCount', 'watchers',
    ]);
    expect(res.body.endsWith('}')).toBe(true);
    const before = (res.json as { getsFail: number }).getsFail;
    await request(m.url, '/v2/keys/s');
    const after = await request(m.url, '/v2/stats/store');
    expect((after.json as { getsFail: number; getsSuccess: number }).getsFail).toBe(before + 1);
  });

  it('accepts only GET', async () => {
    for (const path of ['/v2/stats/self', '/v2/stats/store', '/v2/stats/leader']) {
      const res = await request(m.url, path, { method: 'HEAD' });
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('GET');
    }
  });
});

describe('version and health', () => {
  it('answers /version as etcd 3.4.23 does', async () => {
    const res = await request(m.url, '/version');
    expect(res.body).toBe('{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
    expect(res.headers['content-type']).toBe('application/json');
    expect((await request(m.url, '/version', { method: 'HEAD' })).headers['allow']).toBe('GET');
  });

  it('answers /health {"health":"true"} as text/plain without newline', async () => {
    const res = await request(m.url, '/health');
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"health":"true"}');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect((await request(m.url, '/health', { method: 'POST' })).status).toBe(405);
  });
});
