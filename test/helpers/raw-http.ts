// A raw HTTP/1.1 request over a plain socket, sent the way curl sends large bodies: the head first,
// then the body only if the server has not answered yet. A server may refuse an oversize body from
// its Content-Length alone and close the connection; the client must still see that answer.
// Bounded by `timeoutMs`.
import net from 'node:net';

const earlyAnswerMs = 200;

export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** A socket error seen after or while sending (e.g. EPIPE when the server closed early). */
  writeError: string | null;
  /** Whether the server answered before the body was sent. */
  answeredEarly: boolean;
}

export function rawHttpRequest(url: string, method: string, path: string, body: Buffer, headers: Record<string, string>, timeoutMs = 30_000): Promise<RawHttpResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let writeError: string | null = null;
    let bodySent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method} ${path}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      writeError ??= err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m || split < 0) {
        reject(new Error(`${method} ${path}: no HTTP response (write error: ${writeError ?? 'none'}); got ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const head: Record<string, string> = {};
      for (const line of text.slice(0, split).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) head[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let rest = text.slice(split + 4);
      if (head['transfer-encoding'] === 'chunked') rest = dechunk(rest);
      resolve({ status: Number(m[1]), headers: head, body: rest, writeError, answeredEarly: !bodySent });
    });
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', `Content-Length: ${body.length}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    // Like curl with `Expect: 100-continue`: send the head, give the server a moment to answer
    // early (an oversize Content-Length), and only then the body. A server that closes with the
    // body unread resets the connection, and a reset discards a response that was not read yet.
    // No half-close after the body: a Node server closes a connection whose client ended it.
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    const early = setTimeout(() => {
      if (chunks.length === 0 && !socket.destroyed) {
        bodySent = true;
        socket.write(body);
      }
    }, earlyAnswerMs);
    socket.once('close', () => clearTimeout(early));
  });
}

function dechunk(s: string): string {
  let out = '';
  let rest = s;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}
