// /v2/auth/enable, /v2/auth/users[/<name>], /v2/auth/roles[/<name>]: etcd 3.4's v2http authHandler.
// Order of checks, as etcd: path shape (400 "Invalid path", no cluster id) -> method (405) -> root
// credentials when auth is on (401 {"message":"Insufficient credentials"}, no cluster id) -> the
// X-Etcd-Cluster-Id and Content-Type headers -> body (400 "Invalid JSON in request body.") -> name
// in the body vs the URL (400) -> the change, proposed through the log and decided when applied.
// Reads are served from this member's copy of the auth state. Bodies of successes end with a
// newline (json.Encoder); errors are {"message":…} without one; deletes, enable and disable answer
// 200 with an empty body.
import type { IncomingMessage } from 'node:http';
import type { AuthChange, AuthResult, AuthRole, AuthView, UserReply } from '../store/auth.js';
import { permissionsEmpty } from '../store/auth.js';
import { cleanPath } from '../store/keys.js';
import { authView, rootAccess, sendNoAuth, whenAllowed, writeRootAccess } from './auth-access.js';
import { decodeRoleBody, decodeUserBody, roleAsSent } from './auth-json.js';
import { hashPassword } from './auth-password.js';
import { readTextBody } from './body.js';
import type { HandlerContext } from './context.js';
import { awaitRedirectingMember, onLeader, redirectedByOf } from './leader.js';
import { CONTENT_TYPE_JSON, sendBody, sendEncoded, sendLeaderRedirect, sendMessageError, sendMethodNotAllowed, type Res } from './respond.js';

const AUTH_PREFIX = '/v2/auth';

export type AuthRoute =
  | { kind: 'enable' }
  /** `rest` is the path after /v2/auth, e.g. '/users' or '/users/bob'. */
  | { kind: 'users' | 'roles'; rest: string };

/** The auth route of a (clean, decoded) path, or null: the mux patterns etcd registers. */
export function matchAuthRoute(path: string): AuthRoute | null {
  if (!path.startsWith(AUTH_PREFIX + '/')) return null;
  const rest = path.slice(AUTH_PREFIX.length);
  if (rest === '/enable') return { kind: 'enable' };
  for (const kind of ['users', 'roles'] as const) {
    if (rest === `/${kind}` || rest.startsWith(`/${kind}/`)) return { kind, rest };
  }
  return null;
}

export function serveAuth(ctx: HandlerContext, req: IncomingMessage, res: Res, route: AuthRoute): void | Promise<void> {
  if (route.kind === 'enable') return serveEnable(ctx, req, res);
  // etcd's handleUsers/handleRoles: "/users/name" splits into ['', 'users', 'name']
  const pieces = cleanPath(route.rest).split('/');
  if (pieces.length === 2) return serveCollection(ctx, req, res, route.kind);
  if (pieces.length !== 3) {
    sendMessageError(res, 400, 'Invalid path');
    return;
  }
  const name = pieces[2] as string;
  return route.kind === 'users' ? serveUser(ctx, req, res, name) : serveRole(ctx, req, res, name);
}

/**
 * Root access, then the cluster id and JSON content type, then `next`. etcd sets the content type
 * before it knows the answer, so the empty 200s of deletes, enable and disable carry it too.
 */
function asRoot(ctx: HandlerContext, req: IncomingMessage, res: Res, next: () => void | Promise<void>, readsOpen = false): void | Promise<void> {
  const verdict = readsOpen ? writeRootAccess(ctx, req) : rootAccess(ctx, req);
  return whenAllowed(verdict, res, sendNoAuth, () => {
    res.setHeader('X-Etcd-Cluster-Id', ctx.backend.clusterId);
    res.setHeader('Content-Type', CONTENT_TYPE_JSON);
    return next();
  });
}

function serveEnable(ctx: HandlerContext, req: IncomingMessage, res: Res): void | Promise<void> {
  const method = req.method;
  if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') {
    sendMethodNotAllowed(res, 'GET,PUT,DELETE');
    return;
  }
  return asRoot(
    ctx,
    req,
    res,
    () => {
      if (method === 'GET') return sendEncoded(res, 200, { enabled: authView(ctx.backend).enabled() });
      return propose(ctx, req, res, () => ({ op: method === 'PUT' ? 'enable' : 'disable' }));
    },
    true,
  );
}

function serveCollection(ctx: HandlerContext, req: IncomingMessage, res: Res, kind: 'users' | 'roles'): void | Promise<void> {
  if (req.method !== 'GET') {
    sendMethodNotAllowed(res, 'GET');
    return;
  }
  return asRoot(ctx, req, res, () => {
    const view = authView(ctx.backend);
    if (kind === 'roles') {
      const roles = view.roleNames().flatMap((name) => optional(view.role(name)));
      sendEncoded(res, 200, { roles: roles.map(roleJSON) });
      return;
    }
    const users = view.userNames().flatMap((name) => {
      const user = view.user(name);
      if (user === undefined) return [];
      // etcd's userWithRoles: roles that do not exist are skipped, and an empty list is omitted
      const roles = (user.roles ?? []).flatMap((r) => optional(view.role(r))).map(roleJSON);
      return [roles.length > 0 ? { user: user.user, roles } : { user: user.user }];
    });
    sendEncoded(res, 200, { users: users.length > 0 ? users : null });
  });
}

function optional<T>(v: T | undefined): T[] {
  return v === undefined ? [] : [v];
}

function methodOfItem(req: IncomingMessage, res: Res): 'GET' | 'PUT' | 'DELETE' | null {
  const method = req.method;
  if (method === 'GET' || method === 'PUT' || method === 'DELETE') return method;
  sendMethodNotAllowed(res, 'GET,PUT,DELETE');
  return null;
}

function serveUser(ctx: HandlerContext, req: IncomingMessage, res: Res, name: string): void | Promise<void> {
  const method = methodOfItem(req, res);
  if (method === null) return;
  return asRoot(ctx, req, res, () => {
    switch (method) {
      case 'GET':
        return sendUser(res, authView(ctx.backend), name);
      case 'DELETE':
        return propose(ctx, req, res, () => ({ op: 'deleteUser', user: name }));
      case 'PUT':
        return putUser(ctx, req, res, name);
    }
  });
}

function sendUser(res: Res, view: AuthView, name: string): void {
  const user = view.user(name);
  if (user === undefined) {
    sendMessageError(res, 404, `auth: User ${name} does not exist.`);
    return;
  }
  const roles: AuthRole[] = [];
  for (const r of user.roles ?? []) {
    const role = view.role(r);
    if (role === undefined) {
      sendMessageError(res, 404, `auth: Role ${r} does not exist.`);
      return;
    }
    roles.push(role);
  }
  sendEncoded(res, 200, roles.length > 0 ? { user: user.user, roles: roles.map(roleJSON) } : { user: user.user });
}

async function putUser(ctx: HandlerContext, req: IncomingMessage, res: Res, name: string): Promise<void> {
  const text = await readBody(ctx, req, res);
  if (text === null) return;
  const body = decodeUserBody(text);
  if (body === null) return sendMessageError(res, 400, 'Invalid JSON in request body.');
  if (body.user !== name) return sendMessageError(res, 400, 'User JSON name does not match the name in the URL');
  const grant = body.grant ?? [];
  const revoke = body.revoke ?? [];
  const hasRoles = (body.roles?.length ?? 0) > 0;
  if ((grant.length > 0 || revoke.length > 0) && hasRoles) {
    return sendMessageError(res, 400, 'User JSON contains both roles and grant/revoke');
  }
  let hashed: Promise<string> | null = null;
  const passwordHash = (): Promise<string> => (body.password === '' ? Promise.resolve('') : (hashed ??= hashPassword(body.password)));
  return propose(ctx, req, res, async (): Promise<AuthChange> => {
    const password = await passwordHash();
    if (grant.length > 0 || revoke.length > 0) return { op: 'updateUser', user: name, password, grant, revoke };
    return { op: hasRoles ? 'createUser' : 'createOrUpdateUser', user: name, password, roles: body.roles };
  });
}

function serveRole(ctx: HandlerContext, req: IncomingMessage, res: Res, name: string): void | Promise<void> {
  const method = methodOfItem(req, res);
  if (method === null) return;
  return asRoot(ctx, req, res, () => {
    switch (method) {
      case 'GET': {
        const role = authView(ctx.backend).role(name);
        if (role === undefined) return sendMessageError(res, 404, `auth: Role ${name} does not exist.`);
        return sendEncoded(res, 200, roleJSON(role));
      }
      case 'DELETE':
        return propose(ctx, req, res, () => ({ op: 'deleteRole', role: name }));
      case 'PUT':
        return putRole(ctx, req, res, name);
    }
  });
}

async function putRole(ctx: HandlerContext, req: IncomingMessage, res: Res, name: string): Promise<void> {
  const text = await readBody(ctx, req, res);
  if (text === null) return;
  const body = decodeRoleBody(text);
  if (body === null) return sendMessageError(res, 400, 'Invalid JSON in request body.');
  if (body.role !== name) return sendMessageError(res, 400, 'Role JSON name does not match the name in the URL');
  if (permissionsEmpty(body.grant) && permissionsEmpty(body.revoke)) {
    const role = roleAsSent(body);
    return propose(ctx, req, res, () => ({ op: 'createRole', role }));
  }
  if (!permissionsEmpty(body.permissions)) return sendMessageError(res, 400, 'Role JSON contains both permissions and grant/revoke');
  return propose(ctx, req, res, () => ({ op: 'updateRole', role: name, grant: body.grant, revoke: body.revoke }));
}

/** The body as text (etcd reads it whatever the Content-Type), bounded by --max-request-bytes. Null once answered. */
function readBody(ctx: HandlerContext, req: IncomingMessage, res: Res): Promise<string | null> {
  return readTextBody(req, res, ctx.maxRequestBytes, 'Invalid JSON in request body.');
}

/**
 * Builds the change (hashing a password, on this member, once) and proposes it on the leader:
 * 307 to the leader from a follower, etcd's 500 "Internal Server Error" when raft fails.
 */
async function propose(ctx: HandlerContext, req: IncomingMessage, res: Res, build: () => AuthChange | Promise<AuthChange>): Promise<void> {
  const backend = ctx.backend;
  const proposeAuth = backend.proposeAuth?.bind(backend);
  if (proposeAuth === undefined) {
    ctx.logger.warn({ url: req.url }, 'auth change refused: this runtime has no auth');
    return sendMessageError(res, 500, 'Internal Server Error');
  }
  const outcome = await onLeader(backend, async () => proposeAuth(await build()), ctx.leader);
  if (res.destroyed) return;
  switch (outcome.kind) {
    case 'redirect':
      res.removeHeader('Content-Type');
      res.removeHeader('X-Etcd-Cluster-Id');
      return sendLeaderRedirect(req, res, outcome.leaderURL, backend.self.id);
    case 'failed':
      ctx.logger.warn({ cause: outcome.cause, method: req.method, url: req.url }, 'auth change failed in raft');
      return sendMessageError(res, 500, 'Internal Server Error');
    case 'done': {
      // Read-your-writes, as for keys: the member that redirected this change applies it first.
      const late = await awaitRedirectingMember(backend, redirectedByOf(req.url));
      if (res.destroyed) return;
      if (late !== null) {
        ctx.logger.warn({ cause: late, method: req.method, url: req.url }, 'auth change: the redirecting member did not apply it in time');
        return sendMessageError(res, 500, 'Internal Server Error');
      }
      return sendAuthResult(res, outcome.value);
    }
  }
}

function sendAuthResult(res: Res, result: AuthResult): void {
  if (!result.ok) return sendMessageError(res, result.status, result.message);
  if (result.user !== undefined) return sendEncoded(res, result.status, userReplyJSON(result.user));
  if (result.role !== undefined) return sendEncoded(res, result.status, roleJSON(result.role));
  sendBody(res, result.status, {}, '');
}

function userReplyJSON(u: UserReply): UserReply {
  return { user: u.user, roles: u.roles };
}

/** A role in etcd's field order; grant/revoke only when stored. */
function roleJSON(r: AuthRole): AuthRole {
  const out: AuthRole = { role: r.role, permissions: { kv: { read: r.permissions.kv.read, write: r.permissions.kv.write } } };
  if (r.grant !== undefined) out.grant = { kv: { read: r.grant.kv.read, write: r.grant.kv.write } };
  if (r.revoke !== undefined) out.revoke = { kv: { read: r.revoke.kv.read, write: r.revoke.kv.write } };
  return out;
}
