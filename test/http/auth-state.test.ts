// The pieces under the v2 auth endpoints: the replicated state machine (AuthStore: determinism,
// index records, snapshots), the log-entry encoding of a change, and the member-local password
// checks (scrypt hashes with a per-user salt, a bounded cache of verdicts).
import { describe, expect, it } from 'vitest';
import { decodeEntryCommand, encodeEntryCommand } from '../../src/server/entry-codec.js';
import { decodeAuthChange, encodeAuthChange } from '../../src/store/auth-codec.js';
import { AuthStore, type AuthChange, type AuthResult } from '../../src/store/auth.js';
import { packr } from '../../src/store/msgpack.js';
import { Store } from '../../src/store/store.js';
import { CredentialCache, hashPassword, verifyPassword } from '../../src/http/auth-password.js';

const changes: AuthChange[] = [
  { op: 'deleteUser', user: 'ghost' },
  { op: 'createOrUpdateUser', user: 'root', password: 'h-root', roles: null },
  { op: 'createRole', role: { role: 'reader', permissions: { kv: { read: ['/pub/*'], write: null } } } },
  { op: 'createUser', user: 'dan', password: 'h-dan', roles: ['reader'] },
  { op: 'updateUser', user: 'dan', password: '', grant: ['b', 'a'], revoke: [] },
  { op: 'updateRole', role: 'reader', grant: { kv: { read: ['/x'], write: [] } }, revoke: null },
  { op: 'enable' },
  { op: 'enable' },
  { op: 'deleteUser', user: 'root' },
  { op: 'disable' },
  { op: 'deleteRole', role: 'reader' },
];

function replay(list: readonly AuthChange[]): { auth: AuthStore; store: Store; results: AuthResult[] } {
  const auth = new AuthStore();
  const store = new Store();
  const results = list.map((c) => auth.apply(decodeAuthChange(encodeAuthChange(c)), store));
  return { auth, store, results };
}

describe('AuthStore', () => {
  it('two members applying the same changes give the same answers, state and etcd index', () => {
    const a = replay(changes);
    const b = replay(changes);
    expect(a.results).toEqual(b.results);
    expect(a.store.index()).toBe(b.store.index());
    expect(a.auth.save()).toEqual(b.auth.save());
  });

  it('records etcd index moves as etcd does: 4 for its records on the first write, 1 per stored change, 2 for the first enable', () => {
    const { results, store } = replay(changes);
    expect(results.map((r) => [r.status, r.ok ? '' : r.message])).toEqual([
      [404, 'auth: User ghost does not exist'],
      [201, ''],
      [201, ''],
      [200, ''],
      [200, ''],
      [200, ''],
      [200, ''],
      [409, 'auth: already enabled'],
      [403, 'auth: Cannot delete root user while auth is enabled.'],
      [200, ''],
      [200, ''],
    ]);
    // 4 records + root + reader + dan + grant + role grant + guest + enable + disable + delete role
    expect(store.index()).toBe(4 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1);
  });

  it('decides racing changes in log order: the second create of the same user is 409', () => {
    const { results } = replay([
      { op: 'createOrUpdateUser', user: 'bob', password: 'h1', roles: null },
      { op: 'createUser', user: 'bob', password: 'h2', roles: ['r'] },
    ]);
    expect(results[1]).toEqual({ kind: 'auth', ok: false, status: 409, message: 'auth: User bob already exists.' });
  });

  it('save and recover give a store that answers and continues the same way', () => {
    const { auth } = replay(changes.slice(0, 7));
    const recovered = AuthStore.recover(auth.save());
    expect(recovered.enabled()).toBe(true);
    expect(recovered.user('dan')).toEqual(auth.user('dan'));
    expect(recovered.roleNames()).toEqual(['guest', 'reader', 'root']);
    const next: AuthChange = { op: 'updateUser', user: 'dan', password: '', grant: [], revoke: ['a'] };
    expect(recovered.apply(next, new Store())).toEqual(auth.apply(next, new Store()));
  });

  it('save() depends on the records alone, not on the order they were written in', () => {
    const role = (name: string): AuthChange => ({ op: 'createRole', role: { role: name, permissions: { kv: { read: ['/a'], write: null } } } });
    const user = (name: string): AuthChange => ({ op: 'createOrUpdateUser', user: name, password: `h-${name}`, roles: null });
    const a = replay([role('r1'), role('r2'), user('bob'), user('al')]);
    const b = replay([user('al'), role('r2'), user('bob'), role('r1')]);
    expect(Buffer.from(a.auth.save()).toString('hex')).toBe(Buffer.from(b.auth.save()).toString('hex'));
    // and a deleted-then-recreated record lands where its name sorts, as on a member that never deleted it
    const c = replay([role('r1'), role('r2'), user('bob'), user('al'), { op: 'deleteRole', role: 'r1' }, role('r1')]);
    expect(Buffer.from(c.auth.save()).toString('hex')).toBe(Buffer.from(a.auth.save()).toString('hex'));
  });

  it('restoreFrom replaces the state of the same object: records the snapshot lacks are gone, and it continues as the one saved', () => {
    const source = replay(changes.slice(0, 7)); // root, reader, dan; enabled
    const target = replay([
      { op: 'createOrUpdateUser', user: 'zed', password: 'h', roles: null },
      { op: 'createRole', role: { role: 'other', permissions: { kv: { read: null, write: null } } } },
    ]);
    const same = target.auth;
    target.auth.restoreFrom(source.auth.save());
    expect(target.auth).toBe(same);
    expect(target.auth.enabled()).toBe(true);
    expect(target.auth.initialised()).toBe(true);
    expect(target.auth.userNames()).toEqual(['dan', 'root']);
    expect(target.auth.roleNames()).toEqual(['guest', 'reader', 'root']);
    expect(target.auth.user('zed')).toBeUndefined();
    expect(target.auth.save()).toEqual(source.auth.save());
    const rest = changes.slice(7);
    expect(rest.map((c) => target.auth.apply(c, new Store()))).toEqual(rest.map((c) => source.auth.apply(c, new Store())));
    expect(target.auth.save()).toEqual(source.auth.save());
    // a snapshot of a fresh auth store empties it again
    target.auth.restoreFrom(new AuthStore().save());
    expect([target.auth.initialised(), target.auth.enabled(), target.auth.userNames()]).toEqual([false, false, []]);
  });

  it('restoreFrom refuses bytes it did not write with an Error and leaves the state unchanged', () => {
    const { auth: good } = replay(changes.slice(0, 7));
    const wire = packr.unpack(good.save()) as { users: Record<string, unknown>[]; roles: Record<string, unknown>[] } & Record<string, unknown>;
    const variant = (change: (w: typeof wire) => void): Uint8Array => {
      const w = structuredClone(wire);
      change(w);
      return packr.pack(w);
    };
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['truncated', good.save().subarray(0, 20)],
      ['a number', packr.pack(7)],
      ['another version', variant((w) => (w['version'] = 2))],
      ['a flag that is not a boolean', variant((w) => (w['enabled'] = 1))],
      ['a user without a password', variant((w) => delete w.users[0]!['password'])],
      ['a role without permissions', variant((w) => delete w.roles[0]!['permissions'])],
      ['a duplicate user', variant((w) => w.users.push({ ...w.users[0]! }))],
      ['a duplicate role', variant((w) => w.roles.push({ ...w.roles[0]! }))],
      ['a stored root role', variant((w) => w.roles.push({ role: 'root', permissions: { kv: { read: null, write: null } } }))],
      ['enabled without root', variant((w) => (w.users = w.users.filter((u) => u['user'] !== 'root')))],
      ['records before /2', variant((w) => ((w['initialised'] = false), (w['enabled'] = false)))],
    ];
    const { auth: target } = replay(changes.slice(0, 4));
    const before = target.save();
    for (const [what, data] of bad) {
      expect(() => target.restoreFrom(data), what).toThrow(/^auth snapshot: /);
      expect(target.save(), what).toEqual(before);
    }
  });

  it('bounds the number of users and roles', () => {
    const auth = new AuthStore({ maxUsers: 1, maxRoles: 1 });
    const store = new Store();
    expect(auth.apply({ op: 'createOrUpdateUser', user: 'a', password: 'h', roles: null }, store).status).toBe(201);
    expect(auth.apply({ op: 'createOrUpdateUser', user: 'b', password: 'h', roles: null }, store).status).toBe(400);
    expect(auth.apply({ op: 'createRole', role: { role: 'r1', permissions: { kv: { read: null, write: null } } } }, store).status).toBe(201);
    expect(auth.apply({ op: 'createRole', role: { role: 'r2', permissions: { kv: { read: null, write: null } } } }, store).status).toBe(400);
  });
});

describe('auth log entries', () => {
  it('round-trip through the entry codec, and a malformed change is refused at decode', () => {
    for (const change of changes) expect(decodeEntryCommand(encodeEntryCommand({ kind: 'auth', change }))).toEqual({ kind: 'auth', change });
    expect(() => decodeAuthChange(encodeAuthChange({ op: 'createUser', user: 'x' } as unknown as AuthChange))).toThrow(/malformed/);
    expect(() => decodeAuthChange(encodeAuthChange({ op: 'drop' } as unknown as AuthChange))).toThrow(/malformed/);
  });
});

describe('passwords', () => {
  it('hashes with a fresh salt each time and verifies only the right password', async () => {
    const [h1, h2] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    expect(h1).not.toBe(h2);
    expect(await verifyPassword(h1, 'pw')).toBe(true);
    expect(await verifyPassword(h1, 'PW')).toBe(false);
    expect(await verifyPassword('not-a-hash', 'pw')).toBe(false);
    expect(await verifyPassword('scrypt$3$8$1$AAAA$AAAA', 'pw')).toBe(false);
  });

  it('caches verdicts: the first check runs scrypt, the next one answers synchronously; a new hash is checked again', async () => {
    const cache = new CredentialCache();
    const hash = await hashPassword('pw');
    const first = cache.check('u', hash, 'pw');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(cache.check('u', hash, 'pw')).toBe(true);
    expect(await cache.check('u', hash, 'wrong')).toBe(false);
    expect(cache.check('u', hash, 'wrong')).toBe(false);
    const rehashed = await hashPassword('pw');
    expect(cache.check('u', rehashed, 'pw')).toBeInstanceOf(Promise);
  });

  it('keeps at most maxEntries verdicts, dropping the least recently used', async () => {
    const cache = new CredentialCache({ maxEntries: 2 });
    const hash = await hashPassword('pw');
    await cache.check('u', hash, 'a');
    await cache.check('u', hash, 'b');
    expect(cache.check('u', hash, 'a')).toBe(false); // touched: 'b' is now the oldest
    await cache.check('u', hash, 'c');
    expect(cache.size).toBe(2);
    expect(cache.check('u', hash, 'a')).toBe(false);
    expect(cache.check('u', hash, 'b')).toBeInstanceOf(Promise);
  });
});
