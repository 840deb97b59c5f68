// One HTTP exchange with a member, bounded by a timeout, never following redirects, and with
// transport failures sorted by what they say about a write: "refused" means the request never
// reached a server; "timeout" and "io" mean it may have (the write's fate is unknown).
import { Agent, request } from 'undici';

export interface HttpRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  /** Absolute URL. */
  url: string;
  /** Form body (sent as application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type TransportFailure = 'refused' | 'timeout' | 'io';

export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(
    readonly failure: TransportFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Sorts a transport error: was the request certainly not delivered ("refused")? */
export function classifyTransportError(err: unknown): TransportFailure {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return 'timeout';
  }
  return 'io';
}

export function formBody(form: Record<string, string>): string {
  return new URLSearchParams(form).toString();
}

/** PEM contents (not paths) for https:// members: the CA to trust and the client certificate to present. */
export interface ClientTLS {
  ca: string;
  cert?: string;
  key?: string;
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(tls?: ClientTLS) {
    this.agent = new Agent({
      keepAliveTimeout: 2000,
      keepAliveMaxTimeout: 4000,
      connections: 64,
      connect: { timeout: 2000, ...(tls ?? {}) },
    });
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (req.form !== undefined) {
      body = formBody(req.form);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const signal = AbortSignal.timeout(req.timeoutMs);
    try {
      const res = await request(req.url, { method: req.method, headers, body, signal, dispatcher: this.agent });
      const text = await res.body.text();
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      return { status: res.statusCode, headers: flat, body: text };
    } catch (err) {
      const failure = classifyTransportError(err);
      const what = failure === 'timeout' ? `no complete answer within ${req.timeoutMs} ms` : (err as Error).message;
      throw new HttpFailure(failure, `${req.method} ${req.url}: ${what}`);
    }
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }
}
