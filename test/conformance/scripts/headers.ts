// §3 and §7.4: response headers on every kind of response; 404/405 texts; OPTIONS; HEAD.
import { del, get, head, post, put, req } from '../dsl.js';
import type { Script } from '../script.js';

export const headerScripts: Script[] = [
  {
    name: 'OPTIONS anywhere is a 200 CORS preflight with an empty body',
    ref: '§1.1 §3',
    steps: [
      req('OPTIONS', '/v2/keys/foo'),
      req('OPTIONS', '/v2/keys'),
      req('OPTIONS', '/version'),
      req('OPTIONS', '/v2/members'),
      req('OPTIONS', '/nothing/here', undefined, { headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'PUT' } }),
    ],
  },
  {
    name: 'unknown paths: 404 page not found (text/plain, nosniff, CORS)',
    ref: '§1.1 §7.4',
    steps: [get('/'), get('/v2'), get('/v2/keysfoo'), get('/v2/stats'), get('/v2/stats/'), get('/nope'), put('/v2/keysfoo', 'value=1'), head('/nope')],
  },
  {
    name: 'unknown method on /v2/keys: 405 with Allow, no etcd headers',
    ref: '§3 §7.4',
    steps: [put('/v2/keys/m', 'value=1'), req('PATCH', '/v2/keys/m', 'value=2'), req('PATCH', '/v2/keys'), req('TRACE', '/v2/keys/m'), get('/v2/keys/m')],
  },
  {
    name: 'unknown methods on members, machines, stats, version, health: 405 with Allow',
    ref: '§3 §7.4 §8',
    steps: [
      put('/v2/members', '{}', { headers: { 'Content-Type': 'application/json' } }),
      del('/v2/members'),
      req('PATCH', '/v2/members'),
      post('/v2/machines'),
      put('/v2/stats/self'),
      post('/v2/stats/leader'),
      del('/v2/stats/store'),
      post('/version'),
      put('/health'),
      head('/version'),
      head('/health'),
    ],
  },
  {
    name: 'X-Etcd-Index and X-Raft-* on successes, errors and parameter errors',
    ref: '§3 §7.1 §11.18',
    steps: [
      put('/v2/keys/h', 'value=1'),
      get('/v2/keys/h'),
      get('/v2/keys/missing'),
      put('/v2/keys/h?prevExist=false', 'value=2'),
      put('/v2/keys/h?ttl=abc', 'value=3'),
      get('/v2/keys/h?recursive=maybe'),
    ],
  },
  {
    name: 'HEAD returns the GET status and headers (with Content-Length) and no body',
    ref: '§3',
    steps: [
      put('/v2/keys/hd/k', 'value=some value'),
      head('/v2/keys/hd/k'),
      head('/v2/keys/hd'),
      head('/v2/keys/hd?recursive=true'),
      head('/v2/keys/nothere'),
      head('/v2/keys/hd/k/deeper'),
      head('/v2/keys/hd?recursive=bad'),
      head('/v2/machines'),
    ],
  },
  {
    name: 'HEAD with wait=true is refused with 209',
    ref: '§5.1',
    steps: [put('/v2/keys/hw', 'value=1'), head('/v2/keys/hw?wait=true', { timeoutMs: 2000 })],
  },
  {
    name: 'CORS headers on errors and on members/stats/version/health',
    ref: '§3',
    steps: [
      get('/v2/keys/none'),
      get('/version'),
      get('/health'),
      get('/v2/stats/self', { compare: 'shape' }),
      get('/v2/members/nobody'),
      post('/v2/members', 'x', { headers: { 'Content-Type': 'text/plain' } }),
    ],
  },
];
