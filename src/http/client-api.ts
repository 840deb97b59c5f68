// The client port's request handler: what etcd's accessController + Go ServeMux do before a handler
// runs (request-target decoding, CORS headers, OPTIONS preflight, 301 to the cleaned path, routing
// by exact path, 404), then the endpoint handlers. Routing is plain string comparison: no regex and
// no per-request allocation beyond the decoded path, because this is the hot path.
import type { IncomingMessage } from 'node:http';
import { handlerContext, type ClientApiOptions, type HandlerContext } from './context.js';
import { serveKeys } from './keys.js';
import { serveMachines, serveMembers } from './members.js';
import { sendBadRequestLine, sendNotFound, sendRedirect, setCorsHeaders, type Res } from './respond.js';
import { serveHealth, serveStats, serveVersion } from './status.js';
import { goCleanPath, goEscapePath, goHtmlEscape, isCleanPath, parseRequestTarget } from './url-path.js';

export type ClientRequestHandler = (req: IncomingMessage, res: Res) => void | Promise<void>;

const KEYS = '/v2/keys';
const MEMBERS = '/v2/members';

export function createClientHandler(options: ClientApiOptions): ClientRequestHandler {
  const ctx = handlerContext(options);
  return (req, res) => route(ctx, req, res);
}

function route(ctx: HandlerContext, req: IncomingMessage, res: Res): void | Promise<void> {
  const target = parseRequestTarget(req.url ?? '/');
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
  if (path.startsWith(KEYS) && (path.length === KEYS.length || path.charCodeAt(KEYS.length) === 0x2f)) {
    return serveKeys(ctx, req, res, path.slice(KEYS.length), target.rawQuery);
  }
  if (path.startsWith(MEMBERS) && (path.length === MEMBERS.length || path.charCodeAt(MEMBERS.length) === 0x2f)) {
    return serveMembers(ctx, req, res, path.slice(MEMBERS.length));
  }
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
    default:
      sendNotFound(res);
  }
}

/** Go's ServeMux: 301 to the cleaned path, re-escaped, query kept; a relative Location. */
function redirectToCleanPath(req: IncomingMessage, res: Res, cleanPath: string, rawQuery: string): void {
  const location = goEscapePath(cleanPath) + (rawQuery === '' ? '' : '?' + rawQuery);
  sendRedirect(res, req.method ?? 'GET', 301, location, goHtmlEscape(location));
}
