// Request bodies, always bounded: a /v2/keys PUT/POST body as Go's ParseForm reads it (only an
// application/x-www-form-urlencoded body is read; other types are ignored, never an error unless
// the Content-Type itself is malformed), and the JSON bodies of /v2/members and /v2/auth as text.
import type { IncomingMessage } from 'node:http';
import { sendMessageError, type Res } from './respond.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';

export type BodyResult =
  /** The body as a byte string (latin1: one char per byte), or null when there is no form body. */
  | { ok: true; form: string | null; mediaError: string | null }
  | { ok: false; tooLarge: true; mediaError: string | null };

/**
 * Reads a form body, at most `maxBytes`. `mediaError` is Go's mime error for a malformed
 * Content-Type (etcd answers 210 with it, even when the body was otherwise readable).
 */
export async function readFormBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const contentType = req.headers['content-type'];
  let mediaType: string;
  let mediaError: string | null = null;
  if (contentType === undefined || contentType === '') {
    mediaType = 'application/octet-stream';
  } else if (contentType === FORM_TYPE) {
    mediaType = FORM_TYPE;
  } else {
    const parsed = parseMediaType(contentType);
    mediaType = parsed.mediaType;
    mediaError = parsed.error;
  }
  if (mediaType !== FORM_TYPE) return { ok: true, form: null, mediaError };
  const body = await readBounded(req, maxBytes);
  if (body === null) return { ok: false, tooLarge: true, mediaError };
  return { ok: true, form: body.toString('latin1'), mediaError };
}

/**
 * A JSON request body as text, at most `maxBytes`; null once answered: a client gone mid-body gets
 * nothing, a larger body gets a 400 {"message": tooLargeMessage} with Connection: close.
 */
export async function readTextBody(req: IncomingMessage, res: Res, maxBytes: number, tooLargeMessage: string): Promise<string | null> {
  let bytes: Buffer | null;
  try {
    bytes = await readBounded(req, maxBytes);
  } catch {
    res.destroy(); // the client went away mid-body: nobody to answer
    return null;
  }
  if (bytes === null) {
    res.setHeader('Connection', 'close');
    sendMessageError(res, 400, tooLargeMessage);
    return null;
  }
  return bytes.toString('utf8');
}

/**
 * The whole body, or null when it exceeds `maxBytes`: at once when Content-Length says so, else as
 * soon as the bytes do (the rest is left unread: the caller answers with Connection: close).
 * Rejects when the client goes away mid-body.
 */
function readBounded(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        cleanup();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('client closed the connection before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Go's mime.ParseMediaType, reduced to what ParseForm uses: the lower-cased media type and the
 * error text. A bad parameter still yields the media type (Go returns both).
 */
function parseMediaType(value: string): { mediaType: string; error: string | null } {
  const semi = value.indexOf(';');
  const base = semi === -1 ? value : value.slice(0, semi);
  const mediaType = base.toLowerCase().trim();
  const typeError = checkMediaType(mediaType);
  if (typeError !== null) return { mediaType: '', error: typeError };
  let rest = value.slice(base.length);
  const seen = new Set<string>();
  while (rest.length > 0) {
    rest = rest.trimStart();
    if (rest.length === 0) break;
    const param = consumeMediaParam(rest);
    if (param === null) {
      if (rest.trim() === ';') break; // a trailing semicolon is not an error
      return { mediaType, error: 'mime: invalid media parameter' };
    }
    if (seen.has(param.key)) return { mediaType: '', error: 'mime: duplicate parameter name' };
    seen.add(param.key);
    rest = param.rest;
  }
  return { mediaType, error: null };
}

function checkMediaType(s: string): string | null {
  const [type, afterType] = consumeToken(s);
  if (type === '') return 'mime: no media type';
  if (afterType === '') return null;
  if (!afterType.startsWith('/')) return 'mime: expected slash after first token';
  const [subtype, afterSubtype] = consumeToken(afterType.slice(1));
  if (subtype === '') return 'mime: expected token after slash';
  if (afterSubtype !== '') return 'mime: unexpected content after media subtype';
  return null;
}

function consumeMediaParam(v: string): { key: string; rest: string } | null {
  let rest = v.trimStart();
  if (!rest.startsWith(';')) return null;
  rest = rest.slice(1).trimStart();
  const [name, afterName] = consumeToken(rest);
  if (name === '') return null;
  rest = afterName.trimStart();
  if (!rest.startsWith('=')) return null;
  rest = rest.slice(1).trimStart();
  const [value, afterValue] = consumeValue(rest);
  if (value === '' && afterValue === rest) return null;
  return { key: name.toLowerCase(), rest: afterValue };
}

const tspecials = '()<>@,;:\\"/[]?=';

function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !tspecials.includes(c);
}

function consumeToken(v: string): [token: string, rest: string] {
  let i = 0;
  while (i < v.length && isTokenChar(v[i]!)) i++;
  return [v.slice(0, i), v.slice(i)];
}

/** A token or a quoted-string (backslash escapes), as Go's consumeValue. */
function consumeValue(v: string): [value: string, rest: string] {
  if (!v.startsWith('"')) return consumeToken(v);
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i]!;
    if (c === '"') return [out, v.slice(i + 1)];
    if (c === '\\' && i + 1 < v.length && isTSpecialOrSpace(v[i + 1]!)) {
      out += v[i + 1];
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') return ['', v];
    out += c;
  }
  return ['', v];
}

function isTSpecialOrSpace(c: string): boolean {
  return tspecials.includes(c) || c === ' ' || c === '\t';
}
