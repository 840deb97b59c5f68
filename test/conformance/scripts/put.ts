// §4.2 and §4.3: which store operation a PUT runs, and compare-and-swap.
import { get, put } from '../dsl.js';
import type { Script } from '../script.js';

export const putScripts: Script[] = [
  {
    name: 'set: 201 for a new key, 200 with prevNode when replacing a file',
    ref: '§4.2',
    steps: [put('/v2/keys/s', 'value=1'), put('/v2/keys/s', 'value=2'), put('/v2/keys/s', 'value=2')],
  },
  {
    name: 'set on a directory is 403/102; through a file 400/104; on the root 400/107',
    ref: '§4.2 §7.2',
    steps: [
      put('/v2/keys/sd/child', 'value=1'),
      put('/v2/keys/sd', 'value=x'),
      put('/v2/keys/sd/child/grandchild', 'value=y'),
      put('/v2/keys', 'value=r'),
      put('/v2/keys/', 'value=r'),
      put('/v2/keys/?dir=true'),
      get('/v2/keys/sd?recursive=true'),
    ],
  },
  {
    name: 'update (prevExist=true): 200 keeping createdIndex; 404/100 when missing',
    ref: '§4.2',
    steps: [put('/v2/keys/u', 'value=1'), put('/v2/keys/u?prevExist=true', 'value=2'), put('/v2/keys/missing?prevExist=true', 'value=3'), get('/v2/keys/u')],
  },
  {
    name: 'update of a directory with a non-empty value is 403/102; with an empty one it is an update',
    ref: '§4.2 §4.6',
    steps: [
      put('/v2/keys/ud', 'dir=true'),
      put('/v2/keys/ud?prevExist=true', 'value=zz'),
      put('/v2/keys/ud?prevExist=true', 'value='),
      put('/v2/keys/ud?prevExist=true'),
      get('/v2/keys/ud'),
    ],
  },
  {
    name: 'create (prevExist=false): 201; 412/105 on an existing file or directory',
    ref: '§4.2',
    steps: [
      put('/v2/keys/c?prevExist=false', 'value=1'),
      put('/v2/keys/c?prevExist=false', 'value=2'),
      put('/v2/keys/cd', 'dir=true'),
      put('/v2/keys/cd?prevExist=false', 'value=3'),
      put('/v2/keys/cd?prevExist=false&dir=true'),
      get('/v2/keys/c'),
    ],
  },
  {
    name: 'prevExist=false wins over prevValue and prevIndex',
    ref: '§4.2 §11.20',
    steps: [
      put('/v2/keys/cas2?prevExist=false&prevValue=six', 'value=1'),
      put('/v2/keys/cas3?prevExist=false&prevIndex=99', 'value=2'),
      put('/v2/keys/cas2?prevExist=false&prevValue=1', 'value=3'),
    ],
  },
  {
    name: 'a missing value is stored as "" by set, create, update and compareAndSwap',
    ref: '§4.2 §11.5',
    steps: [
      put('/v2/keys/mv1'),
      put('/v2/keys/mv2?prevExist=false'),
      put('/v2/keys/mv3', 'value=x'),
      put('/v2/keys/mv3?prevExist=true'),
      put('/v2/keys/mv4', 'value=y'),
      put('/v2/keys/mv4?prevValue=y'),
      get('/v2/keys/mv4'),
    ],
  },
  {
    name: 'update with only ttl= wipes the value',
    ref: '§4.2 §11.5',
    steps: [put('/v2/keys/w', 'value=keep&ttl=100'), put('/v2/keys/w?prevExist=true', 'ttl='), get('/v2/keys/w')],
  },
  {
    name: 'dir=true over an existing file replaces it with an empty directory',
    ref: '§4.2 §11.6',
    steps: [put('/v2/keys/fd', 'value=file'), put('/v2/keys/fd?dir=true'), get('/v2/keys/fd'), put('/v2/keys/fd?dir=true')],
  },
  {
    name: 'update and compareAndSwap ignore dir=true',
    ref: '§4.2',
    steps: [
      put('/v2/keys/ig', 'value=1'),
      put('/v2/keys/ig?prevExist=true&dir=true', 'value=2'),
      put('/v2/keys/ig?prevValue=2&dir=true', 'value=3'),
      get('/v2/keys/ig'),
    ],
  },
  {
    name: 'intermediate directories are created with the write, all at one index',
    ref: '§4.2',
    steps: [put('/v2/keys/a/b/c/d', 'value=deep'), get('/v2/keys/a?recursive=true'), put('/v2/keys/a/b/x', 'value=1'), get('/v2/keys/a/b')],
  },
  {
    name: 'set with dir=true and a value ignores the value',
    ref: '§4.2',
    steps: [put('/v2/keys/dv?dir=true', 'value=ignored'), get('/v2/keys/dv'), put('/v2/keys/dv2', 'dir=true&value=ignored&ttl=100')],
  },
];

export const casScripts: Script[] = [
  {
    name: 'compareAndSwap on prevValue: success, then 412/101 with cause [given != current]',
    ref: '§4.3',
    steps: [put('/v2/keys/cs', 'value=one'), put('/v2/keys/cs?prevValue=one', 'value=two'), put('/v2/keys/cs?prevValue=one', 'value=three'), get('/v2/keys/cs')],
  },
  {
    name: 'compareAndSwap against an empty current value: cause [x != ]',
    ref: '§4.3 §11.21',
    steps: [put('/v2/keys/ce', 'value='), put('/v2/keys/ce?prevValue=x', 'value=y')],
  },
  {
    name: 'compareAndSwap on prevIndex: success, then 412/101 with cause [given != modifiedIndex]',
    ref: '§4.3',
    steps: [
      put('/v2/keys/ci', 'value=1'),
      put('/v2/keys/ci?prevIndex={{i+1}}', 'value=2'),
      put('/v2/keys/ci?prevIndex={{i+1}}', 'value=3'),
      put('/v2/keys/ci?prevIndex=1', 'value=4'),
    ],
  },
  {
    name: 'compareAndSwap with both conditions: only the failing part is in the cause',
    ref: '§4.3',
    steps: [
      put('/v2/keys/cb', 'value=three'),
      put('/v2/keys/cb?prevValue=zzz&prevIndex=1', 'value=x'),
      put('/v2/keys/cb?prevValue=three&prevIndex=1', 'value=x'),
      put('/v2/keys/cb?prevValue=zzz&prevIndex={{i+1}}', 'value=x'),
      put('/v2/keys/cb?prevValue=three&prevIndex={{i+1}}', 'value=ok'),
    ],
  },
  {
    name: 'compareAndSwap on a missing key is 404/100; on a directory 403/102',
    ref: '§4.3',
    steps: [
      put('/v2/keys/nokey?prevValue=x', 'value=1'),
      put('/v2/keys/nokey?prevIndex=5', 'value=1'),
      put('/v2/keys/cdir', 'dir=true'),
      put('/v2/keys/cdir?prevValue=x', 'value=1'),
      put('/v2/keys/cdir?prevIndex={{i+1}}', 'value=1'),
    ],
  },
  {
    name: 'a failed compareAndSwap consumes no index and creates no event',
    ref: '§4.3 §6',
    steps: [put('/v2/keys/cf', 'value=a'), put('/v2/keys/cf?prevValue=b', 'value=c'), put('/v2/keys/cf?prevValue=b', 'value=c'), put('/v2/keys/other', 'value=d'), get('/v2/keys/cf')],
  },
  {
    name: 'compareAndSwap with prevExist=true and a condition is a compareAndSwap',
    ref: '§4.2',
    steps: [put('/v2/keys/cx', 'value=a'), put('/v2/keys/cx?prevExist=true&prevValue=a', 'value=b'), put('/v2/keys/cx?prevExist=true&prevValue=a', 'value=c')],
  },
  {
    name: 'compareAndSwap with a ttl sets it; without one removes it',
    ref: '§4.3 §4.4',
    steps: [put('/v2/keys/ct', 'value=a'), put('/v2/keys/ct?prevValue=a', 'value=b&ttl=100'), put('/v2/keys/ct?prevValue=b', 'value=c'), get('/v2/keys/ct')],
  },
];
