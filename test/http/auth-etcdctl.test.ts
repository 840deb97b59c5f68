// etcd's own v2 client drives v2 auth on one in-memory member: `etcdctl role/user/auth` commands
// and `-u user:password` on key commands, as an operator would use them (docs §10, §9.1).
// Users are created over HTTP because `etcdctl user add` asks for the password on a terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, etcdctl } from '../helpers/etcdctl.js';
import { request, startTestMember, type TestMember } from './harness.js';

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember();
});
afterAll(() => m.close());

async function ctl(args: string[], expectedCode = 0): Promise<string> {
  const r = await etcdctl(args, { endpoints: m.url });
  expect(r.code, describeRun(args, r)).toBe(expectedCode);
  return r.stdout + r.stderr;
}

async function createUser(user: string, password: string): Promise<void> {
  const res = await request(m.url, `/v2/auth/users/${user}`, { method: 'PUT', body: JSON.stringify({ user, password }), headers: { 'Content-Type': 'application/json' } });
  expect(res.status).toBe(201);
}

describe('etcdctl v2 auth commands', () => {
  it('set up roles and grants, enable auth, then key commands need the right user', async () => {
    await createUser('root', 'rootpw');
    await createUser('dan', 'danpw');
    expect(await ctl(['role', 'add', 'reader'])).toContain('Role reader created');
    expect(await ctl(['role', 'grant', 'reader', '--path', '/pub/*', '--read'])).toContain('Role reader updated');
    expect(await ctl(['user', 'grant', 'dan', '--roles', 'reader'])).toContain('User dan updated');
    expect(await ctl(['auth', 'enable'])).toContain('Authentication Enabled');

    expect(await ctl(['-u', 'root:rootpw', 'role', 'list'])).toBe('guest\nreader\nroot\n');
    expect(await ctl(['-u', 'root:rootpw', 'user', 'get', 'dan'])).toContain('Roles:  reader');
    await ctl(['-u', 'root:rootpw', 'role', 'revoke', 'guest', '--path', '/*', '--readwrite']);
    await ctl(['-u', 'root:rootpw', 'set', '/pub/x', '1']);
    expect(await ctl(['-u', 'dan:danpw', 'get', '/pub/x'])).toBe('1\n');
    expect(await ctl(['-u', 'dan:danpw', 'set', '/pub/x', '2'], 4)).toContain('110: The request requires user authentication (Insufficient credentials) [0]');
    expect(await ctl(['get', '/pub/x'], 4)).toContain('110');
    expect(await ctl(['user', 'list'], 1)).toContain('Insufficient credentials');

    expect(await ctl(['-u', 'root:rootpw', 'auth', 'disable'])).toContain('Authentication Disabled');
    expect(await ctl(['get', '/pub/x'])).toBe('1\n');
    expect(await ctl(['role', 'get', 'reader'])).toContain('/pub/*');
  });
});
