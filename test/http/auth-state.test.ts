// The pieces under the v2 auth endpoints: the replicated state machine (AuthStore: determinism,
// index records, snapshots), the log-entry encoding of a change, and the member-local password
// checks (scrypt hashes with a per-user salt, a bounded cache of verdicts).
import { describe, expect, it } from 'vitest';
import { decodeEntryCommand, encodeEntryCommand } from '../../src/server/entry-codec.js';
import { decodeAuthChange, encodeAuthChange } from '../../src/store/auth-codec.js';
import { AuthStore, type AuthChange, type AuthResult } from '../../src/store/auth.js';
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
