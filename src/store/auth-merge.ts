// etcd 3.4's v2auth set arithmetic and permission matching, kept pure: merging a grant/revoke into
// a user or a role (User.merge, Role.merge, RWPermission.Grant/Revoke), reflect.DeepEqual on the
// records, and the key pattern rules (simpleMatch, prefixMatch).
import { authFailure, type AuthResult, type AuthRole, type AuthUser, type KvPermissions, type NameList, type Permissions } from './auth-types.js';

/** Go's types.unsafeSet.Values() then sort.Strings: a new, deduplicated, byte-ordered, non-nil list. */
function sortedValues(set: ReadonlySet<string>): string[] {
  return [...set].sort(compareBytes);
}

/**
 * Go's string comparison (byte-wise on UTF-8). Not keys.ts's compareKeys: names and patterns come
 * from JSON, which can hold a lone surrogate, and encoding it first sorts it as the U+FFFD Go's
 * decoder makes of it.
 */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** User.merge: the new password hash if one was given, roles with grants added and revokes removed. */
export function mergeUser(old: AuthUser, password: string, grant: readonly string[], revoke: readonly string[]): AuthUser | AuthResult {
  const roles = new Set(old.roles ?? []);
  for (const g of grant) {
    if (roles.has(g)) return authFailure(409, `Granting duplicate role ${g} for user ${old.user}`);
    roles.add(g);
  }
  for (const r of revoke) {
    if (!roles.has(r)) return authFailure(409, `Revoking ungranted role ${r} for user ${old.user}`);
    roles.delete(r);
  }
  return { user: old.user, password: password !== '' ? password : old.password, roles: sortedValues(roles) };
}

/** Role.merge: Permissions.Grant then Permissions.Revoke; an absent (nil) side leaves the lists as they are. */
export function mergeRole(old: AuthRole, grant: Permissions | null, revoke: Permissions | null): AuthRole | AuthResult {
  let kv: KvPermissions = old.permissions.kv;
  if (grant !== null) {
    const granted = grantKv(kv, grant.kv);
    if ('kind' in granted) return granted;
    kv = granted;
  }
  if (revoke !== null) kv = revokeKv(kv, revoke.kv);
  return { role: old.role, permissions: { kv } };
}

function grantKv(current: KvPermissions, add: KvPermissions): KvPermissions | AuthResult {
  const read = new Set(current.read ?? []);
  for (const r of add.read ?? []) {
    if (read.has(r)) return authFailure(409, `Granting duplicate read permission ${r}`);
    read.add(r);
  }
  const write = new Set(current.write ?? []);
  for (const w of add.write ?? []) {
    if (write.has(w)) return authFailure(409, `Granting duplicate write permission ${w}`);
    write.add(w);
  }
  return { read: sortedValues(read), write: sortedValues(write) };
}

/** Revoking what was never granted is not an error (etcd only logs it). */
function revokeKv(current: KvPermissions, remove: KvPermissions): KvPermissions {
  const read = new Set(current.read ?? []);
  for (const r of remove.read ?? []) read.delete(r);
  const write = new Set(current.write ?? []);
  for (const w of remove.write ?? []) write.delete(w);
  return { read: sortedValues(read), write: sortedValues(write) };
}

/** reflect.DeepEqual on two name lists: nil differs from empty, order matters. */
function listsEqual(a: NameList | undefined, b: NameList | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function permissionsEqual(a: Permissions | undefined, b: Permissions | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return listsEqual(a.kv.read, b.kv.read) && listsEqual(a.kv.write, b.kv.write);
}

export function usersEqual(a: AuthUser, b: AuthUser): boolean {
  return a.user === b.user && a.password === b.password && listsEqual(a.roles, b.roles);
}

export function rolesEqual(a: AuthRole, b: AuthRole): boolean {
  return (
    a.role === b.role &&
    permissionsEqual(a.permissions, b.permissions) &&
    permissionsEqual(a.grant, b.grant) &&
    permissionsEqual(a.revoke, b.revoke)
  );
}

/**
 * etcd's simpleMatch: `/pub/*` matches every key starting with `/pub/` (so not `/pub` itself), any
 * other pattern only the exact key. (An empty pattern makes etcd panic; here it matches nothing.)
 */
function simpleMatch(pattern: string, key: string): boolean {
  if (pattern === '') return false;
  return pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

/** etcd's prefixMatch, for recursive requests: only `*` patterns can grant a whole subtree. */
function prefixMatch(pattern: string, key: string): boolean {
  return pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1));
}

/**
 * Role.HasKeyAccess / HasRecursiveAccess. `key` is the request path after /v2/keys exactly as
 * etcd sees it (decoded, trailing slash kept, '' for /v2/keys itself).
 */
export function roleHasAccess(role: AuthRole, key: string, write: boolean, recursive: boolean): boolean {
  if (role.role === 'root') return true;
  const patterns = (write ? role.permissions.kv.write : role.permissions.kv.read) ?? [];
  const match = recursive ? prefixMatch : simpleMatch;
  return patterns.some((p) => match(p, key));
}
