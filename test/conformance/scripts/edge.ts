// §11 and the corners around it: odd query strings, odd key names, big listings, limits of numbers.
import { del, done, events, get, post, put, watch } from '../dsl.js';
import type { Script } from '../script.js';

export const edgeScripts: Script[] = [
  {
    name: 'a parameter without "=" is an empty value (booleans 209, ttl absent)',
    ref: '§1.2',
    steps: [
      put('/v2/keys/bare', 'value=1'),
      get('/v2/keys/bare?recursive'),
      get('/v2/keys/bare?sorted'),
      put('/v2/keys/bare?prevExist', 'value=2'),
      put('/v2/keys/bare?ttl', 'value=3'),
      put('/v2/keys/bare?dir'),
      get('/v2/keys/bare'),
    ],
  },
  {
    name: 'parameter names are case-sensitive and may be percent-encoded',
    ref: '§1.2',
    steps: [
      put('/v2/keys/cs/a', 'value=1'),
      get('/v2/keys/cs?Recursive=true'),
      get('/v2/keys/cs?rec%75rsive=true'),
      put('/v2/keys/cs/b?PrevExist=false', 'value=2'),
      put('/v2/keys/cs/b', 'Value=upper&v%61lue=lower'),
      get('/v2/keys/cs/b'),
    ],
  },
  {
    name: 'odd query strings: empty pairs, a second "?", "+" as space, a semicolon',
    ref: '§1.2',
    steps: [
      put('/v2/keys/oq?&&value=a+b&&'),
      get('/v2/keys/oq'),
      put('/v2/keys/oq?value=x?y'),
      get('/v2/keys/oq'),
      put('/v2/keys/oq?value=1;ttl=5'),
      get('/v2/keys/oq'),
    ],
  },
  {
    name: 'a mixed-case urlencoded Content-Type is still parsed',
    ref: '§1.2',
    steps: [put('/v2/keys/ct', 'value=mixed', { headers: { 'Content-Type': 'Application/X-WWW-Form-URLEncoded' } }), get('/v2/keys/ct')],
  },
  {
    name: 'odd key names: %2E%2E, an encoded trailing slash, a NUL byte, a 1000-character name',
    ref: '§4.9',
    steps: [
      get('/v2/keys/%2E%2E/x'),
      put('/v2/keys/tr%2F', 'value=1'),
      get('/v2/keys/tr'),
      put('/v2/keys/nul%00byte', 'value=1'),
      get('/v2/keys/nul%00byte'),
      put(`/v2/keys/long/${'n'.repeat(1000)}`, 'value=1'),
      get('/v2/keys/long'),
    ],
  },
  {
    name: 'prevIndex at the uint64 maximum compares (and fails) like any other',
    ref: '§1.2 §4.3',
    steps: [put('/v2/keys/mx', 'value=1'), put('/v2/keys/mx?prevIndex=18446744073709551615', 'value=2'), del('/v2/keys/mx?prevIndex=18446744073709551615')],
  },
  {
    name: 'a 60-child directory lists the same set unsorted and in byte order sorted',
    ref: '§4.1 §11.3',
    steps: [
      ...Array.from({ length: 60 }, (_, n) => put(`/v2/keys/many/c${(n * 37) % 60}`, `value=${n}`)),
      get('/v2/keys/many'),
      get('/v2/keys/many?sorted=true'),
      get('/v2/keys/many'),
    ],
  },
  {
    name: 'create through a file is 104; update of a missing dir with dir=true is 100',
    ref: '§4.2 §7.2',
    steps: [
      put('/v2/keys/pf', 'value=1'),
      put('/v2/keys/pf/kid?prevExist=false', 'value=2'),
      put('/v2/keys/md?prevExist=true&dir=true'),
      put('/v2/keys/md?prevExist=true&dir=true', 'ttl=5'),
    ],
  },
  {
    name: 'a recursive watch on an ancestor sees a child directory expire',
    ref: '§5.3 §4.4',
    steps: [
      put('/v2/keys/par/kid?dir=true', 'ttl=1'),
      put('/v2/keys/par/kid/leaf', 'value=1'),
      watch('w', '/v2/keys/par?wait=true&recursive=true'),
      done('w', 5000),
      get('/v2/keys/par?recursive=true'),
    ],
  },
  {
    name: 'in-order keys created with a TTL expire one by one, each at its own index',
    ref: '§4.7 §4.4',
    steps: [
      post('/v2/keys/tq', 'value=a&ttl=1'),
      post('/v2/keys/tq', 'value=b&ttl=1'),
      watch('w', '/v2/keys/tq?wait=true&recursive=true&stream=true'),
      events('w', 2, 5000),
      get('/v2/keys/tq'),
    ],
  },
  {
    name: 'compareAndSwap with prevValue and prevIndex=0 compares the value only',
    ref: '§4.2 §4.3',
    steps: [put('/v2/keys/cz', 'value=a'), put('/v2/keys/cz?prevValue=a&prevIndex=0', 'value=b'), put('/v2/keys/cz?prevValue=a&prevIndex=0', 'value=c')],
  },
  {
    name: 'hidden keys at the root and in-order keys under a hidden dir',
    ref: '§4.1 §4.7',
    steps: [
      put('/v2/keys/_root_hidden', 'value=1'),
      post('/v2/keys/_hq', 'value=2'),
      put('/v2/keys/shown', 'value=3'),
      get('/v2/keys/?recursive=true'),
      get('/v2/keys/_hq?sorted=true'),
    ],
  },
  {
    name: 'a watch with a waitIndex one past the current index waits for the next write',
    ref: '§5.4',
    steps: [
      put('/v2/keys/nx', 'value=1'),
      watch('w', '/v2/keys/nx?wait=true&waitIndex={{i+2}}'),
      put('/v2/keys/other', 'value=x'),
      put('/v2/keys/nx', 'value=2'),
      done('w'),
    ],
  },
  {
    name: 'DELETE dir=true&recursive=false on a non-empty dir is 108; recursive on a TTL dir works',
    ref: '§4.8',
    steps: [
      put('/v2/keys/dd/x', 'value=1'),
      del('/v2/keys/dd?dir=true&recursive=false'),
      put('/v2/keys/tdir?dir=true', 'ttl=100'),
      put('/v2/keys/tdir/x', 'value=1'),
      del('/v2/keys/tdir?recursive=true'),
      get('/v2/keys/tdir'),
    ],
  },
];
