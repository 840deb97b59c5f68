// One raw HTTP exchange: the request line is sent byte for byte (no URL normalisation, so `//`, `..`
// and `%2F` reach the server as written), and the response is observed as it arrives: headers, then
// body chunks with their arrival times. Plain requests and watches are the same thing; a watch is
// just an exchange the script completes later.
import http from 'node:http';
import https from 'node:https';
import { clientTLSOptions } from '../helpers/https-client.js';

export interface ExchangeRequest {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string | null>;
}

export interface ResponseHead {
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  t: number;
}

export interface Chunk {
  data: Buffer;
  t: number;
}

/** Latin-1 string whose char codes are the UTF-8 bytes of `s`: node writes it out as those bytes. */
function asBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

export class Exchange {
  head: ResponseHead | null = null;
  readonly chunks: Chunk[] = [];
  ended = false;
  error: string | null = null;
  private readonly req: http.ClientRequest;
  private listeners: Array<() => void> = [];

  constructor(baseURL: string, spec: ExchangeRequest) {
    const url = new URL(baseURL);
    const headers: Record<string, string> = {};
    const body = spec.body === undefined ? undefined : Buffer.from(spec.body, 'utf8');
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    for (const [name, value] of Object.entries(spec.headers ?? {})) {
      for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
      if (value !== null) headers[name] = asBytes(value);
    }
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    else if (spec.method === 'PUT' || spec.method === 'POST') headers['Content-Length'] = '0';
    const secure = url.protocol === 'https:';
    this.req = (secure ? https : http).request({
      ...(secure ? clientTLSOptions() : {}),
      host: url.hostname,
      port: Number(url.port),
      method: spec.method,
      path: asBytes(spec.path),
      headers,
      agent: false,
    });
    this.req.on('response', (res) => {
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        const name = (res.rawHeaders[i] as string).toLowerCase();
        const value = res.rawHeaders[i + 1] as string;
        h[name] = h[name] === undefined ? value : `${h[name]}, ${value}`;
      }
      this.head = { status: res.statusCode ?? 0, headers: h, t: Date.now() };
      this.notify();
      res.on('data', (data: Buffer) => {
        this.chunks.push({ data, t: Date.now() });
        this.notify();
      });
      res.on('end', () => {
        this.ended = true;
        this.notify();
      });
      res.on('error', (err) => this.fail(err));
      res.on('aborted', () => this.fail(new Error('response aborted')));
    });
    this.req.on('error', (err) => this.fail(err));
    this.req.end(body);
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.error ??= err.message;
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l();
  }

  /** Resolves true once `cond()` holds, false after `timeoutMs`. */
  waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(cond()), timeoutMs);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve(true);
        } else this.listeners.push(check);
      };
      this.listeners.push(check);
    });
  }

  body(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }

  lastChunkTime(): number {
    return this.chunks.at(-1)?.t ?? this.head?.t ?? Date.now();
  }

  close(): void {
    if (!this.ended) {
      this.ended = true;
      this.req.destroy();
      this.notify();
    }
  }
}

/** A complete request/response, bounded by `timeoutMs`. */
export async function exchange(baseURL: string, spec: ExchangeRequest, timeoutMs = 10_000): Promise<Exchange> {
  const ex = new Exchange(baseURL, spec);
  const finished = await ex.waitUntil(() => ex.ended, timeoutMs);
  if (!finished) {
    ex.error = `no complete response within ${timeoutMs} ms`;
    ex.close();
  }
  return ex;
}
