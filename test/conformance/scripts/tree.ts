// §4.6 directories, §4.7 POST (in-order keys), §4.8 DELETE.
import { del, get, post, put } from '../dsl.js';
import type { Script } from '../script.js';

export const dirScripts: Script[] = [
  {
    name: 'PUT dir=true: 201 set for a new dir; 403/102 Not a file when it exists (not 105)',
    ref: '§4.6 §11.6',
    steps: [put('/v2/keys/d1?dir=true'), put('/v2/keys/d1?dir=true'), put('/v2/keys/d1', 'dir=true'), get('/v2/keys/d1')],
  },
  {
    name: 'PUT dir=true&prevExist=false on an existing dir is 412/105',
    ref: '§4.6',
    steps: [put('/v2/keys/d2?dir=true'), put('/v2/keys/d2?dir=true&prevExist=false'), put('/v2/keys/d3?dir=true&prevExist=false')],
  },
  {
    name: 'PUT a value onto a directory is 403/102',
    ref: '§4.6',
    steps: [put('/v2/keys/d4?dir=true'), put('/v2/keys/d4', 'value=x'), put('/v2/keys/d4?prevExist=true', 'value=zz')],
  },
  {
    name: 'updating a directory reports a new modifiedIndex, but GET still shows the old one',
    ref: '§4.6 §11.7',
    steps: [
      put('/v2/keys/d5?dir=true'),
      put('/v2/keys/d5?dir=true&prevExist=true', 'ttl=100'),
      get('/v2/keys/d5'),
      put('/v2/keys/d5?dir=true&prevExist=true', 'ttl='),
      get('/v2/keys/d5'),
      put('/v2/keys/d5/kid', 'value=1'),
      get('/v2/keys/d5'),
    ],
  },
  {
    name: 'a file and a directory cannot share a name; a file cannot have children',
    ref: '§4.6',
    steps: [
      put('/v2/keys/fx', 'value=1'),
      put('/v2/keys/fx/child', 'value=2'),
      put('/v2/keys/fx/child?dir=true'),
      post('/v2/keys/fx/q', 'value=3'),
      get('/v2/keys/fx'),
    ],
  },
];

export const postScripts: Script[] = [
  {
    name: 'POST creates 20-digit zero-padded in-order keys, one index each',
    ref: '§4.7',
    steps: [
      post('/v2/keys/queue', 'value=job1'),
      post('/v2/keys/queue', 'value=job2'),
      put('/v2/keys/other', 'value=x'),
      post('/v2/keys/queue', 'value=job3'),
      get('/v2/keys/queue?sorted=true'),
      get('/v2/keys/queue'),
    ],
  },
  {
    name: 'POST to the root creates an in-order key under /',
    ref: '§4.7 §4.9',
    steps: [post('/v2/keys', 'value=rootjob'), post('/v2/keys/', 'value=rootjob2'), get('/v2/keys/?sorted=true')],
  },
  {
    name: 'POST dir=true creates an in-order directory; ttl works; no value gives ""',
    ref: '§4.7',
    steps: [
      post('/v2/keys/q2?dir=true'),
      post('/v2/keys/q2', 'ttl=100'),
      post('/v2/keys/q2'),
      post('/v2/keys/q2/deeper/still', 'value=v'),
      get('/v2/keys/q2?recursive=true&sorted=true'),
    ],
  },
  {
    name: 'POST ignores prevExist, prevValue and prevIndex',
    ref: '§4.7 §11.20',
    steps: [
      post('/v2/keys/q3?prevExist=true', 'value=1'),
      post('/v2/keys/q3?prevValue=nope', 'value=2'),
      post('/v2/keys/q3?prevIndex=1', 'value=3'),
      post('/v2/keys/q3?prevExist=false', 'value=4'),
      get('/v2/keys/q3?sorted=true'),
    ],
  },
  {
    name: 'POST to a file is 400/104; a trailing slash behaves the same as none',
    ref: '§4.7',
    steps: [put('/v2/keys/pf', 'value=1'), post('/v2/keys/pf', 'value=2'), post('/v2/keys/q4/', 'value=3'), get('/v2/keys/q4/')],
  },
  {
    name: 'POST validates its parameters like PUT',
    ref: '§4.7 §7.3',
    steps: [post('/v2/keys/q5?ttl=abc', 'value=1'), post('/v2/keys/q5?dir=maybe'), post('/v2/keys/q5', 'value=%zz'), post('/v2/keys/q5?noValueOnSuccess=true', 'value=1')],
  },
];

export const deleteScripts: Script[] = [
  {
    name: 'DELETE a file with no flag, dir=true or recursive=true',
    ref: '§4.8',
    steps: [
      put('/v2/keys/f1', 'value=1'),
      put('/v2/keys/f2', 'value=2'),
      put('/v2/keys/f3', 'value=3'),
      del('/v2/keys/f1'),
      del('/v2/keys/f2?dir=true'),
      del('/v2/keys/f3?recursive=true'),
      get('/v2/keys/'),
    ],
  },
  {
    name: 'DELETE an empty dir: 403/102 without flags, deleted with dir=true',
    ref: '§4.8',
    steps: [put('/v2/keys/ed?dir=true'), del('/v2/keys/ed'), del('/v2/keys/ed?dir=true'), get('/v2/keys/ed')],
  },
  {
    name: 'DELETE a non-empty dir: 108 with dir=true, 102 without flags, recursive=true removes it at one index',
    ref: '§4.8',
    steps: [
      put('/v2/keys/nd/a/b', 'value=1'),
      put('/v2/keys/nd/c', 'value=2'),
      del('/v2/keys/nd?dir=true'),
      del('/v2/keys/nd'),
      del('/v2/keys/nd?recursive=true'),
      get('/v2/keys/nd'),
      put('/v2/keys/next', 'value=1'),
    ],
  },
  {
    name: 'DELETE a missing key is 404/100 whatever the flags',
    ref: '§4.8',
    steps: [del('/v2/keys/gone'), del('/v2/keys/gone?recursive=true'), del('/v2/keys/gone/deeper?dir=true'), del('/v2/keys/gone?prevValue=x')],
  },
  {
    name: 'DELETE the root is 400/107 whatever the flags',
    ref: '§4.8 §7.2',
    steps: [del('/v2/keys'), del('/v2/keys/'), del('/v2/keys/?recursive=true'), del('/v2/keys/?dir=true&recursive=true')],
  },
  {
    name: 'compareAndDelete: prevValue/prevIndex match deletes; mismatch is 101; missing 100',
    ref: '§4.8 §4.3',
    steps: [
      put('/v2/keys/cd', 'value=v1'),
      del('/v2/keys/cd?prevValue=v2'),
      del('/v2/keys/cd?prevIndex=1'),
      del('/v2/keys/cd?prevValue=v2&prevIndex=1'),
      del('/v2/keys/cd?prevValue=v1&prevIndex={{i+1}}'),
      del('/v2/keys/cd?prevValue=v1'),
    ],
  },
  {
    name: 'compareAndDelete on a directory is always 102, even with recursive=true; on the root 102 without cause',
    ref: '§4.8',
    steps: [
      put('/v2/keys/cdd/x', 'value=1'),
      del('/v2/keys/cdd?prevValue=x'),
      del('/v2/keys/cdd?prevValue=x&recursive=true'),
      del('/v2/keys/cdd?prevIndex={{i+1}}&recursive=true'),
      del('/v2/keys/?prevValue=x'),
      del('/v2/keys?prevIndex=1'),
    ],
  },
  {
    name: 'DELETE ignores prevExist',
    ref: '§4.8',
    steps: [put('/v2/keys/pe', 'value=1'), del('/v2/keys/pe?prevExist=false'), del('/v2/keys/pe?prevExist=true')],
  },
  {
    name: 'DELETE through a file is 400/104',
    ref: '§4.8',
    steps: [put('/v2/keys/df', 'value=1'), del('/v2/keys/df/child'), del('/v2/keys/df/child?recursive=true')],
  },
];
