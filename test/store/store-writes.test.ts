// set / create / update / compareAndSwap / delete / compareAndDelete: etcd's store_test.go and the
// rows of etcd-v2-api.md §2, §4.2, §4.3, §4.6, §4.8 that are store behaviour.
import { describe, expect, it } from 'vitest';
import { Harness, body, err, ok, watchAndRecord } from './harness.js';

describe('get', () => {
  it('returns an existing value at the current index', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false });
    const ev = ok(h.get('/foo'));
    expect(ev.index).toBe(1);
    expect(body(ev)).toBe('{"action":"get","node":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}');
  });

  it('reports the first missing path component as the cause of 100', () => {
    const h = new Harness();
    h.put('/a', { dir: true });
    expect(err(h.get('/nodir/child/deep'))).toEqual({ errorCode: 100, message: 'Key not found', cause: '/nodir', index: 1 });
    expect(err(h.get('/a/missing/deeper'))).toEqual({ errorCode: 100, message: 'Key not found', cause: '/a/missing', index: 1 });
  });

  it('answers 104 with the file as cause when a path runs through a file', () => {
    const h = new Harness();
    h.put('/afile', { value: 'x' });
    const e = err(h.get('/afile/child'));
    expect(e).toEqual({ errorCode: 104, message: 'Not a directory', cause: '/afile', index: 1 });
  });

  it('shows the root without key or indexes, with nodes only when something is visible', () => {
    const h = new Harness();
    expect(body(ok(h.get('/')))).toBe('{"action":"get","node":{"dir":true}}');
    h.put('/foo', { value: 'baz' });
    expect(body(ok(h.get('/')))).toBe('{"action":"get","node":{"dir":true,"nodes":[{"key":"/foo","value":"baz","modifiedIndex":1,"createdIndex":1}]}}');
  });

  it('cleans the path as etcd does (trailing slash, duplicate slashes, dots)', () => {
    const h = new Harness();
    h.put('/d1/k', { value: 'v' });
    expect(ok(h.get('/d1/')).node.key).toBe('/d1');
    expect(ok(h.get('//d1//k')).node.key).toBe('/d1/k');
    expect(ok(h.get('/x/../d1/./k')).node.key).toBe('/d1/k');
  });
});

describe('set', () => {
  it('creates, replaces (resetting createdIndex) and reports the replaced node', () => {
    const h = new Harness();
    let ev = ok(h.put('/foo', { value: '' }));
    expect(body(ev)).toBe('{"action":"set","node":{"key":"/foo","value":"","modifiedIndex":1,"createdIndex":1}}');
    ev = ok(h.put('/foo', { value: 'bar' }));
    expect(body(ev)).toBe(
      '{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/foo","value":"","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(ev.index).toBe(2);
    ev = ok(h.put('/foo', { value: 'baz' }));
    expect(ev.prevNode).toEqual({ key: '/foo', value: 'bar', modifiedIndex: 2, createdIndex: 2 });
  });

  it('creates implicit parent directories at the index of the write, consuming one index', () => {
    const h = new Harness();
    const ev = ok(h.put('/a/b/c/d', { value: 'efg' }));
    expect(ev.index).toBe(1);
    expect(h.store.index()).toBe(1);
    expect(body(ok(h.get('/a', { recursive: true })))).toBe(
      '{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/c","dir":true,"nodes":[{"key":"/a/b/c/d","value":"efg","modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('creates a directory with dir=true, ignoring the value', () => {
    const h = new Harness();
    const ev = ok(h.put('/dir', { dir: true, value: 'ignored' }));
    expect(body(ev)).toBe('{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":1,"createdIndex":1}}');
  });

  it('replaces a file with an empty directory when dir=true, reporting the file', () => {
    const h = new Harness();
    h.put('/f', { value: 'v' });
    const ev = ok(h.put('/f', { dir: true }));
    expect(body(ev)).toBe(
      '{"action":"set","node":{"key":"/f","dir":true,"modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('refuses to set over a directory with 102 (value or dir=true)', () => {
    const h = new Harness();
    h.put('/d1', { dir: true });
    expect(err(h.put('/d1', { value: 'x' }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/d1', index: 1 });
    expect(err(h.put('/d1', { dir: true }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/d1', index: 1 });
    expect(h.store.index()).toBe(1);
  });

  it('refuses to set below a file with 104', () => {
    const h = new Harness();
    h.put('/f', { value: 'v' });
    expect(err(h.put('/f/child', { value: 'x' }))).toEqual({ errorCode: 104, message: 'Not a directory', cause: '/f', index: 1 });
  });

  it('keeps the root read only (107, cause /)', () => {
    const h = new Harness();
    const rootOnly = { errorCode: 107, message: 'Root is read only', cause: '/', index: 0 };
    expect(err(h.put('/', { value: 'x' }))).toEqual(rootOnly);
    expect(err(h.put('/', { dir: true }))).toEqual(rootOnly);
    expect(err(h.put('/', { prevExist: false, dir: true }))).toEqual(rootOnly);
    expect(err(h.put('/', { prevExist: true }))).toEqual(rootOnly);
    expect(err(h.put('/', { prevValue: 'a' }))).toEqual(rootOnly);
    expect(err(h.del('/', { recursive: true }))).toEqual(rootOnly);
    expect(err(h.del('/', { dir: true }))).toEqual(rootOnly);
    expect(h.store.index()).toBe(0);
  });

  it('drops a TTL when a plain set has none', () => {
    const h = new Harness();
    h.put('/k', { value: 'a', ttl: 100 });
    const ev = ok(h.put('/k', { value: 'b' }));
    expect(ev.node.expiration).toBeUndefined();
    expect(ev.prevNode?.ttl).toBe(100);
    expect(h.store.nextExpirationMs()).toBeNull();
  });
});

describe('create', () => {
  it('creates a value, an empty value and a directory', () => {
    const h = new Harness();
    expect(body(ok(h.put('/foo', { prevExist: false, value: 'bar' })))).toBe(
      '{"action":"create","node":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(body(ok(h.put('/empty', { prevExist: false })))).toBe(
      '{"action":"create","node":{"key":"/empty","value":"","modifiedIndex":2,"createdIndex":2}}',
    );
    expect(body(ok(h.put('/dir', { prevExist: false, dir: true })))).toBe(
      '{"action":"create","node":{"key":"/dir","dir":true,"modifiedIndex":3,"createdIndex":3}}',
    );
  });

  it('fails with 105 when the key exists, as a file or a directory', () => {
    const h = new Harness();
    h.put('/foo', { dir: true, prevExist: false });
    expect(err(h.put('/foo', { dir: true, prevExist: false }))).toEqual({ errorCode: 105, message: 'Key already exists', cause: '/foo', index: 1 });
    h.put('/file', { value: 'x' });
    expect(err(h.put('/file', { prevExist: false, value: 'y' }))).toEqual({ errorCode: 105, message: 'Key already exists', cause: '/file', index: 2 });
  });

  it('lets prevExist=false win over prevValue and prevIndex', () => {
    const h = new Harness();
    const ev = ok(h.put('/cas2', { prevExist: false, prevValue: 'six', prevIndex: 9, value: 'v' }));
    expect(ev.action).toBe('create');
  });

  it('ignores refresh (creates with the given empty value)', () => {
    const h = new Harness();
    const ev = ok(h.put('/r', { prevExist: false, refresh: true, ttl: 10 }));
    expect(ev.action).toBe('create');
    expect(ev.node.value).toBe('');
    expect(ev.refresh).toBeUndefined();
  });
});

describe('update', () => {
  it('updates the value keeping createdIndex, and reports the old node', () => {
    const h = new Harness();
    h.put('/newkey', { value: 'v1' });
    const ev = ok(h.put('/newkey', { prevExist: true, value: 'v2' }));
    expect(body(ev)).toBe(
      '{"action":"update","node":{"key":"/newkey","value":"v2","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/newkey","value":"v1","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(ok(h.get('/newkey')).node).toEqual({ key: '/newkey', value: 'v2', modifiedIndex: 2, createdIndex: 1 });
  });

  it('wipes the value when none is given (a missing value is "")', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', ttl: 100 });
    const ev = ok(h.put('/foo', { prevExist: true }));
    expect(ev.node).toEqual({ key: '/foo', value: '', modifiedIndex: 2, createdIndex: 1 });
    expect(ev.prevNode?.ttl).toBe(100);
  });

  it('fails with 100 when the key is missing', () => {
    const h = new Harness();
    expect(err(h.put('/missing', { prevExist: true, value: 'x' }))).toEqual({ errorCode: 100, message: 'Key not found', cause: '/missing', index: 0 });
  });

  it('refuses a non-empty value on a directory with 102', () => {
    const h = new Harness();
    h.put('/foo', { dir: true });
    expect(err(h.put('/foo', { prevExist: true, value: 'baz' }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/foo', index: 1 });
  });

  it('changes a directory TTL, showing the new modifiedIndex while the stored one stays (etcd quirk)', () => {
    const h = new Harness();
    h.put('/d1', { dir: true });
    h.put('/d1/kid', { value: '1' });
    const ev = ok(h.put('/d1', { dir: true, prevExist: true, ttl: 100 }));
    expect(ev.action).toBe('update');
    expect(ev.node).toMatchObject({ key: '/d1', dir: true, ttl: 100, modifiedIndex: 3, createdIndex: 1 });
    expect(ev.node.value).toBeUndefined();
    expect(ev.prevNode).toEqual({ key: '/d1', dir: true, modifiedIndex: 1, createdIndex: 1 });
    const got = ok(h.get('/d1'));
    expect(got.node.modifiedIndex).toBe(1);
    expect(got.node.nodes).toHaveLength(1);
    expect(h.store.index()).toBe(3);
    // ttl= clears it again
    const cleared = ok(h.put('/d1', { dir: true, prevExist: true }));
    expect(cleared.node.expiration).toBeUndefined();
    expect(h.store.nextExpirationMs()).toBeNull();
  });
});

describe('dir flag on update and compareAndSwap', () => {
  it('is ignored: a file stays a file', () => {
    const h = new Harness();
    h.put('/f', { value: 'a' });
    expect(ok(h.put('/f', { prevExist: true, dir: true, value: 'b' })).node).toEqual({ key: '/f', value: 'b', modifiedIndex: 2, createdIndex: 1 });
    expect(ok(h.put('/f', { prevValue: 'b', dir: true, value: 'c' })).node).toEqual({ key: '/f', value: 'c', modifiedIndex: 3, createdIndex: 1 });
  });
});

describe('compareAndSwap', () => {
  it('swaps on a matching prevValue, keeping createdIndex', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    const ev = ok(h.put('/foo', { prevValue: 'bar', value: 'baz' }));
    expect(body(ev)).toBe(
      '{"action":"compareAndSwap","node":{"key":"/foo","value":"baz","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('swaps on a matching prevIndex', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    expect(ok(h.put('/foo', { prevIndex: 1, value: 'baz' })).action).toBe('compareAndSwap');
    expect(ok(h.get('/foo')).node.value).toBe('baz');
  });

  it('swaps with prevExist=true and a condition', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    expect(ok(h.put('/foo', { prevExist: true, prevValue: 'bar', value: 'x' })).action).toBe('compareAndSwap');
  });

  it('reports exactly the failing parts of the comparison, consuming no index', () => {
    const h = new Harness();
    h.put('/k', { value: 'one' });
    h.put('/k', { value: 'two' });
    h.put('/k', { prevExist: true, value: 'three' });
    expect(err(h.put('/k', { prevValue: 'one', value: 'x' }))).toEqual({ errorCode: 101, message: 'Compare failed', cause: '[one != three]', index: 3 });
    expect(err(h.put('/k', { prevIndex: 1, value: 'x' }))).toEqual({ errorCode: 101, message: 'Compare failed', cause: '[1 != 3]', index: 3 });
    expect(err(h.put('/k', { prevValue: 'zzz', prevIndex: 1, value: 'x' }))).toEqual({
      errorCode: 101,
      message: 'Compare failed',
      cause: '[zzz != three] [1 != 3]',
      index: 3,
    });
    expect(err(h.put('/k', { prevValue: 'three', prevIndex: 1, value: 'x' })).cause).toBe('[1 != 3]');
    expect(err(h.put('/k', { prevValue: 'x', prevIndex: 3, value: 'x' })).cause).toBe('[x != three]');
    expect(h.store.index()).toBe(3);
  });

  it('prints an empty current value raw: [x != ]', () => {
    const h = new Harness();
    h.put('/e', { value: '' });
    expect(err(h.put('/e', { prevValue: 'x', value: 'y' })).cause).toBe('[x != ]');
  });

  it('fails with 100 on a missing key and 102 on a directory', () => {
    const h = new Harness();
    expect(err(h.put('/nope', { prevValue: 'a', value: 'b' })).errorCode).toBe(100);
    h.put('/d', { dir: true });
    expect(err(h.put('/d', { prevValue: 'a', value: 'b' }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/d', index: 1 });
  });

  it('empties the value when only prevValue is given', () => {
    const h = new Harness();
    h.put('/k', { value: 'old' });
    expect(ok(h.put('/k', { prevValue: 'old' })).node.value).toBe('');
  });
});

describe('delete', () => {
  it('deletes a file, reporting the node without value and the old node', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    const ev = ok(h.del('/foo'));
    expect(body(ev)).toBe(
      '{"action":"delete","node":{"key":"/foo","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(err(h.get('/foo')).errorCode).toBe(100);
  });

  it('deletes a file with dir=true or recursive=true too', () => {
    const h = new Harness();
    h.put('/a', { value: '1' });
    h.put('/b', { value: '1' });
    expect(ok(h.del('/a', { dir: true })).action).toBe('delete');
    expect(ok(h.del('/b', { recursive: true })).action).toBe('delete');
  });

  it('deletes an empty directory only with dir=true (102 without)', () => {
    const h = new Harness();
    h.put('/ed', { dir: true });
    expect(err(h.del('/ed'))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/ed', index: 1 });
    expect(body(ok(h.del('/ed', { dir: true })))).toBe(
      '{"action":"delete","node":{"key":"/ed","dir":true,"modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/ed","dir":true,"modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it('refuses a non-empty directory with 108 unless recursive, which takes one event and one index', () => {
    const h = new Harness();
    h.put('/dir1/dir2', { dir: true });
    h.put('/dir1/dir2/k', { value: 'x' });
    h.put('/dir1/_hidden', { value: 'x' });
    expect(err(h.del('/dir1', { dir: true }))).toEqual({ errorCode: 108, message: 'Directory not empty', cause: '/dir1', index: 3 });
    const ev = ok(h.del('/dir1', { recursive: true }));
    expect(body(ev)).toBe(
      '{"action":"delete","node":{"key":"/dir1","dir":true,"modifiedIndex":4,"createdIndex":1},"prevNode":{"key":"/dir1","dir":true,"modifiedIndex":1,"createdIndex":1}}',
    );
    expect(h.store.index()).toBe(4);
    expect(err(h.get('/dir1/dir2/k')).cause).toBe('/dir1');
  });

  it('counts only hidden children as making a directory non-empty too', () => {
    const h = new Harness();
    h.put('/hd/_h', { value: 'x' });
    expect(err(h.del('/hd', { dir: true })).errorCode).toBe(108);
  });

  it('fails with 100 on a missing key whatever the flags', () => {
    const h = new Harness();
    for (const o of [{}, { dir: true }, { recursive: true }]) expect(err(h.del('/missing', o)).errorCode).toBe(100);
  });
});

describe('compareAndDelete', () => {
  it('deletes on a matching prevValue or prevIndex, reporting node without value', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    const ev = ok(h.del('/foo', { prevValue: 'bar' }));
    expect(body(ev)).toBe(
      '{"action":"compareAndDelete","node":{"key":"/foo","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}',
    );
    h.put('/foo', { value: 'bar' });
    expect(ok(h.del('/foo', { prevIndex: 3 })).action).toBe('compareAndDelete');
  });

  it('fails with 101 on mismatch, leaving the key and the index alone', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    expect(err(h.del('/foo', { prevValue: 'baz' }))).toEqual({ errorCode: 101, message: 'Compare failed', cause: '[baz != bar]', index: 1 });
    expect(err(h.del('/foo', { prevIndex: 100 }))).toEqual({ errorCode: 101, message: 'Compare failed', cause: '[100 != 1]', index: 1 });
    expect(ok(h.get('/foo')).node.value).toBe('bar');
    expect(h.store.index()).toBe(1);
  });

  it('always refuses a directory with 102, even recursive; on the root without a cause', () => {
    const h = new Harness();
    h.put('/d/k', { value: 'v' });
    expect(err(h.del('/d', { prevValue: 'x', recursive: true }))).toEqual({ errorCode: 102, message: 'Not a file', cause: '/d', index: 1 });
    expect(err(h.del('/', { prevValue: 'x' }))).toEqual({ errorCode: 102, message: 'Not a file', index: 1 });
  });

  it('fails with 100 on a missing key', () => {
    const h = new Harness();
    expect(err(h.del('/nope', { prevIndex: 4 })).errorCode).toBe(100);
  });
});

describe('failed writes', () => {
  it('fire no watcher', () => {
    const h = new Harness();
    h.put('/k', { value: 'v' });
    h.put('/d', { dir: true });
    const rec = watchAndRecord(h, '/', { recursive: true, stream: true });
    h.put('/k', { prevExist: false });
    h.put('/k', { prevValue: 'nope' });
    h.del('/k', { prevIndex: 99 });
    h.del('/d');
    h.put('/d', { value: 'x' });
    h.post('/k');
    expect(rec.events).toHaveLength(0);
  });

  it('consume no index and record no event', () => {
    const h = new Harness();
    h.put('/k', { value: 'v' });
    h.put('/k', { prevExist: false });
    h.put('/k', { prevValue: 'nope' });
    h.del('/missing');
    h.put('/k/child', { value: 'x' });
    expect(h.store.index()).toBe(1);
    const w = h.store.watch('/k', { recursive: true, stream: false, sinceIndex: 1 });
    expect(w.ok).toBe(true);
    h.put('/other', { value: 'x' });
    expect(h.store.index()).toBe(2);
  });
});
