// etcd's form reading (Go's Request.ParseForm): the url-encoded body of a PUT/POST first, then the
// query string; for each name the first value wins, so a body value beats a query value and a
// repeated name keeps its first occurrence. Decoding follows Go's url.ParseQuery/QueryUnescape,
// including its error texts, which etcd returns as the `cause` of error 210.
import { decodeUtf8Go, goQuoteBytes } from './go-text.js';

/** The form: for each field name its first value (body before query). */
export type Form = Map<string, string>;

const needsDecoding = /[%+\u0080-\u00ff]/;

/**
 * Adds the fields of `query` (a byte string: one char per byte, e.g. a latin1-decoded body or an
 * ASCII URL) to `form`, keeping values already present. Returns Go's error text for the first
 * malformed field, or null. Like Go, every well-formed field is added even when another one fails.
 */
export function parseQueryInto(form: Form, query: string): string | null {
  let err: string | null = null;
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    const field = query.slice(start, end);
    start = end + 1;
    if (field.includes(';')) {
      // Go 1.17+ refuses ';' as a separator; this error overwrites an earlier one, as Go's does.
      err = 'invalid semicolon separator in query';
      continue;
    }
    if (field === '') continue;
    const eq = field.indexOf('=');
    const rawKey = eq === -1 ? field : field.slice(0, eq);
    const rawValue = eq === -1 ? '' : field.slice(eq + 1);
    const key = queryUnescape(rawKey);
    if (typeof key !== 'string') {
      err ??= key.error;
      continue;
    }
    const value = queryUnescape(rawValue);
    if (typeof value !== 'string') {
      err ??= value.error;
      continue;
    }
    if (!form.has(key)) form.set(key, value);
  }
  return err;
}

/** Go's url.QueryUnescape of a byte string: '+' is a space, %XX a byte; bytes become UTF-8 text. */
function queryUnescape(s: string): string | { error: string } {
  if (!needsDecoding.test(s)) return s;
  return unescapeBytes(s, true);
}

/**
 * Go's unescape: `%` must be followed by two hex digits. In query mode '+' is a space; in path mode
 * it stays a '+'. The decoded bytes are read as UTF-8 the way Go's JSON encoder later reads them.
 */
export function unescapeBytes(s: string, plusIsSpace: boolean): string | { error: string } {
  const out = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (i + 2 >= s.length || hi < 0 || lo < 0) {
        return { error: `invalid URL escape ${goQuoteBytes(s.slice(i, i + 3))}` };
      }
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else if (c === 0x2b /* + */ && plusIsSpace) {
      out[n++] = 0x20;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return decodeUtf8Go(out.subarray(0, n));
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
