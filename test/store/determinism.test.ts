// The store is a deterministic state machine: members fed the same log produce identical results,
// events and watch answers, and a store recovered from a snapshot behaves exactly like the original.
// Seeded random request sequences; a failure names the seed that reproduces it.
import { describe, expect, it } from 'vitest';
import type { V2Request } from '../../src/store/command.js';
import type { V2Event } from '../../src/store/event.js';
import { packr } from '../../src/store/msgpack.js';
import { Store, type ApplyResult } from '../../src/store/store.js';
import { Harness, Recorder, T0, type WriteOptions } from './harness.js';
import { mulberry32 } from '../sim/prng.js';


const names = ['a', 'b', '_h', 'c'];
const values = ['', 'x', 'y'];

function randomRequest(h: Harness, rand: () => number): V2Request {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const depth = 1 + Math.floor(rand() * 3);
  const path = '/' + Array.from({ length: depth }, () => pick(names)).join('/');
  h.advance(Math.floor(rand() * 700) + rand());
  const o: WriteOptions = { value: pick(values) };
  if (rand() < 0.3) o.ttl = pick([0, 0.4, 1, 2.5, 3]);
  if (rand() < 0.15) o.dir = true;
  const roll = rand();
  if (roll < 0.12) return h.request('SYNC', '/');
  if (roll < 0.4) return h.request('PUT', path, o);
  if (roll < 0.5) return h.request('PUT', path, { ...o, prevExist: true, refresh: rand() < 0.3 });
  if (roll < 0.58) return h.request('PUT', path, { ...o, prevExist: false });
  if (roll < 0.66) {
    const cond = rand() < 0.5 ? { prevValue: pick(['x', 'y']) } : { prevIndex: Math.max(1, h.store.index() - Math.floor(rand() * 5)) };
    return h.request('PUT', path, { ...o, ...cond, refresh: rand() < 0.2 && o.ttl !== undefined });
  }
  if (roll < 0.72) return h.request('POST', path.split('/').slice(0, -1).join('/') || '/', o);
  if (roll < 0.9) return h.request('DELETE', path, { dir: rand() < 0.4, recursive: rand() < 0.4 });
  return h.request('DELETE', path, rand() < 0.5 ? { prevValue: pick(['x', 'y']) } : { prevIndex: Math.max(1, h.store.index() - 2) });
}

const render = (r: ApplyResult): string => (r.ok ? JSON.stringify(r.event) : JSON.stringify(r.error.toJSON()));

/** Registers the same watch on several stores; their deliveries are compared at the end. */
function watchAll(stores: Store[], path: string, o: { recursive: boolean; stream: boolean; sinceIndex: number }): V2Event[][] {
  return stores.map((s) => {
    const got: V2Event[] = [];
    const w = s.watch(path, o);
    if (w.ok) w.watcher.start((ev) => void got.push(ev), () => void got.push({ action: 'get', node: { key: 'CLOSED' }, index: -1 }));
    else got.push({ action: 'get', node: { key: `ERROR ${w.error.errorCode}` }, index: -1 });
    return got;
  });
}

function runScenario(seed: number, steps: number, snapshotAt: number): { ok: number; failed: number; delivered: number; index: number } {
  let okCount = 0;
  const rand = mulberry32(seed);
  const driver = new Harness({ historyCapacity: 50 });
  const twin = new Store({ historyCapacity: 50 });
  let recovered: Store | null = null;
  const deliveries: V2Event[][][] = [];
  for (let step = 0; step < steps; step++) {
    const req = randomRequest(driver, rand);
    const a = driver.apply(req);
    const b = twin.apply(req);
    if (a.ok) okCount++;
    expect(render(b), `seed ${seed} step ${step}`).toBe(render(a));
    if (recovered !== null) expect(render(recovered.apply(req)), `seed ${seed} step ${step} (recovered)`).toBe(render(a));
    driver.store.verify();
    if (step === snapshotAt) {
      recovered = Store.recover(driver.store.save(), {});
      recovered.verify();
    }
    if (rand() < 0.1) {
      const stores = recovered === null ? [driver.store, twin] : [driver.store, twin, recovered];
      const path = '/' + names[Math.floor(rand() * names.length)]!;
      const since = rand() < 0.5 ? 0 : Math.max(1, driver.store.index() - Math.floor(rand() * 60));
      deliveries.push(watchAll(stores, path, { recursive: rand() < 0.6, stream: rand() < 0.5, sinceIndex: since }));
    }
  }
  for (const [i, perStore] of deliveries.entries()) {
    for (const got of perStore.slice(1)) expect(JSON.stringify(got), `seed ${seed} watch ${i}`).toBe(JSON.stringify(perStore[0]));
  }
  const all = recovered === null ? [driver.store, twin] : [driver.store, twin, recovered];
  const views = all.map((s) => ({
    index: s.index(),
    tree: JSON.stringify(s.get('/', true, false, driver.nowMs)),
    next: s.nextExpirationMs(),
    saved: Buffer.from(s.save()).toString('base64'),
  }));
  for (const v of views.slice(1)) {
    expect(v.index).toBe(views[0]!.index);
    expect(v.tree).toBe(views[0]!.tree);
    expect(v.next).toBe(views[0]!.next);
  }
  expect(views[1]!.saved, `seed ${seed}: twin snapshot`).toBe(views[0]!.saved);
  return { ok: okCount, failed: steps - okCount, delivered: deliveries.reduce((n, d) => n + d[0]!.length, 0), index: driver.store.index() };
}

describe('determinism', () => {
  it('two stores fed the same random log produce identical results, events, watches and state', () => {
    const totals = { ok: 0, failed: 0, delivered: 0, index: 0 };
    for (let seed = 1; seed <= 25; seed++) {
      const r = runScenario(seed, 400, 150);
      totals.ok += r.ok;
      totals.failed += r.failed;
      totals.delivered += r.delivered;
      totals.index += r.index;
    }
    // the generator must exercise both outcomes and the watchers, or the comparison proves little
    expect(totals.ok).toBeGreaterThan(2000);
    expect(totals.failed).toBeGreaterThan(1000);
    expect(totals.delivered).toBeGreaterThan(500);
  });

  it('applies the same sequence to the same result regardless of when reads and watches happen', () => {
    const a = new Harness();
    const b = new Harness();
    const script = (h: Harness, interleave: boolean): string[] => {
      const out: string[] = [];
      const steps: [string, WriteOptions][] = [
        ['/q', { value: '1', ttl: 1 }],
        ['/q/x', { value: '1' }],
        ['/d/e', { value: '2', ttl: 2 }],
      ];
      for (const [p, o] of steps) {
        out.push(render(h.put(p, o)));
        if (interleave) {
          h.get('/', { recursive: true });
          h.watch('/', { recursive: true }).remove();
        }
      }
      h.advance(2500);
      out.push(render(h.sync()));
      out.push(String(h.store.index()));
      return out;
    };
    expect(script(a, true)).toEqual(script(b, false));
  });
});

describe('snapshots', () => {
  it('recover the same index, gets, TTLs, stats and history-based watch answers', () => {
    const h = new Harness();
    h.put('/a/b', { value: '1' });
    h.put('/a/_h', { value: 'hidden' });
    h.put('/t', { value: 'ttl', ttl: 30 });
    h.put('/d', { dir: true, ttl: 60 });
    h.post('/q', { value: 'job' });
    h.put('/a/b', { prevExist: true, value: '2' });
    h.put('/t', { refresh: true, prevExist: true, ttl: 40 });
    h.del('/a/b');
    h.put('/z/y', { value: '' });
    h.put('/z', { dir: true, prevExist: true, ttl: 100 }); // stored dir modifiedIndex lags (quirk)
    h.get('/nope');
    const copy = Store.recover(h.store.save());
    copy.verify();
    expect(copy.index()).toBe(h.store.index());
    expect(copy.stats()).toEqual(h.store.stats());
    expect(copy.nextExpirationMs()).toBe(h.store.nextExpirationMs());
    for (const [path, recursive, sorted] of [
      ['/', true, false],
      ['/', true, true],
      ['/a', false, false],
      ['/a/_h', false, false],
      ['/z', true, false],
      ['/missing', false, false],
    ] as const) {
      expect(render(copy.get(path, recursive, sorted, h.nowMs + 1234))).toBe(render(h.store.get(path, recursive, sorted, h.nowMs + 1234)));
    }
    for (let since = 1; since <= h.store.index() + 1; since++) {
      for (const key of ['/', '/a', '/a/b', '/t', '/q']) {
        const [original, recovered] = watchAll([h.store, copy], key, { recursive: key !== '/t', stream: false, sinceIndex: since });
        expect(JSON.stringify(recovered), `${key} since ${since}`).toBe(JSON.stringify(original));
      }
    }
    // and the two keep evolving identically, expiry included
    h.advance(45_000);
    const req = h.request('SYNC', '/');
    expect(render(copy.apply(req))).toBe(render(h.store.apply(req)));
    expect(render(copy.get('/', true, true, h.nowMs))).toBe(render(h.store.get('/', true, true, h.nowMs)));
    expect(copy.index()).toBe(h.store.index());
  });

  it('keep the history window, including its 401 boundary', () => {
    const h = new Harness({ historyCapacity: 10 });
    for (let i = 0; i < 25; i++) h.put('/k', { value: String(i) });
    const copy = Store.recover(h.store.save());
    const since = (s: Store, n: number): string => {
      const w = s.watch('/k', { recursive: false, stream: false, sinceIndex: n });
      return w.ok ? 'ok' : JSON.stringify(w.error.toJSON());
    };
    for (const n of [14, 15, 16, 25, 26]) expect(since(copy, n)).toBe(since(h.store, n));
  });

  it('round-trip a deep tree without recursion limits', () => {
    const h = new Harness();
    const deep = '/' + Array.from({ length: 20_000 }, (_, i) => `d${i % 10}`).join('/');
    h.put(deep, { value: 'bottom' });
    const copy = Store.recover(h.store.save());
    expect(render(copy.get(deep, false, false, T0))).toBe(render(h.store.get(deep, false, false, T0)));
    expect(copy.get('/', true, false, T0).ok).toBe(true);
    const del = h.request('DELETE', '/d0', { recursive: true });
    expect(render(copy.apply(del))).toBe(render(h.store.apply(del)));
  });

  it('refuse data that is not a snapshot', () => {
    expect(() => Store.recover(new Uint8Array([1, 2, 3]))).toThrow(/store snapshot/);
  });
});

/** A store with a bit of everything: dirs, hidden keys, in-order keys, TTLs, a history, stats. */
function populated(seed: number, steps: number, historyCapacity = 50): Harness {
  const rand = mulberry32(seed);
  const h = new Harness({ historyCapacity });
  for (let i = 0; i < steps; i++) h.apply(randomRequest(h, rand));
  h.get('/nope');
  return h;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('restoreFrom (in place)', () => {
  it('replaces tree, index, history and stats with the snapshot\'s; the store continues exactly as the one saved', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const source = populated(seed, 200);
      const saved = source.store.save();
      const target = populated(seed + 100, 50 + seed * 30, 7); // another state, another history capacity
      target.store.restoreFrom(saved);
      target.store.verify();
      expect(hex(target.store.save()), `seed ${seed}`).toBe(hex(saved));
      expect(target.store.stats()).toEqual(source.store.stats());
      expect(target.store.nextExpirationMs()).toBe(source.store.nextExpirationMs());
      const rand = mulberry32(seed + 1000);
      for (let i = 0; i < 200; i++) {
        const req = randomRequest(source, rand);
        expect(render(target.store.apply(req)), `seed ${seed} step ${i}`).toBe(render(source.store.apply(req)));
      }
      target.store.verify();
      expect(hex(target.store.save())).toBe(hex(source.store.save()));
    }
  });

  it('keeps the registered watchers (etcd keeps its WatcherHub): they fire on the next matching write after the restore', () => {
    const source = new Harness();
    for (let i = 0; i < 30; i++) source.put(`/k${i % 4}`, { value: String(i) });
    const target = new Harness();
    target.put('/k1', { value: 'old' });
    const once = new Recorder(target.watch('/k1'));
    const stream = new Recorder(target.watch('/', { recursive: true, stream: true }));
    const elsewhere = new Recorder(target.watch('/other'));
    expect(target.store.stats().watchers).toBe(3);
    target.store.restoreFrom(source.store.save());
    expect(target.store.stats().watchers).toBe(3);
    expect(once.events).toEqual([]); // the restore itself is no event
    target.nowMs = source.nowMs;
    for (const h of [source, target]) h.put('/k2', { value: 'x' });
    expect(stream.keys()).toEqual(['set /k2@31']);
    expect(once.events).toEqual([]);
    for (const h of [source, target]) h.put('/k1', { value: 'y' });
    expect(once.keys()).toEqual(['set /k1@32']);
    expect(once.closed).toBe(1);
    expect(stream.keys()).toEqual(['set /k2@31', 'set /k1@32']);
    expect(elsewhere.events).toEqual([]);
    expect(target.store.stats().watchers).toBe(2);
  });

  it('rebuilds the TTL heap from the restored tree: keys expire as on the store saved, and none of the old ones do', () => {
    const source = new Harness();
    source.put('/t/a', { value: '1', ttl: 5 });
    source.put('/t', { dir: true, prevExist: true, ttl: 3 });
    source.put('/u', { value: '2', ttl: 1 });
    source.put('/p', { value: 'permanent' });
    const target = new Harness();
    target.put('/old', { value: 'x', ttl: 0.5 }); // would expire first, were it kept
    target.store.restoreFrom(source.store.save());
    target.store.verify();
    expect(target.store.nextExpirationMs()).toBe(T0 + 1000);
    for (const at of [600, 1200, 3500, 6000]) {
      const req = { ...source.request('SYNC', '/'), time: T0 + at };
      const seen: string[][] = [source, target].map((h) => {
        const rec = new Recorder(h.watch('/', { recursive: true, stream: true }));
        h.store.apply(req);
        return rec.keys();
      });
      expect(seen[1], `SYNC at +${at}`).toEqual(seen[0]);
      expect(target.store.nextExpirationMs()).toBe(source.store.nextExpirationMs());
      expect(target.store.index()).toBe(source.store.index());
    }
    expect(target.store.hasTtlKeys()).toBe(false);
    expect(render(target.store.get('/', true, true, T0))).toBe(render(source.store.get('/', true, true, T0)));
  });

  it('refuses a damaged or foreign snapshot with an Error and leaves the store (and its watchers) unchanged', () => {
    const good = populated(7, 300).store.save();
    const wire = packr.unpack(good) as Record<string, unknown> & { nodes: unknown[][]; history: Record<string, unknown>[] };
    expect(wire.nodes.length).toBeGreaterThan(3);
    expect(wire.history.length).toBeGreaterThan(3);
    const variant = (change: (w: typeof wire) => void): Uint8Array => {
      const w = structuredClone(wire);
      change(w);
      return packr.pack(w);
    };
    const firstFile = wire.nodes.findIndex((n) => n[5] !== null);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['garbage', Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)],
      ['truncated', good.subarray(0, good.length - 9)],
      ['not a map', packr.pack([1, 2, 3])],
      ['another version', variant((w) => (w['version'] = 2))],
      ['no version', variant((w) => delete w['version'])],
      ['index not a number', variant((w) => (w['index'] = '12'))],
      ['index below the nodes', variant((w) => (w['index'] = 1))],
      ['zero history capacity', variant((w) => (w['historyCapacity'] = 0))],
      ['absurd history capacity', variant((w) => (w['historyCapacity'] = 2 ** 40))],
      ['more history than capacity', variant((w) => (w['historyCapacity'] = 2))],
      ['a node with a bad parent', variant((w) => (w.nodes[1]![0] = 99_999))],
      ['a node under a file', variant((w) => (w.nodes.push([firstFile + 1, 'x', 1, 1, 0, 'v'])))],
      ['a duplicate node', variant((w) => w.nodes.push([...w.nodes[0]!]))],
      ['a node named with a slash', variant((w) => (w.nodes[0]![1] = 'a/b'))],
      ['an empty name', variant((w) => (w.nodes[0]![1] = ''))],
      ['modified before created', variant((w) => (w.nodes[0]![3] = 0))],
      ['a NaN expiration', variant((w) => (w.nodes[0]![4] = Number.NaN))],
      ['a negative expiration', variant((w) => (w.nodes[0]![4] = -5))],
      ['a short node', variant((w) => (w.nodes[0] = w.nodes[0]!.slice(0, 5)))],
      ['a value that is a number', variant((w) => (w.nodes[firstFile]![5] = 5 as never))],
      ['a gap in the history', variant((w) => w.history.splice(1, 1))],
      ['history past the index', variant((w) => w.history.push({ action: 'set', node: { key: '/zz', value: '' }, index: (w.history.at(-1)!['index'] as number) + 1 }))],
      ['a history event without a node', variant((w) => delete w.history[0]!['node'])],
      ['an unknown action', variant((w) => (w.history[0]!['action'] = 'get'))],
      ['a stats counter missing', variant((w) => delete (w['stats'] as Record<string, unknown>)['setsSuccess'])],
      ['a negative stats counter', variant((w) => ((w['stats'] as Record<string, unknown>)['expireCount'] = -1))],
    ];
    expect(() => Store.decodeSaved(good)).not.toThrow();
    const target = populated(8, 100);
    const watched = new Recorder(target.watch('/watched', { recursive: true, stream: true }));
    const before = hex(target.store.save());
    const index = target.store.index();
    for (const [what, data] of bad) {
      expect(() => target.store.restoreFrom(data), what).toThrow(/^store snapshot: /);
      expect(hex(target.store.save()), what).toBe(before);
      target.store.verify();
    }
    expect(target.store.index()).toBe(index);
    expect(target.store.stats().watchers).toBe(1);
    expect(target.put('/watched/k', { value: 'after' }).ok).toBe(true);
    expect(watched.keys()).toEqual([`set /watched/k@${index + 1}`]);
  });

  it('save({ readCounts: false }) leaves out the counters reads move; restoreFrom(..., { keepReadCounts: true }) keeps the store\'s own', () => {
    const source = populated(4, 100);
    for (let i = 0; i < 3; i++) source.get('/a');
    source.store.recordKeysRequest(true);
    const full = source.store.stats();
    expect(full.getsSuccess + full.getsFail).toBeGreaterThan(3);
    const twin = new Harness({ historyCapacity: 50 });
    for (const req of source.log) twin.apply(req); // the same log, no reads
    expect(hex(twin.store.save({ readCounts: false }))).toBe(hex(source.store.save({ readCounts: false })));
    expect(hex(twin.store.save())).not.toBe(hex(source.store.save()));

    const target = populated(5, 60);
    target.get('/x');
    target.get('/x');
    const own = { getsSuccess: target.store.stats().getsSuccess, getsFail: target.store.stats().getsFail };
    target.store.restoreFrom(source.store.save({ readCounts: false }), { keepReadCounts: true });
    expect(target.store.stats()).toEqual({ ...full, ...own });
    target.store.restoreFrom(source.store.save());
    expect(target.store.stats()).toEqual(full);
  });

  it('a decoded snapshot is restored into one store only', () => {
    const decoded = Store.decodeSaved(populated(3, 50).store.save());
    new Store().restoreFrom(decoded);
    expect(() => new Store().restoreFrom(decoded)).toThrow(/already restored/);
  });
});
