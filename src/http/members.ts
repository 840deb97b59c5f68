// /v2/members, /v2/members/leader and /v2/machines (etcd's membersHandler and machinesHandler).
// Membership changes are validated as etcd validates them (Content-Type, JSON, URLs, unknown ids,
// peer URLs in use); applying one needs the cluster runtime, so a valid change is refused with a
// 500 in etcd's {"message":…} shape until then.
import type { IncomingMessage } from 'node:http';
import { MemberChangeError, ProposalError, type MemberInfo } from '../server/backend.js';
import { parseMemberURLs } from '../server/urls.js';
import { sendNoAuth, whenAllowed, writeRootAccess } from './auth-access.js';
import { readTextBody } from './body.js';
import type { HandlerContext } from './context.js';
import { awaitRedirectingMember, onLeader, redirectedByOf } from './leader.js';
import {
  CONTENT_TYPE_TEXT,
  sendBody,
  sendEncoded,
  sendGoTextError,
  sendLeaderRedirect,
  sendMessageError,
  sendMethodNotAllowed,
  type Res,
} from './respond.js';

const MEMBERS_ALLOW = 'GET,POST,DELETE,PUT';
const MACHINES_ALLOW = 'GET,HEAD';
/** A membership request body is tiny; anything bigger is not one. */
const MAX_MEMBER_BODY_BYTES = 64 * 1024;

/** A member in etcd's JSON field order (the backend's object may hold its fields in another order). */
function memberJSON(m: MemberInfo): MemberInfo {
  return { id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs };
}

/** Member ids are unpadded hex: a longer id is larger, equal lengths compare as text. */
function byNumericId(a: MemberInfo, b: MemberInfo): number {
  if (a.id.length !== b.id.length) return a.id.length - b.id.length;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** `rest` is what follows `/v2/members` in the path ('' or '/...'). */
export function serveMembers(ctx: HandlerContext, req: IncomingMessage, res: Res, rest: string): void | Promise<void> {
  const method = req.method;
  if (method !== 'GET' && method !== 'POST' && method !== 'DELETE' && method !== 'PUT') {
    sendMethodNotAllowed(res, MEMBERS_ALLOW);
    return;
  }
  // etcd's hasWriteRootAccess: with auth on, only root may add, update or remove members
  return whenAllowed(writeRootAccess(ctx, req), res, sendNoAuth, () => serveMembersAllowed(ctx, req, res, method, rest));
}

function serveMembersAllowed(ctx: HandlerContext, req: IncomingMessage, res: Res, method: 'GET' | 'POST' | 'DELETE' | 'PUT', rest: string): void | Promise<void> {
  res.setHeader('X-Etcd-Cluster-Id', ctx.backend.clusterId);
  const sub = rest.startsWith('/') ? rest.slice(1) : rest;
  switch (method) {
    case 'GET':
      serveMembersGet(ctx, res, sub);
      return;
    case 'POST':
      return serveMemberAdd(ctx, req, res);
    case 'DELETE':
    case 'PUT':
      return serveMemberChange(ctx, req, res, method, sub);
  }
}

function serveMembersGet(ctx: HandlerContext, res: Res, sub: string): void {
  if (sub === '') {
    const members = ctx.backend.members().slice().sort(byNumericId).map(memberJSON);
    sendEncoded(res, 200, { members });
    return;
  }
  if (sub === 'leader') {
    const leader = ctx.backend.leader();
    if (leader === null) {
      sendMessageError(res, 503, 'During election');
      return;
    }
    sendEncoded(res, 200, memberJSON(leader));
    return;
  }
  sendMessageError(res, 404, 'Not found');
}

async function serveMemberAdd(ctx: HandlerContext, req: IncomingMessage, res: Res): Promise<void> {
  const peerURLs = await readPeerURLs(req, res);
  if (peerURLs === null) return;
  const addMember = ctx.backend.addMember?.bind(ctx.backend);
  if (addMember === undefined) {
    if (peerURLInUse(ctx, peerURLs, null)) {
      sendMessageError(res, 409, 'membership: peerURL exists');
      return;
    }
    refuseMembershipChange(ctx, res, 'add');
    return;
  }
  // etcd checks the cluster's health first, then the peer URLs (the leader does both).
  const outcome = await runMemberChange(ctx, () => addMember(peerURLs));
  await answerMemberChange(ctx, req, res, outcome, (added) => sendEncoded(res, 201, memberJSON(added)));
}

/**
 * Answers a membership change that ran through the leader: the redirect to it, etcd's error, or,
 * once the member that redirected the request applied the change (read-your-writes), `done`.
 */
async function answerMemberChange<T>(ctx: HandlerContext, req: IncomingMessage, res: Res, outcome: MemberChangeOutcome<T>, done: (value: T) => void): Promise<void> {
  if (res.destroyed) return;
  if (outcome.kind === 'redirect') return sendLeaderRedirect(req, res, outcome.leaderURL, ctx.backend.self.id);
  if (outcome.kind === 'failed') return sendMemberChangeFailure(res, outcome.error);
  const late = await awaitRedirectingMember(ctx.backend, redirectedByOf(req.url));
  if (res.destroyed) return;
  if (late !== null) return sendMessageError(res, 500, late);
  done(outcome.value);
}

type MemberChangeOutcome<T> = { kind: 'done'; value: T } | { kind: 'redirect'; leaderURL: string } | { kind: 'failed'; error: MemberChangeError | string };

/** A membership change on the leader (a follower redirects to it), with etcd's errors kept apart from raft's. */
async function runMemberChange<T>(ctx: HandlerContext, op: () => Promise<T>): Promise<MemberChangeOutcome<T>> {
  let refused: MemberChangeError | null = null;
  const outcome = await onLeader(
    ctx.backend,
    () =>
      op().catch((err: unknown) => {
        if (err instanceof MemberChangeError) refused = err;
        throw err instanceof MemberChangeError ? new ProposalError(err.message) : err;
      }),
    { ...ctx.leader, neverForward: true },
  );
  if (refused !== null) return { kind: 'failed', error: refused };
  if (outcome.kind === 'failed') return { kind: 'failed', error: outcome.cause };
  return outcome;
}

function sendMemberChangeFailure(res: Res, error: MemberChangeError | string): void {
  if (res.destroyed || res.headersSent) return;
  if (error instanceof MemberChangeError) return sendMessageError(res, error.status, error.message);
  // etcd's WriteError for a server error that is not an etcd error: 500 {"message":"Internal Server Error"}.
  sendMessageError(res, 500, 'Internal Server Error');
}

async function serveMemberChange(ctx: HandlerContext, req: IncomingMessage, res: Res, method: 'PUT' | 'DELETE', sub: string): Promise<void> {
  if (sub === '') {
    // etcd's getID answers a bare http.Error here: no Allow header
    sendGoTextError(res, 405, 'Method Not Allowed');
    return;
  }
  const id = parseMemberId(sub);
  if (id === null) {
    sendMessageError(res, 404, `No such member: ${sub}`);
    return;
  }
  let peerURLs: string[] | null = null;
  if (method === 'PUT') {
    peerURLs = await readPeerURLs(req, res);
    if (peerURLs === null) return;
  }
  const member = ctx.backend.members().find((m) => m.id === id);
  if (member === undefined) {
    if (ctx.backend.isRemovedMember?.(id) === true) {
      // etcd: 410 for a removed member on DELETE; an update of one fails inside the server (500)
      if (method === 'DELETE') sendMessageError(res, 410, `Member permanently removed: ${id}`);
      else sendMessageError(res, 500, 'Internal Server Error');
      return;
    }
    sendMessageError(res, 404, `No such member: ${id}`);
    return;
  }
  const removeMember = ctx.backend.removeMember?.bind(ctx.backend);
  if (method === 'DELETE' && removeMember !== undefined) {
    const outcome = await runMemberChange(ctx, () => removeMember(id));
    await answerMemberChange(ctx, req, res, outcome, () => {
      res.writeHead(204);
      res.end();
    });
    return;
  }
  if (peerURLs !== null && peerURLInUse(ctx, peerURLs, id)) {
    sendMessageError(res, 409, 'membership: peerURL exists');
    return;
  }
  const updateMember = ctx.backend.updateMember?.bind(ctx.backend);
  if (peerURLs !== null && updateMember !== undefined) {
    const urls = peerURLs;
    const outcome = await onLeader(ctx.backend, () => updateMember(id, urls), ctx.leader);
    if (res.destroyed) return;
    if (outcome.kind === 'redirect') {
      sendLeaderRedirect(req, res, outcome.leaderURL, ctx.backend.self.id);
    } else if (outcome.kind === 'failed') {
      sendMessageError(res, 500, outcome.cause);
    } else {
      // Read-your-writes: the member that redirected this update applies it first.
      const late = await awaitRedirectingMember(ctx.backend, redirectedByOf(req.url));
      if (res.destroyed) return;
      if (late !== null) return sendMessageError(res, 500, late);
      res.writeHead(204);
      res.end();
    }
    return;
  }
  refuseMembershipChange(ctx, res, method === 'PUT' ? 'update' : 'remove');
}

/** types.IDFromString: hex up to 64 bits, printed back without padding. */
function parseMemberId(text: string): string | null {
  if (!/^[0-9A-Fa-f]{1,16}$/.test(text)) return null;
  return BigInt('0x' + text).toString(16);
}

function peerURLInUse(ctx: HandlerContext, peerURLs: readonly string[], exceptId: string | null): boolean {
  return ctx.backend.members().some((m) => m.id !== exceptId && m.peerURLs.some((u) => peerURLs.includes(u)));
}

function refuseMembershipChange(ctx: HandlerContext, res: Res, what: string): void {
  ctx.logger.warn({ change: what }, 'membership change refused: not supported by this runtime');
  sendMessageError(res, 500, `etcd-ts: member ${what} is not supported yet`);
}

/**
 * etcd's unmarshalRequest + MemberCreateRequest: Content-Type must be application/json (415
 * otherwise), the body {"peerURLs":[…]} with valid URLs (400 otherwise). Null once answered.
 */
async function readPeerURLs(req: IncomingMessage, res: Res): Promise<string[] | null> {
  const header = req.headers['content-type'] ?? '';
  const semi = header.indexOf(';');
  const contentType = semi === -1 ? header : header.slice(0, semi).trim().toLowerCase();
  if (contentType !== 'application/json') {
    sendMessageError(res, 415, `Bad Content-Type ${contentType}, accept application/json`);
    return null;
  }
  const body = await readTextBody(req, res, MAX_MEMBER_BODY_BYTES, 'http: request body too large');
  if (body === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err: unknown) {
    sendMessageError(res, 400, goJSONSyntaxError(body, err));
    return null;
  }
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as { peerURLs?: unknown }).peerURLs : undefined;
  const texts = Array.isArray(list) && list.every((u): u is string => typeof u === 'string') ? list : [];
  const urls = parseMemberURLs(texts);
  if ('error' in urls) {
    sendMessageError(res, 400, urls.error);
    return null;
  }
  return urls.map((u) => u.text);
}

/** /v2/machines: every member's client URLs, sorted, joined with ", ", as text. */
export function serveMachines(ctx: HandlerContext, req: IncomingMessage, res: Res): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendMethodNotAllowed(res, MACHINES_ALLOW);
    return;
  }
  const urls = ctx.backend.members().flatMap((m) => m.clientURLs).sort();
  sendBody(res, 200, { 'Content-Type': CONTENT_TYPE_TEXT }, urls.join(', '));
}

/** Go's encoding/json syntax error text for the common failures V8 reports (approximate otherwise). */
function goJSONSyntaxError(body: string, err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  if (body.trim() === '' || message.includes('Unexpected end of JSON input')) return 'unexpected end of JSON input';
  const quote = (c: string | undefined): string => (c === undefined ? '' : c === "'" ? "'\\''" : `'${c}'`);
  let m = /Unexpected token '(.)'/.exec(message);
  if (m !== null) return `invalid character ${quote(m[1])} looking for beginning of value`;
  m = /Expected ':' after property name in JSON at position (\d+)/.exec(message);
  if (m !== null) return `invalid character ${quote(body[Number(m[1])])} after object key`;
  m = /after JSON at position (\d+)/.exec(message);
  if (m !== null) return `invalid character ${quote(body[Number(m[1])])} after top-level value`;
  return 'invalid character in JSON input';
}
