// The client port's request handler: what etcd's accessController + Go ServeMux do before a handler
// runs (request-target decoding, CORS headers, OPTIONS preflight, 301 to the cleaned path, routing
// by exact path, 404), then the endpoint handlers. Routing is plain string comparison: no regex and
// no per-request allocation beyond the decoded path, because this is the hot path.
import type { IncomingMessage } from 'node:http';
import { matchAuthRoute, serveAuth } from './auth.js';
import { handlerContext, type ClientApiOptions, type HandlerContext } from './context.js';
import { answerInternalError } from './internal-error.js';
import { serveKeys } from './keys.js';
import { serveMachines, serveMembers } from './members.js';
import { sendBadRequestLine, sendNotFound, sendRedirect, setCorsHeaders, type Res } from './respond.js';
import { serveHealth, serveStats, serveVersion } from './status.js';
import { goCleanPath, goEscapePath, isCleanPath, parseRequestTarget } from './url-path.js';
import { isUiPath, uiStaticRoute } from './ui-static.js';

/** A plain Node request listener: mount it on any http.Server (or inside Express, see app.ts). */
export type ClientRequestHandler = (req: IncomingMessage, res: Res) => void;

const KEYS = '/v2/keys';
const MEMBERS = '/v2/members';

/** The client API as a request listener; every failure it does not expect becomes an etcd-shaped 500. */
export function createClientHandler(options: ClientApiOptions): ClientRequestHandler {
  const ctx = handlerContext(options);
  const ui = uiStaticRoute();
  return (req, res) => {
    try {
      const pending = route(ctx, ui, req, res);
      if (pending !== undefined) pending.catch((err: unknown) => answerInternalError(ctx.logger, err, req, res));
    } catch (err: unknown) {
      answerInternalError(ctx.logger, err, req, res);
    }
  };
}

type UiRoute = ReturnType<typeof uiStaticRoute>;

function route(ctx: HandlerContext, ui: UiRoute, req: IncomingMessage, res: Res): void | Promise<void> {
  const url = req.url ?? '/';
  if (url === '*' && req.method === 'OPTIONS') {
    // Go's server answers `OPTIONS *` itself, before any handler (so without CORS headers)
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    return;
  }
  const target = parseRequestTarget(url);
  if (target === null) {
    sendBadRequestLine(res);
    return;
  }
  setCorsHeaders(res);
  if (req.method === 'OPTIONS') {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    return;
  }
  const path = target.path;
  if (!isCleanPath(path)) {
    redirectToCleanPath(req, res, goCleanPath(path), target.rawQuery);
    return;
  }
  if (isAtOrBelow(path, KEYS)) return serveKeys(ctx, req, res, path.slice(KEYS.length), target.rawQuery);
  if (isAtOrBelow(path, MEMBERS)) return serveMembers(ctx, req, res, path.slice(MEMBERS.length));
  // The live view's page (issue 14): static files, read-only.
  if (isUiPath(path)) return ui(req, res, path);
  const authRoute = matchAuthRoute(path);
  if (authRoute !== null) return serveAuth(ctx, req, res, authRoute);
  switch (path) {
    case '/v2/machines':
      return serveMachines(ctx, req, res);
    case '/v2/stats/self':
      return serveStats(ctx, req, res, 'self');
    case '/v2/stats/leader':
      return serveStats(ctx, req, res, 'leader');
    case '/v2/stats/store':
      return serveStats(ctx, req, res, 'store');
    case '/version':
      return serveVersion(req, res);
    case '/health':
      return serveHealth(ctx, req, res);
    default: {
      const extra = ctx.extraRoutes.get(path);
      if (extra !== undefined) return extra(req, res);
      sendNotFound(res);
    }
  }
}

/** `prefix` itself or a path below it (`/v2/keys`, `/v2/keys/a`; not `/v2/keysfoo`). */
function isAtOrBelow(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f);
}

/** Go's ServeMux: 301 to the cleaned path, re-escaped, query kept; a relative Location. */
function redirectToCleanPath(req: IncomingMessage, res: Res, cleanPath: string, rawQuery: string): void {
  const location = goEscapePath(cleanPath) + (rawQuery === '' ? '' : '?' + rawQuery);
  sendRedirect(res, req.method ?? 'GET', 301, location);
}
