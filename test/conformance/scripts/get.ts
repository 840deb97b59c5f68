// §4.1: GET.
import { get, put } from '../dsl.js';
import type { Script } from '../script.js';

export const getScripts: Script[] = [
  {
    name: 'GET a file',
    ref: '§4.1',
    steps: [put('/v2/keys/foo', 'value=bar'), get('/v2/keys/foo'), get('/v2/keys/foo?recursive=true'), get('/v2/keys/foo?sorted=true')],
  },
  {
    name: 'GET a directory lists direct children only; recursive=true lists the subtree',
    ref: '§4.1',
    steps: [
      put('/v2/keys/d/a', 'value=1'),
      put('/v2/keys/d/sub/b', 'value=2'),
      put('/v2/keys/d/sub/deeper/c', 'value=3'),
      put('/v2/keys/d/emptydir', 'dir=true'),
      get('/v2/keys/d'),
      get('/v2/keys/d?recursive=true'),
      get('/v2/keys/d/sub?recursive=true'),
    ],
  },
  {
    name: 'sorted=true sorts byte-wise by key at every level',
    ref: '§4.1',
    steps: [
      ...['k2', 'k10', 'k1', 'k12', 'k11', 'K0', 'k-', 'k_x'].map((k) => put(`/v2/keys/srt/${k}`, `value=${k}`)),
      put('/v2/keys/srt/sub/z', 'value=1'),
      put('/v2/keys/srt/sub/a', 'value=1'),
      put('/v2/keys/srt/sub/m', 'value=1'),
      get('/v2/keys/srt?sorted=true'),
      get('/v2/keys/srt?sorted=true&recursive=true'),
      get('/v2/keys/srt?recursive=true'),
    ],
  },
  {
    name: 'sorted=true orders UTF-8 keys byte-wise (/zbig < /ünï < /✓ok)',
    ref: '§4.1',
    steps: [
      put('/v2/keys/u/%E2%9C%93ok', 'value=1'),
      put('/v2/keys/u/%C3%BCn%C3%AF', 'value=2'),
      put('/v2/keys/u/zbig', 'value=3'),
      put('/v2/keys/u/Zcap', 'value=4'),
      get('/v2/keys/u?sorted=true'),
    ],
  },
  {
    name: 'a trailing slash is the same as none, for files and dirs',
    ref: '§4.1 §4.9',
    steps: [put('/v2/keys/ts/k', 'value=1'), get('/v2/keys/ts/'), get('/v2/keys/ts/k/'), get('/v2/keys/ts/?recursive=true')],
  },
  {
    name: 'a missing key is 404/100 with the first missing component as cause',
    ref: '§4.1 §11.13',
    steps: [
      get('/v2/keys/nokey'),
      get('/v2/keys/nodir/child/deep'),
      put('/v2/keys/exists/a', 'value=1'),
      get('/v2/keys/exists/nope/deeper'),
      get('/v2/keys/exists/b'),
    ],
  },
  {
    name: 'reading through a file is 400/104 Not a directory, cause = the file',
    ref: '§4.1 §11.14',
    steps: [put('/v2/keys/afile', 'value=1'), get('/v2/keys/afile/child'), get('/v2/keys/afile/child/deeper?recursive=true')],
  },
  {
    name: 'hidden children are omitted from listings at any depth but readable directly',
    ref: '§4.1 §11.8',
    steps: [
      put('/v2/keys/hd/visible', 'value=1'),
      put('/v2/keys/hd/_hidden', 'value=2'),
      put('/v2/keys/hd/_hdir/inner', 'value=3'),
      put('/v2/keys/hd/sub/_deep', 'value=4'),
      put('/v2/keys/hd/sub/shown', 'value=5'),
      get('/v2/keys/hd'),
      get('/v2/keys/hd?recursive=true&sorted=true'),
      get('/v2/keys/hd/_hidden'),
      get('/v2/keys/hd/_hdir?recursive=true'),
      get('/v2/keys/hd/sub/_deep'),
    ],
  },
  {
    name: 'quorum=true returns the same body as a plain GET',
    ref: '§4.1',
    steps: [
      put('/v2/keys/qr/a', 'value=1'),
      get('/v2/keys/qr/a?quorum=true'),
      get('/v2/keys/qr?quorum=true&recursive=true'),
      get('/v2/keys/qr/none?quorum=true'),
      put('/v2/keys/qr/b', 'value=2'),
      get('/v2/keys/qr/b?quorum=true'),
    ],
  },
  {
    name: 'stream=true or waitIndex without wait=true are ignored (plain GET)',
    ref: '§4.1',
    steps: [
      put('/v2/keys/sw', 'value=1'),
      put('/v2/keys/sw', 'value=2'),
      get('/v2/keys/sw?stream=true', { timeoutMs: 2000 }),
      get('/v2/keys/sw?waitIndex={{i+1}}', { timeoutMs: 2000 }),
      get('/v2/keys/sw?wait=false&waitIndex={{i+1}}&stream=true', { timeoutMs: 2000 }),
    ],
  },
  {
    name: "a directory's modifiedIndex does not change when its children change",
    ref: '§4.1',
    steps: [
      put('/v2/keys/pd/a', 'value=1'),
      put('/v2/keys/pd/b', 'value=2'),
      put('/v2/keys/pd/a', 'value=3'),
      get('/v2/keys/pd'),
      get('/v2/keys/pd?recursive=true'),
    ],
  },
];
