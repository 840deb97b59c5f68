// Reads a request body into memory under a byte bound, without trusting Content-Length (a body
// that declares more than the bound is refused before a byte is read; one that declares less is
// still counted). Never rejects: a client gone mid-body is an 'aborted' result.
import type { IncomingMessage } from 'node:http';

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * On 'too-large' the rest of the body is left unread: answer with Connection: close (or destroy).
 * With `preallocate`, a body that declares its length (at most maxBytes) is read straight into one
 * buffer of that length, chunk by chunk: a large body (a snapshot) then costs its size once, not
 * once in chunks and again when they are joined. Node's parser ends the body at that length.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, options: { preallocate?: boolean } = {}): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.resolve({ ok: false, reason: 'too-large' });
  const into = options.preallocate === true && Number.isSafeInteger(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : null;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      if (into !== null) {
        if (size + chunk.length > into.length) {
          finish({ ok: false, reason: 'too-large' });
          return;
        }
        into.set(chunk, size);
        size += chunk.length;
        return;
      }
      size += chunk.length;
      if (size > maxBytes) {
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (into !== null) finish(size === into.length ? { ok: true, body: into } : { ok: false, reason: 'aborted' });
      else finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    };
    const onError = (): void => finish({ ok: false, reason: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) finish({ ok: false, reason: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
