// Text helpers that reproduce Go's behaviour where etcd's answers depend on it: turning bytes into
// a string the way Go's encoding/json later sees them (utf8.DecodeRune: one U+FFFD per invalid byte,
// where WHATWG decoders give one per maximal invalid subsequence), strconv.Quote for the error texts
// of the form decoder, and strconv.ParseBool.
import { isUtf8 } from 'node:buffer';

const goBools: ReadonlyMap<string, boolean> = new Map([
  ['1', true],
  ['t', true],
  ['T', true],
  ['TRUE', true],
  ['true', true],
  ['True', true],
  ['0', false],
  ['f', false],
  ['F', false],
  ['FALSE', false],
  ['false', false],
  ['False', false],
]);

/** Go's strconv.ParseBool; undefined for anything else. */
export function goParseBool(text: string): boolean | undefined {
  return goBools.get(text);
}

/** Decodes UTF-8 bytes; every byte that does not start a valid sequence becomes one U+FFFD, as in Go. */
export function decodeUtf8Go(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < buf.length) {
    const width = validSequenceLength(buf, i);
    if (width > 0) {
      i += width;
      continue;
    }
    if (i > runStart) out += buf.toString('utf8', runStart, i);
    out += '\ufffd';
    i += 1;
    runStart = i;
  }
  if (runStart < buf.length) out += buf.toString('utf8', runStart);
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 (Go's utf8.DecodeRune acceptance ranges). */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c0 = b[i]!;
  if (c0 < 0x80) return 1;
  const n = b.length - i;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const c = b[i + k]!;
    return c >= lo && c <= hi;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return n >= 2 && cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    if (n < 3) return 0;
    const first = c0 === 0xe0 ? cont(1, 0xa0) : c0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return first && cont(2) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    if (n < 4) return 0;
    const first = c0 === 0xf0 ? cont(1, 0x90) : c0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return first && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * Go's strconv.Quote of a byte string (each char code of `bytes` is one byte, 0..255): printable
 * runes raw, `"` and `\` escaped, invalid bytes as \xNN, control characters as Go escapes them.
 */
export function goQuoteBytes(bytes: string): string {
  const raw = Buffer.from(bytes, 'latin1');
  let out = '"';
  let i = 0;
  while (i < raw.length) {
    const width = validSequenceLength(raw, i);
    if (width === 0) {
      out += `\\x${hex2(raw[i]!)}`;
      i += 1;
      continue;
    }
    const ch = raw.toString('utf8', i, i + width);
    i += width;
    out += quoteRune(ch);
  }
  return out + '"';
}

const shortEscapes: ReadonlyMap<number, string> = new Map([
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x0c, '\\f'],
  [0x0a, '\\n'],
  [0x0d, '\\r'],
  [0x09, '\\t'],
  [0x0b, '\\v'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
]);

function quoteRune(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const short = shortEscapes.get(cp);
  if (short !== undefined) return short;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex2(cp)}`;
  if (isPrintable(cp)) return ch;
  return cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** An approximation of Go's unicode.IsPrint good enough for error texts: C1 controls and separators are not. */
function isPrintable(cp: number): boolean {
  if (cp >= 0x80 && cp <= 0x9f) return false;
  if (cp === 0xad || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return true;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
