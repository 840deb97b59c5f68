// The request target as Go's net/http sees it: the path is percent-decoded before routing (so
// `%2F` becomes a real separator) and Go's ServeMux answers 301 to the cleaned path when the decoded
// path is not clean (`//`, `/./`, `/../`). etcd's keys handler then reads the key from that
// decoded path.
import { cleanPath } from '../store/keys.js';
import { unescapeBytes } from './form.js';

export interface RequestTarget {
  /** Decoded path, e.g. `/v2/keys/with space`. */
  path: string;
  /** Raw query string (without the '?'), '' when absent. */
  rawQuery: string;
}

/** Parses Node's req.url. Returns null when Go would refuse the request line (bad %-escape in the path). */
export function parseRequestTarget(url: string): RequestTarget | null {
  let target = url;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    // absolute-form (`GET http://host/path`): keep the path part
    const scheme = target.indexOf('://');
    if (scheme === -1) return null;
    const slash = target.indexOf('/', scheme + 3);
    target = slash === -1 ? '/' : target.slice(slash);
  }
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? '' : target.slice(q + 1);
  if (rawPath.indexOf('%') === -1) return { path: rawPath, rawQuery };
  const path = unescapeBytes(rawPath, false);
  if (typeof path !== 'string') return null;
  return { path, rawQuery };
}

/** Whether Go's ServeMux would leave `p` alone (cheap test for the common case). */
export function isCleanPath(p: string): boolean {
  if (p.charCodeAt(0) !== 0x2f) return false;
  if (p.indexOf('//') !== -1) return false;
  if (p.indexOf('/.') === -1) return true;
  return goCleanPath(p) === p;
}

/** Go's http cleanPath: path.Clean of a rooted path (the store's cleanPath), keeping a trailing slash. */
export function goCleanPath(p: string): string {
  const np = cleanPath(p);
  return p.endsWith('/') && np !== '/' ? np + '/' : np;
}

/** Go's url escape(s, encodePath): what a redirect's Location carries for a decoded path. */
export function goEscapePath(p: string): string {
  const bytes = Buffer.from(p, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (isPathSafe(b)) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function isPathSafe(b: number): boolean {
  if ((b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39)) return true;
  // unreserved marks, and the reserved characters Go leaves alone in a path: $ & + , / : ; = @
  return '-_.~$&+,/:;=@'.includes(String.fromCharCode(b));
}

/** Go's htmlEscape, as used in the body of http.Redirect. */
export function goHtmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&#34;';
      default:
        return '&#39;';
    }
  });
}
