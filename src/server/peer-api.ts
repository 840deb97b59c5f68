// The member's own peer endpoints beside raft's (/members, /members/publish, ...), written as
// plain functions of a small request object rather than of node:http objects: the peer listener
// adapts real HTTP to them (servePeerApi), and the whole-member simulator calls them directly
// through its simulated network, so the same validation code runs in both. The matching client
// side is PeerClient: HTTP in the binary (httpPeerClient), the simulated network in test/sim.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import { readBoundedBody } from '../transport/body.js';
import type { ClientTLSOptions } from './tls.js';

export interface PeerApiRequest {
  method: string;
  /** The path without the query. */
  path: string;
  /** The raw query, without the '?' ('' or absent when there is none). */
  query?: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

export interface PeerApiResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON with Content-Type application/json. */
  json?: unknown;
  /** Sent as text/plain when json is absent. */
  text?: string;
}

/** Answers one request; undefined when the path is not one of this handler's. */
export type PeerApiHandler = (req: PeerApiRequest) => Promise<PeerApiResponse> | PeerApiResponse | undefined;

export interface PeerApiReply {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

/** What a member sends to another member's peer API. Rejects on a network failure or timeout. */
export interface PeerClient {
  request(baseURL: string, req: { method: string; path: string; headers?: Record<string, string>; json?: unknown }, timeoutMs: number): Promise<PeerApiReply>;
}

/**
 * The peer API over HTTP(S): undici's request() on one keep-alive Agent (several times cheaper than
 * fetch, and forwarded writes and read-your-writes waits come in bursts). With `tls`, https:// peer
 * URLs are reached with the peer CA and this member's peer certificate (--peer-*-file).
 */
export function createHttpPeerClient(tls?: ClientTLSOptions): PeerClient {
  const agent = new Agent({
    connections: 128,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    ...(tls !== undefined ? { connect: { ...tls } } : {}),
  });
  return {
    async request(baseURL, req, timeoutMs) {
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      if (req.json !== undefined) headers['content-type'] = 'application/json';
      const res = await request(`${baseURL.replace(/\/$/, '')}${req.path}`, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: req.json === undefined ? null : peerJsonText(req.json),
        signal: AbortSignal.timeout(timeoutMs),
        dispatcher: agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = new Uint8Array(await res.body.arrayBuffer());
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      return { status: res.statusCode, headers: out, body };
    },
  };
}

/** The peer client of a member without peer TLS (one for the process). */
export const httpPeerClient: PeerClient = createHttpPeerClient();

/**
 * A peer request's or answer's JSON text. The only bigints in peer JSON are member and cluster
 * ids: written as etcd writes ids, lower-case hex strings (a JSON number cannot hold 64 bits).
 */
export function peerJsonText(v: unknown): string {
  return JSON.stringify(v, (_key, x: unknown) => (typeof x === 'bigint' ? x.toString(16) : x));
}

/** Parses a reply's body as JSON; undefined when it is not JSON. */
export function replyJson(reply: PeerApiReply): unknown {
  try {
    return JSON.parse(Buffer.from(reply.body).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Adapts a PeerApiHandler to node:http. Returns false (and touches nothing) when the path is not
 * the handler's; bodies are read under maxBodyBytes (a larger one is answered 413 and the
 * connection closed).
 */
export function servePeerApi(handler: PeerApiHandler, paths: ReadonlySet<string>, maxBodyBytes: number): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (!paths.has(path)) return false;
    void (async () => {
      const read = await readBoundedBody(req, maxBodyBytes);
      if (!read.ok) {
        if (read.reason === 'too-large') writeReply(res, { status: 413, text: `body exceeds ${maxBodyBytes} bytes`, headers: { connection: 'close' } });
        return;
      }
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      let reply: PeerApiResponse | undefined;
      try {
        reply = await handler({ method: req.method ?? 'GET', path, query: q === -1 ? '' : url.slice(q + 1), headers, body: read.body });
      } catch {
        reply = { status: 500, text: 'internal error' };
      }
      writeReply(res, reply ?? { status: 404, text: '404 page not found' });
    })();
    return true;
  };
}

function writeReply(res: ServerResponse, reply: PeerApiResponse): void {
  if (res.headersSent) return;
  res.statusCode = reply.status;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (reply.json !== undefined) {
    res.setHeader('Content-Type', 'application/json');
    res.end(peerJsonText(reply.json));
  } else if (reply.text !== undefined) {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`${reply.text}\n`);
  } else {
    res.end();
  }
}
