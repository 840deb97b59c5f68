// §2: event and node objects — field presence and order, actions, prevNode.
import { del, done, get, put, sleep, watch } from '../dsl.js';
import type { Script } from '../script.js';

export const shapeScripts: Script[] = [
  {
    name: 'the empty root lists as {"dir":true} without key or indexes',
    ref: '§2.2',
    steps: [get('/v2/keys'), get('/v2/keys/'), get('/v2/keys/?recursive=true&sorted=true')],
  },
  {
    name: 'a non-empty root lists its children',
    ref: '§2.2',
    steps: [put('/v2/keys/foo', 'value=baz'), put('/v2/keys/bar/x', 'value=1'), get('/v2/keys/'), get('/v2/keys/?recursive=true')],
  },
  {
    name: 'a directory with a TTL and children: nodes between ttl and modifiedIndex',
    ref: '§2.2',
    steps: [put('/v2/keys/ttlparent', 'dir=true&ttl=100'), put('/v2/keys/ttlparent/kid', 'value=1'), get('/v2/keys/ttlparent')],
  },
  {
    name: 'an empty value is present as "value":"" (and differs from a directory)',
    ref: '§2.2 §4.10',
    steps: [put('/v2/keys/empty', 'value='), put('/v2/keys/novalue'), get('/v2/keys/empty'), get('/v2/keys/novalue')],
  },
  {
    name: 'delete events: node without value, dir:true for directories',
    ref: '§2.3',
    steps: [
      put('/v2/keys/f', 'value=1'),
      del('/v2/keys/f'),
      put('/v2/keys/ed', 'dir=true'),
      del('/v2/keys/ed?dir=true'),
      put('/v2/keys/full/a/b', 'value=1'),
      del('/v2/keys/full?recursive=true'),
    ],
  },
  {
    name: 'compareAndDelete event: node without value',
    ref: '§2.3',
    steps: [put('/v2/keys/cad', 'value=1'), del('/v2/keys/cad?prevValue=1'), put('/v2/keys/cad2', 'value=2'), del('/v2/keys/cad2?prevIndex={{i+3}}')],
  },
  {
    name: 'expire event: prevNode keeps expiration but has no ttl',
    ref: '§2.3 §4.4',
    steps: [put('/v2/keys/tmp2', 'value=t&ttl=1'), watch('w', '/v2/keys/tmp2?wait=true&waitIndex={{i+2}}'), done('w', 5000), get('/v2/keys/tmp2')],
  },
  {
    name: 'prevNode is a snapshot with expiration and remaining ttl, never nodes',
    ref: '§2.3',
    steps: [
      put('/v2/keys/snap', 'value=1&ttl=100'),
      sleep(1100),
      put('/v2/keys/snap', 'value=2'),
      put('/v2/keys/pd', 'dir=true&ttl=100'),
      put('/v2/keys/pd/child', 'value=1'),
      put('/v2/keys/pd?dir=true&prevExist=true', 'ttl=50'),
      del('/v2/keys/pd?recursive=true'),
    ],
  },
  {
    name: 'a plain set over a file resets createdIndex; update and compareAndSwap keep it',
    ref: '§2.3 §11.6',
    steps: [
      put('/v2/keys/ci', 'value=1'),
      put('/v2/keys/ci?prevExist=true', 'value=2'),
      put('/v2/keys/ci?prevValue=2', 'value=3'),
      put('/v2/keys/ci', 'value=4'),
      get('/v2/keys/ci'),
    ],
  },
  {
    name: 'listing: child directories appear without nodes unless recursive',
    ref: '§2.2 §4.1',
    steps: [
      put('/v2/keys/top/sub/leaf', 'value=1'),
      put('/v2/keys/top/file', 'value=2'),
      put('/v2/keys/top/emptysub', 'dir=true'),
      get('/v2/keys/top'),
      get('/v2/keys/top?recursive=true'),
      get('/v2/keys/top?recursive=true&sorted=true'),
    ],
  },
];
