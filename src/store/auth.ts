// etcd's v2 auth as a deterministic state machine: users (with password hashes made by the
// proposer), roles, the enabled flag. Every change arrives through the log and is applied here in
// log order on every member; apply reads no clock and no randomness.
//
// etcd keeps these records in its v2 store under /2 (users, roles, enabled), so they move the etcd
// index: the first write ever creates /2, /2/users/, /2/roles/ and /2/enabled (4 indexes, even
// when the write then fails, e.g. deleting a user that does not exist), then each stored change
// takes one index. Enabling creates the guest role first if it is missing (+1) and then sets the
// flag (+1). apply reproduces exactly these through a recorder (Store.applyInternal), so the etcd
// index matches etcd's. Names starting with '_' are hidden nodes in etcd's store: they exist but
// etcd's listings (GET /v2/auth/users, /roles) skip them; so does userNames()/roleNames().
import { isAuthRole, isAuthUser } from './auth-codec.js';
import { compareBytes, mergeRole, mergeUser, rolesEqual, usersEqual } from './auth-merge.js';
import {
  authFailure,
  authOk,
  defaultGuestRole,
  GUEST_ROLE_NAME,
  ROOT_NAME,
  ROOT_ROLE,
  type AuthChange,
  type AuthResult,
  type AuthRole,
  type AuthUser,
  type NameList,
  type Permissions,
} from './auth-types.js';
import { packr } from './msgpack.js';

export * from './auth-types.js';
export { roleHasAccess } from './auth-merge.js';

/** Where etcd's own writes go: Store.applyInternal (consumes an etcd index, enters the history). */
export interface InternalRecorder {
  applyInternal(key: string, value: string): void;
}

/** The read side, for the HTTP layer: what a member knows of the auth state right now. */
export interface AuthView {
  enabled(): boolean;
  /** Whether etcd's /2/enabled record exists (the first auth write created it). */
  initialised(): boolean;
  /** The user, with the root role attached when the user is root (as etcd's getUser does). */
  user(name: string): AuthUser | undefined;
  /** The role; `root` is built in. */
  role(name: string): AuthRole | undefined;
  /** Listed users, byte-ordered, hidden ('_') names skipped. */
  userNames(): string[];
  /** `root` plus the listed roles, byte-ordered. */
  roleNames(): string[];
}

export interface AuthStoreOptions {
  maxUsers?: number;
  maxRoles?: number;
}

const DEFAULT_MAX_AUTH_USERS = 10_000;
const DEFAULT_MAX_AUTH_ROLES = 10_000;

const STORE_PREFIX = '2';
const FORMAT_VERSION = 1;

/**
 * What save() writes (msgpack map): { version: 1, initialised, enabled, users: [{user, password,
 * roles}], roles: [{role, permissions, grant?, revoke?}] }, users and roles byte-ordered by name,
 * so the bytes depend on the state alone (not on the order the records were written in).
 */
interface AuthWire {
  version: number;
  initialised: boolean;
  enabled: boolean;
  users: AuthUser[];
  roles: AuthRole[];
}

/** A saved auth state, decoded and checked (AuthStore.decodeSaved); restoring it copies it. */
export interface DecodedAuth {
  readonly initialised: boolean;
  readonly enabled: boolean;
  readonly users: readonly AuthUser[];
  readonly roles: readonly AuthRole[];
}

export class AuthStore implements AuthView {
  private readonly users = new Map<string, AuthUser>();
  private readonly roles = new Map<string, AuthRole>();
  private isEnabled = false;
  private isInitialised = false;
  private readonly maxUsers: number;
  private readonly maxRoles: number;

  constructor(options: AuthStoreOptions = {}) {
    this.maxUsers = options.maxUsers ?? DEFAULT_MAX_AUTH_USERS;
    this.maxRoles = options.maxRoles ?? DEFAULT_MAX_AUTH_ROLES;
    if (!(this.maxUsers > 0) || !(this.maxRoles > 0)) throw new Error(`AuthStore: bad bounds (${this.maxUsers} users, ${this.maxRoles} roles)`);
  }

  // ---- reads

  enabled(): boolean {
    return this.isEnabled;
  }

  initialised(): boolean {
    return this.isInitialised;
  }

  user(name: string): AuthUser | undefined {
    const u = this.users.get(name);
    if (u === undefined || name !== ROOT_NAME) return u;
    return withRootRole(u);
  }

  role(name: string): AuthRole | undefined {
    return name === ROOT_NAME ? ROOT_ROLE : this.roles.get(name);
  }

  userNames(): string[] {
    return [...this.users.keys()].filter(listed).sort(compareBytes);
  }

  roleNames(): string[] {
    return [ROOT_NAME, ...[...this.roles.keys()].filter(listed)].sort(compareBytes);
  }

  // ---- apply

  /** Applies one committed change; a pure function of the changes applied before (and their order). */
  apply(change: AuthChange, recorder: InternalRecorder): AuthResult {
    switch (change.op) {
      case 'createUser':
        return this.createUser(change.user, change.password, change.roles, 200, recorder);
      case 'createOrUpdateUser':
        if (this.users.has(change.user)) return this.updateUser(change.user, change.password, [], [], recorder);
        return this.createUser(change.user, change.password, change.roles, 201, recorder);
      case 'updateUser':
        return this.updateUser(change.user, change.password, change.grant, change.revoke, recorder);
      case 'deleteUser':
        return this.deleteUser(change.user, recorder);
      case 'createRole':
        return this.createRole(change.role, recorder);
      case 'updateRole':
        return this.updateRole(change.role, change.grant, change.revoke, recorder);
      case 'deleteRole':
        return this.deleteRole(change.role, recorder);
      case 'enable':
        return this.enable(recorder);
      case 'disable':
        return this.disable(recorder);
    }
  }

  /** etcd's ensureAuthDirectories: /2, /2/users/, /2/roles/ and /2/enabled=false, once. */
  private ensureRecords(recorder: InternalRecorder): void {
    if (this.isInitialised) return;
    recorder.applyInternal(STORE_PREFIX, '');
    recorder.applyInternal(`${STORE_PREFIX}/users`, '');
    recorder.applyInternal(`${STORE_PREFIX}/roles`, '');
    recorder.applyInternal(`${STORE_PREFIX}/enabled`, 'false');
    this.isInitialised = true;
  }

  private createUser(name: string, password: string, roles: NameList, status: 200 | 201, recorder: InternalRecorder): AuthResult {
    const stored: AuthUser = { user: name, password, roles: roles === null ? null : [...roles] };
    const user = name === ROOT_NAME ? withRootRole(stored) : stored;
    if (password === '') return authFailure(400, `Cannot create user ${name} with an empty password`);
    this.ensureRecords(recorder);
    if (this.users.has(name)) return authFailure(409, `User ${name} already exists.`);
    if (this.users.size >= this.maxUsers) return authFailure(400, `Cannot create user ${name}: at most ${this.maxUsers} users`);
    this.users.set(name, user);
    recorder.applyInternal(userKey(name), recordValue(user));
    return authOk(status, { user: { user: name, roles: user.roles } });
  }

  private updateUser(name: string, password: string, grant: readonly string[], revoke: readonly string[], recorder: InternalRecorder): AuthResult {
    const old = this.user(name);
    if (old === undefined) return authFailure(404, `User ${name} does not exist.`);
    const merged = mergeUser(old, password, grant, revoke);
    if ('kind' in merged) return merged;
    if (usersEqual(old, merged)) return authFailure(400, 'User not updated. Use grant/revoke/password to update the user.');
    this.ensureRecords(recorder);
    this.users.set(name, merged);
    recorder.applyInternal(userKey(name), recordValue(merged));
    return authOk(200, { user: { user: name, roles: merged.roles } });
  }

  private deleteUser(name: string, recorder: InternalRecorder): AuthResult {
    if (this.isEnabled && name === ROOT_NAME) return authFailure(403, 'Cannot delete root user while auth is enabled.');
    this.ensureRecords(recorder);
    if (!this.users.delete(name)) return authFailure(404, `User ${name} does not exist`);
    recorder.applyInternal(userKey(name), '');
    return authOk(200);
  }

  private createRole(role: AuthRole, recorder: InternalRecorder): AuthResult {
    if (role.role === ROOT_NAME) return rootRoleRefused();
    this.ensureRecords(recorder);
    if (this.roles.has(role.role)) return authFailure(409, `Role ${role.role} already exists.`);
    if (this.roles.size >= this.maxRoles) return authFailure(400, `Cannot create role ${role.role}: at most ${this.maxRoles} roles`);
    const stored = copyRole(role);
    this.roles.set(role.role, stored);
    recorder.applyInternal(roleKey(role.role), recordValue(stored));
    return authOk(201, { role: copyRole(stored) });
  }

  private updateRole(name: string, grant: Permissions | null, revoke: Permissions | null, recorder: InternalRecorder): AuthResult {
    if (name === ROOT_NAME) return rootRoleRefused();
    const old = this.roles.get(name);
    if (old === undefined) return authFailure(404, `Role ${name} does not exist.`);
    const merged = mergeRole(old, grant, revoke);
    if ('kind' in merged) return merged;
    if (rolesEqual(old, merged)) return authFailure(400, 'Role not updated. Use grant/revoke to update the role.');
    this.ensureRecords(recorder);
    this.roles.set(name, merged);
    recorder.applyInternal(roleKey(name), recordValue(merged));
    return authOk(200, { role: copyRole(merged) });
  }

  private deleteRole(name: string, recorder: InternalRecorder): AuthResult {
    if (name === ROOT_NAME) return rootRoleRefused();
    this.ensureRecords(recorder);
    if (!this.roles.delete(name)) return authFailure(404, `Role ${name} doesn't exist.`);
    recorder.applyInternal(roleKey(name), '');
    return authOk(200);
  }

  private enable(recorder: InternalRecorder): AuthResult {
    if (this.isEnabled) return authFailure(409, 'already enabled');
    if (!this.users.has(ROOT_NAME)) return authFailure(409, 'No root user available, please create one');
    if (!this.roles.has(GUEST_ROLE_NAME)) {
      const created = this.createRole(defaultGuestRole(), recorder);
      if (!created.ok) return created;
    }
    this.ensureRecords(recorder);
    this.isEnabled = true;
    recorder.applyInternal(`${STORE_PREFIX}/enabled`, 'true');
    return authOk(200);
  }

  private disable(recorder: InternalRecorder): AuthResult {
    if (!this.isEnabled) return authFailure(409, 'already disabled');
    this.isEnabled = false;
    recorder.applyInternal(`${STORE_PREFIX}/enabled`, 'false');
    return authOk(200);
  }

  // ---- snapshots

  /** The whole auth state, for raft snapshots; the same state always gives the same bytes. */
  save(): Uint8Array {
    const byName = <T>(records: Map<string, T>): T[] => [...records.keys()].sort(compareBytes).map((name) => records.get(name)!);
    const wire: AuthWire = {
      version: FORMAT_VERSION,
      initialised: this.isInitialised,
      enabled: this.isEnabled,
      users: byName(this.users).map(copyUser),
      roles: byName(this.roles).map(copyRole),
    };
    return packr.pack(wire);
  }

  /**
   * Decodes and checks what save() wrote; nothing of any auth store changes. Throws an Error on
   * bytes this code did not write (a malformed record, a duplicate name, a stored root role,
   * auth enabled without a root user, records without etcd's /2 records).
   */
  static decodeSaved(data: Uint8Array): DecodedAuth {
    let wire: Partial<Record<keyof AuthWire, unknown>> | null;
    try {
      wire = packr.unpack(data) as Partial<Record<keyof AuthWire, unknown>> | null;
    } catch (err: unknown) {
      throw new Error(`auth snapshot: not msgpack (${(err as Error).message})`);
    }
    if (typeof wire !== 'object' || wire === null || wire.version !== FORMAT_VERSION) throw new Error('auth snapshot: not an auth snapshot of a known version');
    const malformed = (why: string): never => {
      throw new Error(`auth snapshot: malformed (${why})`);
    };
    const { initialised, enabled, users, roles } = wire;
    if (typeof initialised !== 'boolean' || typeof enabled !== 'boolean') malformed('flags');
    if (!Array.isArray(users) || !users.every(isAuthUser)) malformed('users');
    if (!Array.isArray(roles) || !roles.every(isAuthRole)) malformed('roles');
    const userList = (users as AuthUser[]).map(copyUser);
    const roleList = (roles as AuthRole[]).map(copyRole);
    if (new Set(userList.map((u) => u.user)).size !== userList.length) malformed('duplicate user');
    if (new Set(roleList.map((r) => r.role)).size !== roleList.length) malformed('duplicate role');
    if (roleList.some((r) => r.role === ROOT_NAME)) malformed('a stored root role');
    if (enabled === true && !userList.some((u) => u.user === ROOT_NAME)) malformed('enabled without a root user');
    if (initialised !== true && (enabled === true || userList.length > 0 || roleList.length > 0)) malformed('records before the /2 records');
    return { initialised: initialised as boolean, enabled: enabled as boolean, users: userList, roles: roleList };
  }

  /**
   * Replaces this auth store's state, in place, with a saved one (users, roles, both flags); the
   * bounds stay this store's. Bytes are decoded and checked in full first: on bad input this
   * throws and the store is unchanged.
   */
  restoreFrom(saved: Uint8Array | DecodedAuth): void {
    const state = saved instanceof Uint8Array ? AuthStore.decodeSaved(saved) : saved;
    this.users.clear();
    this.roles.clear();
    for (const u of state.users) this.users.set(u.user, copyUser(u));
    for (const r of state.roles) this.roles.set(r.role, copyRole(r));
    this.isInitialised = state.initialised;
    this.isEnabled = state.enabled;
  }

  /** A new auth store in the saved state. Throws on data this code did not write. */
  static recover(data: Uint8Array, options: AuthStoreOptions = {}): AuthStore {
    const store = new AuthStore(options);
    store.restoreFrom(data);
    return store;
  }
}

function listed(name: string): boolean {
  return !name.startsWith('_');
}

/** etcd's attachRootRole: the root user always holds the root role (appended, not sorted). */
function withRootRole(u: AuthUser): AuthUser {
  if (u.roles !== null && u.roles.includes(ROOT_NAME)) return u;
  return { user: u.user, password: u.password, roles: [...(u.roles ?? []), ROOT_NAME] };
}

function rootRoleRefused(): AuthResult {
  return authFailure(403, `Cannot modify role ${ROOT_NAME}: is root role.`);
}

function copyPermissions(p: Permissions): Permissions {
  return { kv: { read: p.kv.read === null ? null : [...p.kv.read], write: p.kv.write === null ? null : [...p.kv.write] } };
}

function copyUser(u: AuthUser): AuthUser {
  return { user: u.user, password: u.password, roles: u.roles === null ? null : [...u.roles] };
}

function copyRole(r: AuthRole): AuthRole {
  const out: AuthRole = { role: r.role, permissions: copyPermissions(r.permissions) };
  if (r.grant !== undefined) out.grant = copyPermissions(r.grant);
  if (r.revoke !== undefined) out.revoke = copyPermissions(r.revoke);
  return out;
}

function userKey(name: string): string {
  return `${STORE_PREFIX}/users/${name}`;
}

function roleKey(name: string): string {
  return `${STORE_PREFIX}/roles/${name}`;
}

/** The record's value in the history: the JSON etcd stores, without the password hash. */
function recordValue(record: AuthUser | AuthRole): string {
  if ('user' in record) return JSON.stringify({ user: record.user, roles: record.roles });
  return JSON.stringify(record);
}
