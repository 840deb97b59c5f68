// HTTP listeners for a member's URLs (--listen-client-urls and --listen-peer-urls). `localhost`
// binds 127.0.0.1 as Go's net.Listen does (Node would pick ::1 first on some hosts).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MemberURL } from './urls.js';
import type { ServerTLSOptions } from './tls.js';

export interface Listener {
  readonly server: http.Server | https.Server;
  /** Connections taken over by an upgrade (peer streams): the HTTP server no longer tracks them. */
  readonly upgraded: Set<Duplex>;
  readonly url: MemberURL;
  /** The bound address (the real port when the URL asked for port 0). */
  readonly address: AddressInfo;
}

export interface ListenOptions {
  /**
   * How long a connection may take to send its request headers (slow-loris bound). Watches are
   * unaffected: only the request is timed, never a response in progress.
   */
  headersTimeoutMs?: number;
  /** How long a connection may take to send a whole request, body included. */
  requestTimeoutMs?: number;
  /** Certificate and client-certificate policy for the https:// URLs (required when there is one). */
  tls?: ServerTLSOptions;
  /** Told about a TLS handshake that failed (no or a bad client certificate, plain HTTP, ...). */
  onTLSError?: (err: Error, remoteAddress: string | undefined) => void;
  /**
   * Takes upgrade requests (the peer port's raft streams). Without it an upgrade request is an
   * ordinary request to the handler. closeAll() cuts the upgraded connections too.
   */
  onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** A TLS handshake that has not completed in this time is cut (a stalled client holds no socket for long). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function bindHost(url: MemberURL): string {
  return url.host === 'localhost' ? '127.0.0.1' : url.host;
}

/** Listens on every URL with the same handler; on a failure closes what was opened and rejects. */
export async function listenAll(
  urls: readonly MemberURL[],
  handler: http.RequestListener,
  options: ListenOptions = {},
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const url of urls) {
      let server: http.Server | https.Server;
      if (url.scheme === 'https') {
        if (options.tls === undefined) throw new Error(`listen: ${url.text} is https but no TLS certificate was configured`);
        server = https.createServer({ ...options.tls, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, handler);
        // A refused handshake (no client certificate, one of another CA, plain HTTP sent to this
        // port) closes that connection only; Node destroys the socket, the listener goes on.
        const onTLSError = options.onTLSError;
        server.on('tlsClientError', (err: Error, socket) => {
          onTLSError?.(err, socket.remoteAddress);
          socket.destroy();
        });
      } else {
        server = http.createServer(handler);
      }
      server.headersTimeout = options.headersTimeoutMs ?? 60_000;
      // Bounds receiving a whole request (slow bodies); it never cuts a response, so watches that
      // last for hours are unaffected (checked: a 4 s response outlives a 1 s requestTimeout).
      server.requestTimeout = options.requestTimeoutMs ?? 300_000;
      server.keepAliveTimeout = 30_000;
      server.on('clientError', answerMalformedRequest);
      const upgraded = new Set<Duplex>();
      const onUpgrade = options.onUpgrade;
      if (onUpgrade !== undefined) {
        server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
          upgraded.add(socket);
          socket.once('close', () => upgraded.delete(socket));
          onUpgrade(req, socket, head);
        });
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(url.port, bindHost(url), () => {
          server.off('error', reject);
          resolve();
        });
      });
      listeners.push({ server, upgraded, url, address: server.address() as AddressInfo });
    }
  } catch (err: unknown) {
    await closeAll(listeners);
    throw err;
  }
  return listeners;
}

/** Stops accepting, cuts open connections (watches included) and waits until every server closed. */
export async function closeAll(listeners: readonly Listener[]): Promise<void> {
  await Promise.all(
    listeners.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.close(() => resolve());
          l.server.closeAllConnections();
          for (const socket of l.upgraded) socket.destroy();
        }),
    ),
  );
}

/**
 * A request Node's HTTP parser refuses gets Go's answer to a malformed request (400, text, close)
 * instead of Node's empty one. Raw (not percent-encoded) non-ASCII bytes in the path are the one
 * case etcd accepts and Node cannot parse: the body says how to send such a key.
 */
function answerMalformedRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body =
    err.code === 'HPE_INVALID_URL'
      ? `${status}: the request path has raw non-ASCII bytes; percent-encode them (e.g. %C3%BC for \u00fc)`
      : status;
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nAccess-Control-Allow-Origin: *\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
