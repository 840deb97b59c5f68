// §4.4 TTL (with real waiting) and §4.5 refresh.
import { del, done, events, get, pending, put, sleep, watch } from '../dsl.js';
import type { Script } from '../script.js';

export const ttlScripts: Script[] = [
  {
    name: 'ttl=5: expiration now+5 s and ttl 5; it counts down',
    ref: '§4.4 §2.2',
    steps: [put('/v2/keys/t5', 'value=x&ttl=5'), get('/v2/keys/t5'), sleep(2000), get('/v2/keys/t5')],
  },
  {
    name: 'set without ttl, or with ttl=, makes a TTL key permanent',
    ref: '§4.4',
    steps: [
      put('/v2/keys/p1', 'value=a&ttl=100'),
      put('/v2/keys/p1', 'value=b'),
      put('/v2/keys/p2', 'value=a&ttl=100'),
      put('/v2/keys/p2', 'value=b&ttl='),
      put('/v2/keys/p3', 'value=a&ttl=100'),
      put('/v2/keys/p3?prevExist=true', 'value=b'),
      get('/v2/keys/p1'),
      get('/v2/keys/p2'),
      get('/v2/keys/p3'),
    ],
  },
  {
    name: 'ttl=0 means expire now: expiration without ttl, gone within a second',
    ref: '§4.4 §11.17',
    steps: [put('/v2/keys/t0', 'value=x&ttl=0'), sleep(1500), get('/v2/keys/t0')],
  },
  {
    name: 'an overflowing ttl (99999999999) makes the key permanent',
    ref: '§4.4 §11.17',
    steps: [put('/v2/keys/tbig', 'value=x&ttl=99999999999'), get('/v2/keys/tbig')],
  },
  {
    name: 'ttl=1 expires with an expire event at the next index; then GET is 404',
    ref: '§4.4 §2.3',
    steps: [
      put('/v2/keys/t1', 'value=x&ttl=1'),
      watch('w', '/v2/keys/t1?wait=true'),
      done('w', 5000),
      get('/v2/keys/t1'),
      get('/v2/keys/'),
    ],
  },
  {
    name: 'a directory TTL expires the whole subtree with one expire event',
    ref: '§4.4',
    steps: [
      put('/v2/keys/td?dir=true', 'ttl=1'),
      put('/v2/keys/td/a', 'value=1'),
      put('/v2/keys/td/sub/b', 'value=2'),
      watch('w', '/v2/keys/td?wait=true&recursive=true&waitIndex={{i+4}}'),
      done('w', 5000),
      get('/v2/keys/td/a'),
      get('/v2/keys/td'),
      put('/v2/keys/after', 'value=1'),
    ],
  },
  {
    name: 'each expired node takes its own index',
    ref: '§4.4 §6',
    steps: [
      put('/v2/keys/ex/a', 'value=1&ttl=1'),
      put('/v2/keys/ex/b', 'value=2&ttl=1'),
      watch('w', '/v2/keys/ex?wait=true&recursive=true&stream=true'),
      events('w', 2, 5000),
      get('/v2/keys/ex'),
      put('/v2/keys/ex/c', 'value=3'),
    ],
  },
  {
    name: 'a watch on a key with a TTL sees its expiry; a write before expiry keeps it',
    ref: '§4.4 §5.3',
    steps: [
      put('/v2/keys/tk', 'value=1&ttl=1'),
      put('/v2/keys/tk?prevExist=true', 'value=2&ttl=100'),
      watch('w', '/v2/keys/tk?wait=true'),
      sleep(1500),
      pending('w', 100),
      get('/v2/keys/tk'),
    ],
  },
  {
    name: 'a TTL on a directory can be removed with prevExist=true and ttl=',
    ref: '§4.6',
    steps: [
      put('/v2/keys/d1?dir=true'),
      put('/v2/keys/d1?dir=true&prevExist=true', 'ttl=100'),
      get('/v2/keys/d1'),
      put('/v2/keys/d1?dir=true&prevExist=true', 'ttl='),
      get('/v2/keys/d1'),
    ],
  },
  {
    name: 'deleting a TTL key before it expires cancels the expiry',
    ref: '§4.4',
    steps: [put('/v2/keys/dl', 'value=1&ttl=1'), del('/v2/keys/dl'), sleep(1500), get('/v2/keys/'), put('/v2/keys/next', 'value=2')],
  },
];

export const refreshScripts: Script[] = [
  {
    name: 'refresh=true with prevExist=true: update keeping the value, new expiration',
    ref: '§4.5',
    steps: [put('/v2/keys/r', 'value=keep&ttl=5'), put('/v2/keys/r?refresh=true&prevExist=true', 'ttl=60'), get('/v2/keys/r')],
  },
  {
    name: 'refresh=true without prevExist: set keeping the value, node re-created',
    ref: '§4.5',
    steps: [put('/v2/keys/r', 'value=keep&ttl=5'), put('/v2/keys/r?refresh=true', 'ttl=60'), get('/v2/keys/r')],
  },
  {
    name: 'refresh=true with prevValue: compareAndSwap keeping the value, or 101',
    ref: '§4.5',
    steps: [
      put('/v2/keys/r', 'value=keep&ttl=5'),
      put('/v2/keys/r?refresh=true&prevValue=keep', 'ttl=60'),
      put('/v2/keys/r?refresh=true&prevValue=other', 'ttl=60'),
      get('/v2/keys/r'),
    ],
  },
  {
    name: 'refresh=true with prevExist=false: refresh ignored, create with "" (or 105)',
    ref: '§4.5',
    steps: [put('/v2/keys/rn?refresh=true&prevExist=false', 'ttl=60'), put('/v2/keys/rn?refresh=true&prevExist=false', 'ttl=60')],
  },
  {
    name: 'refresh with a non-empty value is 211; with value= it is accepted',
    ref: '§4.5 §7.2',
    steps: [
      put('/v2/keys/r', 'value=keep&ttl=5'),
      put('/v2/keys/r?refresh=true', 'ttl=60&value=new'),
      put('/v2/keys/r?refresh=true', 'ttl=60&value='),
      get('/v2/keys/r'),
    ],
  },
  {
    name: 'refresh without a ttl (absent or empty) is 212',
    ref: '§4.5 §7.2',
    steps: [put('/v2/keys/r', 'value=keep&ttl=5'), put('/v2/keys/r?refresh=true'), put('/v2/keys/r?refresh=true', 'ttl='), get('/v2/keys/r')],
  },
  {
    name: 'refresh of a missing key is 404/100',
    ref: '§4.5',
    steps: [put('/v2/keys/nothere?refresh=true', 'ttl=60'), put('/v2/keys/nothere?refresh=true&prevExist=true', 'ttl=60')],
  },
  {
    name: 'refresh of a directory: update with prevExist=true (children kept), else 102',
    ref: '§4.5',
    steps: [
      put('/v2/keys/rd/child', 'value=1'),
      put('/v2/keys/rd?refresh=true&prevExist=true', 'ttl=60'),
      put('/v2/keys/rd?refresh=true', 'ttl=60'),
      put('/v2/keys/rd?refresh=true&dir=true', 'ttl=60'),
      get('/v2/keys/rd?recursive=true'),
    ],
  },
  {
    name: 'refresh=false is an ordinary write (a missing value wipes it); refresh=maybe is 209',
    ref: '§4.5 §11.5',
    steps: [
      put('/v2/keys/r', 'value=keep&ttl=5'),
      put('/v2/keys/r?refresh=maybe', 'ttl=60'),
      put('/v2/keys/r?refresh=false', 'ttl=60'),
      get('/v2/keys/r'),
    ],
  },
  {
    name: 'refresh of a permanent key gives it a TTL',
    ref: '§4.5',
    steps: [put('/v2/keys/rp', 'value=perm'), put('/v2/keys/rp?refresh=true&prevExist=true', 'ttl=60'), get('/v2/keys/rp')],
  },
];
