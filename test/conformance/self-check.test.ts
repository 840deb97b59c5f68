// The differential suite checks itself against the real etcd only:
//  1. the same scripts on two independently started real etcd processes normalise identically
//     (no false differences from ids, times, ports, TTL timing, unsorted listings, indexes);
//  2. a recorded etcd transcript, deliberately altered, is reported as different — and altered
//     only within the allowed tolerances, it is not.
//   npx vitest run test/conformance/self-check.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTranscripts } from './compare.js';
import { ParallelRun } from './lanes.js';
import { mutateStep, replaceInBody, shiftTimestamp } from './mutations.js';
import { normaliseTranscript } from './normalise.js';
import type { Script } from './script.js';
import { allScripts } from './scripts/index.js';
import { realEtcd } from './targets.js';
import type { RawRecord, RawTranscript } from './transcript.js';
import { verdict } from './verdict.js';

function scriptNamed(prefix: string): Script {
  const s = allScripts.find((x) => x.name.startsWith(prefix));
  if (!s) throw new Error(`no script named "${prefix}..."`);
  return s;
}

const seed3 = scriptNamed('seed 3:');
const seed5 = scriptNamed('seed 5:');
const sortedListing = scriptNamed('sorted=true sorts byte-wise by key');
const inOrder = scriptNamed('POST creates 20-digit');
const stream = scriptNamed('a stream watch delivers every matching event');
const escaping = scriptNamed('special characters in values');
const casIndex = scriptNamed('compareAndSwap on prevIndex');
const selected: Script[] = [
  seed3,
  seed5,
  sortedListing,
  inOrder,
  stream,
  escaping,
  casIndex,
  scriptNamed('seed 8:'),
  scriptNamed('ttl=1 expires with an expire event'),
  scriptNamed('a waitIndex older than the 1000-event window'),
  scriptNamed('a just-started member is at etcd index 3'),
  scriptNamed('/v2/stats/self shape'),
  scriptNamed('/v2/members and /v2/members/'),
  scriptNamed('hidden keys: skipped by live recursive watches'),
];

let run: ParallelRun;

beforeAll(() => {
  run = new ParallelRun(selected, [realEtcd('etcd A'), realEtcd('etcd B')], 2);
});

afterAll(async () => {
  await run?.stop();
}, 180_000);

describe('two fresh real etcd processes give identical normalised transcripts', () => {
  for (const script of selected) {
    it(script.name, async () => {
      const [a, b] = await run.result(script.name);
      const v = verdict(script, a ?? {}, b ?? {}, ['etcd A', 'etcd B']);
      if (!v.ok) expect.fail(v.message);
    }, 300_000);
  }
});

async function recorded(script: Script): Promise<RawTranscript> {
  const [a] = await run.result(script.name);
  if (!a?.transcript) throw new Error(`real etcd run of "${script.name}" failed: ${a?.error}`);
  return a.transcript;
}

function seenAsDifferent(script: Script, original: RawTranscript, altered: RawTranscript): boolean {
  return !compareTranscripts(normaliseTranscript(original, script), normaliseTranscript(altered, script)).equal;
}

interface Alteration {
  what: string;
  script: Script;
  step: number;
  change: (r: RawRecord) => void;
}

const detected: Alteration[] = [
  { what: 'a different value', script: seed3, step: 1, change: (r) => replaceInBody(r, /"RECREATE"/, '"RECREATe"') },
  {
    what: 'fields in another order',
    script: seed3,
    step: 0,
    change: (r) => replaceInBody(r, /"modifiedIndex":(\d+),"createdIndex":(\d+)/, '"createdIndex":$2,"modifiedIndex":$1'),
  },
  { what: 'an extra field', script: seed3, step: 0, change: (r) => replaceInBody(r, /"value":/, '"dir":false,"value":') },
  { what: 'a missing prevNode', script: seed3, step: 1, change: (r) => replaceInBody(r, /,"prevNode":\{[^}]*\}/, '') },
  { what: 'an index off by one', script: seed3, step: 1, change: (r) => replaceInBody(r, /"modifiedIndex":(\d+)/, (_m, n) => `"modifiedIndex":${Number(n) + 1}`) },
  {
    what: 'X-Etcd-Index off by one',
    script: seed3,
    step: 1,
    change: (r) => {
      r.headers = { ...r.headers, 'x-etcd-index': String(Number(r.headers?.['x-etcd-index']) + 1) };
    },
  },
  { what: 'another status', script: seed3, step: 0, change: (r) => void (r.status = 200) },
  { what: 'a missing trailing newline', script: seed3, step: 0, change: (r) => replaceInBody(r, /\n$/, '') },
  { what: 'whitespace in the JSON', script: seed3, step: 0, change: (r) => replaceInBody(r, /,"node"/, ', "node"') },
  {
    what: 'a missing X-Etcd-Cluster-Id',
    script: seed3,
    step: 0,
    change: (r) => {
      const { 'x-etcd-cluster-id': _gone, ...rest } = r.headers ?? {};
      r.headers = rest;
    },
  },
  { what: 'another Content-Type', script: seed3, step: 0, change: (r) => void (r.headers = { ...r.headers, 'content-type': 'text/plain' }) },
  { what: '< not escaped as \\u003c', script: escaping, step: 1, change: (r) => replaceInBody(r, /\\u003c/, '<') },
  { what: 'ttl off by 3 s', script: seed5, step: 0, change: (r) => replaceInBody(r, /"ttl":(\d+)/, (_m, n) => `"ttl":${Number(n) + 3}`) },
  {
    what: 'expiration 3 s later',
    script: seed5,
    step: 0,
    change: (r) => replaceInBody(r, /"expiration":"([^"]+)"/, (_m, ts) => `"expiration":"${shiftTimestamp(ts, 3000)}"`),
  },
  {
    what: 'an expiration fraction with trailing zeros',
    script: seed5,
    step: 0,
    change: (r) => replaceInBody(r, /"expiration":"([^".]+)(\.\d+)?Z"/, (_m, s) => `"expiration":"${s}.500000000Z"`),
  },
  { what: 'a non-UTC expiration', script: seed5, step: 0, change: (r) => replaceInBody(r, /"expiration":"([^"]+)Z"/, (_m, s) => `"expiration":"${s}+00:00"`) },
  {
    what: 'a sorted listing out of order',
    script: sortedListing,
    step: 11,
    change: (r) => replaceInBody(r, /\{"key":"\/srt\/K0"[^}]*\},(\{"key":"\/srt\/k-"[^}]*\})/, (m, second) => `${second},${m.slice(0, m.length - second.length - 1)}`),
  },
  { what: 'an in-order key named after another index', script: inOrder, step: 0, change: (r) => replaceInBody(r, /\/queue\/(\d{20})/, (_m, d) => `/queue/${String(Number(d) + 1).padStart(20, '0')}`) },
  { what: 'a stream event missing', script: stream, step: 6, change: (r) => void (r.events = r.events?.slice(0, 3)) },
  { what: 'a compare-failed cause with another index', script: casIndex, step: 2, change: (r) => replaceInBody(r, / != (\d+)\]/, (_m, n) => ` != ${Number(n) + 1}]`) },
];

const tolerated: Alteration[] = [
  { what: 'ttl one second less', script: seed5, step: 0, change: (r) => replaceInBody(r, /"ttl":(\d+)/, (_m, n) => `"ttl":${Number(n) - 1}`) },
  {
    what: 'expiration 400 ms later',
    script: seed5,
    step: 0,
    change: (r) => replaceInBody(r, /"expiration":"([^"]+)"/, (_m, ts) => `"expiration":"${shiftTimestamp(ts, 400)}"`),
  },
  {
    what: 'an unsorted listing in another order',
    script: sortedListing,
    step: 13,
    change: (r) => replaceInBody(r, /"nodes":\[(\{"key":"\/srt\/[^"]*","value":"[^"]*","modifiedIndex":\d+,"createdIndex":\d+\}),(\{"key":"\/srt\/[^"]*","value":"[^"]*","modifiedIndex":\d+,"createdIndex":\d+\})/, '"nodes":[$2,$1'),
  },
  { what: 'another X-Raft-Index and Date', script: seed3, step: 1, change: (r) => void (r.headers = { ...r.headers, 'x-raft-index': '99999', date: 'Thu, 01 Jan 1970 00:00:00 GMT' }) },
  { what: 'another cluster id', script: seed3, step: 1, change: (r) => void (r.headers = { ...r.headers, 'x-etcd-cluster-id': 'abcdef0123' }) },
];

describe('the comparison reports a deliberately altered real-etcd response as different', () => {
  it('an unaltered transcript equals itself', async () => {
    for (const s of [seed3, seed5, sortedListing, inOrder, stream, escaping, casIndex]) {
      const t = await recorded(s);
      expect(seenAsDifferent(s, t, t), s.name).toBe(false);
    }
  }, 300_000);

  for (const a of detected) {
    it(`catches ${a.what}`, async () => {
      const original = await recorded(a.script);
      expect(seenAsDifferent(a.script, original, mutateStep(original, a.step, a.change))).toBe(true);
    }, 300_000);
  }
});

describe('the comparison tolerates what may legitimately vary', () => {
  for (const a of tolerated) {
    it(`accepts ${a.what}`, async () => {
      const original = await recorded(a.script);
      expect(seenAsDifferent(a.script, original, mutateStep(original, a.step, a.change))).toBe(false);
    }, 300_000);
  }
});
