// A v2 keys client for the cluster tests. It follows 307/308 redirects itself (absolute Location
// only, as the Go v2 client; at most `maxHops`), and reports the outcome of every write as
//   acknowledged   a 2xx etcd event: the cluster promised the write is durable
//   failed         certainly not applied: refused connection, a 4xx answer, a redirect that could
//                  not be followed
//   indeterminate  maybe applied: timeout, connection lost mid-request, a 5xx (e.g. errorCode 300
//                  "request timed out": the proposal may still commit)
import { HttpClient, HttpFailure, type ClientTLS, type HttpRequest, type HttpResponse } from './cluster-http.js';

export type WriteOutcome =
  | { kind: 'acknowledged'; status: number; action: string; modifiedIndex: number; hops: string[]; body: string }
  | { kind: 'failed'; reason: string; status?: number; hops: string[] }
  | { kind: 'indeterminate'; reason: string; status?: number; hops: string[] };

export interface EtcdNode {
  key?: string;
  value?: string;
  dir?: boolean;
  ttl?: number;
  expiration?: string;
  nodes?: EtcdNode[];
  modifiedIndex?: number;
  createdIndex?: number;
}

export interface EtcdEvent {
  action: string;
  node: EtcdNode;
  prevNode?: EtcdNode;
}

export interface ReadResult extends HttpResponse {
  /** Parsed JSON body (an event or an etcd error), or undefined when the body is not JSON. */
  json: (EtcdEvent & { errorCode?: number; message?: string; cause?: string }) | undefined;
  hops: string[];
}

export interface KvClientOptions {
  /** Per-operation bound, all hops included; default 5000 ms. */
  timeoutMs?: number;
  /** Redirects followed per operation; default 5. */
  maxHops?: number;
  /** For https:// members. */
  tls?: ClientTLS;
}

type Method = HttpRequest['method'];

function keyPath(key: string): string {
  const clean = key.startsWith('/') ? key.slice(1) : key;
  return `/v2/keys/${clean.split('/').map(encodeURIComponent).join('/')}`;
}

function withQuery(path: string, query: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function parseJson(body: string): ReadResult['json'] {
  try {
    return JSON.parse(body) as ReadResult['json'];
  } catch {
    return undefined;
  }
}

export class KvClient {
  readonly http: HttpClient;
  private readonly timeoutMs: number;
  private readonly maxHops: number;

  constructor(opts: KvClientOptions = {}) {
    this.http = new HttpClient(opts.tls);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxHops = opts.maxHops ?? 5;
  }

  /** PUT `key`=`value` through `baseURL` (a member's client URL). */
  put(baseURL: string, key: string, value: string, opts: { ttl?: number; query?: Record<string, string>; timeoutMs?: number } = {}): Promise<WriteOutcome> {
    const form: Record<string, string> = { value };
    if (opts.ttl !== undefined) form['ttl'] = String(opts.ttl);
    return this.write('PUT', `${baseURL}${withQuery(keyPath(key), opts.query ?? {})}`, form, opts.timeoutMs);
  }

  delete(baseURL: string, key: string, opts: { query?: Record<string, string>; timeoutMs?: number } = {}): Promise<WriteOutcome> {
    return this.write('DELETE', `${baseURL}${withQuery(keyPath(key), opts.query ?? {})}`, undefined, opts.timeoutMs);
  }

  /** GET, following redirects. Throws HttpFailure when no member answers. */
  get(
    baseURL: string,
    key: string,
    opts: { quorum?: boolean; recursive?: boolean; sorted?: boolean; wait?: boolean; waitIndex?: number; timeoutMs?: number } = {},
  ): Promise<ReadResult> {
    const { timeoutMs, ...query } = opts;
    return this.read(`${baseURL}${withQuery(keyPath(key), query)}`, timeoutMs ?? this.timeoutMs);
  }

  /** GET any path (e.g. /v2/members/leader), following redirects. */
  async read(url: string, timeoutMs = this.timeoutMs): Promise<ReadResult> {
    const deadline = Date.now() + timeoutMs;
    const hops: string[] = [];
    for (let current = url; ; ) {
      hops.push(current);
      const res = await this.http.send({ method: 'GET', url: current, timeoutMs: Math.max(1, deadline - Date.now()) });
      const next = this.redirectTarget(res);
      if (next === undefined) return { ...res, json: parseJson(res.body), hops };
      if (next === null || hops.length > this.maxHops) {
        throw new HttpFailure('io', `GET ${url}: unusable redirect after ${hops.join(' -> ')} (Location ${res.headers['location'] ?? 'missing'})`);
      }
      current = next;
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** Follows redirects; classifies the final answer (see the file comment). */
  async write(method: Method, url: string, form: Record<string, string> | undefined, timeoutMs = this.timeoutMs): Promise<WriteOutcome> {
    const deadline = Date.now() + timeoutMs;
    const hops: string[] = [];
    for (let current = url; ; ) {
      hops.push(current);
      let res: HttpResponse;
      try {
        res = await this.http.send({ method, url: current, form, timeoutMs: Math.max(1, deadline - Date.now()) });
      } catch (err) {
        const failure = err instanceof HttpFailure ? err.failure : 'io';
        const reason = (err as Error).message;
        return failure === 'refused' ? { kind: 'failed', reason, hops } : { kind: 'indeterminate', reason, hops };
      }
      const next = this.redirectTarget(res);
      if (next === null) {
        return { kind: 'failed', reason: `${res.status} with unusable Location ${JSON.stringify(res.headers['location'])}`, status: res.status, hops };
      }
      if (next !== undefined) {
        if (hops.length > this.maxHops) return { kind: 'failed', reason: `more than ${this.maxHops} redirects: ${hops.join(' -> ')}`, status: res.status, hops };
        current = next;
        continue;
      }
      return classifyWriteAnswer(res, hops);
    }
  }

  /** undefined: not a redirect; null: a redirect that cannot be followed; else the absolute URL. */
  private redirectTarget(res: HttpResponse): string | null | undefined {
    if (res.status !== 307 && res.status !== 308) return undefined;
    const location = res.headers['location'];
    if (!location || !/^https?:\/\//.test(location)) return null;
    return location;
  }
}

export function classifyWriteAnswer(res: HttpResponse, hops: string[]): WriteOutcome {
  const json = parseJson(res.body);
  if (res.status >= 200 && res.status < 300) {
    const index = json?.node?.modifiedIndex;
    if (json && typeof json.action === 'string' && typeof index === 'number') {
      return { kind: 'acknowledged', status: res.status, action: json.action, modifiedIndex: index, hops, body: res.body };
    }
    return { kind: 'indeterminate', reason: `${res.status} without an etcd event: ${res.body.slice(0, 200)}`, status: res.status, hops };
  }
  const reason = `${res.status} ${res.body.slice(0, 300).trim()}`;
  if (res.status >= 400 && res.status < 500) return { kind: 'failed', reason, status: res.status, hops };
  return { kind: 'indeterminate', reason, status: res.status, hops };
}
