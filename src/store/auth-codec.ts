// AuthChange on the wire (msgpackr, like the v2 commands) and the check a decoded change must pass
// before it is applied: a malformed change would make apply throw or diverge, so it is refused
// loudly at decode time.
import type { AuthChange, AuthRole, AuthUser, NameList, Permissions } from './auth-types.js';
import { packr } from './msgpack.js';

export function encodeAuthChange(change: AuthChange): Uint8Array {
  return packr.pack(change);
}

export function decodeAuthChange(data: Uint8Array): AuthChange {
  return assertAuthChange(packr.unpack(data));
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isNameList(v: unknown): v is NameList {
  return v === null || isStringList(v);
}

function isPermissions(v: unknown): v is Permissions {
  if (typeof v !== 'object' || v === null) return false;
  const kv = (v as { kv?: unknown }).kv;
  if (typeof kv !== 'object' || kv === null) return false;
  const { read, write } = kv as { read?: unknown; write?: unknown };
  return isNameList(read) && isNameList(write);
}

/** A role record as stored (also what a saved auth state holds). */
export function isAuthRole(v: unknown): v is AuthRole {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { role?: unknown; permissions?: unknown; grant?: unknown; revoke?: unknown };
  return (
    typeof r.role === 'string' &&
    isPermissions(r.permissions) &&
    (r.grant === undefined || isPermissions(r.grant)) &&
    (r.revoke === undefined || isPermissions(r.revoke))
  );
}

/** A user record as stored: the name, the proposer's password hash, the roles (null: Go's nil). */
export function isAuthUser(v: unknown): v is AuthUser {
  if (typeof v !== 'object' || v === null) return false;
  const u = v as { user?: unknown; password?: unknown; roles?: unknown };
  return typeof u.user === 'string' && typeof u.password === 'string' && isNameList(u.roles);
}

/** Throws unless `v` is a well-formed AuthChange. */
export function assertAuthChange(v: unknown): AuthChange {
  if (typeof v !== 'object' || v === null) throw new Error('auth change: not an object');
  const c = v as Record<string, unknown>;
  const ok = ((): boolean => {
    switch (c['op']) {
      case 'createUser':
      case 'createOrUpdateUser':
        return typeof c['user'] === 'string' && typeof c['password'] === 'string' && isNameList(c['roles']);
      case 'updateUser':
        return typeof c['user'] === 'string' && typeof c['password'] === 'string' && isStringList(c['grant']) && isStringList(c['revoke']);
      case 'deleteUser':
        return typeof c['user'] === 'string';
      case 'createRole':
        return isAuthRole(c['role']);
      case 'updateRole':
        return (
          typeof c['role'] === 'string' &&
          (c['grant'] === null || isPermissions(c['grant'])) &&
          (c['revoke'] === null || isPermissions(c['revoke']))
        );
      case 'deleteRole':
        return typeof c['role'] === 'string';
      case 'enable':
      case 'disable':
        return true;
      default:
        return false;
    }
  })();
  if (!ok) throw new Error(`auth change: malformed ${String(c['op'])}`);
  return v as AuthChange;
}
