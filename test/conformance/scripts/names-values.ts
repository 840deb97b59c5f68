// §4.9 key names and URL handling, §4.10 values, §4.11 noValueOnSuccess.
import { del, get, post, put } from '../dsl.js';
import type { Script } from '../script.js';

export const keyNameScripts: Script[] = [
  {
    name: 'a trailing slash on a write is dropped from the key',
    ref: '§4.9',
    steps: [put('/v2/keys/ts/', 'value=1'), get('/v2/keys/ts'), del('/v2/keys/ts/'), get('/v2/keys/ts')],
  },
  {
    name: 'a double slash gets a router 301 to the cleaned path, nothing written',
    ref: '§4.9 §11.15',
    steps: [get('/v2/keys/a//b'), put('/v2/keys/a//b', 'value=1'), get('/v2/keys//ts?recursive=true'), del('/v2/keys//ts'), get('/v2/keys/a')],
  },
  {
    name: 'dot segments get a router 301 to the cleaned path',
    ref: '§4.9 §11.15',
    steps: [get('/v2/keys/x/../y'), put('/v2/keys/x/../y', 'value=1'), get('/v2/keys/./z'), post('/v2/keys/x/..', 'value=1'), get('/v2/keys/y')],
  },
  {
    name: 'an encoded double slash (%2F%2F) also gets a 301',
    ref: '§4.9',
    steps: [get('/v2/keys/a%2F%2Fb'), put('/v2/keys/a%2F%2Fb?x=1', 'value=1'), get('/v2/keys/a')],
  },
  {
    name: 'a single %2F is decoded into a real separator',
    ref: '§4.9',
    steps: [put('/v2/keys/enc%2Fslash', 'value=1'), get('/v2/keys/enc'), get('/v2/keys/enc/slash'), get('/v2/keys/enc%2Fslash')],
  },
  {
    name: 'a space in a key (%20)',
    ref: '§4.9',
    steps: [put('/v2/keys/with%20space', 'value=1'), get('/v2/keys/with%20space'), get('/v2/keys/')],
  },
  {
    // Raw (not percent-encoded) non-ASCII bytes in the request line are refused by Node's HTTP
    // parser; etcd-ts answers them with a 400 that says so (test/server/listen.test.ts).
    name: 'UTF-8 keys, percent-encoded, are returned unescaped',
    ref: '§4.9',
    steps: [put('/v2/keys/%E2%9C%93ok', 'value=check'), put('/v2/keys/%C3%BCn%C3%AF', 'value=enc'), get('/v2/keys/%E2%9C%93ok'), get('/v2/keys/%C3%BCn%C3%AF'), get('/v2/keys/?sorted=true')],
  },
  {
    name: 'punctuation in keys is stored literally (a:b+c=d@e, .dot, q%3Fh%23)',
    ref: '§4.9',
    steps: [
      put('/v2/keys/a:b+c=d@e', 'value=1'),
      put('/v2/keys/.dot', 'value=2'),
      put('/v2/keys/q%3Fh%23', 'value=3'),
      put('/v2/keys/semi;colon', 'value=4'),
      put('/v2/keys/tilde~star*', 'value=5'),
      get('/v2/keys/?sorted=true'),
      get('/v2/keys/q%3Fh%23'),
    ],
  },
  {
    name: 'the root: /v2/keys and /v2/keys/ both list it',
    ref: '§4.9',
    steps: [put('/v2/keys/k', 'value=1'), get('/v2/keys'), get('/v2/keys/'), get('/v2/keys?recursive=true')],
  },
  {
    name: 'a key containing < > & is escaped in JSON keys and causes',
    ref: '§1.3 §4.9',
    steps: [put('/v2/keys/%3Ctag%3E%26', 'value=1'), get('/v2/keys/%3Ctag%3E%26'), get('/v2/keys/%3Cnone%3E')],
  },
];

export const valueScripts: Script[] = [
  {
    name: 'special characters in values: Go JSON escaping of < > & \\n \\t " \\\\',
    ref: '§1.3 §4.10 §11.16',
    steps: [put('/v2/keys/esc', 'value=line1%0Aline2%09tab%3C%3E%26%22q%22%5Cb'), get('/v2/keys/esc')],
  },
  {
    name: 'non-ASCII values are emitted as raw UTF-8',
    ref: '§1.3 §4.10',
    steps: [put('/v2/keys/utf', 'value=h%C3%A9llo%20%E2%9C%93%20%F0%9F%98%80'), get('/v2/keys/utf')],
  },
  {
    name: '+ in a form value is a space; %2B is a plus',
    ref: '§4.10',
    steps: [put('/v2/keys/plus', 'value=a+b%2Bc'), get('/v2/keys/plus')],
  },
  {
    name: 'control characters and a lone = in values',
    ref: '§1.3 §4.10',
    steps: [put('/v2/keys/ctl', 'value=%01%1F%7F%3D%3D'), get('/v2/keys/ctl'), put('/v2/keys/eq', 'value=='), get('/v2/keys/eq')],
  },
  {
    name: 'Go escapes \\b \\f and U+2028/U+2029 as \\u sequences',
    ref: '§1.3',
    steps: [put('/v2/keys/goesc', 'value=%08%0C%0D%E2%80%A8%E2%80%A9'), get('/v2/keys/goesc')],
  },
  {
    name: 'invalid UTF-8 in a value or a key comes back as U+FFFD',
    ref: '§1.3 §4.10',
    steps: [put('/v2/keys/bad8', 'value=a%FFb%C3'), get('/v2/keys/bad8'), put('/v2/keys/k%FEy', 'value=1'), get('/v2/keys/?sorted=true')],
  },
  {
    name: 'a 4000-byte value (chunked response) round-trips',
    ref: '§1.3 §4.10',
    steps: [put('/v2/keys/big4k', `value=${'x'.repeat(4000)}`), get('/v2/keys/big4k')],
  },
  {
    name: 'a 200 KB value round-trips',
    ref: '§4.10',
    steps: [put('/v2/keys/big200k', `value=${'abcdefghij'.repeat(20_000)}`, { compare: { pick: ['action'] } }), get('/v2/keys/big200k')],
  },
];

export const noValueScripts: Script[] = [
  {
    name: 'noValueOnSuccess=true returns only the action for set, create, update, compareAndSwap, POST',
    ref: '§4.11',
    steps: [
      put('/v2/keys/nv?noValueOnSuccess=true', 'value=1'),
      put('/v2/keys/nv?noValueOnSuccess=true', 'value=2'),
      put('/v2/keys/nv2?noValueOnSuccess=true&prevExist=false', 'value=1'),
      put('/v2/keys/nv?noValueOnSuccess=true&prevExist=true', 'value=3'),
      put('/v2/keys/nv?noValueOnSuccess=true&prevValue=3', 'value=4'),
      post('/v2/keys/nvq?noValueOnSuccess=true', 'value=5'),
      put('/v2/keys/nvd?noValueOnSuccess=true&dir=true'),
      get('/v2/keys/nv'),
    ],
  },
  {
    name: 'noValueOnSuccess does not affect DELETE, GET or errors',
    ref: '§4.11',
    steps: [
      put('/v2/keys/nv', 'value=1'),
      get('/v2/keys/nv?noValueOnSuccess=true'),
      put('/v2/keys/nv?noValueOnSuccess=true&prevValue=nope', 'value=2'),
      put('/v2/keys/nv?noValueOnSuccess=true&prevExist=false', 'value=2'),
      del('/v2/keys/nv?noValueOnSuccess=true'),
    ],
  },
];
