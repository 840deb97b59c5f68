// Directories, listings, in-order keys (POST) and hidden keys: etcd's store_test.go / store_ttl_test.go
// listing tests and etcd-v2-api.md §4.1, §4.6, §4.7, §4.9.
import { describe, expect, it } from 'vitest';
import type { NodeExtern } from '../../src/store/event.js';
import { Harness, body, err, ok } from './harness.js';

const keysOf = (nodes: NodeExtern[] | undefined): string[] => (nodes ?? []).map((n) => n.key ?? '');

describe('directory listings', () => {
  it('lists direct children; child directories appear without nodes unless recursive', () => {
    const h = new Harness();
    h.put('/dir1/dir2/k', { value: 'v' });
    h.put('/dir1/f', { value: 'x' });
    expect(body(ok(h.get('/dir1')))).toBe(
      '{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/dir2","dir":true,"modifiedIndex":1,"createdIndex":1},{"key":"/dir1/f","value":"x","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":1,"createdIndex":1}}',
    );
    const rec = ok(h.get('/dir1', { recursive: true }));
    expect(rec.node.nodes?.[0]?.nodes).toEqual([{ key: '/dir1/dir2/k', value: 'v', modifiedIndex: 1, createdIndex: 1 }]);
  });

  it('omits nodes for an empty directory and for empty subdirectories of a recursive listing', () => {
    const h = new Harness();
    h.put('/d/empty', { dir: true });
    expect(body(ok(h.get('/d/empty')))).toBe('{"action":"get","node":{"key":"/d/empty","dir":true,"modifiedIndex":1,"createdIndex":1}}');
    expect(ok(h.get('/d', { recursive: true })).node.nodes).toEqual([{ key: '/d/empty', dir: true, modifiedIndex: 1, createdIndex: 1 }]);
  });

  it('returns a plain file node for recursive=true on a file', () => {
    const h = new Harness();
    h.put('/f', { value: 'v' });
    expect(ok(h.get('/f', { recursive: true })).node).toEqual({ key: '/f', value: 'v', modifiedIndex: 1, createdIndex: 1 });
  });

  it('sorts byte-wise by full key at every level when sorted (UTF-8 order, not UTF-16)', () => {
    const h = new Harness();
    for (const k of ['k2', 'k10', 'k1', 'k12', 'k11']) h.put(`/s/${k}`, { value: k });
    h.put('/s/k1x/b', { value: '' });
    h.put('/s/k1x/a', { value: '' });
    const got = ok(h.get('/s', { sorted: true, recursive: true })).node.nodes;
    expect(keysOf(got)).toEqual(['/s/k1', '/s/k10', '/s/k11', '/s/k12', '/s/k1x', '/s/k2']);
    expect(keysOf(got?.[4]?.nodes)).toEqual(['/s/k1x/a', '/s/k1x/b']);
    // confirmed against etcd 3.4.23: z < ü < ～ (U+FF5E) < 😀 (U+1F600)
    for (const k of ['～', '😀', 'z', 'ü', '✓ok']) h.put(`/u/${k}`, { value: '' });
    expect(keysOf(ok(h.get('/u', { sorted: true })).node.nodes)).toEqual(['/u/z', '/u/ü', '/u/✓ok', '/u/～', '/u/😀']);
  });

  it('keeps the directory modifiedIndex when children change', () => {
    const h = new Harness();
    h.put('/d', { dir: true });
    h.put('/d/a', { value: '1' });
    h.del('/d/a');
    expect(ok(h.get('/d')).node.modifiedIndex).toBe(1);
  });

  it('lists unsorted in insertion order (any order is allowed; this one is deterministic)', () => {
    const h = new Harness();
    for (const k of ['c', 'a', 'b']) h.put(`/o/${k}`, { value: '' });
    h.put('/o/a', { value: 'again' }); // a set replaces the node
    expect(keysOf(ok(h.get('/o')).node.nodes)).toEqual(['/o/c', '/o/b', '/o/a']);
  });

  it('shows TTL fields of children in a listing (nodes between ttl and modifiedIndex)', () => {
    const h = new Harness();
    h.put('/ttlparent', { dir: true, ttl: 100 });
    h.put('/ttlparent/kid', { value: '1' });
    const text = body(ok(h.get('/ttlparent')));
    expect(text).toMatch(
      /^\{"action":"get","node":\{"key":"\/ttlparent","dir":true,"expiration":"2026-01-01T00:01:40Z","ttl":100,"nodes":\[\{"key":"\/ttlparent\/kid","value":"1","modifiedIndex":2,"createdIndex":2\}\],"modifiedIndex":1,"createdIndex":1\}\}$/,
    );
  });
});

describe('hidden keys', () => {
  it('are omitted from listings at any depth but readable directly (etcd TestStoreGetDirectory)', () => {
    const h = new Harness();
    h.put('/foo', { dir: true, prevExist: false });
    h.put('/foo/bar', { value: 'X', prevExist: false });
    h.put('/foo/_hidden', { value: '*', prevExist: false });
    h.put('/foo/baz', { dir: true, prevExist: false });
    h.put('/foo/baz/bat', { value: 'Y', prevExist: false });
    h.put('/foo/baz/_hidden', { value: '*', prevExist: false });
    h.put('/foo/baz/ttl', { value: 'Y', prevExist: false, ttl: 3 });
    const ev = ok(h.get('/foo', { recursive: true }));
    expect(ev.index).toBe(7);
    expect(keysOf(ev.node.nodes)).toEqual(['/foo/bar', '/foo/baz']);
    const baz = ev.node.nodes?.[1];
    expect(keysOf(baz?.nodes)).toEqual(['/foo/baz/bat', '/foo/baz/ttl']);
    expect(baz?.nodes?.[1]?.ttl).toBe(3);
    expect(ok(h.get('/foo/_hidden')).node.value).toBe('*');
  });

  it('a directory with only hidden children lists without nodes; a hidden dir lists its children', () => {
    const h = new Harness();
    h.put('/hd/_hidden', { value: 'x' });
    h.put('/hd/_hdir/child', { value: 'y' });
    expect(ok(h.get('/hd')).node.nodes).toBeUndefined();
    expect(keysOf(ok(h.get('/hd/_hdir', { recursive: true })).node.nodes)).toEqual(['/hd/_hdir/child']);
  });

  it('can be set at the top level', () => {
    const h = new Harness();
    expect(body(ok(h.put('/_message', { value: 'Hello hidden world' })))).toBe(
      '{"action":"set","node":{"key":"/_message","value":"Hello hidden world","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(ok(h.get('/')).node.nodes).toBeUndefined();
  });
});

describe('in-order keys (POST)', () => {
  it('names the new key after its index, zero-padded to 20 digits', () => {
    const h = new Harness();
    h.put('/x', { value: '' });
    const ev = ok(h.post('/queue', { value: 'Job1' }));
    expect(body(ev)).toBe('{"action":"create","node":{"key":"/queue/00000000000000000002","value":"Job1","modifiedIndex":2,"createdIndex":2}}');
    expect(ok(h.get('/queue')).node.createdIndex).toBe(2); // the parent was created by the same write
  });

  it('creates under the root, creates directories, honours ttl and defaults the value to ""', () => {
    const h = new Harness();
    expect(ok(h.post('/')).node).toEqual({ key: '/00000000000000000001', value: '', modifiedIndex: 1, createdIndex: 1 });
    expect(ok(h.post('/q', { dir: true })).node).toEqual({ key: '/q/00000000000000000002', dir: true, modifiedIndex: 2, createdIndex: 2 });
    const ttl = ok(h.post('/q', { ttl: 5, value: 'j' }));
    expect(ttl.node.ttl).toBe(5);
    expect(ttl.node.expiration).toBe('2026-01-01T00:00:05Z');
  });

  it('ignores every condition', () => {
    const h = new Harness();
    const ev = ok(h.post('/q', { prevExist: true, prevValue: 'nope', prevIndex: 42, value: 'v' }));
    expect(ev.action).toBe('create');
  });

  it('lists sorted in creation order', () => {
    const h = new Harness();
    for (const v of ['', 'Job1', 'aaaa']) h.post('/queue', { value: v });
    expect(keysOf(ok(h.get('/queue', { sorted: true })).node.nodes)).toEqual([
      '/queue/00000000000000000001',
      '/queue/00000000000000000002',
      '/queue/00000000000000000003',
    ]);
  });

  it('fails with 104 when the target is a file, counting a failed create', () => {
    const h = new Harness();
    h.put('/pf', { value: 'x' });
    expect(err(h.post('/pf', { value: 'y' }))).toEqual({ errorCode: 104, message: 'Not a directory', cause: '/pf', index: 1 });
    expect(h.store.stats()).toMatchObject({ createFail: 1, setsFail: 1 });
  });
});

describe('odd key names', () => {
  it('stores spaces, unicode and punctuation literally', () => {
    const h = new Harness();
    for (const k of ['/with space', '/✓ok', '/a:b+c=d@e', '/.dot', '/q?h#']) {
      expect(ok(h.put(k, { value: 'v' })).node.key).toBe(k);
      expect(ok(h.get(k)).node.value).toBe('v');
    }
  });

  it('escapes nothing itself: values come back byte for byte', () => {
    const h = new Harness();
    const v = 'line1\nline2\ttab<>&"\\';
    expect(ok(h.put('/v', { value: v })).node.value).toBe(v);
  });
});
