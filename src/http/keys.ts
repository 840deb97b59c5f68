// /v2/keys: etcd's keysHandler. Reads the form, validates it (parameter errors: index 0, nothing
// proposed), then serves GET/HEAD from the local store (quorum=true after a read barrier,
// wait=true as a watch) and turns PUT/POST/DELETE into a command proposed to the member.
import type { IncomingMessage } from 'node:http';
import { v2Request, type V2Method } from '../store/command.js';
import { ErrorCode, EtcdError } from '../store/errors.js';
import { eventBody, type V2Event } from '../store/event.js';
import type { ApplyResult } from '../store/store.js';
import { authView, keyAccess, sendKeyNoAuth, whenAllowed } from './auth-access.js';
import { readFormBody, type BodyResult } from './body.js';
import type { HandlerContext } from './context.js';
import { parseQueryInto, type Form } from './form.js';
import { goEncode } from './go-json.js';
import { parseKeyRequest, type KeyRequest, type KeysMethod } from './keys-params.js';
import { awaitRedirectingMember, onLeader, type LeaderOutcome } from './leader.js';
import { CONTENT_TYPE_JSON, REDIRECTED_BY, sendBody, sendEtcdError, sendLeaderRedirect, sendMethodNotAllowed, type Res } from './respond.js';
import { expirationFromTtl } from './ttl.js';
import { serveWatch } from './watch.js';

const KEYS_ALLOW = 'HEAD,GET,PUT,POST,DELETE';

/** Actions whose node and prevNode noValueOnSuccess drops. */
const valueActions: ReadonlySet<string> = new Set(['set', 'create', 'update', 'compareAndSwap']);

function keysMethod(method: string | undefined): KeysMethod | null {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'PUT':
    case 'POST':
    case 'DELETE':
      return method;
    default:
      return null;
  }
}

/**
 * Serves one /v2/keys request. `keyPart` is the decoded, clean path after `/v2/keys` ('' or '/...').
 * Synchronous for plain reads (the hot path); a promise when it waits for a body or the member.
 */
export function serveKeys(ctx: HandlerContext, req: IncomingMessage, res: Res, keyPart: string, rawQuery: string): void | Promise<void> {
  const method = keysMethod(req.method);
  if (method === null) {
    sendMethodNotAllowed(res, KEYS_ALLOW);
    return;
  }
  res.setHeader('X-Etcd-Cluster-Id', ctx.backend.clusterId);
  if (method === 'PUT' || method === 'POST') return serveWithBody(ctx, req, res, method, keyPart, rawQuery);
  const form: Form = new Map();
  const formError = rawQuery === '' ? null : parseQueryInto(form, rawQuery);
  return serveForm(ctx, req, res, method, keyPart, form, formError);
}

async function serveWithBody(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: Res,
  method: 'PUT' | 'POST',
  keyPart: string,
  rawQuery: string,
): Promise<void> {
  let body: BodyResult;
  try {
    body = await readFormBody(req, ctx.maxRequestBytes);
  } catch {
    res.destroy(); // the client went away mid-body: nobody to answer
    return;
  }
  if (!body.ok) {
    // The rest of the body is left unread, so the connection cannot be reused (as Go does).
    res.setHeader('Connection', 'close');
    sendEtcdError(res, new EtcdError(ErrorCode.InvalidForm, 'http: POST too large', 0));
    return;
  }
  // Go's ParseForm: body fields first (so they win), then the query; the first error is reported.
  const form: Form = new Map();
  let formError = body.mediaError;
  if (body.form !== null) {
    const bodyError = parseQueryInto(form, body.form);
    formError ??= bodyError;
  }
  if (rawQuery !== '') {
    const queryError = parseQueryInto(form, rawQuery);
    formError ??= queryError;
  }
  await serveForm(ctx, req, res, method, keyPart, form, formError);
}

function serveForm(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: Res,
  method: KeysMethod,
  keyPart: string,
  form: Form,
  formError: string | null,
): void | Promise<void> {
  if (formError !== null) {
    sendEtcdError(res, new EtcdError(ErrorCode.InvalidForm, formError, 0));
    return;
  }
  const kr = parseKeyRequest(method, keyPart, form);
  if (kr instanceof EtcdError) {
    sendEtcdError(res, kr);
    return;
  }
  // etcd reads its auth flag from the store first (a counted get), then checks the permission (110)
  ctx.backend.store.recordKeysRequest(authView(ctx.backend).initialised());
  const verdict = keyAccess(ctx, req, keyPart, kr.recursive);
  const redirectedBy = form.get(REDIRECTED_BY);
  if (verdict === true) return serveAllowed(ctx, req, res, method, kr, redirectedBy); // auth off: no closure on the hot path
  return whenAllowed(verdict, res, sendKeyNoAuth, () => serveAllowed(ctx, req, res, method, kr, redirectedBy));
}

function serveAllowed(ctx: HandlerContext, req: IncomingMessage, res: Res, method: KeysMethod, kr: KeyRequest, redirectedBy: string | undefined): void | Promise<void> {
  if (method === 'GET' || method === 'HEAD') {
    // quorum wins over wait: etcd turns a quorum GET into QGET before looking at wait
    if (method === 'GET' && kr.quorum) return serveQuorumGet(ctx, req, res, kr);
    if (method === 'GET' && kr.wait) {
      serveWatch(ctx, res, kr);
      return;
    }
    serveGet(ctx, res, kr);
    return;
  }
  return serveWrite(ctx, req, res, method, kr, redirectedBy);
}

function serveGet(ctx: HandlerContext, res: Res, kr: KeyRequest): void {
  const result = ctx.backend.store.get(kr.path, kr.recursive, kr.sorted, ctx.backend.now());
  sendApplyResult(ctx, res, result, false);
}

async function serveQuorumGet(ctx: HandlerContext, req: IncomingMessage, res: Res, kr: KeyRequest): Promise<void> {
  const outcome = await onLeader(ctx.backend, () => ctx.backend.readBarrier(), ctx.leader);
  if (answerUnlessDone(ctx, req, res, outcome)) return;
  serveGet(ctx, res, kr);
}

async function serveWrite(ctx: HandlerContext, req: IncomingMessage, res: Res, method: V2Method, kr: KeyRequest, redirectedBy: string | undefined): Promise<void> {
  const nowMs = ctx.backend.now();
  const command = v2Request({
    method,
    path: kr.path,
    val: kr.value,
    dir: kr.dir,
    prevValue: kr.prevValue,
    prevIndex: kr.prevIndex,
    ...(kr.prevIndexText !== undefined ? { prevIndexText: kr.prevIndexText } : {}),
    prevExist: kr.prevExist,
    expiration: kr.ttl === null ? 0 : expirationFromTtl(kr.ttl, nowMs),
    refresh: kr.refresh,
    recursive: kr.recursive,
    time: nowMs,
  });
  const outcome = await onLeader(ctx.backend, () => ctx.backend.propose(command), ctx.leader);
  if (answerUnlessDone(ctx, req, res, outcome, true)) return;
  if (outcome.kind !== 'done') return;
  // Read-your-writes: the member that redirected this write applies it before the client hears back.
  const late = await awaitRedirectingMember(ctx.backend, redirectedBy);
  if (late !== null) {
    if (!res.destroyed) sendEtcdError(res, new EtcdError(ErrorCode.RaftInternal, late, 0));
    return;
  }
  if (res.destroyed) return;
  sendApplyResult(ctx, res, outcome.value, kr.noValueOnSuccess);
}

/** Answers a redirect or a raft failure; returns false when the operation succeeded and the caller answers. */
function answerUnlessDone<T>(ctx: HandlerContext, req: IncomingMessage, res: Res, outcome: LeaderOutcome<T>, write = false): boolean {
  if (res.destroyed) return true; // the client left while we waited
  switch (outcome.kind) {
    case 'done':
      return false;
    case 'redirect':
      sendLeaderRedirect(req, res, outcome.leaderURL, write ? ctx.backend.self.id : undefined);
      return true;
    case 'failed':
      ctx.logger.warn({ cause: outcome.cause, method: req.method, url: req.url }, 'request failed in raft');
      sendEtcdError(res, new EtcdError(ErrorCode.RaftInternal, outcome.cause, 0));
      return true;
  }
}

function sendApplyResult(ctx: HandlerContext, res: Res, result: ApplyResult, noValueOnSuccess: boolean): void {
  if (!result.ok) {
    sendEtcdError(res, result.error);
    return;
  }
  if (result.event === null) throw new Error('keys: the store answered a client request without an event');
  sendKeyEvent(ctx, res, result.event, noValueOnSuccess);
}

/** etcd's writeKeyEvent: 201 for a creation, X-Etcd-Index = the event's index, X-Raft-* of now. */
function sendKeyEvent(ctx: HandlerContext, res: Res, ev: V2Event, noValueOnSuccess: boolean): void {
  const created = ev.action === 'create' || (ev.action === 'set' && ev.prevNode === undefined);
  const body = noValueOnSuccess && valueActions.has(ev.action) ? { action: ev.action } : eventBody(ev);
  sendBody(
    res,
    created ? 201 : 200,
    {
      'Content-Type': CONTENT_TYPE_JSON,
      'X-Etcd-Index': ev.index,
      'X-Raft-Index': ctx.backend.raftIndex(),
      'X-Raft-Term': ctx.backend.raftTerm(),
    },
    goEncode(body),
  );
}
