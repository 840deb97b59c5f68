// The v2 auth records as etcd 3.4's v2auth keeps them (users, roles, the enabled flag) and the
// changes that are proposed through the log. Go's nil and empty slices are different values to etcd
// (`"read":null` vs `"read":[]`, and reflect.DeepEqual tells them apart when deciding "not
// updated"), so a list here is `string[] | null`, never normalised.

/** A list of key patterns or role names; null is Go's nil slice. */
export type NameList = string[] | null;

export interface KvPermissions {
  read: NameList;
  write: NameList;
}

export interface Permissions {
  kv: KvPermissions;
}

/** A role as stored and as answered: JSON field order role, permissions, grant, revoke. */
export interface AuthRole {
  role: string;
  permissions: Permissions;
  /** Only a role created with an empty-but-present grant/revoke carries these (etcd stores the request). */
  grant?: Permissions;
  revoke?: Permissions;
}

/** A user as stored: the password is the proposer's hash (see src/http/auth-password.ts). */
export interface AuthUser {
  user: string;
  password: string;
  roles: NameList;
}

/** A user as answered by PUT /v2/auth/users/<name> (etcd clears the password). */
export interface UserReply {
  user: string;
  roles: NameList;
}

/**
 * One change to the auth state, validated by the HTTP layer and proposed through the log. Every
 * state-dependent check (exists? duplicate grant? root?) happens when it is applied, so that two
 * racing requests are decided in log order. `password` is a hash made by the proposer ('' = none).
 */
export type AuthChange =
  /** PUT user with non-empty roles and no grant/revoke: etcd's CreateUser (answers 200). */
  | { op: 'createUser'; user: string; password: string; roles: NameList }
  /** PUT user without roles, grant or revoke: etcd's CreateOrUpdateUser (201 when created). */
  | { op: 'createOrUpdateUser'; user: string; password: string; roles: NameList }
  /** PUT user with grant and/or revoke: etcd's UpdateUser. */
  | { op: 'updateUser'; user: string; password: string; grant: string[]; revoke: string[] }
  | { op: 'deleteUser'; user: string }
  /** PUT role without (non-empty) grant/revoke: stored as sent. */
  | { op: 'createRole'; role: AuthRole }
  /** PUT role with grant and/or revoke; null = absent (Go's nil pointer). */
  | { op: 'updateRole'; role: string; grant: Permissions | null; revoke: Permissions | null }
  | { op: 'deleteRole'; role: string }
  | { op: 'enable' }
  | { op: 'disable' };

/** What applying an AuthChange answered; `kind` tells it apart from a keys ApplyResult. */
export type AuthResult =
  | { kind: 'auth'; ok: true; status: 200 | 201; user?: UserReply; role?: AuthRole }
  | { kind: 'auth'; ok: false; status: number; message: string };

export const ROOT_NAME = 'root';
export const GUEST_ROLE_NAME = 'guest';

/** The built-in root role: never stored, always there, cannot be changed. */
export const ROOT_ROLE: AuthRole = Object.freeze({
  role: ROOT_NAME,
  permissions: { kv: { read: ['/*'], write: ['/*'] } },
});

/** What enabling auth creates when there is no guest role, so anonymous access keeps working. */
export function defaultGuestRole(): AuthRole {
  return { role: GUEST_ROLE_NAME, permissions: { kv: { read: ['/*'], write: ['/*'] } } };
}

/** etcd's Permissions.IsEmpty: nil, or no read and no write patterns. */
export function permissionsEmpty(p: Permissions | null | undefined): boolean {
  return p === null || p === undefined || ((p.kv.read?.length ?? 0) === 0 && (p.kv.write?.length ?? 0) === 0);
}

export function authOk(status: 200 | 201, reply: { user?: UserReply; role?: AuthRole } = {}): AuthResult {
  return { kind: 'auth', ok: true, status, ...reply };
}

/** etcd's authErr: the message gets the `auth: ` prefix. */
export function authFailure(status: number, message: string): AuthResult {
  return { kind: 'auth', ok: false, status, message: `auth: ${message}` };
}
