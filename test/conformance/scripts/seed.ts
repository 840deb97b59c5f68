// Every curl example of shared/seed-etcd-v2-keys-api.txt, literally (same method, path, query and
// `-d` body as curl sends them), preceded by the writes that produce the state the tutorial shows.
import { del, done, get, post, put, sleep, watch } from '../dsl.js';
import type { Script } from '../script.js';

export const seedScripts: Script[] = [
  {
    name: 'seed 1: PUT creates /message = "Hello world" (set, 201)',
    ref: 'seed 1',
    steps: [put('/v2/keys/message', 'value=Hello world')],
  },
  {
    name: 'seed 2: GET /message returns the stored value',
    ref: 'seed 2',
    steps: [put('/v2/keys/message', 'value=Hello world'), get('/v2/keys/message')],
  },
  {
    name: 'seed 3: PUT over an existing key returns prevNode',
    ref: 'seed 3',
    steps: [put('/v2/keys/message', 'value=Hello world'), put('/v2/keys/message', 'value=RECREATE')],
  },
  {
    name: 'seed 4: DELETE returns the deleted node and prevNode (createdIndex kept by update)',
    ref: 'seed 4',
    steps: [
      put('/v2/keys/message', 'value=Hello world'),
      put('/v2/keys/message?prevExist=true', 'value=test createIndex'),
      del('/v2/keys/message'),
      get('/v2/keys/message'),
    ],
  },
  {
    name: 'seed 5: PUT with ttl=5 reports expiration and ttl',
    ref: 'seed 5',
    steps: [put('/v2/keys/foo', 'value=bar&ttl=5'), get('/v2/keys/foo')],
  },
  {
    name: 'seed 6: PUT ttl= with prevExist=true removes the TTL (update)',
    ref: 'seed 6',
    steps: [
      put('/v2/keys/foo', 'value=bar&ttl=100'),
      put('/v2/keys/foo', 'value=bar&ttl=&prevExist=true'),
      get('/v2/keys/foo'),
    ],
  },
  {
    name: 'seed 7: GET ?wait=true is answered by the next change (compareAndSwap)',
    ref: 'seed 7',
    steps: [
      put('/v2/keys/foo', 'value=bar'),
      put('/v2/keys/foo?prevExist=true', 'value=monitor'),
      watch('w', '/v2/keys/foo?wait=true'),
      put('/v2/keys/foo?prevValue=monitor', 'value=monitor11'),
      done('w'),
    ],
  },
  {
    name: 'seed 8: GET ?wait=true&waitIndex=2 returns the first /foo event from history',
    ref: 'seed 8',
    fresh: true,
    steps: [put('/v2/keys/foo', 'value=bar&ttl=5'), watch('w', '/v2/keys/foo?wait=true&waitIndex=2'), done('w')],
  },
  {
    name: 'seed 9: PUT dir=true creates a directory',
    ref: 'seed 9',
    steps: [put('/v2/keys/dir', 'dir=true'), get('/v2/keys/dir')],
  },
  {
    name: 'seed 10: GET /dir1/ lists direct children (trailing slash optional)',
    ref: 'seed 10',
    steps: [put('/v2/keys/dir1/dir2', 'dir=true'), get('/v2/keys/dir1/'), get('/v2/keys/dir1')],
  },
  {
    name: 'seed 11: POST creates an in-order key named after its index',
    ref: 'seed 11',
    steps: [post('/v2/keys/queue', 'value=Job1')],
  },
  {
    name: 'seed 12: GET ?sorted=true lists in-order keys in creation order',
    ref: 'seed 12',
    steps: [
      post('/v2/keys/queue'),
      post('/v2/keys/queue', 'value=Job1'),
      post('/v2/keys/queue', 'value=aaaa'),
      post('/v2/keys/queue', 'value=aaaa'),
      post('/v2/keys/queue', 'value=aaaa'),
      post('/v2/keys/queue', 'value=aaaa'),
      get('/v2/keys/queue?sorted=true'),
    ],
  },
  {
    name: 'seed 13a: DELETE ?dir=true on a non-empty dir is 108 Directory not empty',
    ref: 'seed 13',
    steps: [put('/v2/keys/dir1/dir2', 'dir=true'), del('/v2/keys/dir1?dir=true'), get('/v2/keys/dir1?recursive=true')],
  },
  {
    name: 'seed 13b: DELETE ?dir=true&recursive=true removes a non-empty dir',
    ref: 'seed 13',
    steps: [put('/v2/keys/dir1/dir2', 'dir=true'), del('/v2/keys/dir1?dir=true&recursive=true'), get('/v2/keys/dir1')],
  },
  {
    name: 'seed 14: PUT ttl=30 dir=true creates a directory with a TTL; again on it is 102',
    ref: 'seed 14',
    steps: [put('/v2/keys/dir', 'ttl=30&dir=true'), get('/v2/keys/dir'), put('/v2/keys/dir', 'ttl=30&dir=true')],
  },
  {
    name: "seed 15: PUT ttl=30 dir=true prevExist=true refreshes a directory's TTL (update)",
    ref: 'seed 15',
    steps: [
      put('/v2/keys/dir', 'ttl=30&dir=true'),
      sleep(1100),
      put('/v2/keys/dir', 'ttl=30&dir=true&prevExist=true'),
      get('/v2/keys/dir'),
    ],
  },
  {
    name: 'seed 16: a key starting with _ is hidden from listings but readable',
    ref: 'seed 16',
    steps: [put('/v2/keys/_message', 'value=Hello hidden world'), get('/v2/keys/'), get('/v2/keys/_message')],
  },
];
