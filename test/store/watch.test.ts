// Watches: etcd's store_test.go watch tests, watcher_test.go, event_test.go (history) and
// etcd-v2-api.md §5.3, §5.4 and §11 items 8-10, 12, 19, 22.
import { describe, expect, it } from 'vitest';
import { STREAM_BACKLOG_LIMIT } from '../../src/store/watchers.js';
import { Harness, Recorder, body, err, ok, watchAndRecord } from './harness.js';

describe('one-shot watches (store_test.go)', () => {
  it('fire once on the creation of the key, then close (TestStoreWatchCreate)', () => {
    const h = new Harness();
    const w = h.watch('/foo');
    expect(w.startIndex).toBe(0);
    const rec = new Recorder(w);
    h.put('/foo', { value: 'bar', prevExist: false });
    expect(rec.keys()).toEqual(['create /foo@1']);
    expect(rec.closed).toBe(1);
    h.put('/foo', { value: 'again' });
    expect(rec.events).toHaveLength(1);
    expect(h.store.stats().watchers).toBe(0);
  });

  it('see a child creation when recursive (TestStoreWatchRecursiveCreate)', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/foo', { recursive: true });
    h.put('/foo/bar', { value: 'baz', prevExist: false });
    expect(rec.keys()).toEqual(['create /foo/bar@1']);
  });

  it.each([
    ['update', { prevExist: true, value: 'baz' }],
    ['compareAndSwap', { prevValue: 'bar', value: 'baz' }],
  ] as const)('see %s of the key, directly and recursively', (action, write) => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', prevExist: false });
    h.put('/dir/bar', { value: 'bar', prevExist: false });
    const direct = h.watch('/foo');
    expect(direct.startIndex).toBe(2);
    const directRec = new Recorder(direct);
    const recursive = watchAndRecord(h, '/dir', { recursive: true });
    h.put('/foo', write);
    h.put('/dir/bar', write);
    expect(directRec.keys()).toEqual([`${action} /foo@3`]);
    expect(recursive.keys()).toEqual([`${action} /dir/bar@4`]);
  });

  it('see a delete of the key, directly and recursively (TestStoreWatchDelete, ...RecursiveDelete)', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar' });
    h.put('/dir/bar', { value: 'baz' });
    const direct = watchAndRecord(h, '/foo');
    const recursive = watchAndRecord(h, '/dir', { recursive: true });
    h.del('/foo');
    h.del('/dir/bar');
    expect(direct.keys()).toEqual(['delete /foo@3']);
    expect(recursive.keys()).toEqual(['delete /dir/bar@4']);
  });

  it('on a directory (non-recursive) ignore child changes but see the directory itself', () => {
    const h = new Harness();
    h.put('/d', { dir: true });
    const rec = watchAndRecord(h, '/d');
    h.put('/d/child', { value: 'x' });
    expect(rec.events).toHaveLength(0);
    h.put('/d', { dir: true, prevExist: true, ttl: 10 });
    expect(rec.keys()).toEqual(['update /d@3']);
  });

  it('match exact path components, not string prefixes (watcher_test.go)', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/fo', { recursive: true });
    h.put('/foo/bar', { value: 'x' });
    h.put('/fooo', { value: 'x' });
    expect(rec.events).toHaveLength(0);
    h.put('/fo/bar', { value: 'x' });
    expect(rec.keys()).toEqual(['set /fo/bar@3']);
  });

  it('accept a path through a file and just wait', () => {
    const h = new Harness();
    h.put('/afile', { value: 'x' });
    const rec = watchAndRecord(h, '/afile/child');
    expect(rec.events).toHaveLength(0);
    h.del('/afile');
    expect(rec.events).toHaveLength(0);
    expect(h.store.stats().watchers).toBe(1);
  });
});

describe('ancestor removal', () => {
  it('fires a key watch with the directory event when an ancestor is deleted', () => {
    const h = new Harness();
    h.put('/a/b/c', { value: 'v' });
    const rec = watchAndRecord(h, '/a/b/c');
    const ev = ok(h.del('/a', { recursive: true }));
    expect(rec.events).toEqual([ev]);
    expect(rec.events[0]?.node.key).toBe('/a');
  });

  it('fires a key watch with the directory event when an ancestor expires', () => {
    const h = new Harness();
    h.put('/ttl', { dir: true, ttl: 1 });
    h.put('/ttl/x/y', { value: 'v' });
    const rec = watchAndRecord(h, '/ttl/x/y');
    h.advance(1000);
    h.sync();
    expect(rec.keys()).toEqual(['expire /ttl@3']);
  });

  it('does not fire a live watch on a key that does not exist under the removed directory', () => {
    // confirmed against etcd 3.4.23: only the removed nodes' watchers are told
    const h = new Harness();
    h.put('/d/a', { value: 'v' });
    const rec = watchAndRecord(h, '/d/never');
    h.del('/d', { recursive: true });
    expect(rec.events).toHaveLength(0);
  });

  it('fires a hidden key watch on an ancestor delete', () => {
    const h = new Harness();
    h.put('/foo/_bar', { value: 'v' });
    const rec = watchAndRecord(h, '/foo/_bar');
    h.del('/foo', { recursive: true });
    expect(rec.keys()).toEqual(['delete /foo@2']);
  });
});

describe('stream watches', () => {
  it('deliver every matching event and stay open (TestStoreWatchStream)', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/foo', { stream: true });
    h.put('/foo', { value: 'bar', prevExist: false });
    h.put('/foo', { value: 'baz', prevExist: true });
    expect(rec.keys()).toEqual(['create /foo@1', 'update /foo@2']);
    expect(rec.closed).toBe(0);
    expect(h.store.stats().watchers).toBe(1);
  });

  it('receive the removal of the watched key twice, as the real etcd 3.4 sends it', () => {
    const h = new Harness();
    h.put('/sw/foo', { value: '1' });
    const onKey = watchAndRecord(h, '/sw/foo', { stream: true });
    const onDirRecursive = watchAndRecord(h, '/sw', { stream: true, recursive: true });
    const onDir = watchAndRecord(h, '/sw', { stream: true });
    const onKeyRecursive = watchAndRecord(h, '/sw/foo', { stream: true, recursive: true });
    h.del('/sw/foo');
    h.put('/sw/foo', { value: '2' });
    h.del('/sw', { recursive: true });
    expect(onKey.keys()).toEqual(['delete /sw/foo@2', 'delete /sw/foo@2', 'set /sw/foo@3', 'delete /sw@4']);
    expect(onDirRecursive.keys()).toEqual(['delete /sw/foo@2', 'set /sw/foo@3', 'delete /sw@4', 'delete /sw@4']);
    expect(onDir.keys()).toEqual(['delete /sw@4', 'delete /sw@4']);
    expect(onKeyRecursive.keys()).toEqual(['delete /sw/foo@2', 'delete /sw/foo@2', 'set /sw/foo@3', 'delete /sw@4']);
  });

  it('are dropped after more than 100 undelivered events; the buffered ones still arrive (TestStoreWatchSlowConsumer)', () => {
    const h = new Harness();
    const w = h.watch('/foo', { recursive: true, stream: true });
    const rec = new Recorder(w, 1); // the consumer stalls after the first event
    for (let i = 1; i <= STREAM_BACKLOG_LIMIT + 1; i++) h.put('/foo', { value: String(i) });
    expect(rec.events).toHaveLength(1);
    expect(h.store.stats().watchers).toBe(1); // 100 waiting: still there
    h.put('/foo', { value: 'overflow' });
    expect(h.store.stats().watchers).toBe(0); // the 101st undelivered event dropped it
    h.put('/foo', { value: 'after' }); // must not break the store
    expect(rec.closed).toBe(0);
    w.resume();
    expect(rec.events).toHaveLength(2); // paused again after each event
    for (let i = 0; i < 200 && rec.closed === 0; i++) w.resume();
    expect(rec.events.map((e) => e.node.value)).toEqual(Array.from({ length: STREAM_BACKLOG_LIMIT + 1 }, (_, i) => String(i + 1)));
    expect(rec.closed).toBe(1);
  });

  it('deliver a backlog at start and keep up when the consumer never pauses', () => {
    const h = new Harness();
    const w = h.watch('/k', { stream: true });
    h.put('/k', { value: '1' });
    h.put('/k', { value: '2' });
    const rec = new Recorder(w);
    expect(rec.keys()).toEqual(['set /k@1', 'set /k@2']);
    for (let i = 0; i < 500; i++) h.put('/k', { value: String(i) });
    expect(rec.events).toHaveLength(502);
    expect(rec.closed).toBe(0);
  });
});

describe('hidden keys and watches (store_test.go)', () => {
  it('an exact watch on a hidden key sees it (TestStoreWatchCreateWithHiddenKey, Update, Delete)', () => {
    const h = new Harness();
    const created = watchAndRecord(h, '/_foo');
    h.put('/_foo', { value: 'bar', prevExist: false });
    const updated = watchAndRecord(h, '/_foo');
    h.put('/_foo', { value: 'baz', prevExist: true });
    const deleted = watchAndRecord(h, '/_foo');
    h.del('/_foo');
    expect(created.keys()).toEqual(['create /_foo@1']);
    expect(updated.keys()).toEqual(['update /_foo@2']);
    expect(deleted.keys()).toEqual(['delete /_foo@3']);
  });

  it('a recursive watch of an ancestor does not see hidden keys live (create, update, delete, below a hidden dir)', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/foo', { recursive: true, stream: true });
    h.put('/foo/_bar', { value: 'baz', prevExist: false });
    h.put('/foo/_baz', { dir: true, prevExist: false });
    h.put('/foo/_baz/quux', { value: 'quux', prevExist: false });
    h.put('/foo/_bar', { value: 'x', prevExist: true });
    h.del('/foo/_bar');
    expect(rec.events).toHaveLength(0);
  });

  it('a recursive watch below a hidden directory sees its descendants (TestStoreWatchRecursiveCreateDeeperThanHiddenKey)', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/_foo/bar', { recursive: true });
    h.put('/_foo/bar/baz', { value: 'baz', prevExist: false });
    expect(rec.keys()).toEqual(['create /_foo/bar/baz@1']);
  });

  it('a recursive watch on a hidden directory sees its visible children but not hidden ones', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/_d', { recursive: true, stream: true });
    h.put('/_d/_x', { value: '1' });
    h.put('/_d/y', { value: '1' });
    expect(rec.keys()).toEqual(['set /_d/y@2']);
  });
});

describe('waitIndex and history', () => {
  it('answers from history at once with the first matching event at or after the index', () => {
    const h = new Harness();
    h.put('/foo', { value: 'bar', ttl: 5 });
    h.put('/other', { value: 'x' });
    h.put('/foo', { value: 'baz' });
    const w = h.watch('/foo', { sinceIndex: 2 });
    expect(w.startIndex).toBe(3);
    const rec = new Recorder(w);
    expect(rec.keys()).toEqual(['set /foo@3']);
    expect(rec.closed).toBe(1);
    expect(h.store.stats().watchers).toBe(0);
    expect(rec.keys()).toEqual(['set /foo@3']);
    const first = new Recorder(h.watch('/foo', { sinceIndex: 1 }));
    expect(body(first.events[0]!)).toContain('"ttl":5'); // the event as it was recorded
  });

  it('scans history for recursive watches (event_test.go TestScanHistory)', () => {
    const h = new Harness();
    for (const k of ['/foo', '/foo/bar', '/foo/foo', '/foo/bar/bar', '/foo/foo/foo']) h.put(k, { dir: true, prevExist: false });
    ok(h.del('/foo', { recursive: true }));
    const at = (key: string, recursive: boolean, since: number): number | undefined =>
      new Recorder(h.watch(key, { recursive, sinceIndex: since })).events[0]?.index;
    expect(at('/foo', false, 1)).toBe(1);
    expect(at('/foo/bar', false, 1)).toBe(2);
    expect(at('/foo/bar', true, 3)).toBe(4);
    expect(at('/foo/foo/foo', false, 6)).toBe(6); // the delete of the ancestor directory
    expect(at('/foo/bar', true, 7)).toBeUndefined(); // future: a live watch
  });

  it('returns hidden-key events from history to an ancestor watch', () => {
    const h = new Harness();
    h.put('/hd/_hidden', { value: 'x' });
    const rec = new Recorder(h.watch('/hd', { recursive: true, sinceIndex: 1 }));
    expect(rec.keys()).toEqual(['set /hd/_hidden@1']);
  });

  it('matches a deleted directory whose key is a string prefix of the watched key (etcd raw prefix match)', () => {
    // confirmed against etcd 3.4.23: deleting /fo answers a waitIndex watch on /foo
    const h = new Harness();
    h.put('/fo/x', { value: '1' });
    h.del('/fo', { recursive: true });
    expect(new Recorder(h.watch('/foo', { sinceIndex: 2 })).keys()).toEqual(['delete /fo@2']);
    expect(new Recorder(h.watch('/fo/x/never', { sinceIndex: 2 })).keys()).toEqual(['delete /fo@2']);
  });

  it('becomes a live watch when nothing retained matches, keeping its sinceIndex', () => {
    const h = new Harness();
    h.put('/a', { value: '1' });
    h.put('/b', { value: '1' });
    const rec = new Recorder(h.watch('/c', { sinceIndex: 1 }));
    expect(rec.events).toHaveLength(0);
    expect(h.store.stats().watchers).toBe(1);
    h.put('/c', { value: '1' });
    expect(rec.keys()).toEqual(['set /c@3']);
  });

  it('waits for an index in the future, skipping earlier matching events', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/k', { sinceIndex: 3 });
    h.put('/k', { value: '1' });
    h.put('/k', { value: '2' });
    expect(rec.events).toHaveLength(0);
    h.put('/k', { value: '3' });
    expect(rec.keys()).toEqual(['set /k@3']);
  });

  it('does not 401 from waitIndex=1 on a fresh store', () => {
    const h = new Harness();
    const rec = watchAndRecord(h, '/x', { sinceIndex: 1 });
    h.put('/x', { value: '' });
    expect(rec.keys()).toEqual(['set /x@1']);
  });

  it('answers 401 for an index older than the retained window, before any key matching', () => {
    const h = new Harness({ historyCapacity: 1000 });
    for (let i = 0; i < 1100; i++) h.put(`/k${i % 7}`, { value: String(i) });
    const result = h.store.watch('/never-existed', { recursive: false, stream: false, sinceIndex: 100 });
    expect(err(result)).toEqual({
      errorCode: 401,
      message: 'The event in requested index is outdated and cleared',
      cause: 'the requested history has been cleared [101/100]',
      index: 1100,
    });
    if (!result.ok) expect(result.error.httpStatus()).toBe(400);
    expect(h.store.watch('/k0', { recursive: false, stream: false, sinceIndex: 101 }).ok).toBe(true);
  });

  it('keeps exactly historyCapacity events (event_test.go TestEventIndexHistoryCleared, TestFullEventQueue)', () => {
    const h = new Harness({ historyCapacity: 5 });
    for (let i = 1; i <= 6; i++) h.put('/foo', { value: String(i) });
    expect(err(h.store.watch('/foo', { recursive: false, stream: false, sinceIndex: 1 })).cause).toBe(
      'the requested history has been cleared [2/1]',
    );
    const small = new Harness({ historyCapacity: 10 });
    for (let i = 1; i <= 1000; i++) {
      small.put('/foo', { value: String(i) });
      if (i > 1) expect(new Recorder(small.watch('/foo', { recursive: true, sinceIndex: i - 1 })).events).toHaveLength(1);
    }
  });

  it('stream + history hit delivers that one event and then nothing more', () => {
    const h = new Harness();
    h.put('/k', { value: '1' });
    const w = h.watch('/k', { stream: true, sinceIndex: 1 });
    const rec = new Recorder(w);
    h.put('/k', { value: '2' });
    expect(rec.keys()).toEqual(['set /k@1']);
    expect(rec.closed).toBe(0); // etcd keeps the response open, silent
    expect(h.store.stats().watchers).toBe(0);
    w.remove();
    expect(rec.closed).toBe(1);
  });
});

describe('watcher lifecycle and bounds', () => {
  it('remove() releases the watcher, closes it once and is idempotent', () => {
    const h = new Harness();
    const w = h.watch('/k', { stream: true });
    const rec = new Recorder(w);
    expect(h.store.stats().watchers).toBe(1);
    w.remove();
    w.remove();
    expect(rec.closed).toBe(1);
    expect(h.store.stats().watchers).toBe(0);
    h.put('/k', { value: '' });
    expect(rec.events).toHaveLength(0);
  });

  it('a watcher removed before start closes at start', () => {
    const h = new Harness();
    const w = h.watch('/k');
    w.remove();
    const rec = new Recorder(w);
    expect(rec.closed).toBe(1);
  });

  it('events that arrive before start are delivered at start, in order', () => {
    const h = new Harness();
    const w = h.watch('/k');
    h.put('/k', { value: '1' });
    h.put('/k', { value: '2' });
    expect(h.store.stats().watchers).toBe(0); // a one-shot watcher leaves the hub on its event
    const rec = new Recorder(w);
    expect(rec.keys()).toEqual(['set /k@1']);
    expect(rec.closed).toBe(1);
  });

  it('refuses watchers over maxWatchers with an etcd error, and accepts again after removals', () => {
    const h = new Harness({ maxWatchers: 2 });
    const a = h.watch('/a');
    h.watch('/b', { recursive: true });
    const third = h.store.watch('/c', { recursive: false, stream: false, sinceIndex: 0 });
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.error.errorCode).toBe(300);
    a.remove();
    expect(h.store.watch('/c', { recursive: false, stream: false, sinceIndex: 0 }).ok).toBe(true);
    // history answers do not hold a slot
    h.put('/z', { value: '' });
    expect(h.store.watch('/z', { recursive: false, stream: false, sinceIndex: 1 }).ok).toBe(true);
  });

  it('delivers after the write has applied: a listener sees the new state and may write itself', () => {
    const h = new Harness();
    const seen: string[] = [];
    const first = h.watch('/a', { stream: true });
    const second = h.watch('/', { recursive: true, stream: true });
    first.start(
      (ev) => {
        seen.push(`first ${ev.node.key}@${ev.index} store=${h.store.index()} get=${ok(h.get('/a')).node.value}`);
        if (ev.node.key === '/a') h.put('/b', { value: 'from-listener' });
      },
      () => {},
    );
    second.start(
      (ev) => {
        seen.push(`second ${ev.node.key}@${ev.index}`);
      },
      () => {},
    );
    h.put('/a', { value: 'v' });
    // watchers at the root are offered an event before those at the key; the nested write queues behind
    expect(seen).toEqual(['second /a@1', 'first /a@1 store=1 get=v', 'second /b@2']);
  });
});
