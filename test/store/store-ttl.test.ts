// TTLs, expiry through SYNC and refresh: etcd's store_ttl_test.go and etcd-v2-api.md §4.4, §4.5.
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { Harness, Recorder, T0, body, err, ok, watchAndRecord } from './harness.js';

describe('TTL fields', () => {
  it('reports expiration (RFC3339Nano, UTC) and the ttl in seconds from the request time', () => {
    const h = new Harness();
    h.advance(0.125); // exactly representable: a double carries ~0.24 µs at today's Unix ms
    const ev = ok(h.put('/foo', { value: 'bar', ttl: 5 }));
    expect(body(ev)).toBe(
      '{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2026-01-01T00:00:05.000125Z","ttl":5,"modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('counts ttl down as a ceiling of the remaining seconds for reads', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', ttl: 5 });
    h.advance(2000);
    expect(ok(h.get('/foo')).node.ttl).toBe(3);
    h.advance(1);
    expect(ok(h.get('/foo')).node.ttl).toBe(3);
    h.advance(999);
    expect(ok(h.get('/foo')).node.ttl).toBe(2);
  });

  it('treats ttl=0 as "expire now": expiration present, no ttl field, gone at the next sync', () => {
    const h = new Harness();
    const ev = ok(h.put('/z0', { value: 'v', ttl: 0 }));
    expect(ev.node.expiration).toBe('2026-01-01T00:00:00Z');
    expect('ttl' in ev.node).toBe(false);
    expect(h.store.nextExpirationMs()).toBe(T0);
    expect(h.sync()).toEqual({ ok: true, event: null });
    expect(err(h.get('/z0')).errorCode).toBe(100);
  });

  it('makes the key permanent again on an update without ttl (the seed example 6)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', ttl: 100 });
    h.advance(22_000);
    const ev = ok(h.put('/foo', { value: 'bar', prevExist: true }));
    expect(ev.action).toBe('update');
    expect(ev.node).toEqual({ key: '/foo', value: 'bar', modifiedIndex: 2, createdIndex: 1 });
    expect(ev.prevNode).toMatchObject({ key: '/foo', value: 'bar', ttl: 78, modifiedIndex: 1, createdIndex: 1 });
    expect(h.store.hasTtlKeys()).toBe(false);
  });

  it('treats expirations before 2000 as permanent on create (etcd TestMinExpireTime)', () => {
    const h = new Harness();
    h.apply({ ...h.request('PUT', '/foo', { value: 'Y', prevExist: false }), expiration: Date.UTC(1984, 3, 4, 0, 0, 3) });
    h.advance(5000);
    h.sync();
    const ev = ok(h.get('/foo', { recursive: true }));
    expect(ev.index).toBe(1);
    expect(ev.node.ttl).toBeUndefined();
    expect(ev.node.expiration).toBeUndefined();
  });
});

describe('expiry (SYNC)', () => {
  it('expires a value whose TTL an update set (etcd TestStoreUpdateValueTTL)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false });
    ok(h.put('/foo', { value: 'baz', prevExist: true, ttl: 0.5 }));
    expect(ok(h.get('/foo')).node.value).toBe('baz');
    expect(h.store.index()).toBe(2);
    h.advance(600);
    expect(h.sync()).toEqual({ ok: true, event: null });
    expect(err(h.get('/foo')).errorCode).toBe(100);
    expect(h.store.index()).toBe(3);
  });

  it('expires a file inside a directory (etcd TestStoreUpdateDirTTL)', () => {
    const h = new Harness();
    h.put('/foo', { dir: true, prevExist: false });
    h.put('/foo/bar', { value: 'baz', prevExist: false });
    const ev = ok(h.put('/foo/bar', { prevExist: true, ttl: 0.5 }));
    expect(ev.node.dir).toBeUndefined();
    expect(ev.index).toBe(3);
    expect(ok(h.get('/foo/bar')).node.value).toBe('');
    h.advance(600);
    h.sync();
    expect(err(h.get('/foo/bar')).errorCode).toBe(100);
    expect(ok(h.get('/foo')).node.nodes).toBeUndefined();
  });

  it('does not expire anything before its time, and expires exactly at it', () => {
    const h = new Harness();
    h.put('/k', { value: 'v', ttl: 1 });
    h.advance(999);
    h.sync();
    expect(ok(h.get('/k')).node.value).toBe('v');
    expect(h.store.index()).toBe(1);
    h.advance(1);
    h.sync();
    expect(err(h.get('/k')).errorCode).toBe(100);
  });

  it('gives each expired node its own index and event, in expiration order, ties by key', () => {
    const h = new Harness();
    h.put('/b', { value: '1', ttl: 1 });
    h.put('/a', { value: '1', ttl: 1 });
    h.put('/c', { value: '1', ttl: 0.5 });
    h.put('/keep', { value: '1', ttl: 10 });
    const rec = watchAndRecord(h, '/', { recursive: true, stream: true });
    h.advance(1000);
    h.sync();
    expect(rec.keys()).toEqual(['expire /c@5', 'expire /a@6', 'expire /b@7']);
    expect(h.store.index()).toBe(7);
    expect(h.store.nextExpirationMs()).toBe(T0 + 10_000);
  });

  it('expires a directory with its subtree as one event (and its TTL children with it)', () => {
    const h = new Harness();
    h.put('/ttldir', { dir: true, ttl: 1 });
    h.put('/ttldir/a/b', { value: 'v' });
    h.put('/ttldir/t', { value: 'v', ttl: 1 }); // same expiration: the directory goes first
    const rec = watchAndRecord(h, '/', { recursive: true, stream: true });
    h.advance(1000);
    h.sync();
    expect(rec.keys()).toEqual(['expire /ttldir@4']);
    expect(h.store.hasTtlKeys()).toBe(false);
    expect(err(h.get('/ttldir/a/b')).cause).toBe('/ttldir');
  });

  it('builds expire events without value, prevNode with expiration but no ttl (not even for a dir)', () => {
    const h = new Harness();
    h.put('/tmp2', { value: 't', ttl: 1 });
    h.put('/dttl', { dir: true, ttl: 1 });
    const rec = watchAndRecord(h, '/', { recursive: true, stream: true });
    h.advance(1200);
    h.sync();
    expect(body(rec.events[0]!)).toBe(
      '{"action":"expire","node":{"key":"/dttl","dir":true,"modifiedIndex":3,"createdIndex":2},"prevNode":{"key":"/dttl","dir":true,"expiration":"2026-01-01T00:00:01Z","modifiedIndex":2,"createdIndex":2}}',
    );
    expect(body(rec.events[1]!)).toBe(
      '{"action":"expire","node":{"key":"/tmp2","modifiedIndex":4,"createdIndex":1},"prevNode":{"key":"/tmp2","value":"t","expiration":"2026-01-01T00:00:01Z","modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('answers nextExpirationMs with the earliest live expiration, tracking updates and deletes', () => {
    const h = new Harness();
    expect(h.store.nextExpirationMs()).toBeNull();
    h.put('/a', { value: '', ttl: 10 });
    h.put('/b', { value: '', ttl: 5 });
    expect(h.store.nextExpirationMs()).toBe(T0 + 5000);
    h.put('/b', { value: '', prevExist: true, ttl: 20 });
    expect(h.store.nextExpirationMs()).toBe(T0 + 10_000);
    h.del('/a');
    expect(h.store.nextExpirationMs()).toBe(T0 + 20_000);
    h.put('/b', { value: '', prevValue: '' }); // CAS with an empty prevValue is not a CAS: a set, permanent
    expect(h.store.nextExpirationMs()).toBeNull();
  });

  it('forgets the TTLs of a deleted subtree', () => {
    const h = new Harness();
    h.put('/d/x', { value: '', ttl: 1 });
    h.put('/d/y/z', { value: '', ttl: 2 });
    h.del('/d', { recursive: true });
    expect(h.store.hasTtlKeys()).toBe(false);
    h.advance(5000);
    h.sync();
    expect(h.store.index()).toBe(3);
  });

  it('counts expirations in the stats', () => {
    const h = new Harness();
    h.put('/a', { value: '', ttl: 1 });
    h.put('/b', { value: '', ttl: 1 });
    h.advance(1000);
    h.sync();
    expect(h.store.stats().expireCount).toBe(2);
  });
});

describe('refresh', () => {
  it('with prevExist=true: update, value kept, new expiration, index consumed', () => {
    const h = new Harness();
    h.put('/rf', { value: 'keep', ttl: 60 });
    const ev = ok(h.put('/rf', { refresh: true, prevExist: true, ttl: 40 }));
    expect(ev.action).toBe('update');
    expect(ev.refresh).toBe(true);
    expect(ev.node).toEqual({ key: '/rf', value: 'keep', expiration: '2026-01-01T00:00:40Z', ttl: 40, modifiedIndex: 2, createdIndex: 1 });
    expect(ev.prevNode?.ttl).toBe(60);
    expect(h.store.index()).toBe(2);
  });

  it('without prevExist: set, value kept, the node re-created (createdIndex changes)', () => {
    const h = new Harness();
    h.put('/rf', { value: 'keep', ttl: 60 });
    const ev = ok(h.put('/rf', { refresh: true, ttl: 30 }));
    expect(ev.action).toBe('set');
    expect(ev.node).toMatchObject({ value: 'keep', ttl: 30, modifiedIndex: 2, createdIndex: 2 });
    expect(ev.prevNode).toMatchObject({ value: 'keep', ttl: 60, createdIndex: 1 });
  });

  it('with a matching prevValue: compareAndSwap keeping the value; mismatch 101', () => {
    const h = new Harness();
    h.put('/rf', { value: 'keep', ttl: 60 });
    expect(ok(h.put('/rf', { refresh: true, prevValue: 'keep', ttl: 50 })).node).toMatchObject({ value: 'keep', ttl: 50 });
    expect(err(h.put('/rf', { refresh: true, prevValue: 'other', ttl: 50 })).errorCode).toBe(101);
  });

  it('fails with 100 on a missing key', () => {
    const h = new Harness();
    expect(err(h.put('/nope', { refresh: true, ttl: 5 })).errorCode).toBe(100);
    expect(err(h.put('/nope', { refresh: true, prevExist: true, ttl: 5 })).errorCode).toBe(100);
  });

  it('on a directory: update with prevExist=true (children kept), 102 without', () => {
    const h = new Harness();
    h.put('/rfd', { dir: true, ttl: 60 });
    h.put('/rfd/kid', { value: 'k' });
    const ev = ok(h.put('/rfd', { refresh: true, prevExist: true, ttl: 70 }));
    expect(ev.node).toMatchObject({ key: '/rfd', dir: true, ttl: 70, modifiedIndex: 3, createdIndex: 1 });
    expect(ok(h.get('/rfd')).node.nodes).toHaveLength(1);
    expect(err(h.put('/rfd', { refresh: true, dir: true, ttl: 70 }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/rfd', index: 3 });
  });

  it('is not delivered to watchers, and history scans skip it (etcd TestStoreWatchExpireRefresh)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false, ttl: 0.5, refresh: true });
    h.put('/foofoo', { value: 'barbarbar', prevExist: false, ttl: 1.2, refresh: true });
    const first = watchAndRecord(h, '/', { recursive: true });
    h.advance(600);
    h.sync();
    expect(first.keys()).toEqual(['expire /foo@3']);
    h.put('/foofoo', { prevExist: true, refresh: true, ttl: 0.5 });
    const w = h.watch('/', { recursive: true, sinceIndex: 4 });
    expect(w.startIndex).toBe(4);
    const rec = new Recorder(w).events;
    expect(rec).toEqual([]);
    h.advance(700);
    h.sync();
    expect(rec.map((e) => `${e.action} ${e.node.key}@${e.index}`)).toEqual(['expire /foofoo@5']);
  });

  it('an empty refresh keeps the value for the later expiry (etcd TestStoreWatchExpireEmptyRefresh)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false, ttl: 0.5 });
    h.advance(200);
    h.sync();
    h.put('/foo', { prevExist: true, refresh: true, ttl: 0.5 });
    const w = h.watch('/', { recursive: true, sinceIndex: 2 });
    const rec = new Recorder(w).events;
    h.advance(700);
    h.sync();
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ action: 'expire', index: 3, node: { key: '/foo' }, prevNode: { value: 'bar' } });
  });

  it('a non-refresh TTL update is an event (etcd TestStoreWatchNoRefresh)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false, ttl: 0.5 });
    h.advance(200);
    h.sync();
    h.put('/foo', { prevExist: true, ttl: 0.5 });
    const w = h.watch('/', { recursive: true, sinceIndex: 2 });
    expect(w.startIndex).toBe(2);
    const rec = new Recorder(w).events;
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ action: 'update', index: 2, prevNode: { value: 'bar' } });
  });

  it('works on update, set and compareAndSwap alike (etcd TestStoreRefresh)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false, ttl: 0.5 });
    h.put('/bar', { dir: true, prevExist: false, ttl: 0.5 });
    h.put('/bar/z', { value: 'bar', prevExist: false, ttl: 0.5 });
    expect(h.put('/foo', { prevExist: true, refresh: true, ttl: 0.5 }).ok).toBe(true);
    expect(h.put('/foo', { refresh: true, ttl: 0.5 }).ok).toBe(true);
    expect(h.put('/bar/z', { prevExist: true, refresh: true, ttl: 0.5 }).ok).toBe(true);
    expect(h.put('/foo', { prevValue: 'bar', refresh: true, ttl: 0.5 }).ok).toBe(true);
    expect(ok(h.get('/foo')).node.value).toBe('bar');
  });
});

describe('hidden expiry', () => {
  it('is not seen by a recursive watch of an ancestor (etcd TestStoreWatchExpireWithHiddenKey)', () => {
    const h = new Harness();
    h.put('/_foo', { value: 'bar', prevExist: false, ttl: 0.5 });
    h.put('/foofoo', { value: 'barbarbar', prevExist: false, ttl: 1 });
    const rec = watchAndRecord(h, '/', { recursive: true });
    h.advance(600);
    h.sync();
    expect(rec.events).toHaveLength(0);
    h.advance(600);
    h.sync();
    expect(rec.keys()).toEqual(['expire /foofoo@4']);
  });
});

describe('recovery with expiring keys', () => {
  it('keeps expirations through save/recover and expires on the recovered store (etcd TestStoreRecoverWithExpiration)', () => {
    const h = new Harness();
    h.put('/foo', { dir: true, prevExist: false });
    h.put('/foo/x', { value: 'bar', prevExist: false });
    h.put('/foo/y', { value: 'baz', prevExist: false, ttl: 0.005 });
    const recovered = new Harness(undefined, Store.recover(h.store.save()));
    recovered.nowMs = h.nowMs;
    expect(recovered.store.nextExpirationMs()).toBe(T0 + 5);
    recovered.advance(600);
    recovered.sync();
    const ev = ok(recovered.get('/foo/x'));
    expect(ev.index).toBe(4);
    expect(ev.node.value).toBe('bar');
    expect(err(recovered.get('/foo/y')).errorCode).toBe(100);
  });
});
