// Watches over real HTTP (docs §5): the 200 and its headers arrive before any event, a long poll
// gets one event and ends, a stream gets every event, waitIndex is answered from history, an index
// that fell out of history is 401, and a client that leaves releases its watcher.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { eventually, openStream, put, request, startTestMember, type TestMember } from './harness.js';

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember();
});
afterAll(() => m.close());

const watchers = (): number => m.member.store.stats().watchers;

describe('long poll', () => {
  it('flushes 200 and X-Etcd-Index at registration, then sends one event and ends', async () => {
    const indexAtRegistration = m.member.store.index();
    const watch = await openStream(m.url, '/v2/keys/lp/k?wait=true');
    expect(watch.status).toBe(200);
    expect(watch.headers['x-etcd-index']).toBe(String(indexAtRegistration));
    expect(watch.headers['x-raft-index']).toBeDefined();
    expect(watch.headers['transfer-encoding']).toBe('chunked');
    expect(watchers()).toBe(1);
    await put(m.url, '/v2/keys/lp/k', 'value=1');
    const line = await watch.nextLine();
    expect(JSON.parse(line)).toMatchObject({ action: 'set', node: { key: '/lp/k', value: '1' } });
    await watch.ended();
    expect(watchers()).toBe(0);
  });

  it('fires a key watcher when an ancestor directory is deleted, with the directory event', async () => {
    await put(m.url, '/v2/keys/anc/sub/k', 'value=1');
    const watch = await openStream(m.url, '/v2/keys/anc/sub/k?wait=true');
    await request(m.url, '/v2/keys/anc?recursive=true', { method: 'DELETE' });
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ action: 'delete', node: { key: '/anc', dir: true } });
    await watch.ended();
  });

  it('sees children of a directory only with recursive=true', async () => {
    const watch = await openStream(m.url, '/v2/keys/rdir?wait=true&recursive=true');
    await put(m.url, '/v2/keys/rdir/a/b', 'value=deep');
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ node: { key: '/rdir/a/b', value: 'deep' } });
  });
});

describe('stream', () => {
  it('sends one line per event and stays open', async () => {
    const watch = await openStream(m.url, '/v2/keys/st?wait=true&recursive=true&stream=true');
    await put(m.url, '/v2/keys/st/a', 'value=0');
    await put(m.url, '/v2/keys/st/a', 'value=1');
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ action: 'set', node: { value: '0' } });
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ action: 'set', node: { value: '1' }, prevNode: { value: '0' } });
    expect(watchers()).toBe(1);
    watch.close();
    await eventually(() => watchers() === 0);
  });
});

describe('waitIndex', () => {
  it('answers at once from history with X-Etcd-Index = current index', async () => {
    const first = await put(m.url, '/v2/keys/hist', 'value=0');
    const firstIndex = Number(first.headers['x-etcd-index']);
    await put(m.url, '/v2/keys/hist', 'value=1');
    const res = await request(m.url, `/v2/keys/hist?wait=true&waitIndex=${firstIndex}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-etcd-index']).toBe(String(m.member.store.index()));
    expect(res.body).toBe(
      `{"action":"set","node":{"key":"/hist","value":"0","modifiedIndex":${firstIndex},"createdIndex":${firstIndex}}}\n`,
    );
  });

  it('waits for a future index and skips matching events before it', async () => {
    const next = m.member.store.index() + 2;
    const watch = await openStream(m.url, `/v2/keys/fut?wait=true&waitIndex=${next}`);
    await put(m.url, '/v2/keys/fut', 'value=skipped');
    await put(m.url, '/v2/keys/fut', 'value=seen');
    expect(JSON.parse(await watch.nextLine())).toMatchObject({ node: { value: 'seen', modifiedIndex: next } });
  });

  it('answers 400 errorCode 401 once the index fell out of the 1000-event history', async () => {
    const small = await startTestMember();
    try {
      for (let i = 0; i < 1010; i++) await small.member.propose(writeCommand(i));
      const res = await request(small.url, '/v2/keys/never?wait=true&waitIndex=5');
      expect(res.status).toBe(400);
      const current = small.member.store.index();
      expect(res.body).toBe(
        `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [${current - 999}/5]","index":${current}}\n`,
      );
      expect(res.headers['x-etcd-index']).toBe(String(current));
      expect(res.headers['x-raft-index']).toBeUndefined();
    } finally {
      await small.close();
    }
  });
});

describe('releasing watchers', () => {
  it('removes the watcher when the client disconnects (no leak)', async () => {
    const before = watchers();
    const streams = await Promise.all([1, 2, 3].map((i) => openStream(m.url, `/v2/keys/leave${i}?wait=true`)));
    expect(watchers()).toBe(before + 3);
    for (const s of streams) s.close();
    await eventually(() => watchers() === before);
    const stats = await request(m.url, '/v2/stats/store');
    expect((stats.json as { watchers: number }).watchers).toBe(before);
  });

  it('refuses watches beyond the store bound with an etcd error, and frees the slot on disconnect', async () => {
    const capped = await startTestMember({ member: { store: new Store({ maxWatchers: 2 }) } });
    try {
      const open = await Promise.all([1, 2].map((i) => openStream(capped.url, `/v2/keys/cap${i}?wait=true`)));
      const refused = await request(capped.url, '/v2/keys/cap3?wait=true');
      expect(refused.status).toBe(500);
      expect(refused.json).toMatchObject({ errorCode: 300, message: 'Raft Internal Error' });
      open[0]!.close();
      await eventually(() => capped.member.store.stats().watchers === 1);
      const again = await openStream(capped.url, '/v2/keys/cap3?wait=true');
      expect(again.status).toBe(200);
      again.close();
      open[1]!.close();
    } finally {
      await capped.close();
    }
  });
});

function writeCommand(i: number) {
  return {
    method: 'PUT' as const,
    path: `/fill/${i % 10}`,
    val: String(i),
    dir: false,
    prevValue: '',
    prevIndex: 0,
    prevExist: null,
    expiration: 0,
    refresh: false,
    recursive: false,
    time: Date.now(),
  };
}
