// One etcd v2 client operation over HTTP, as the jepsen runner issues it: to one member, following
// 307 redirects (at most 3 hops) within one deadline, classified as ok, definite failure (an etcd
// error JSON with a 4xx status, or a connection refused before anything was sent) or indeterminate
// (timeout, a connection broken after the request went out, 5xx, too many hops).
import { Agent, request } from 'undici';
import type { Op, OpKind } from './history.js';

export interface OpRequest {
  kind: OpKind;
  /** The key's path, e.g. /jepsen-1/k0. */
  key: string;
  value?: string | undefined;
  prevValue?: string | undefined;
  prevIndex?: number | undefined;
}

export type OpResult = Pick<Op, 'outcome' | 'readValue' | 'index' | 'errorCode' | 'member' | 'error'>;

const MAX_HOPS = 3;
const MAX_BODY_BYTES = 64 * 1024;
/** Connection errors raised before any request byte is written (undici connects, then writes). */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function makeAgent(): Agent {
  return new Agent({ keepAliveTimeout: 4000, connections: 64, connect: { timeout: 1000 } });
}

function encode(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
}

/** Sends `op` to `baseURL` (a member's client URL); never throws. */
export async function runOp(agent: Agent, baseURL: string, op: OpRequest, timeoutMs: number): Promise<OpResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  let method: 'GET' | 'PUT' | 'DELETE' = 'PUT';
  let query = '';
  let body: string | undefined;
  switch (op.kind) {
    case 'read':
      method = 'GET';
      query = '?quorum=true';
      break;
    case 'write':
      body = encode({ value: op.value });
      break;
    case 'cas-value':
      body = encode({ value: op.value, prevValue: op.prevValue });
      break;
    case 'cas-index':
      body = encode({ value: op.value, prevIndex: op.prevIndex });
      break;
    case 'create':
      body = encode({ value: op.value, prevExist: 'false' });
      break;
    case 'delete':
      method = 'DELETE';
      break;
  }
  let url = `${baseURL}/v2/keys${op.key}${query}`;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const member = new URL(url).host;
    let status: number;
    let location: string | undefined;
    let text = '';
    try {
      const res = await request(url, {
        method,
        dispatcher: agent,
        signal,
        headers: body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
        body,
      });
      status = res.statusCode;
      const loc = res.headers['location'];
      location = Array.isArray(loc) ? loc[0] : loc;
      for await (const chunk of res.body) {
        if (text.length < MAX_BODY_BYTES) text += (chunk as Buffer).toString('utf8');
      }
    } catch (err) {
      const e = err as Error & { code?: string };
      if (signal.aborted) return { outcome: 'info', member, error: `timeout after ${timeoutMs} ms` };
      // No connection was made, so not a byte of this hop was sent; earlier hops were 307s, which
      // apply nothing. The operation certainly did not take effect: a definite failure (without an
      // etcd code, which the checker drops), not an indeterminate one.
      if (NOT_SENT.has(e.code ?? '')) return { outcome: 'fail', member, error: `${e.code}: ${e.message}` };
      return { outcome: 'info', member, error: `${e.code ?? e.name}: ${e.message}` };
    }
    if (status === 307 || status === 308) {
      if (location === undefined) return { outcome: 'info', member, error: `${status} without Location` };
      url = new URL(location, url).toString();
      continue;
    }
    let json: { node?: { value?: string; modifiedIndex?: number }; errorCode?: number; message?: string } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // not JSON: classified by status below
    }
    if (status >= 200 && status < 300) {
      const index = json.node?.modifiedIndex;
      if (typeof index !== 'number') return { outcome: 'info', member, error: `${status} without node.modifiedIndex` };
      return op.kind === 'read' ? { outcome: 'ok', member, readValue: json.node?.value ?? '', index } : { outcome: 'ok', member, index };
    }
    if (status >= 400 && status < 500 && typeof json.errorCode === 'number') {
      return { outcome: 'fail', member, errorCode: json.errorCode, error: json.message };
    }
    return { outcome: 'info', member, error: `HTTP ${status} ${text.slice(0, 200).trim()}` };
  }
  return { outcome: 'info', error: `more than ${MAX_HOPS} redirects` };
}
