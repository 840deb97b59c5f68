// node-etcd 7 against etcd-ts: every case makes the same calls on a real etcd and on etcd-ts; the
// outcomes (bodies, errors, watcher events, X-Etcd-Index; indexes relative to the case's start) must
// be the same, and must show what the case expects.
//   npx vitest run test/clients/node-etcd.test.ts
import { describe, expect, it } from 'vitest';
import type { Target } from '../helpers/target.js';
import { useBothServers } from './both-servers.js';
import { NodeEtcdSession } from './node-etcd-session.js';
import { waitForWatchers, watcherCount } from './watchers.js';

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

interface Case {
  name: string;
  run: (s: NodeEtcdSession, prefix: string) => Promise<void>;
  /** Checks on the session's normalised log, run for both servers. */
  check: (log: NodeEtcdSession['log'], prefix: string) => void;
}

const outcome = (log: NodeEtcdSession['log'], call: string): unknown => {
  const entry = log.find((e) => e.call === call);
  if (!entry) throw new Error(`no call "${call}" in the log`);
  return entry.outcome;
};

const cases: Case[] = [
  {
    name: 'set then get returns the value',
    run: async (s, p) => {
      await s.call('set', (cb) => s.client.set(`${p}/k`, 'v', {}, cb));
      await s.call('get', (cb) => s.client.get(`${p}/k`, {}, cb));
    },
    check: (log, p) => {
      expect(outcome(log, 'set')).toEqual({ body: { action: 'set', node: { key: `${p}/k`, value: 'v', modifiedIndex: '@+1', createdIndex: '@+1' } }, etcdIndex: '@+1' });
      expect(outcome(log, 'get')).toMatchObject({ body: { action: 'get', node: { key: `${p}/k`, value: 'v' } } });
    },
  },
  {
    name: 'del removes the key; get and del of a missing key give error 100',
    run: async (s, p) => {
      await s.call('set', (cb) => s.client.set(`${p}/k`, 'v', {}, cb));
      await s.call('del', (cb) => s.client.del(`${p}/k`, {}, cb));
      await s.call('get missing', (cb) => s.client.get(`${p}/k`, {}, cb));
      await s.call('del missing', (cb) => s.client.del(`${p}/k`, {}, cb));
    },
    check: (log, p) => {
      expect(outcome(log, 'del')).toMatchObject({ body: { action: 'delete', prevNode: { value: 'v' } } });
      expect(outcome(log, 'get missing')).toEqual({ error: { errorCode: 100, message: 'Key not found', cause: `${p}/k`, index: '@+2' }, etcdIndex: '@+2' });
      expect(outcome(log, 'del missing')).toMatchObject({ error: { errorCode: 100 } });
    },
  },
  {
    name: 'mkdir, listing (plain and recursive), rmdir of a non-empty dir (108) and recursive rmdir',
    run: async (s, p) => {
      await s.call('mkdir', (cb) => s.client.mkdir(`${p}/d`, {}, cb));
      await s.call('set a', (cb) => s.client.set(`${p}/d/a`, '1', {}, cb));
      await s.call('set b', (cb) => s.client.set(`${p}/d/sub/b`, '2', {}, cb));
      await s.call('list', (cb) => s.client.get(`${p}/d`, {}, cb));
      await s.call('list recursive', (cb) => s.client.get(`${p}/d`, { recursive: true }, cb));
      await s.call('rmdir', (cb) => s.client.rmdir(`${p}/d`, {}, cb));
      await s.call('rmdir recursive', (cb) => s.client.rmdir(`${p}/d`, { recursive: true }, cb));
    },
    check: (log) => {
      expect(outcome(log, 'mkdir')).toMatchObject({ body: { action: 'set', node: { dir: true } } });
      expect(outcome(log, 'rmdir')).toMatchObject({ error: { errorCode: 108, message: 'Directory not empty' } });
      expect(outcome(log, 'rmdir recursive')).toMatchObject({ body: { action: 'delete' } });
      expect(JSON.stringify(outcome(log, 'list recursive'))).toContain('"value":"2"');
    },
  },
  {
    name: 'compareAndSwap succeeds on the right old value and fails with 101 otherwise',
    run: async (s, p) => {
      await s.call('set', (cb) => s.client.set(`${p}/c`, 'one', {}, cb));
      await s.call('cas ok', (cb) => s.client.compareAndSwap(`${p}/c`, 'two', 'one', {}, cb));
      await s.call('cas fail', (cb) => s.client.compareAndSwap(`${p}/c`, 'three', 'one', {}, cb));
      await s.call('cad fail', (cb) => s.client.compareAndDelete(`${p}/c`, 'one', {}, cb));
      await s.call('cad ok', (cb) => s.client.compareAndDelete(`${p}/c`, 'two', {}, cb));
    },
    check: (log) => {
      expect(outcome(log, 'cas ok')).toMatchObject({ body: { action: 'compareAndSwap', node: { value: 'two' }, prevNode: { value: 'one' } } });
      expect(outcome(log, 'cas fail')).toEqual({ error: { errorCode: 101, message: 'Compare failed', cause: '[one != two]', index: '@+2' }, etcdIndex: '@+2' });
      expect(outcome(log, 'cad fail')).toMatchObject({ error: { errorCode: 101 } });
      expect(outcome(log, 'cad ok')).toMatchObject({ body: { action: 'compareAndDelete' } });
    },
  },
  {
    name: 'set with prevExist=false on an existing key gives error 105',
    run: async (s, p) => {
      await s.call('create', (cb) => s.client.set(`${p}/x`, '1', { prevExist: false }, cb));
      await s.call('create again', (cb) => s.client.set(`${p}/x`, '2', { prevExist: false }, cb));
    },
    check: (log, p) => {
      expect(outcome(log, 'create')).toMatchObject({ body: { action: 'create' } });
      expect(outcome(log, 'create again')).toEqual({ error: { errorCode: 105, message: 'Key already exists', cause: `${p}/x`, index: '@+1' }, etcdIndex: '@+1' });
    },
  },
  {
    name: 'create (POST) makes in-order keys, listed in order with sorted=true',
    run: async (s, p) => {
      await s.call('post 1', (cb) => s.client.create(`${p}/q`, 'job1', {}, cb));
      await s.call('post 2', (cb) => s.client.create(`${p}/q`, 'job2', {}, cb));
      await s.call('list', (cb) => s.client.get(`${p}/q`, { sorted: true }, cb));
    },
    check: (log, p) => {
      expect(outcome(log, 'post 1')).toMatchObject({ body: { action: 'create', node: { key: `${p}/q/{@+1}`, value: 'job1' } } });
      expect(outcome(log, 'list')).toMatchObject({
        body: { node: { nodes: [{ key: `${p}/q/{@+1}`, value: 'job1' }, { key: `${p}/q/{@+2}`, value: 'job2' }] } },
      });
    },
  },
  {
    name: 'set with a ttl reports it; a watcher sees the key expire',
    run: async (s, p) => {
      await s.call('set ttl', (cb) => s.client.set(`${p}/t`, 'v', { ttl: 1 }, cb));
      const before = await watcherCount(s.target.clientURL);
      const { events } = s.watch(`${p}/t`, null);
      await waitForWatchers(s.target.clientURL, before + 1);
      await until(() => events.some((e) => e.name === 'expire'), 5000);
      s.record('watcher events', events.map((e) => ({ [e.name]: e.value })));
    },
    check: (log) => {
      expect(outcome(log, 'set ttl')).toMatchObject({ body: { node: { ttl: '<positive ttl>', expiration: '<expiration>' } } });
      expect(outcome(log, 'watcher events')).toMatchObject([{ change: { action: 'expire' } }, { expire: { action: 'expire', node: { modifiedIndex: '@+2' } } }]);
    },
  },
  {
    name: 'a watcher emits change and the action for set, update and delete, following waitIndex',
    run: async (s, p) => {
      await s.call('set', (cb) => s.client.set(`${p}/w`, '0', {}, cb));
      const before = await watcherCount(s.target.clientURL);
      const { events } = s.watch(`${p}/w`, null);
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.call('set 1', (cb) => s.client.set(`${p}/w`, '1', {}, cb));
      await s.call('update 2', (cb) => s.client.set(`${p}/w`, '2', { prevExist: true }, cb));
      await s.call('delete', (cb) => s.client.del(`${p}/w`, {}, cb));
      await until(() => events.filter((e) => e.name === 'change').length >= 3, 5000);
      s.record('watcher events', events.map((e) => [e.name, (e.value as { action: string }).action]));
    },
    check: (log) => {
      expect(outcome(log, 'watcher events')).toEqual([
        ['change', 'set'],
        ['set', 'set'],
        ['change', 'update'],
        ['update', 'update'],
        ['change', 'delete'],
        ['delete', 'delete'],
      ]);
    },
  },
  {
    name: 'a watcher started at an index replays history; a recursive one sees children',
    run: async (s, p) => {
      await s.call('set 1', (cb) => s.client.set(`${p}/h`, 'one', {}, cb));
      await s.call('set 2', (cb) => s.client.set(`${p}/h`, 'two', {}, cb));
      const replay = s.watch(`${p}/h`, s.base + 1);
      await until(() => replay.events.filter((e) => e.name === 'change').length >= 2, 5000);
      s.record('replayed', replay.events.filter((e) => e.name === 'change').map((e) => e.value));
      const before = await watcherCount(s.target.clientURL);
      const rec = s.watch(`${p}/dir`, null, { recursive: true });
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.call('child', (cb) => s.client.set(`${p}/dir/x/y`, 'deep', {}, cb));
      await until(() => rec.events.some((e) => e.name === 'change'), 5000);
      s.record('recursive', rec.events.filter((e) => e.name === 'change').map((e) => e.value));
    },
    check: (log, p) => {
      expect(outcome(log, 'replayed')).toMatchObject([{ node: { value: 'one' } }, { node: { value: 'two' } }]);
      expect(outcome(log, 'recursive')).toMatchObject([{ action: 'set', node: { key: `${p}/dir/x/y`, value: 'deep' } }]);
    },
  },
  {
    name: 'version, and the synchronous getSync/setSync API',
    run: async (s, p) => {
      await s.call('version', (cb) => s.client.version(cb));
      const set = s.client.setSync(`${p}/sync`, 'yes');
      s.record('setSync', { error: set.err?.error, body: set.body });
      const got = s.client.getSync(`${p}/sync`);
      s.record('getSync', { error: got.err?.error, body: got.body });
      const missing = s.client.getSync(`${p}/none`);
      s.record('getSync missing', { error: missing.err?.error });
    },
    check: (log) => {
      expect(outcome(log, 'version')).toMatchObject({ body: { etcdserver: '3.4.23', etcdcluster: '3.4.0' } });
      expect(outcome(log, 'getSync')).toMatchObject({ body: { node: { value: 'yes' } } });
      expect(outcome(log, 'getSync missing')).toMatchObject({ error: { errorCode: 100 } });
    },
  },
];

const servers = useBothServers();

async function observe(target: Target, c: Case, prefix: string): Promise<NodeEtcdSession['log']> {
  const s = await NodeEtcdSession.open(target);
  try {
    await c.run(s, prefix);
  } finally {
    s.close();
  }
  return s.log;
}

describe('node-etcd sees the same from etcd-ts as from etcd', () => {
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const { etcd, etcdTs } = servers();
      const prefix = `/ne${i}`;
      // One server at a time: the synchronous API blocks the event loop while it waits.
      const fromEtcd = await observe(etcd, c, prefix);
      const fromEtcdTs = await observe(etcdTs, c, prefix);
      c.check(fromEtcd, prefix);
      expect(fromEtcdTs).toEqual(fromEtcd);
      c.check(fromEtcdTs, prefix);
    }, 60_000);
  }
});
