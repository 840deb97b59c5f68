// §1.2: where parameters are read from, every boolean spelling, every rejected unsigned-int form.
import {
  badBoolSpellings,
  badUintForms,
  close,
  del,
  done,
  events,
  falseSpellings,
  get,
  pending,
  put,
  req,
  trueSpellings,
  watch,
} from '../dsl.js';
import type { Script, Step } from '../script.js';

const allBoolSpellings = [...trueSpellings, ...falseSpellings, ...badBoolSpellings];

function eachSpelling(make: (spelling: string, i: number) => Step[]): Step[] {
  return allBoolSpellings.flatMap((s, i) => make(s, i));
}

export const paramScripts: Script[] = [
  {
    name: 'body value wins over the same name in the query',
    ref: '§1.2',
    steps: [put('/v2/keys/p?value=fromquery', 'value=frombody'), get('/v2/keys/p')],
  },
  {
    name: 'body ttl wins over the query ttl; query value is used when the body has none',
    ref: '§1.2',
    steps: [put('/v2/keys/p?ttl=5&value=fromquery', 'ttl=100'), get('/v2/keys/p')],
  },
  {
    name: 'a repeated parameter: the first occurrence wins (body and query)',
    ref: '§1.2',
    steps: [
      put('/v2/keys/p', 'value=first&value=second'),
      put('/v2/keys/p?prevExist=true&prevExist=false', 'value=third'),
      get('/v2/keys/p'),
    ],
  },
  {
    name: 'DELETE never parses its body: prevValue in the body is an unconditional delete',
    ref: '§1.2 §4.8 §11.4',
    steps: [put('/v2/keys/p', 'value=one'), del('/v2/keys/p', 'prevValue=WRONG'), get('/v2/keys/p')],
  },
  {
    name: 'GET never parses its body: recursive=true in the body is ignored',
    ref: '§1.2',
    steps: [put('/v2/keys/g/a/b', 'value=1'), req('GET', '/v2/keys/g', 'recursive=true')],
  },
  {
    name: 'a body with Content-Type application/json is ignored (value stored as "")',
    ref: '§1.2',
    steps: [put('/v2/keys/p', '{"value":"x"}', { headers: { 'Content-Type': 'application/json' } }), get('/v2/keys/p')],
  },
  {
    name: 'a body without Content-Type is ignored (value stored as "")',
    ref: '§1.2',
    steps: [put('/v2/keys/p', 'value=x', { headers: { 'Content-Type': null } }), get('/v2/keys/p')],
  },
  {
    name: 'a multipart/form-data body is ignored (value stored as "")',
    ref: '§1.2',
    steps: [
      put('/v2/keys/p', '--XYZ\r\nContent-Disposition: form-data; name="value"\r\n\r\nx\r\n--XYZ--\r\n', {
        headers: { 'Content-Type': 'multipart/form-data; boundary=XYZ' },
      }),
      get('/v2/keys/p'),
    ],
  },
  {
    name: 'a urlencoded body with a charset parameter is parsed',
    ref: '§1.2',
    steps: [put('/v2/keys/p', 'value=x', { headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } })],
  },
  {
    name: 'malformed percent-encoding in the body or the query is 210 Invalid POST form',
    ref: '§1.2 §7.2',
    steps: [
      put('/v2/keys/p', 'value=%zz'),
      put('/v2/keys/p?value=%zz'),
      put('/v2/keys/p?ttl=%2', 'value=1'),
      get('/v2/keys/p?recursive=%zz'),
      del('/v2/keys/p?recursive=%zz'),
      get('/v2/keys/p'),
    ],
  },
  {
    name: 'recursive: every boolean spelling on GET',
    ref: '§1.2',
    steps: [put('/v2/keys/r/a/b', 'value=1'), ...eachSpelling((s) => [get(`/v2/keys/r?recursive=${s}`)])],
  },
  {
    name: 'recursive: every boolean spelling on DELETE',
    ref: '§1.2 §4.8',
    steps: eachSpelling((s, i) => [put(`/v2/keys/dr${i}/c`, 'value=1'), del(`/v2/keys/dr${i}?recursive=${s}`)]),
  },
  {
    name: 'sorted: every boolean spelling',
    ref: '§1.2 §4.1',
    steps: [
      put('/v2/keys/s/b', 'value=1'),
      put('/v2/keys/s/a', 'value=2'),
      put('/v2/keys/s/c', 'value=3'),
      ...eachSpelling((s) => [get(`/v2/keys/s?sorted=${s}`)]),
    ],
  },
  {
    name: 'dir: every boolean spelling',
    ref: '§1.2 §4.2',
    steps: eachSpelling((s, i) => [put(`/v2/keys/d/x${i}?dir=${s}`, 'value=v')]),
  },
  {
    name: 'prevExist: every boolean spelling',
    ref: '§1.2 §4.2',
    steps: [put('/v2/keys/pe', 'value=0'), ...eachSpelling((s, i) => [put(`/v2/keys/pe?prevExist=${s}`, `value=${i}`)])],
  },
  {
    name: 'quorum: every boolean spelling on a plain GET',
    ref: '§1.2 §4.1',
    steps: [put('/v2/keys/q', 'value=1'), ...eachSpelling((s) => [get(`/v2/keys/q?quorum=${s}`)])],
  },
  {
    name: 'quorum: every boolean spelling with wait=true (true turns the watch into a GET)',
    ref: '§1.2 §5.1 §11.11',
    steps: [
      put('/v2/keys/q', 'value=1'),
      ...eachSpelling((s, i) => [watch(`w${i}`, `/v2/keys/q?wait=true&quorum=${s}`)]),
      // Completes the watches that are real watches; the quorum GETs have answered already.
      put('/v2/keys/q', 'value=2'),
      ...eachSpelling((_s, i) => [done(`w${i}`)]),
    ],
  },
  {
    name: 'wait: every boolean spelling (with a waitIndex found in history)',
    ref: '§1.2 §5.1',
    steps: [
      put('/v2/keys/wt', 'value=1'),
      ...eachSpelling((s, i) => [watch(`w${i}`, `/v2/keys/wt?wait=${s}&waitIndex={{i+1}}`), done(`w${i}`, 2000)]),
    ],
  },
  {
    name: 'stream: every boolean spelling (true keeps the response open after a history hit)',
    ref: '§1.2 §5.1',
    steps: [
      put('/v2/keys/st', 'value=1'),
      ...eachSpelling((s, i) => [
        watch(`w${i}`, `/v2/keys/st?wait=true&stream=${s}&waitIndex={{i+1}}`),
        events(`w${i}`, 1, 2000),
        pending(`w${i}`, 200),
        close(`w${i}`),
      ]),
    ],
  },
  {
    name: 'refresh: every boolean spelling',
    ref: '§1.2 §4.5',
    steps: [put('/v2/keys/rf', 'value=keep&ttl=100'), ...eachSpelling((s) => [put(`/v2/keys/rf?refresh=${s}`, 'ttl=100')])],
  },
  {
    name: 'noValueOnSuccess: every boolean spelling',
    ref: '§1.2 §4.11',
    steps: eachSpelling((s, i) => [put(`/v2/keys/nv${i}?noValueOnSuccess=${s}`, 'value=x')]),
  },
  {
    name: 'prevIndex: every rejected unsigned-int form is 203, on PUT and DELETE',
    ref: '§1.2 §7.2',
    steps: [
      put('/v2/keys/pi', 'value=1'),
      ...badUintForms.flatMap((f) => [put(`/v2/keys/pi?prevIndex=${f}`, 'value=2'), del(`/v2/keys/pi?prevIndex=${f}`)]),
      put('/v2/keys/pi?prevIndex=', 'value=3'),
      get('/v2/keys/pi'),
    ],
  },
  {
    name: 'waitIndex: every rejected unsigned-int form is 203',
    ref: '§1.2 §7.2',
    steps: [
      ...badUintForms.map((f) => get(`/v2/keys/wi?wait=true&waitIndex=${f}`, { timeoutMs: 2000 })),
      get('/v2/keys/wi?wait=true&waitIndex=', { timeoutMs: 2000 }),
    ],
  },
  {
    name: 'ttl: every rejected unsigned-int form is 202, in the query and in the body',
    ref: '§1.2 §4.4 §7.2',
    steps: [
      ...badUintForms.flatMap((f) => [put(`/v2/keys/tt?ttl=${f}`, 'value=1'), put('/v2/keys/tt', `value=1&ttl=${f}`)]),
      get('/v2/keys/tt'),
    ],
  },
  {
    name: 'leading zeros are plain decimal: ttl=007, prevIndex=00N',
    ref: '§1.2',
    steps: [put('/v2/keys/lz', 'value=1&ttl=007'), put('/v2/keys/lz?prevIndex=00{{i+1}}', 'value=2')],
  },
  {
    name: 'prevIndex=0 is the same as absent (a plain set)',
    ref: '§1.2',
    steps: [put('/v2/keys/z', 'value=1'), put('/v2/keys/z?prevIndex=0', 'value=2'), put('/v2/keys/new?prevIndex=0', 'value=3')],
  },
  {
    name: 'waitIndex=0 is the same as absent (waits for the next change)',
    ref: '§1.2 §5.1',
    steps: [
      put('/v2/keys/z', 'value=1'),
      watch('w', '/v2/keys/z?wait=true&waitIndex=0'),
      pending('w'),
      put('/v2/keys/z', 'value=2'),
      done('w'),
    ],
  },
  {
    name: 'ttl= (empty) means no TTL: the write makes the key permanent',
    ref: '§1.2 §4.4',
    steps: [put('/v2/keys/e', 'value=1&ttl=100'), put('/v2/keys/e', 'value=2&ttl='), get('/v2/keys/e'), put('/v2/keys/e2?ttl=', 'value=x')],
  },
  {
    name: 'prevValue= (empty) is refused with 201, on PUT and DELETE',
    ref: '§1.2 §7.2',
    steps: [put('/v2/keys/pv', 'value=1'), put('/v2/keys/pv?prevValue=', 'value=2'), put('/v2/keys/pv', 'value=2&prevValue='), del('/v2/keys/pv?prevValue='), get('/v2/keys/pv')],
  },
];
