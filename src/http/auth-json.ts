// Request bodies of PUT /v2/auth/users/<name> and /roles/<name>, decoded as etcd's
// json.NewDecoder(r.Body).Decode(&v) decodes them into v2auth.User / v2auth.Role: only the first JSON
// value is read (trailing bytes are ignored), field names match case-insensitively, unknown fields
// are ignored, `null` leaves a field at its zero value (a nil list stays nil, which etcd tells apart
// from an empty one), and any type mismatch is an error (etcd: 400 "Invalid JSON in request body.").
import type { AuthRole, KvPermissions, NameList, Permissions } from '../store/auth.js';

export interface UserBody {
  user: string;
  password: string;
  roles: NameList;
  grant: NameList;
  revoke: NameList;
}

export interface RoleBody {
  role: string;
  permissions: Permissions;
  /** null = absent (Go's nil pointer). */
  grant: Permissions | null;
  revoke: Permissions | null;
}

class TypeMismatch extends Error {}

/** The text of the first JSON value in `text` (Decoder.Decode reads no further), or null when there is none. */
function firstJsonValue(text: string): string | null {
  let i = 0;
  while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  const start = i;
  if (i >= text.length) return null;
  const first = text[i];
  if (first === '{' || first === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(text, i);
        if (i < 0) return null;
      } else if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return text.slice(start, i + 1);
      }
    }
    return null;
  }
  if (first === '"') {
    const end = endOfString(text, i);
    return end < 0 ? null : text.slice(start, end + 1);
  }
  while (i < text.length && !' \t\r\n,]}{["'.includes(text[i] as string)) i++;
  return text.slice(start, i);
}

/** Index of the closing quote of the string opening at `open`, or -1. */
function endOfString(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i;
  }
  return -1;
}

function parseFirst(text: string): unknown {
  const value = firstJsonValue(text);
  if (value === null) throw new TypeMismatch('no JSON value');
  return JSON.parse(value) as unknown;
}

/** Go matches a JSON key to a field name exactly or case-insensitively; the last matching key wins. */
function fields(obj: Record<string, unknown>, names: readonly string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const lower = k.toLowerCase();
    const name = names.find((n) => n === lower);
    if (name !== undefined) out.set(name, v);
  }
  return out;
}

/** A struct: an object, or null / absent (zero value); anything else is a type error. */
function asStruct(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeMismatch('not an object');
  return v as Record<string, unknown>;
}

function asString(v: unknown, zero: string): string {
  if (v === null || v === undefined) return zero;
  if (typeof v !== 'string') throw new TypeMismatch('not a string');
  return v;
}

function asStringList(v: unknown): NameList {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw new TypeMismatch('not a list');
  return v.map((x: unknown) => asString(x, ''));
}

function asKv(v: unknown): KvPermissions {
  const s = asStruct(v);
  if (s === null) return { read: null, write: null };
  const f = fields(s, ['read', 'write']);
  return { read: asStringList(f.get('read')), write: asStringList(f.get('write')) };
}

function asPermissions(v: unknown): Permissions {
  const s = asStruct(v);
  if (s === null) return { kv: { read: null, write: null } };
  return { kv: asKv(fields(s, ['kv']).get('kv')) };
}

/** A *Permissions: null (or absent) is nil. */
function asPermissionsPointer(v: unknown): Permissions | null {
  return v === null || v === undefined ? null : asPermissions(v);
}

/** The user body, or null when etcd would answer "Invalid JSON in request body.". */
export function decodeUserBody(text: string): UserBody | null {
  try {
    const s = asStruct(parseFirst(text)) ?? {};
    const f = fields(s, ['user', 'password', 'roles', 'grant', 'revoke']);
    return {
      user: asString(f.get('user'), ''),
      password: asString(f.get('password'), ''),
      roles: asStringList(f.get('roles')),
      grant: asStringList(f.get('grant')),
      revoke: asStringList(f.get('revoke')),
    };
  } catch {
    return null;
  }
}

/** The role body, or null when etcd would answer "Invalid JSON in request body.". */
export function decodeRoleBody(text: string): RoleBody | null {
  try {
    const s = asStruct(parseFirst(text)) ?? {};
    const f = fields(s, ['role', 'permissions', 'grant', 'revoke']);
    return {
      role: asString(f.get('role'), ''),
      permissions: asPermissions(f.get('permissions')),
      grant: asPermissionsPointer(f.get('grant')),
      revoke: asPermissionsPointer(f.get('revoke')),
    };
  } catch {
    return null;
  }
}

/** The role as etcd stores and echoes a created one: grant/revoke only when they were sent (non-nil). */
export function roleAsSent(body: RoleBody): AuthRole {
  const role: AuthRole = { role: body.role, permissions: body.permissions };
  if (body.grant !== null) role.grant = body.grant;
  if (body.revoke !== null) role.revoke = body.revoke;
  return role;
}
