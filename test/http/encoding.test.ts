// The byte-level rules etcd's Go server follows, checked against what etcd 3.4.23 (Go 1.19) emitted
// for the same input (docs §1.2, §1.3; confirmed with the real etcd).
import { describe, expect, it } from 'vitest';
import { parseQueryInto, type Form } from '../../src/http/form.js';
import { goEncode, goMarshal } from '../../src/http/go-json.js';
import { decodeUtf8Go, goQuoteBytes } from '../../src/http/go-text.js';
import { expirationFromTtl } from '../../src/http/ttl.js';
import { goCleanPath, goEscapePath, isCleanPath, parseRequestTarget } from '../../src/http/url-path.js';

describe('Go JSON encoding', () => {
  it('escapes <, > and & as \\u003c \\u003e \\u0026 like Go HTML-safe encoding', () => {
    expect(goMarshal({ v: 'line1\nline2\ttab<>&' })).toBe('{"v":"line1\\nline2\\ttab\\u003c\\u003e\\u0026"}');
  });

  it('escapes U+2028 and U+2029, and \\b \\f in the long form of Go 1.19', () => {
    expect(goMarshal('\u2028\u2029\b\f')).toBe('"\\u2028\\u2029\\u0008\\u000c"');
  });

  it('writes other control characters as \\u00XX and DEL raw, non-ASCII raw', () => {
    expect(goMarshal('\u0001\u001f\u007fé✓')).toBe('"\\u0001\\u001f\u007fé✓"');
  });

  it('writes U+FFFD (what an invalid byte decodes to) as \\ufffd, as Go writes invalid UTF-8', () => {
    expect(goMarshal('a\ufffdb')).toBe('"a\\ufffdb"');
  });

  it('keeps an escaped backslash followed by b, f or u intact', () => {
    expect(goMarshal('\\b\\f\\u0041')).toBe('"\\\\b\\\\f\\\\u0041"');
  });

  it('adds the newline of json.Encoder only in goEncode', () => {
    expect(goEncode({ action: 'get' })).toBe('{"action":"get"}\n');
    expect(goMarshal({ action: 'get' })).toBe('{"action":"get"}');
  });
});

describe('Go UTF-8 decoding', () => {
  it('turns every invalid byte into its own U+FFFD (Go), not one per invalid run (WHATWG)', () => {
    // %FF a b %E2 %9C z : etcd answered "\ufffdab\ufffd\ufffdz"
    expect(decodeUtf8Go(Buffer.from([0xff, 0x61, 0x62, 0xe2, 0x9c, 0x7a]))).toBe('\ufffdab\ufffd\ufffdz');
  });

  it('rejects overlong forms and surrogates byte by byte', () => {
    expect(decodeUtf8Go(Buffer.from([0xc0, 0xaf]))).toBe('\ufffd\ufffd');
    expect(decodeUtf8Go(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\ufffd\ufffd\ufffd');
  });

  it('keeps valid text as it is', () => {
    expect(decodeUtf8Go(Buffer.from('ünï ✓ 😀', 'utf8'))).toBe('ünï ✓ 😀');
  });

  it('quotes byte strings as strconv.Quote for the errors etcd reports', () => {
    expect(goQuoteBytes('%zz')).toBe('"%zz"');
    expect(goQuoteBytes('%\u00e2\u009c')).toBe('"%\\xe2\\x9c"');
    expect(goQuoteBytes('%\u0001x')).toBe('"%\\x01x"');
    expect(goQuoteBytes('%\u00c3\u00a9')).toBe('"%é"');
  });
});

describe('form decoding (Go url.ParseQuery)', () => {
  const parse = (query: string): { form: Form; error: string | null } => {
    const form: Form = new Map();
    const error = parseQueryInto(form, query);
    return { form, error };
  };

  it('keeps the first occurrence of a name', () => {
    expect(parse('value=first&value=second').form.get('value')).toBe('first');
  });

  it('decodes + as a space and %XX as bytes, in names too', () => {
    const { form } = parse('va%6Cue=a+b%20c&x');
    expect(form.get('value')).toBe('a b c');
    expect(form.get('x')).toBe('');
  });

  it('reports a malformed escape with Go text, and still reads the good fields', () => {
    expect(parse('value=%zz&ttl=5')).toEqual({ form: new Map([['ttl', '5']]), error: 'invalid URL escape "%zz"' });
    expect(parse('value=%').error).toBe('invalid URL escape "%"');
    expect(parse('value=%a').error).toBe('invalid URL escape "%a"');
  });

  it('refuses ; as a separator (Go 1.17+), even after another error', () => {
    expect(parse('x=1;y=2').error).toBe('invalid semicolon separator in query');
    expect(parse('a=%zz&x=1;y=2').error).toBe('invalid semicolon separator in query');
  });
});

describe('request target and path cleaning (Go ServeMux)', () => {
  it('decodes %2F into a separator and keeps + literal in paths', () => {
    expect(parseRequestTarget('/v2/keys/enc%2Fslash+x?a=b')).toEqual({ path: '/v2/keys/enc/slash+x', rawQuery: 'a=b' });
  });

  it('refuses a bad escape in the path', () => {
    expect(parseRequestTarget('/v2/keys/%zz')).toBeNull();
  });

  it('cleans like Go, keeping a trailing slash', () => {
    expect(goCleanPath('/v2/keys/a//b')).toBe('/v2/keys/a/b');
    expect(goCleanPath('/v2/keys/x/../y/')).toBe('/v2/keys/y/');
    expect(goCleanPath('/v2/keys/..')).toBe('/v2');
    expect(goCleanPath('/foo/..//x')).toBe('/x');
    expect(isCleanPath('/v2/keys/a/.b/')).toBe(true);
    expect(isCleanPath('/v2/keys/a/./b')).toBe(false);
  });

  it('re-escapes a Location as Go does (etcd: /v2/keys/y%20z%C3%A9%3F%23+:@;,=$&%27%28%29%2A)', () => {
    expect(goEscapePath("/v2/keys/y zé?#+:@;,=$&'()*")).toBe('/v2/keys/y%20z%C3%A9%3F%23+:@;,=$&%27%28%29%2A');
  });
});

describe('ttl to expiration (Go int64 arithmetic)', () => {
  const now = Date.UTC(2026, 10, 27, 6, 0, 0) + 0.5;

  it('adds small ttls directly; ttl=0 expires now', () => {
    expect(expirationFromTtl('5', now)).toBe(now + 5000);
    expect(expirationFromTtl('0', now)).toBe(now);
  });

  it('wraps a ttl past 2262 into the past, as etcd (99999999999 lands before 1970)', () => {
    expect(expirationFromTtl('99999999999', now)).toBe(1);
    expect(expirationFromTtl('9223372036', now)).toBe(1);
  });

  it('turns 2^64-1 into minus one second (uint64 -> int64 wrap)', () => {
    expect(expirationFromTtl('18446744073709551615', now)).toBeCloseTo(now - 1000, 3);
  });

  it('keeps a large but representable ttl exact (5e9 s lands in 2185)', () => {
    const exp = expirationFromTtl('5000000000', now);
    expect(new Date(exp).getUTCFullYear()).toBe(2185);
  });
});
