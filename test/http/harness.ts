// In-process client API on a free loopback port, and a raw HTTP client that shows what went over
// the wire (status, headers as sent, framing, exact body bytes).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createClientApp, createClientHandler, type ClientApiOptions } from '../../src/http/app.js';
import type { ClientBackend } from '../../src/server/backend.js';
import { LocalMember, type LocalMemberOptions } from '../../src/server/local-member.js';
import { freePort } from '../helpers/ports.js';

export const silentLogger = pino({ level: 'silent' });

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly backend: ClientBackend;
  close(): Promise<void>;
}

export type ServeOptions = Partial<Omit<ClientApiOptions, 'backend'>> & {
  /** Mount the Express app instead of the plain handler the runtimes serve. */
  express?: boolean;
};

/** Serves `backend` on 127.0.0.1 with the client API. */
export async function serveBackend(backend: ClientBackend, options: ServeOptions = {}, port?: number): Promise<TestServer> {
  const { express, ...apiOptions } = options;
  const api = { backend, logger: silentLogger, maxRequestBytes: 1572864, ...apiOptions };
  const server = http.createServer(express === true ? createClientApp(api) : createClientHandler(api));
  port ??= await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    backend,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface TestMember extends TestServer {
  readonly member: LocalMember;
}

/** A single member (in-memory store) behind the client API. */
export async function startTestMember(
  options: { member?: Partial<LocalMemberOptions>; serve?: ServeOptions } = {},
): Promise<TestMember> {
  const port = await freePort();
  const member = new LocalMember({
    name: 'test',
    memberId: 0x1e05c52164694dn,
    clusterId: 0x1818194e3a8c32n,
    peerURLs: ['http://127.0.0.1:2380'],
    clientURLs: [`http://127.0.0.1:${port}`],
    logger: silentLogger,
    ...options.member,
  });
  member.start();
  const server = await serveBackend(member, options.serve, port);
  return {
    ...server,
    member,
    close: async () => {
      member.stop();
      await server.close();
    },
  };
}

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: http.IncomingHttpHeaders;
  /** Header names as the server wrote them. */
  rawHeaderNames: string[];
  body: string;
  bodyBytes: Buffer;
  /** Parsed JSON body (undefined when not JSON). */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Form-encoded body shortcut: sets the Content-Type. */
  form?: string;
  timeoutMs?: number;
}

/** One request on a fresh connection; resolves with everything the server sent. */
export function request(baseURL: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
  const url = new URL(baseURL);
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.form !== undefined) {
    body = options.form;
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  }
  // Node sends a DELETE body without framing unless told its length
  if (body !== undefined && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined) {
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bodyBytes = Buffer.concat(chunks);
          const text = bodyBytes.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const rawHeaderNames = res.rawHeaders.filter((_, i) => i % 2 === 0);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaderNames, body: text, bodyBytes, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A PUT with an url-encoded body. */
export function put(baseURL: string, path: string, form: string): Promise<RawResponse> {
  return request(baseURL, path, { method: 'PUT', form });
}

export interface OpenStream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Resolves with the next complete line (event), or rejects after timeoutMs. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Resolves once the server ended the response (true) or rejects after timeoutMs. */
  ended(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/** Opens a long-lived GET (a watch) and resolves as soon as the status line and headers arrive. */
export function openStream(baseURL: string, path: string): Promise<OpenStream> {
  const url = new URL(baseURL);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', agent: false }, (res) => {
      let buffer = '';
      const lines: string[] = [];
      let waiting: ((line: string) => void) | null = null;
      let isEnded = false;
      let onEnd: (() => void) | null = null;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (waiting) {
            const w = waiting;
            waiting = null;
            w(line);
          } else {
            lines.push(line);
          }
        }
      });
      res.on('end', () => {
        isEnded = true;
        onEnd?.();
      });
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        nextLine: (timeoutMs = 5000) =>
          new Promise<string>((resolveLine, rejectLine) => {
            const ready = lines.shift();
            if (ready !== undefined) return resolveLine(ready);
            const timer = setTimeout(() => {
              waiting = null;
              rejectLine(new Error(`no event within ${timeoutMs} ms`));
            }, timeoutMs);
            waiting = (line) => {
              clearTimeout(timer);
              resolveLine(line);
            };
          }),
        ended: (timeoutMs = 5000) =>
          new Promise<boolean>((resolveEnd, rejectEnd) => {
            if (isEnded) return resolveEnd(true);
            const timer = setTimeout(() => rejectEnd(new Error(`response did not end within ${timeoutMs} ms`)), timeoutMs);
            onEnd = () => {
              clearTimeout(timer);
              resolveEnd(true);
            };
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns true (bounded). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
