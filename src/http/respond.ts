// Writing responses the way etcd's Go server does: CORS headers on everything, Content-Length only
// for bodies Go's response buffer holds whole (2048 bytes; larger ones are chunked), Go's plain-text
// errors, etcd's error JSON and the {"message":…} errors of the members/stats handlers.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { EtcdError } from '../store/errors.js';
import { goEncode, goMarshal } from './go-json.js';
import { goHtmlEscape } from './url-path.js';

/** Go's http.Server buffers this much of a body before it switches to chunked encoding. */
const GO_RESPONSE_BUFFER_BYTES = 2048;

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_TEXT = 'text/plain; charset=utf-8';

export type Res = ServerResponse<IncomingMessage>;

/** etcd's default CORS answer (--cors not set), on every response of the client port. */
export function setCorsHeaders(res: Res): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE');
  res.setHeader('Access-Control-Allow-Headers', 'accept, content-type, authorization');
}

/**
 * Sends a complete body with Go's framing: Content-Length when it fits Go's buffer, chunked
 * otherwise. A HEAD answer carries the headers a GET would (Content-Length included) and no body.
 */
export function sendBody(res: Res, status: number, headers: OutgoingHttpHeaders, body: string): void {
  const bytes = Buffer.byteLength(body);
  if (bytes <= GO_RESPONSE_BUFFER_BYTES) headers['Content-Length'] = bytes;
  res.writeHead(status, headers);
  res.end(body);
}

/** Go's http.Error: text/plain, nosniff, the message and a newline. */
export function sendGoTextError(res: Res, status: number, message: string, extra: OutgoingHttpHeaders = {}): void {
  sendBody(
    res,
    status,
    { ...extra, 'Content-Type': CONTENT_TYPE_TEXT, 'X-Content-Type-Options': 'nosniff' },
    message + '\n',
  );
}

export function sendNotFound(res: Res): void {
  sendGoTextError(res, 404, '404 page not found');
}

/** 405 with the methods the handler accepts, comma-joined as etcd does (`HEAD,GET,PUT,POST,DELETE`). */
export function sendMethodNotAllowed(res: Res, allow: string): void {
  sendGoTextError(res, 405, 'Method Not Allowed', { Allow: allow });
}

/** etcd's v2 error (Error.WriteTo): JSON + newline, X-Etcd-Index = the error's index, never X-Raft-*. */
export function sendEtcdError(res: Res, error: EtcdError): void {
  sendBody(
    res,
    error.httpStatus(),
    { 'Content-Type': CONTENT_TYPE_JSON, 'X-Etcd-Index': error.index },
    goEncode(error.toJSON()),
  );
}

/** etcd's httptypes.HTTPError: {"message":…} without a trailing newline. */
export function sendMessageError(res: Res, status: number, message: string): void {
  sendBody(res, status, { 'Content-Type': CONTENT_TYPE_JSON }, goMarshal({ message }));
}

/** A JSON body as etcd's stats/version handlers write it (json.Marshal, no newline). */
export function sendMarshalled(res: Res, value: unknown): void {
  sendBody(res, 200, { 'Content-Type': CONTENT_TYPE_JSON }, goMarshal(value));
}

/** A JSON body as etcd's members/auth handlers write it (json.Encoder: a trailing newline). */
export function sendEncoded(res: Res, status: number, value: unknown): void {
  sendBody(res, status, { 'Content-Type': CONTENT_TYPE_JSON }, goEncode(value));
}

/**
 * Go's http.Redirect: Location, and for GET/HEAD an HTML content type; GET also gets the short
 * HTML body (`<a href="…">Moved Permanently</a>.` plus two newlines, Fprintln of a line).
 */
export function sendRedirect(res: Res, method: string, status: 301 | 307, location: string): void {
  const text = status === 301 ? 'Moved Permanently' : 'Temporary Redirect';
  const headers: OutgoingHttpHeaders = { Location: location };
  if (method === 'GET' || method === 'HEAD') headers['Content-Type'] = 'text/html; charset=utf-8';
  if (method === 'HEAD') {
    // Go writes no body for HEAD and so no Content-Length either.
    res.writeHead(status, headers);
    res.end();
    return;
  }
  sendBody(res, status, headers, method === 'GET' ? `<a href="${goHtmlEscape(location)}">${text}</a>.\n\n` : '');
}

/** A 307 to the leader: absolute (Go clients cannot follow relative ones), same path and raw query. */
export function sendLeaderRedirect(req: IncomingMessage, res: Res, leaderURL: string, redirectedBy?: string): void {
  let url = req.url ?? '/';
  // A write redirected to the leader names the member that redirected it, so that the leader
  // answers only once that member has applied it: the client's next read there sees its write.
  if (redirectedBy !== undefined && !REDIRECTED_BY_PARAM.test(url)) url += `${url.includes('?') ? '&' : '?'}${REDIRECTED_BY}=${redirectedBy}`;
  sendRedirect(res, req.method ?? 'GET', 307, leaderURL + url);
}

/** The query parameter a redirected write carries to the leader: the redirecting member's id (hex). */
export const REDIRECTED_BY = 'redirectedBy';
const REDIRECTED_BY_PARAM = /[?&]redirectedBy=/;

/**
 * Go's answer to a request line it cannot parse (e.g. a bad %-escape in the path): written by the
 * server itself, so without CORS headers, and the connection is closed.
 */
export function sendBadRequestLine(res: Res): void {
  const body = '400 Bad Request';
  res.writeHead(400, { 'Content-Type': CONTENT_TYPE_TEXT, Connection: 'close', 'Content-Length': body.length });
  res.end(body);
}
