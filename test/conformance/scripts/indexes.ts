// §6: what moves the etcd index.
import { del, done, get, put, watch } from '../dsl.js';
import type { Script } from '../script.js';

export const indexScripts: Script[] = [
  {
    name: 'a just-started member is at etcd index 3',
    ref: '§6 §11.2',
    fresh: true,
    steps: [get('/v2/keys/', { absoluteIndexes: true }), put('/v2/keys/first', 'value=1', { absoluteIndexes: true })],
  },
  {
    name: 'GET, quorum GET, HEAD and watches do not move the index',
    ref: '§6',
    steps: [
      put('/v2/keys/ix', 'value=1'),
      get('/v2/keys/ix'),
      get('/v2/keys/ix?quorum=true'),
      { kind: 'request', method: 'HEAD', path: '/v2/keys/ix' },
      watch('w', '/v2/keys/ix?wait=true'),
      get('/v2/keys/ix'),
      put('/v2/keys/ix', 'value=2'),
      done('w'),
    ],
  },
  {
    name: 'failed writes of every kind do not move the index',
    ref: '§6 §11.1',
    steps: [
      put('/v2/keys/fx', 'value=1'),
      put('/v2/keys/fx?prevExist=false', 'value=2'),
      put('/v2/keys/fx?prevValue=no', 'value=2'),
      put('/v2/keys/nope?prevExist=true', 'value=2'),
      del('/v2/keys/nope'),
      put('/v2/keys/fx/child', 'value=2'),
      put('/v2/keys/fx?ttl=bad', 'value=2'),
      get('/v2/keys/fx'),
      put('/v2/keys/ok', 'value=3'),
    ],
  },
  {
    name: 'one write is one index, however many nodes it creates or removes',
    ref: '§6 §4.2 §4.8',
    steps: [
      put('/v2/keys/one/two/three/four', 'value=1'),
      put('/v2/keys/one/two/other', 'value=2'),
      del('/v2/keys/one?recursive=true'),
      put('/v2/keys/after', 'value=3'),
    ],
  },
  {
    name: 'a refresh consumes an index',
    ref: '§6 §4.5',
    steps: [put('/v2/keys/rf', 'value=1&ttl=100'), put('/v2/keys/rf?refresh=true', 'ttl=100'), put('/v2/keys/rf?refresh=true&prevExist=true', 'ttl=100'), get('/v2/keys/rf')],
  },
];
