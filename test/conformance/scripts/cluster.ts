// §8.1–8.3: /version, /health, /v2/machines, /v2/members, /v2/stats/*. Ids, times, durations and
// counters are compared by shape; URLs and names exactly.
import { del, get, head, post, put, req } from '../dsl.js';
import type { Script } from '../script.js';

const json = { headers: { 'Content-Type': 'application/json' } };

export const clusterScripts: Script[] = [
  {
    name: '/version reports etcdserver and etcdcluster',
    ref: '§8.1',
    steps: [get('/version'), get('/version/')],
  },
  {
    name: '/health is {"health":"true"} as text/plain without newline',
    ref: '§8.1 §11.25',
    steps: [get('/health'), get('/health?x=1'), head('/health')],
  },
  {
    name: '/v2/machines lists the client URLs as text/plain',
    ref: '§8.1',
    steps: [get('/v2/machines'), head('/v2/machines'), get('/v2/machines/')],
  },
  {
    name: '/v2/members and /v2/members/ list the members',
    ref: '§8.2',
    steps: [get('/v2/members', { compare: 'shape' }), get('/v2/members/', { compare: 'shape' })],
  },
  {
    name: '/v2/members/leader is the leader member; other names are 404',
    ref: '§8.2',
    steps: [get('/v2/members/leader', { compare: 'shape' }), get('/v2/members/nobody'), get('/v2/members/{{memberId}}')],
  },
  {
    name: 'POST /v2/members needs application/json (415)',
    ref: '§8.2',
    steps: [
      post('/v2/members', 'peerURLs=http://127.0.0.1:1'),
      post('/v2/members', '{"peerURLs":["http://127.0.0.1:1"]}', { headers: { 'Content-Type': 'text/plain' } }),
      post('/v2/members', '{"peerURLs":["http://127.0.0.1:1"]}', { headers: { 'Content-Type': null } }),
    ],
  },
  {
    name: 'POST /v2/members with bad JSON, no URLs or a bad URL is 400',
    ref: '§8.2',
    steps: [
      post('/v2/members', '{"peerURLs":', json),
      post('/v2/members', '{}', json),
      post('/v2/members', '{"peerURLs":[]}', json),
      post('/v2/members', '{"peerURLs":["not a url"]}', json),
      post('/v2/members', '{"peerURLs":["ftp://127.0.0.1:1"]}', json),
    ],
  },
  {
    name: 'POST /v2/members with a peer URL already in use is 409',
    ref: '§8.2',
    singleMemberOnly: "etcd's strict reconfig check answers 500 until all peers have been connected for 5 s (isConnectedFullySince), then 409",
    steps: [post('/v2/members', '{"peerURLs":["{{peerURL}}"]}', json), get('/v2/members', { compare: 'shape' })],
  },
  {
    name: 'PUT and DELETE /v2/members/<unknown id> are 404 No such member',
    ref: '§8.2',
    steps: [
      put('/v2/members/1234', '{"peerURLs":["http://127.0.0.1:1"]}', json),
      del('/v2/members/1234'),
      del('/v2/members/not-hex'),
      put('/v2/members/1234', '{"peerURLs":["http://127.0.0.1:1"]}'),
      get('/v2/members', { compare: 'shape' }),
    ],
  },
  {
    name: "PUT /v2/members/<own id> with its own peer URL is 204; another member's URL check",
    ref: '§8.2',
    steps: [
      put('/v2/members/{{memberId}}', '{"peerURLs":["{{peerURL}}"]}', json),
      put('/v2/members/{{memberId}}', '{"peerURLs":[]}', json),
      get('/v2/members', { compare: 'shape' }),
    ],
  },
  {
    name: '/v2/stats/self shape',
    ref: '§8.3',
    steps: [get('/v2/stats/self', { compare: 'shape' }), get('/v2/stats/self/'), head('/v2/stats/self')],
  },
  {
    name: '/v2/stats/leader shape on the leader',
    ref: '§8.3',
    steps: [get('/v2/stats/leader', { compare: 'shape' })],
  },
  {
    name: '/v2/stats/store shape: 16 counters in order',
    ref: '§8.3',
    steps: [get('/v2/stats/store', { compare: 'shape' }), req('GET', '/v2/stats/store?x=1', undefined, { compare: 'shape' })],
  },
];
