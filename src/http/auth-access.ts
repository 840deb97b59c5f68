// Who may do what once v2 auth is enabled: etcd's hasKeyPrefixAccess (keys and watches),
// hasRootAccess (/v2/auth admin calls, membership changes) and hasGuestAccess, with the user taken
// from `Authorization: Basic` and the password checked against this member's copy of the
// replicated hash. With auth disabled (or never set up) every check is a synchronous `true`, so
// the hot path pays one flag read. A verdict is a promise only while scrypt runs for credentials
// this member has not seen yet.
import type { IncomingMessage } from 'node:http';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { ClientBackend } from '../server/backend.js';
import { AuthStore, GUEST_ROLE_NAME, ROOT_NAME, roleHasAccess, type AuthUser, type AuthView } from '../store/auth.js';
import { ErrorCode, EtcdError } from '../store/errors.js';
import type { CredentialCache } from './auth-password.js';
import type { HandlerContext } from './context.js';
import { sendEtcdError, sendMessageError, type Res } from './respond.js';

/** A verdict: synchronous unless a password is being checked. */
export type Verdict = boolean | Promise<boolean>;

/** What a backend without auth looks like: disabled, never initialised, empty. Never written to. */
const NO_AUTH: AuthView = new AuthStore();

export function authView(backend: ClientBackend): AuthView {
  return backend.auth?.() ?? NO_AUTH;
}

const base64Std = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Go's Request.BasicAuth: `Basic ` (any case) + standard padded base64 of `user:password`
 * (split at the first colon). Null when malformed.
 */
function parseBasicAuth(header: string): { user: string; password: string } | null {
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const encoded = header.slice(6).replace(/[\r\n]/g, ''); // Go's base64 decoder skips CR and LF
  if (!base64Std.test(encoded)) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** etcd's userFromBasicAuth: the user when the header names one and the password matches; else null. */
function authenticatedUser(credentials: CredentialCache, view: AuthView, header: string): AuthUser | null | Promise<AuthUser | null> {
  const creds = parseBasicAuth(header);
  if (creds === null) return null;
  const user = view.user(creds.user);
  if (user === undefined) return null;
  const verdict = credentials.check(user.user, user.password, creds.password);
  if (typeof verdict === 'boolean') return verdict ? user : null;
  return verdict.then((ok) => (ok ? user : null));
}

/** Certificates of a chain looked at, at most (a chain loops back on its self-signed root). */
const MAX_CHAIN_LENGTH = 10;

/**
 * etcd's userFromClientCertificate (3.4): over the verified chain, leaf first, the first common
 * name that names an existing user is the request's user; null when none does, or when the
 * connection is not TLS with a certificate verified against --trusted-ca-file.
 */
function userFromClientCertificate(view: AuthView, req: IncomingMessage): AuthUser | null {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  for (let i = 0; i < MAX_CHAIN_LENGTH && cert !== undefined && Object.keys(cert).length > 0; i++) {
    const cn: unknown = (cert.subject as unknown as Record<string, unknown> | undefined)?.['CN'];
    // Go keeps the last CN attribute of the subject; Node gives an array when there are several.
    const name = Array.isArray(cn) ? cn[cn.length - 1] : cn;
    if (typeof name === 'string') {
      const user = view.user(name);
      if (user !== undefined) return user;
    }
    if (cert.issuerCertificate === cert) break;
    cert = cert.issuerCertificate;
  }
  return null;
}

function decide<T>(value: T | Promise<T>, rule: (v: T) => boolean): Verdict {
  return value instanceof Promise ? value.then(rule) : rule(value);
}

function authorizationHeader(req: IncomingMessage): string {
  return req.headers.authorization ?? '';
}

/**
 * etcd's hasKeyPrefixAccess. `key` is the path after /v2/keys as the client sent it (decoded,
 * trailing slash kept); write = any method but GET/HEAD. Anonymous requests get the guest role,
 * checked non-recursively whatever `recursive` says (as etcd's hasGuestAccess does).
 */
export function keyAccess(ctx: HandlerContext, req: IncomingMessage, key: string, recursive: boolean): Verdict {
  const view = authView(ctx.backend);
  if (!view.enabled()) return true;
  const write = req.method !== 'GET' && req.method !== 'HEAD';
  const header = authorizationHeader(req);
  const userMay = (user: AuthUser | null): boolean => {
    if (user === null) return false;
    for (const name of user.roles ?? []) {
      const role = view.role(name);
      if (role !== undefined && roleHasAccess(role, key, write, recursive)) return true;
    }
    return false;
  };
  if (header === '') {
    // --client-cert-auth: the certificate's common name may name the user; else the guest role.
    const certUser = ctx.clientCertAuth ? userFromClientCertificate(view, req) : null;
    if (certUser !== null) return userMay(certUser);
    const guest = view.role(GUEST_ROLE_NAME);
    return guest !== undefined && roleHasAccess(guest, key, write, false);
  }
  return decide(authenticatedUser(ctx.credentials, view, header), userMay);
}

/**
 * etcd's hasRootAccess: auth disabled, or a user holding the root role: from basic-auth
 * credentials, or (--client-cert-auth, no Authorization header) from the client certificate.
 */
export function rootAccess(ctx: HandlerContext, req: IncomingMessage): Verdict {
  const view = authView(ctx.backend);
  if (!view.enabled()) return true;
  const header = authorizationHeader(req);
  const isRoot = (user: AuthUser | null): boolean => user !== null && (user.roles ?? []).includes(ROOT_NAME);
  if (header === '') return ctx.clientCertAuth ? isRoot(userFromClientCertificate(view, req)) : false;
  return decide(authenticatedUser(ctx.credentials, view, header), isRoot);
}

/** etcd's hasWriteRootAccess: reads (GET, HEAD) are open to anyone. */
export function writeRootAccess(ctx: HandlerContext, req: IncomingMessage): Verdict {
  return req.method === 'GET' || req.method === 'HEAD' ? true : rootAccess(ctx, req);
}

/** etcd's writeNoAuth: 401 {"message":"Insufficient credentials"}, before any X-Etcd-Cluster-Id is set. */
export function sendNoAuth(res: Res): void {
  sendMessageError(res, 401, 'Insufficient credentials');
}

/** etcd's writeKeyNoAuth: errorCode 110, index 0. */
export function sendKeyNoAuth(res: Res): void {
  sendEtcdError(res, new EtcdError(ErrorCode.Unauthorized, 'Insufficient credentials', 0));
}

/**
 * Runs `allowed` when the verdict is yes, else answers with `deny`. Synchronous when the verdict
 * is; a client that left while a password was checked gets nothing.
 */
export function whenAllowed(verdict: Verdict, res: Res, deny: (res: Res) => void, allowed: () => void | Promise<void>): void | Promise<void> {
  if (verdict === true) return allowed();
  if (verdict === false) {
    deny(res);
    return;
  }
  return verdict.then((ok) => {
    if (res.destroyed) return;
    if (ok) return allowed();
    deny(res);
    return;
  });
}
