// What every client-API handler gets: the member behind it, the limits it enforces and the state
// it keeps between requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ClientBackend } from '../server/backend.js';
import { CredentialCache } from './auth-password.js';
import type { LeaderOptions } from './leader.js';

export interface ClientApiOptions {
  backend: ClientBackend;
  logger: Logger;
  /** Largest form body accepted (--max-request-bytes); larger ones get etcd's 'http: POST too large'. */
  maxRequestBytes: number;
  /**
   * How long a write or quorum read may take before etcd's 'etcdserver: request timed out'
   * (etcd: 5 s + 2 × election timeout). Default 7000.
   */
  requestTimeoutMs?: number;
  /** How long a request waits for a leader to be known before failing with a 500. Default 3000. */
  leaderWaitMs?: number;
  /**
   * Exact-path endpoints a runtime adds to the client port (e.g. '/metrics'). They run after CORS,
   * OPTIONS and path cleaning, only for paths the v2 API does not serve itself.
   */
  extraRoutes?: ReadonlyMap<string, ExtraRoute>;
  /**
   * --client-cert-auth: with v2 auth enabled, a request without an Authorization header is made as
   * the user named by its verified client certificate's common name (etcd's userFromClientCertificate).
   */
  clientCertAuth?: boolean;
}

/** An added endpoint; a rejected promise or a throw becomes a 500 like any other failure. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse<IncomingMessage>) => void | Promise<void>;

export interface HandlerContext {
  readonly backend: ClientBackend;
  readonly logger: Logger;
  readonly maxRequestBytes: number;
  readonly leader: LeaderOptions;
  readonly extraRoutes: ReadonlyMap<string, ExtraRoute>;
  readonly clientCertAuth: boolean;
  /** Verdicts of basic-auth password checks, so a client pays for scrypt once. */
  readonly credentials: CredentialCache;
}

export function handlerContext(options: ClientApiOptions): HandlerContext {
  const { backend, logger, maxRequestBytes } = options;
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes <= 0) {
    throw new Error(`client API: maxRequestBytes must be a positive integer, got ${maxRequestBytes}`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? 7000;
  const leaderWaitMs = options.leaderWaitMs ?? 3000;
  if (!(requestTimeoutMs > 0) || !(leaderWaitMs >= 0)) {
    throw new Error(`client API: bad timeouts (requestTimeoutMs ${requestTimeoutMs}, leaderWaitMs ${leaderWaitMs})`);
  }
  return {
    backend,
    logger,
    maxRequestBytes,
    leader: { requestTimeoutMs, leaderWaitMs },
    extraRoutes: options.extraRoutes ?? new Map(),
    clientCertAuth: options.clientCertAuth ?? false,
    credentials: new CredentialCache(),
  };
}
