// Differential check of the store against the real etcd 3.4 (its v2 API over HTTP): the same seeded
// random writes go to both, and every response body, error, listing and waitIndex history answer must
// match byte for byte (expiration/ttl compared by presence: the clocks differ). Indexes line up
// because the store is first advanced, with writes to a hidden key, to etcd's starting index.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V2Request } from '../../src/store/command.js';
import type { ApplyResult } from '../../src/store/store.js';
import { etcdBinary, startEtcd } from '../helpers/etcd.js';
import type { Target } from '../helpers/target.js';
import { Harness, type WriteOptions } from './harness.js';
import { mulberry32 } from '../sim/prng.js';

const haveEtcd = fs.existsSync(etcdBinary);


interface Answer {
  status: number;
  body: string;
}

/** Clock-dependent fields become markers; everything else must be identical. */
function normalise(json: string): string {
  return json
    .trim()
    .replace(/"expiration":"[^"]+"/g, '"expiration":"E"')
    .replace(/"ttl":-?\d+/g, '"ttl":"T"');
}

function storeAnswer(result: ApplyResult): Answer {
  if (!result.ok) return { status: result.error.httpStatus(), body: normalise(JSON.stringify(result.error)) };
  const ev = result.event!;
  const b = ev.prevNode === undefined ? { action: ev.action, node: ev.node } : { action: ev.action, node: ev.node, prevNode: ev.prevNode };
  return { status: 0, body: normalise(JSON.stringify(b)) };
}

async function etcdRequest(base: string, req: V2Request, ttlSeconds: number | undefined): Promise<Answer> {
  const query = new URLSearchParams();
  const form = new URLSearchParams();
  if (req.method === 'DELETE') {
    if (req.dir) query.set('dir', 'true');
    if (req.recursive) query.set('recursive', 'true');
  } else {
    if (req.dir) query.set('dir', 'true');
    if (req.prevExist !== null) query.set('prevExist', String(req.prevExist));
    if (req.refresh) query.set('refresh', 'true');
    form.set('value', req.val);
    if (ttlSeconds !== undefined) form.set('ttl', String(ttlSeconds));
  }
  if (req.prevValue !== '') query.set('prevValue', req.prevValue);
  if (req.prevIndex > 0) query.set('prevIndex', String(req.prevIndex));
  const url = `${base}/v2/keys${req.path === '/' ? '/' : req.path}?${query}`;
  const res = await fetch(url, { method: req.method, body: req.method === 'DELETE' ? undefined : form });
  const text = await res.text();
  return { status: res.status, body: normalise(text) };
}

async function etcdGet(base: string, path: string, query: string, timeoutMs = 5000): Promise<Answer | null> {
  try {
    const res = await fetch(`${base}/v2/keys${path}?${query}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: normalise(await res.text()) };
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') return null;
    throw e;
  }
}

const names = ['a', 'b', '_h'];

describe.skipIf(!haveEtcd)('the store against the real etcd', () => {
  let etcd: Target;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('answers seeded random writes, reads and history watches exactly as etcd 3.4 does', async () => {
    const base = etcd.clientURL;
    const startIndex = Number((await fetch(`${base}/v2/keys/`)).headers.get('x-etcd-index'));
    const h = new Harness();
    for (let i = 0; i < startIndex; i++) h.put('/_prime', { value: '' });
    expect(h.store.index()).toBe(startIndex);

    const rand = mulberry32(20260101);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    /** A condition that often matches: the node's own value or modifiedIndex when it exists. */
    const condition = (path: string): WriteOptions => {
      const current = h.store.get(path, false, false, h.nowMs);
      const node = current.ok && rand() < 0.6 ? current.event?.node : undefined;
      if (rand() < 0.5) return { prevValue: node?.value || pick(['x', 'y']) };
      return { prevIndex: node?.modifiedIndex ?? Math.max(1, h.store.index() - Math.floor(rand() * 4)) };
    };
    const touched = new Set<string>(['/']);
    let compared = 0;
    for (let step = 0; step < 400; step++) {
      h.nowMs = Date.now();
      const depth = rand() < 0.5 ? 1 : rand() < 0.7 ? 2 : 3;
      const path = '/' + Array.from({ length: depth }, () => pick(names)).join('/');
      const o: WriteOptions = { value: pick(['', 'x', 'y']) };
      if (rand() < 0.25) o.ttl = 100 + Math.floor(rand() * 100);
      if (rand() < 0.08) o.dir = true;
      const roll = rand();
      let req: V2Request;
      if (roll < 0.33) req = h.request('PUT', path, o);
      else if (roll < 0.45) {
        const refresh = o.ttl !== undefined && rand() < 0.4;
        req = h.request('PUT', path, { ...o, prevExist: true, refresh, value: refresh ? '' : o.value });
      } else if (roll < 0.52) req = h.request('PUT', path, { ...o, prevExist: false });
      else if (roll < 0.64) req = h.request('PUT', path, { ...o, ...condition(path) });
      else if (roll < 0.7) req = h.request('POST', path.split('/').slice(0, -1).join('/') || '/', o);
      else if (roll < 0.86) req = h.request('DELETE', path, { dir: rand() < 0.4, recursive: rand() < 0.4 });
      else req = h.request('DELETE', path, condition(path));
      touched.add(path);
      const ours = storeAnswer(h.apply(req));
      const theirs = await etcdRequest(base, req, o.ttl);
      expect(ours.body, `step ${step}: ${req.method} ${req.path} ${JSON.stringify(o)}`).toBe(theirs.body);
      if (ours.status !== 0) expect(ours.status, `step ${step} status`).toBe(theirs.status);
      compared++;
    }
    expect(h.store.index()).toBe(Number((await fetch(`${base}/v2/keys/`)).headers.get('x-etcd-index')));

    for (const path of touched) {
      for (const recursive of [false, true]) {
        const ours = storeAnswer(h.get(path, { recursive, sorted: true }));
        const theirs = (await etcdGet(base, path, `recursive=${recursive}&sorted=true`))!;
        expect(ours.body, `GET ${path} recursive=${recursive}`).toBe(theirs.body);
        compared++;
      }
    }

    // waitIndex answers from history (ours answers at once or registers a live watch)
    let liveChecked = 0;
    const current = h.store.index();
    for (let since = Math.max(startIndex + 1, current - 60); since <= current; since += 3) {
      for (const key of ['/', '/a', '/a/b', '/b/_h', '/a/a/a']) {
        for (const recursive of [false, true]) {
          const w = h.store.watch(key, { recursive, stream: false, sinceIndex: since });
          if (!w.ok) throw w.error;
          let delivered: string | null = null;
          w.watcher.start(
            (ev) => {
              delivered = storeAnswer({ ok: true, event: ev }).body;
            },
            () => {},
          );
          if (delivered === null) {
            w.watcher.remove();
            if (liveChecked++ >= 6) continue; // each silent check costs a timeout; a few suffice
            expect(await etcdGet(base, key, `wait=true&waitIndex=${since}&recursive=${recursive}`, 300), `watch ${key} ${since}`).toBeNull();
            continue;
          }
          const theirs = await etcdGet(base, key, `wait=true&waitIndex=${since}&recursive=${recursive}`);
          expect(delivered, `watch ${key} since ${since} recursive=${recursive}`).toBe(theirs?.body);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(400);
  }, 120_000);
});
