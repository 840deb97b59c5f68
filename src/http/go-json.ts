// JSON exactly as Go's encoding/json (Go 1.19, the toolchain of etcd 3.4.23) writes it, so bodies are
// byte-compatible with etcd's. JSON.stringify already agrees on field order (insertion order), number
// formatting, omitted undefined fields and most string escapes; Go differs only in:
//   - `<`, `>`, `&` escaped as \u003c \u003e \u0026 (HTML-safe encoding, on by default),
//   - U+2028 / U+2029 escaped as \u2028 \u2029,
//   - \b and \f written as \u0008 and \u000c (Go 1.22 introduced the short forms; 1.19 has not),
//   - invalid UTF-8 written as \ufffd. Our strings come from decoding that already turned every
//     invalid byte into U+FFFD (Go's per-byte rule, see form.ts), so U+FFFD is written as \ufffd:
//     byte-exact for invalid input, and an equivalent escape for a client that sent a real U+FFFD.
//     Lone surrogates (impossible from decoded input) are written as \ufffd as well.
// The common case needs none of it: one native stringify and one regex test.

const needsFixup = /[<>&\u2028\u2029\ufffd]|\\[bfu]/;
const fixups = /\\(u[0-9a-f]{4}|[^u])|[<>&\u2028\u2029\ufffd]/g;

function fixup(match: string, escape: string | undefined): string {
  if (escape !== undefined) {
    if (escape === 'b') return '\\u0008';
    if (escape === 'f') return '\\u000c';
    // JSON.stringify escapes only lone surrogates as \udXXX (d800-dfff); Go never emits them.
    if (escape.length === 5 && escape.charCodeAt(1) === 0x64 /* d */ && escape.charCodeAt(2) >= 0x38 /* 8 */) {
      return '\\ufffd';
    }
    return match;
  }
  switch (match) {
    case '<':
      return '\\u003c';
    case '>':
      return '\\u003e';
    case '&':
      return '\\u0026';
    case '\u2028':
      return '\\u2028';
    case '\u2029':
      return '\\u2029';
    default:
      return '\\ufffd';
  }
}

/** Go's json.Marshal of a plain value (objects in insertion order, undefined fields omitted). */
export function goMarshal(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error('goMarshal: value is not serialisable');
  return needsFixup.test(json) ? json.replace(fixups, fixup) : json;
}

/** Go's json.NewEncoder(w).Encode(v): Marshal plus a trailing newline. */
export function goEncode(value: unknown): string {
  return goMarshal(value) + '\n';
}
