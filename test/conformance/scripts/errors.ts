// §7: every error code a request can trigger, and the order in which parameters are validated.
import { del, get, post, put } from '../dsl.js';
import type { Script } from '../script.js';

export const errorScripts: Script[] = [
  {
    name: 'every store error code: 100 101 102 104 105 107 108',
    ref: '§7.2',
    steps: [
      put('/v2/keys/e/file', 'value=1'),
      put('/v2/keys/e/dir/kid', 'value=2'),
      get('/v2/keys/e/none'),
      put('/v2/keys/e/file?prevValue=x', 'value=3'),
      put('/v2/keys/e/dir', 'value=3'),
      get('/v2/keys/e/file/x'),
      put('/v2/keys/e/file?prevExist=false', 'value=3'),
      put('/v2/keys/', 'value=3'),
      del('/v2/keys/e/dir?dir=true'),
    ],
  },
  {
    name: 'every parameter error code: 201 202 203 209 210 211 212',
    ref: '§7.2',
    steps: [
      put('/v2/keys/e', 'value=1'),
      put('/v2/keys/e?prevValue=', 'value=2'),
      put('/v2/keys/e?ttl=x', 'value=2'),
      put('/v2/keys/e?prevIndex=x', 'value=2'),
      get('/v2/keys/e?wait=true&waitIndex=x', { timeoutMs: 2000 }),
      get('/v2/keys/e?sorted=x'),
      put('/v2/keys/e?prevExist=x', 'value=2'),
      put('/v2/keys/e', 'value=%'),
      put('/v2/keys/e?refresh=true', 'ttl=5&value=2'),
      put('/v2/keys/e?refresh=true'),
      get('/v2/keys/e'),
    ],
  },
  {
    name: '209 causes: quoted for recursive sorted wait dir quorum stream noValueOnSuccess, unquoted for prevExist and refresh',
    ref: '§7.2',
    steps: [
      get('/v2/keys/e?recursive=x'),
      get('/v2/keys/e?sorted=x'),
      get('/v2/keys/e?wait=x'),
      put('/v2/keys/e?dir=x'),
      get('/v2/keys/e?quorum=x'),
      get('/v2/keys/e?stream=x'),
      put('/v2/keys/e?noValueOnSuccess=x', 'value=1'),
      put('/v2/keys/e?prevExist=x', 'value=1'),
      put('/v2/keys/e?refresh=x', 'value=1'),
      put('/v2/keys/e?wait=true', 'value=1', { timeoutMs: 2000 }),
    ],
  },
  {
    name: 'validation order: form decode first',
    ref: '§7.3',
    steps: [
      put('/v2/keys/v?ttl=abc&prevIndex=abc&recursive=bad&prevValue=&prevExist=bad', 'value=%zz'),
      get('/v2/keys/v?waitIndex=abc&recursive=%zz'),
    ],
  },
  {
    name: 'validation order: prevIndex before waitIndex before booleans',
    ref: '§7.3',
    steps: [
      put('/v2/keys/v?ttl=abc&prevIndex=abc&recursive=bad', 'value=1'),
      get('/v2/keys/v?prevIndex=abc&waitIndex=abc&recursive=bad'),
      get('/v2/keys/v?waitIndex=abc&recursive=bad&sorted=bad'),
    ],
  },
  {
    name: 'validation order: the booleans recursive, sorted, wait, dir, quorum, stream in that order',
    ref: '§7.3',
    steps: [
      get('/v2/keys/v?stream=bad&quorum=bad&dir=bad&wait=bad&sorted=bad&recursive=bad'),
      get('/v2/keys/v?stream=bad&quorum=bad&dir=bad&wait=bad&sorted=bad'),
      get('/v2/keys/v?stream=bad&quorum=bad&dir=bad&wait=bad'),
      get('/v2/keys/v?stream=bad&quorum=bad&dir=bad'),
      get('/v2/keys/v?stream=bad&quorum=bad'),
      get('/v2/keys/v?stream=bad'),
    ],
  },
  {
    name: 'validation order: wait-only-on-GET, then empty prevValue, then noValueOnSuccess, then ttl',
    ref: '§7.3',
    steps: [
      put('/v2/keys/v?wait=true&prevValue=&noValueOnSuccess=bad&ttl=abc', 'value=1', { timeoutMs: 2000 }),
      put('/v2/keys/v?prevValue=&noValueOnSuccess=bad&ttl=abc', 'value=1'),
      put('/v2/keys/v?noValueOnSuccess=bad&ttl=abc', 'value=1'),
      put('/v2/keys/v?ttl=abc&prevExist=bad', 'value=1'),
      put('/v2/keys/v?ttl=abc&prevValue=', 'value=1'),
    ],
  },
  {
    name: 'validation order: prevExist, then refresh, then refresh+value, then refresh without ttl',
    ref: '§7.3',
    steps: [
      put('/v2/keys/v?prevExist=bad&refresh=bad', 'value=1'),
      put('/v2/keys/v?refresh=bad', 'value=1'),
      put('/v2/keys/v?refresh=true', 'value=1'),
      put('/v2/keys/v?refresh=true'),
      put('/v2/keys/v?refresh=true', 'ttl=5'),
    ],
  },
  {
    name: 'parameter errors come before store errors (missing key, root, dir)',
    ref: '§7.3',
    steps: [
      put('/v2/keys/?ttl=abc', 'value=1'),
      del('/v2/keys/?prevIndex=abc'),
      get('/v2/keys/missing?sorted=bad'),
      put('/v2/keys/vd?dir=true'),
      put('/v2/keys/vd?prevExist=bad', 'value=1'),
      post('/v2/keys/vd?ttl=-1', 'value=1'),
    ],
  },
  {
    name: 'error bodies: field order errorCode, message, cause, index; cause omitted when empty',
    ref: '§7.1',
    steps: [put('/v2/keys/eb?dir=true'), del('/v2/keys/?prevValue=x'), del('/v2/keys/eb?prevValue=x'), get('/v2/keys/eb/none')],
  },
];
