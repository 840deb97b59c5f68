// v2 auth over real HTTP on one in-memory member (docs §10, §3, §7 code 110, §11): every row of the
// §10 table with the bodies, statuses and headers etcd 3.4.23 answered, the etcd index moves of
// etcd's own auth records, and the permission rules on /v2/keys, watches and /v2/members.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, openStream, put, request, startTestMember, type RawResponse, type TestMember } from './harness.js';

let m: TestMember;
beforeEach(async () => {
  m = await startTestMember();
});
afterEach(() => m.close());

const json = { 'Content-Type': 'application/json' };
const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const ROOT = basic('root', 'rootpw');

function putJSON(path: string, body: unknown, authorization?: string): Promise<RawResponse> {
  const headers: Record<string, string> = { ...json, ...(authorization !== undefined ? { Authorization: authorization } : {}) };
  return request(m.url, path, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

function send(method: string, path: string, authorization?: string): Promise<RawResponse> {
  return request(m.url, path, { method, headers: authorization !== undefined ? { Authorization: authorization } : {} });
}

/** The etcd index, read by root (allowed whether auth is on or off). */
async function etcdIndex(): Promise<number> {
  return Number((await send('GET', '/v2/keys/', ROOT)).headers['x-etcd-index']);
}

async function createRoot(): Promise<void> {
  expect((await putJSON('/v2/auth/users/root', { user: 'root', password: 'rootpw' })).status).toBe(201);
}

async function enableAuth(): Promise<void> {
  await createRoot();
  expect((await send('PUT', '/v2/auth/enable')).status).toBe(200);
}

function expectMessage(res: RawResponse, status: number, message: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toBe(JSON.stringify({ message }));
  expect(res.headers['content-type']).toBe('application/json');
}

const ROOT_ROLE_JSON = '{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}';
const NO_AUTH_KEYS = '{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}\n';

describe('a fresh member', () => {
  it('answers {"enabled":false}, {"users":null} and only the root role, with the cluster id and a trailing newline', async () => {
    const enabled = await send('GET', '/v2/auth/enable');
    expect(enabled.status).toBe(200);
    expect(enabled.body).toBe('{"enabled":false}\n');
    expect(enabled.headers['x-etcd-cluster-id']).toBe('1818194e3a8c32');
    expect(enabled.headers['content-type']).toBe('application/json');
    expect((await send('GET', '/v2/auth/users')).body).toBe('{"users":null}\n');
    expect((await send('GET', '/v2/auth/users/')).body).toBe('{"users":null}\n');
    expect((await send('GET', '/v2/auth/roles')).body).toBe(`{"roles":[${ROOT_ROLE_JSON}]}\n`);
    expect((await send('GET', '/v2/auth/roles/root')).body).toBe(ROOT_ROLE_JSON + '\n');
  });

  it('answers 404 for unknown users and roles, in etcd words', async () => {
    expectMessage(await send('GET', '/v2/auth/users/nobody'), 404, 'auth: User nobody does not exist.');
    expectMessage(await send('GET', '/v2/auth/roles/nope'), 404, 'auth: Role nope does not exist.');
    expectMessage(await send('DELETE', '/v2/auth/users/bob'), 404, 'auth: User bob does not exist');
    expectMessage(await send('DELETE', '/v2/auth/roles/nope'), 404, "auth: Role nope doesn't exist.");
  });

  it('refuses to enable auth without a root user (409) and to disable it when it is off (409)', async () => {
    expectMessage(await send('PUT', '/v2/auth/enable'), 409, 'auth: No root user available, please create one');
    expectMessage(await send('DELETE', '/v2/auth/enable'), 409, 'auth: already disabled');
  });
});

describe('routing and methods', () => {
  it('answers 405 with Allow per handler, 400 Invalid path without the cluster id, 404 elsewhere', async () => {
    for (const [method, path, allow] of [
      ['POST', '/v2/auth/users', 'GET'],
      ['HEAD', '/v2/auth/roles', 'GET'],
      ['POST', '/v2/auth/users/bob', 'GET,PUT,DELETE'],
      ['HEAD', '/v2/auth/enable', 'GET,PUT,DELETE'],
    ] as const) {
      const res = await send(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers['allow']).toBe(allow);
    }
    for (const path of ['/v2/auth/users/a/b', '/v2/auth/roles/a/b', '/v2/auth/users/a%2Fb']) {
      const res = await send('GET', path);
      expectMessage(res, 400, 'Invalid path');
      expect(res.headers['x-etcd-cluster-id']).toBeUndefined();
    }
    for (const path of ['/v2/auth', '/v2/auth/', '/v2/auth/enable/', '/v2/auth/usersx']) {
      expect((await send('GET', path)).body, path).toBe('404 page not found\n');
    }
    expectMessage(await send('GET', '/v2/auth/users/x/'), 404, 'auth: User x does not exist.');
  });
});

describe('users', () => {
  it('creates root with the root role (201), re-PUT is an update (200); a new user has roles null', async () => {
    const created = await putJSON('/v2/auth/users/root', { user: 'root', password: 'rootpw' });
    expect(created.status).toBe(201);
    expect(created.body).toBe('{"user":"root","roles":["root"]}\n');
    const again = await putJSON('/v2/auth/users/root', { user: 'root', password: 'rootpw' });
    expect(again.status).toBe(200);
    expect(again.body).toBe('{"user":"root","roles":["root"]}\n');
    const bob = await putJSON('/v2/auth/users/bob', { user: 'bob', password: 'bobpw' });
    expect(bob.status).toBe(201);
    expect(bob.body).toBe('{"user":"bob","roles":null}\n');
  });

  it('a password-less re-PUT turns roles null into [] once, then is "not updated" (400)', async () => {
    await putJSON('/v2/auth/users/bob', { user: 'bob', password: 'bobpw' });
    const first = await putJSON('/v2/auth/users/bob', { user: 'bob' });
    expect(first.status).toBe(200);
    expect(first.body).toBe('{"user":"bob","roles":[]}\n');
    expectMessage(await putJSON('/v2/auth/users/bob', { user: 'bob' }), 400, 'auth: User not updated. Use grant/revoke/password to update the user.');
    expectMessage(await putJSON('/v2/auth/users/carl', { user: 'carl' }), 400, 'auth: Cannot create user carl with an empty password');
  });

  it('refuses a body whose user differs from the URL (400) and bodies that are not a User (400)', async () => {
    expectMessage(await putJSON('/v2/auth/users/bob', { user: 'bobx', password: 'x' }), 400, 'User JSON name does not match the name in the URL');
    expectMessage(await putJSON('/v2/auth/users/bob', 'null'), 400, 'User JSON name does not match the name in the URL');
    for (const body of ['not json', '', '[1]', '{"user":"bob","password":5}', '{"user":"bob","roles":["a",1]}']) {
      expectMessage(await putJSON('/v2/auth/users/bob', body), 400, 'Invalid JSON in request body.');
    }
  });

  it('decodes fields case-insensitively, ignores bytes after the JSON value and any Content-Type', async () => {
    const res = await request(m.url, '/v2/auth/users/y', { method: 'PUT', body: '{"User":"y","PASSWORD":"p"} trailing', headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(201);
    expect(res.body).toBe('{"user":"y","roles":null}\n');
  });

  it('keeps roles as sent on create (200, unsorted), sorts on grant/revoke, 409 on duplicates and ungranted revokes', async () => {
    const dan = await putJSON('/v2/auth/users/dan', { user: 'dan', password: 'x', roles: ['reader', 'abc'] });
    expect(dan.status).toBe(200);
    expect(dan.body).toBe('{"user":"dan","roles":["reader","abc"]}\n');
    expectMessage(await putJSON('/v2/auth/users/dan', { user: 'dan', password: 'x', roles: ['r'] }), 409, 'auth: User dan already exists.');
    await putJSON('/v2/auth/users/bob', { user: 'bob', password: 'bobpw' });
    expect((await putJSON('/v2/auth/users/bob', { user: 'bob', grant: ['b', 'a'] })).body).toBe('{"user":"bob","roles":["a","b"]}\n');
    expectMessage(await putJSON('/v2/auth/users/bob', { user: 'bob', grant: ['a'] }), 409, 'auth: Granting duplicate role a for user bob');
    expectMessage(await putJSON('/v2/auth/users/bob', { user: 'bob', revoke: ['zzz'] }), 409, 'auth: Revoking ungranted role zzz for user bob');
    expectMessage(await putJSON('/v2/auth/users/bob', { user: 'bob', grant: ['c'], roles: ['x'] }), 400, 'User JSON contains both roles and grant/revoke');
    expectMessage(await putJSON('/v2/auth/users/eve', { user: 'eve', grant: ['a'] }), 404, 'auth: User eve does not exist.');
    const revoked = await putJSON('/v2/auth/users/bob', { user: 'bob', revoke: ['a'] });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toBe('{"user":"bob","roles":["b"]}\n');
  });

  it('GET shows expanded role objects, omits an empty role list, and is 404 when a role is missing', async () => {
    await createRoot();
    expect((await send('GET', '/v2/auth/users/root')).body).toBe(`{"user":"root","roles":[${ROOT_ROLE_JSON}]}\n`);
    await putJSON('/v2/auth/users/bob', { user: 'bob', password: 'bobpw' });
    expect((await send('GET', '/v2/auth/users/bob')).body).toBe('{"user":"bob"}\n');
    await putJSON('/v2/auth/users/bob', { user: 'bob', grant: ['ghost'] });
    expectMessage(await send('GET', '/v2/auth/users/bob'), 404, 'auth: Role ghost does not exist.');
    // the listing skips missing roles instead, and hides '_' names like etcd's store listing
    await putJSON('/v2/auth/users/_hidden', { user: '_hidden', password: 'p' });
    expect((await send('GET', '/v2/auth/users')).body).toBe(`{"users":[{"user":"bob"},{"user":"root","roles":[${ROOT_ROLE_JSON}]}]}\n`);
    expect((await send('GET', '/v2/auth/users/_hidden')).body).toBe('{"user":"_hidden"}\n');
  });

  it('the root user always holds the root role, even after revoking it', async () => {
    await createRoot();
    expect((await putJSON('/v2/auth/users/root', { user: 'root', revoke: ['root'] })).body).toBe('{"user":"root","roles":[]}\n');
    expect((await send('GET', '/v2/auth/users/root')).body).toBe(`{"user":"root","roles":[${ROOT_ROLE_JSON}]}\n`);
    expect((await putJSON('/v2/auth/users/root', { user: 'root', grant: ['a'] })).body).toBe('{"user":"root","roles":["a","root"]}\n');
  });

  it('deletes users with 200 and an empty body; the root user only while auth is off', async () => {
    await putJSON('/v2/auth/users/bob', { user: 'bob', password: 'bobpw' });
    const res = await send('DELETE', '/v2/auth/users/bob');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['content-length']).toBe('0');
    await enableAuth();
    expectMessage(await send('DELETE', '/v2/auth/users/root', ROOT), 403, 'auth: Cannot delete root user while auth is enabled.');
  });
});

describe('roles', () => {
  const reader = { role: 'reader', permissions: { kv: { read: ['/pub/*', '/a'], write: [] } } };

  it('creates a role with 201 echoing it as sent, 409 when it exists', async () => {
    const res = await putJSON('/v2/auth/roles/reader', reader);
    expect(res.status).toBe(201);
    expect(res.body).toBe(JSON.stringify(reader) + '\n');
    expectMessage(await putJSON('/v2/auth/roles/reader', reader), 409, 'auth: Role reader already exists.');
    expect((await putJSON('/v2/auth/roles/w1', { role: 'w1' })).body).toBe('{"role":"w1","permissions":{"kv":{"read":null,"write":null}}}\n');
    expect((await putJSON('/v2/auth/roles/g1', { role: 'g1', grant: { kv: { read: [] } } })).body).toBe(
      '{"role":"g1","permissions":{"kv":{"read":null,"write":null}},"grant":{"kv":{"read":[],"write":null}}}\n',
    );
  });

  it('grants and revokes with 200, lists merged and sorted; duplicates 409, no change 400', async () => {
    await putJSON('/v2/auth/roles/reader', reader);
    const granted = await putJSON('/v2/auth/roles/reader', { role: 'reader', grant: { kv: { read: ['/q/*', '/c'] } } });
    expect(granted.status).toBe(200);
    expect(granted.body).toBe('{"role":"reader","permissions":{"kv":{"read":["/a","/c","/pub/*","/q/*"],"write":[]}}}\n');
    expectMessage(await putJSON('/v2/auth/roles/reader', { role: 'reader', grant: { kv: { read: ['/c'] } } }), 409, 'auth: Granting duplicate read permission /c');
    expectMessage(
      await putJSON('/v2/auth/roles/reader', { role: 'reader', revoke: { kv: { read: ['/nope'] } } }),
      400,
      'auth: Role not updated. Use grant/revoke to update the role.',
    );
    expect((await putJSON('/v2/auth/roles/reader', { role: 'reader', revoke: { kv: { read: ['/c', '/a'] } } })).body).toBe(
      '{"role":"reader","permissions":{"kv":{"read":["/pub/*","/q/*"],"write":[]}}}\n',
    );
    expectMessage(
      await putJSON('/v2/auth/roles/reader', { role: 'reader', permissions: { kv: { read: ['/x'] } }, revoke: { kv: { read: ['/q/*'] } } }),
      400,
      'Role JSON contains both permissions and grant/revoke',
    );
    expectMessage(await putJSON('/v2/auth/roles/nobody', { role: 'nobody', grant: { kv: { read: ['/c'] } } }), 404, 'auth: Role nobody does not exist.');
    expectMessage(await putJSON('/v2/auth/roles/reader', { role: 'readerx' }), 400, 'Role JSON name does not match the name in the URL');
    expectMessage(await putJSON('/v2/auth/roles/reader', 'xx'), 400, 'Invalid JSON in request body.');
  });

  it('the root role cannot be created, changed or deleted (403)', async () => {
    const refused = 'auth: Cannot modify role root: is root role.';
    expectMessage(await putJSON('/v2/auth/roles/root', { role: 'root' }), 403, refused);
    expectMessage(await putJSON('/v2/auth/roles/root', { role: 'root', grant: { kv: { read: ['/x'] } } }), 403, refused);
    expectMessage(await send('DELETE', '/v2/auth/roles/root'), 403, refused);
  });

  it('lists every role with root, sorted; deletes with 200 and an empty body', async () => {
    await putJSON('/v2/auth/roles/reader', reader);
    await putJSON('/v2/auth/roles/a', { role: 'a' });
    const list = await send('GET', '/v2/auth/roles');
    expect((list.json as { roles: { role: string }[] }).roles.map((r) => r.role)).toEqual(['a', 'reader', 'root']);
    const res = await send('DELETE', '/v2/auth/roles/a');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['content-type']).toBe('application/json');
  });
});

describe('enable and disable', () => {
  it('enable answers 200 with Content-Length: 0 and creates the guest role with read/write /*', async () => {
    await createRoot();
    const res = await send('PUT', '/v2/auth/enable');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('0');
    expect(res.headers['x-etcd-cluster-id']).toBe('1818194e3a8c32');
    expect((await send('GET', '/v2/auth/enable')).body).toBe('{"enabled":true}\n');
    expect((await send('GET', '/v2/auth/roles/guest', ROOT)).body).toBe('{"role":"guest","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}\n');
  });

  it('with auth on, admin calls without root credentials get 401 and no X-Etcd-Cluster-Id; GET enable stays open', async () => {
    await enableAuth();
    await putJSON('/v2/auth/users/dan', { user: 'dan', password: 'x', roles: ['guest'] }, ROOT);
    for (const [method, path, authorization] of [
      ['GET', '/v2/auth/users', undefined],
      ['GET', '/v2/auth/roles', basic('root', 'wrong')],
      ['GET', '/v2/auth/users/root', basic('dan', 'x')],
      ['PUT', '/v2/auth/enable', undefined],
      ['DELETE', '/v2/auth/enable', basic('nobody', 'x')],
      ['DELETE', '/v2/auth/roles/guest', 'Bearer token'],
    ] as const) {
      const res = await send(method, path, authorization);
      expectMessage(res, 401, 'Insufficient credentials');
      expect(res.headers['x-etcd-cluster-id'], `${method} ${path}`).toBeUndefined();
    }
    expect((await send('GET', '/v2/auth/enable', basic('root', 'wrong'))).body).toBe('{"enabled":true}\n');
    expectMessage(await send('PUT', '/v2/auth/enable', ROOT), 409, 'auth: already enabled');
  });

  it('a user granted the root role is an administrator too', async () => {
    await enableAuth();
    expect((await putJSON('/v2/auth/users/admin', { user: 'admin', password: 'pw', roles: ['root'] }, ROOT)).status).toBe(200);
    expect((await send('GET', '/v2/auth/users', basic('admin', 'pw'))).status).toBe(200);
    expect((await send('DELETE', '/v2/auth/enable', basic('admin', 'pw'))).status).toBe(200);
    expect((await send('GET', '/v2/auth/enable')).body).toBe('{"enabled":false}\n');
  });
});

describe('etcd index moves of auth records', () => {
  it('the first auth write takes 4 indexes for etcd records even when it fails; each stored change one more', async () => {
    const start = await etcdIndex();
    await send('DELETE', '/v2/auth/users/bob');
    expect(await etcdIndex()).toBe(start + 4);
    await send('DELETE', '/v2/auth/roles/nope');
    await putJSON('/v2/auth/users/carl', { user: 'carl' });
    expect(await etcdIndex()).toBe(start + 4);
    await createRoot();
    expect(await etcdIndex()).toBe(start + 5);
    await putJSON('/v2/auth/users/root', { user: 'root', password: 'rootpw' });
    expect(await etcdIndex()).toBe(start + 6);
  });

  it('enable takes 2 (guest role + flag), disable 1, enable again 1 (the guest role exists)', async () => {
    await createRoot();
    const start = await etcdIndex();
    await send('PUT', '/v2/auth/enable');
    expect(await etcdIndex()).toBe(start + 2);
    await send('DELETE', '/v2/auth/enable', ROOT);
    expect(await etcdIndex()).toBe(start + 3);
    await send('PUT', '/v2/auth/enable', ROOT);
    expect(await etcdIndex()).toBe(start + 4);
  });

  it('auth records never show in keys listings or watches, but later keys writes see the moved index', async () => {
    const watch = await openStream(m.url, '/v2/keys/?wait=true&recursive=true');
    await createRoot();
    const res = await put(m.url, '/v2/keys/after', 'value=1');
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ action: 'set', node: { key: '/after', modifiedIndex: Number(res.headers['x-etcd-index']) } });
    expect(Number(res.headers['x-etcd-index'])).toBe(6);
    expect((await request(m.url, '/v2/keys/?recursive=true')).body).not.toContain('root');
  });

  it('keys requests count an auth lookup as getsFail until the first auth write, getsSuccess after (stats quirk)', async () => {
    const stats = async (): Promise<{ getsSuccess: number; getsFail: number }> => (await send('GET', '/v2/stats/store')).json as { getsSuccess: number; getsFail: number };
    await put(m.url, '/v2/keys/k', 'value=1');
    const before = await stats();
    await send('GET', '/v2/keys/k');
    expect(await stats()).toMatchObject({ getsSuccess: before.getsSuccess + 1, getsFail: before.getsFail + 1 });
    await putJSON('/v2/auth/roles/r', { role: 'r' });
    const after = await stats();
    await send('GET', '/v2/keys/k');
    expect(await stats()).toMatchObject({ getsSuccess: after.getsSuccess + 2, getsFail: after.getsFail });
  });
});

describe('permissions on /v2/keys with auth on', () => {
  async function setUpReader(): Promise<void> {
    await createRoot();
    await putJSON('/v2/auth/roles/reader', { role: 'reader', permissions: { kv: { read: ['/pub/*', '/a'], write: ['/pub/w'] } } });
    await putJSON('/v2/auth/users/dan', { user: 'dan', password: 'x', roles: ['reader'] });
    await send('PUT', '/v2/auth/enable');
    await putJSON('/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { read: ['/*'], write: ['/*'] } } }, ROOT);
    expect((await request(m.url, '/v2/keys/pub/x', { method: 'PUT', form: 'value=1', headers: { Authorization: ROOT } })).status).toBe(201);
  }
  const DAN = basic('dan', 'x');

  it('refuses with 401 errorCode 110, index 0, X-Etcd-Index: 0 and the cluster id', async () => {
    await setUpReader();
    const res = await send('GET', '/v2/keys/pub/x');
    expect(res.status).toBe(401);
    expect(res.body).toBe(NO_AUTH_KEYS);
    expect(res.headers['x-etcd-index']).toBe('0');
    expect(res.headers['x-etcd-cluster-id']).toBe('1818194e3a8c32');
    expect(res.headers['x-raft-index']).toBeUndefined();
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('/pub/* covers /pub/x and /pub/ but not /pub; recursive reads need a * pattern covering the path as sent', async () => {
    await setUpReader();
    const cases: [string, number][] = [
      ['/v2/keys/pub/x', 200],
      ['/v2/keys/pub', 401],
      ['/v2/keys/pub/', 200],
      ['/v2/keys/pub?recursive=true', 401],
      ['/v2/keys/pub/?recursive=true', 200],
      ['/v2/keys/a', 404],
      ['/v2/keys/a?recursive=true', 401],
      ['/v2/keys/ab', 401],
      ['/v2/keys/pub/x?quorum=true', 200],
      ['/v2/keys/pub/x?wait=true&waitIndex=1', 200],
    ];
    for (const [path, status] of cases) expect((await send('GET', path, DAN)).status, path).toBe(status);
    expect((await send('HEAD', '/v2/keys/pub', DAN)).status).toBe(401);
  });

  it('writes need a write pattern; root may do anything; parameter errors come before the permission check', async () => {
    await setUpReader();
    const write = (path: string, authorization: string, method = 'PUT'): Promise<RawResponse> =>
      request(m.url, path, { method, form: 'value=2', headers: { Authorization: authorization } });
    expect((await write('/v2/keys/pub/x', DAN)).status).toBe(401);
    expect((await write('/v2/keys/pub/w', DAN)).status).toBe(201);
    expect((await write('/v2/keys/pub/w', DAN, 'DELETE')).status).toBe(200);
    expect((await write('/v2/keys/anything/deep', ROOT)).status).toBe(201);
    expect((await send('GET', '/v2/keys', ROOT)).status).toBe(200);
    expect((await send('GET', '/v2/keys/pub/x?recursive=bad', basic('dan', 'wrong'))).status).toBe(400);
  });

  it('wrong passwords, unknown users and malformed Authorization headers look like no permission', async () => {
    await setUpReader();
    for (const authorization of [basic('dan', 'wrong'), basic('nobody', 'x'), 'Bearer abc', 'Basic !!!', DAN.replace(/=+$/, ''), 'Basic  ' + DAN.slice(6)]) {
      const res = await send('GET', '/v2/keys/pub/x', authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.body).toBe(NO_AUTH_KEYS);
    }
    expect((await send('GET', '/v2/keys/pub/x', 'basic ' + DAN.slice(6))).status).toBe(200);
  });

  it('anonymous requests get the guest role, checked non-recursively; /v2/keys itself (key "") matches no pattern', async () => {
    await enableAuth();
    await put(m.url, '/v2/keys/g/k', 'value=1');
    expect((await send('GET', '/v2/keys/g?recursive=true')).status).toBe(200);
    expect((await send('GET', '/v2/keys/')).status).toBe(200);
    expect((await send('GET', '/v2/keys')).status).toBe(401);
    await putJSON('/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { write: ['/*'] } } }, ROOT);
    expect((await put(m.url, '/v2/keys/g/k', 'value=2')).status).toBe(401);
    expect((await send('GET', '/v2/keys/g/k')).status).toBe(200);
    await send('DELETE', '/v2/auth/roles/guest', ROOT);
    expect((await send('GET', '/v2/keys/g/k')).status).toBe(401);
  });

  it('watches are checked like reads before they are registered', async () => {
    await setUpReader();
    const denied = await send('GET', '/v2/keys/pub/x?wait=true', basic('dan', 'wrong'));
    expect(denied.status).toBe(401);
    expect(denied.body).toBe(NO_AUTH_KEYS);
    expect(m.member.store.stats().watchers).toBe(0);
    const watching = request(m.url, '/v2/keys/pub/x?wait=true', { headers: { Authorization: DAN } });
    await eventually(() => m.member.store.stats().watchers === 1);
    await request(m.url, '/v2/keys/pub/x', { method: 'PUT', form: 'value=9', headers: { Authorization: ROOT } });
    const res = await watching;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ action: 'set', node: { key: '/pub/x', value: '9' } });
  });

  it('disabling auth opens everything again', async () => {
    await setUpReader();
    await send('DELETE', '/v2/auth/enable', ROOT);
    expect((await send('GET', '/v2/keys/pub/x')).status).toBe(200);
    expect((await put(m.url, '/v2/keys/pub/x', 'value=3')).status).toBe(200);
  });
});

describe('cluster endpoints with auth on', () => {
  it('GET /v2/members, stats, version, health and machines stay public', async () => {
    await enableAuth();
    for (const path of ['/v2/members', '/v2/members/leader', '/v2/stats/self', '/v2/stats/store', '/v2/stats/leader', '/version', '/health', '/v2/machines']) {
      expect((await send('GET', path)).status, path).toBe(200);
    }
  });

  it('member add, update and remove need root: 401 {"message":"Insufficient credentials"} before any validation', async () => {
    await enableAuth();
    for (const [method, path] of [['POST', '/v2/members'], ['PUT', '/v2/members/abc'], ['DELETE', '/v2/members/abc'], ['PUT', '/v2/members']] as const) {
      const res = await request(m.url, path, { method, body: '{"peerURLs":["http://127.0.0.1:1"]}', headers: { 'Content-Type': 'text/plain' } });
      expectMessage(res, 401, 'Insufficient credentials');
      expect(res.headers['x-etcd-cluster-id']).toBeUndefined();
    }
    expect((await send('PATCH', '/v2/members')).status).toBe(405);
    expectMessage(await send('DELETE', '/v2/members/abc', ROOT), 404, 'No such member: abc');
  });
});
