// MemberStateMachine.snapshot()/restore(): a member's whole replicated state (applied index, v2
// store, v2 auth, membership) taken at any index and put, in place, into a member that applied
// another history; from then on both apply every entry alike. Seeded random logs of every kind of
// entry (v2 writes of every sort, TTLs and SYNCs, auth changes including enable, publishes, peer
// URL changes, the cluster version, forwarded commands, the bootstrap entries); a failure names
// the seed and the snapshot index that reproduce it.
import { describe, expect, it } from 'vitest';
import type { InitialMember } from '../../src/config.js';
import { EntryType, type Entry } from '../../src/raft/messages.js';
import { bootstrapEntries } from '../../src/server/bootstrap.js';
import { encodeEntryCommand, type EntryCommand, type ForwardableCommand } from '../../src/server/entry-codec.js';
import { Membership } from '../../src/server/membership.js';
import { MemberStateMachine, type EntryResult } from '../../src/server/state-machine.js';
import type { AuthChange, Permissions } from '../../src/store/auth.js';
import { v2Request, type V2Request } from '../../src/store/command.js';
import type { V2Event } from '../../src/store/event.js';
import { crc32 } from '../../src/storage/crc32.js';
import { packr } from '../../src/store/msgpack.js';
import { mulberry32 } from '../sim/prng.js';

const INITIAL: InitialMember[] = [
  { name: 'm3', id: 0x3an, peerURLs: ['http://10.0.0.3:2380'] },
  { name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'm2', id: 0x2bn, peerURLs: ['http://10.0.0.2:2380', 'http://10.0.1.2:2380'] },
];
/** Another cluster: one member in common (same peer URLs), two others. */
const OTHER: InitialMember[] = [
  { name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'x4', id: 0x4dn, peerURLs: ['http://10.0.0.4:2380'] },
  { name: 'x5', id: 0x5en, peerURLs: ['http://10.0.0.5:2380'] },
];
const T0 = Date.UTC(2026, 0, 1);

type Cmd = EntryCommand | undefined;

/** A state machine and what its callbacks saw. */
interface Machine {
  sm: MemberStateMachine;
  peerCalls: [bigint, string[]][];
  attrs: [bigint, number | undefined][];
  forwarded: string[];
}

function machine(initial: readonly InitialMember[] = INITIAL, forcedNewClusterAt?: number): Machine {
  const m: Machine = { sm: undefined as unknown as MemberStateMachine, peerCalls: [], attrs: [], forwarded: [] };
  m.sm = new MemberStateMachine(
    {
      membership: new Membership(initial),
      ...(forcedNewClusterAt !== undefined ? { forcedNewClusterAt } : {}),
      onPeerURLsChanged: (id, urls) => void m.peerCalls.push([id, [...urls]]),
      onAttributesApplied: (id, runId) => void m.attrs.push([id, runId]),
      onForwardedApplied: (cmd, result) => void m.forwarded.push(`${cmd.seq} ${render(result)}`),
    },
    0,
  );
  return m;
}

const entry = (index: number, cmd: Cmd, term = 2): Entry => ({ index, term, type: EntryType.Normal, data: cmd === undefined ? new Uint8Array() : encodeEntryCommand(cmd) });

function render(r: EntryResult): string {
  if ('kind' in r || 'memberChange' in r) return JSON.stringify(r);
  return r.ok ? JSON.stringify(r.event) : JSON.stringify(r.error.toJSON());
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Seeded commands of every kind, with the proposer's clock moving forward. */
class Workload {
  private readonly rand: () => number;
  now = T0;
  private seq = 0;

  constructor(
    seed: number,
    private readonly ids: readonly bigint[],
  ) {
    this.rand = mulberry32(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  next(storeIndex: number): Cmd {
    const r = this.rand;
    this.now += Math.floor(r() * 600) + r();
    const roll = r();
    if (roll < 0.03) return undefined; // a new leader's empty entry
    if (roll < 0.1) return { kind: 'v2', req: v2Request({ method: 'SYNC', path: '/', time: this.now }) };
    if (roll < 0.68) return this.maybeForwarded({ kind: 'v2', req: this.write(storeIndex) });
    if (roll < 0.83) return this.maybeForwarded({ kind: 'auth', change: this.authChange() });
    if (roll < 0.91) {
      const clientURLs = ['http://c0:2379', 'http://c1:2379', 'http://c2:2379'].filter(() => r() < 0.5);
      const attrs: EntryCommand = { kind: 'attrs', memberId: this.memberId(), name: `n${Math.floor(r() * 3)}`, clientURLs };
      return r() < 0.5 ? { ...attrs, runId: Math.floor(r() * 1000) } : attrs;
    }
    if (roll < 0.97) {
      const peerURLs = ['http://10.1.0.1:2380', 'http://10.0.0.1:2380', 'http://10.1.0.2:2380', 'http://10.0.0.3:2380'].filter(() => r() < 0.4);
      return this.maybeForwarded({ kind: 'peers', memberId: this.memberId(), peerURLs: peerURLs.length > 0 ? peerURLs : ['http://10.9.0.1:2380'] });
    }
    return { kind: 'version', version: this.pick(['3.4.0', '3.5.0']) };
  }

  /** A member of the cluster, now and then one that is not. */
  private memberId(): bigint {
    return this.rand() < 0.1 ? 0x99n : this.pick(this.ids);
  }

  private maybeForwarded(cmd: ForwardableCommand): EntryCommand {
    if (this.rand() >= 0.15) return cmd;
    return { kind: 'forwarded', memberId: this.pick(this.ids), runId: 7, seq: ++this.seq, cmd };
  }

  private write(storeIndex: number): V2Request {
    const r = this.rand;
    const depth = 1 + Math.floor(r() * 3);
    const path = '/' + Array.from({ length: depth }, () => this.pick(['a', 'b', '_h', 'c'])).join('/');
    const ttl = r() < 0.3 ? this.pick([0, 0.4, 1, 2.5, 3]) : undefined;
    const base = { path, time: this.now, val: this.pick(['', 'x', 'y']), dir: r() < 0.15, expiration: ttl === undefined ? 0 : this.now + ttl * 1000 };
    const roll = r();
    if (roll < 0.3) return v2Request({ method: 'PUT', ...base });
    if (roll < 0.4) return v2Request({ method: 'PUT', ...base, prevExist: true, refresh: r() < 0.3 });
    if (roll < 0.48) return v2Request({ method: 'PUT', ...base, prevExist: false });
    if (roll < 0.58) {
      const cond = r() < 0.5 ? { prevValue: this.pick(['x', 'y']) } : { prevIndex: Math.max(1, storeIndex - Math.floor(r() * 5)) };
      return v2Request({ method: 'PUT', ...base, ...cond });
    }
    if (roll < 0.68) return v2Request({ method: 'POST', ...base, path: this.pick(['/q', '/a/q', '/']) });
    if (roll < 0.85) return v2Request({ method: 'DELETE', path, time: this.now, dir: r() < 0.4, recursive: r() < 0.4 });
    const cond = r() < 0.5 ? { prevValue: this.pick(['x', 'y']) } : { prevIndex: Math.max(1, storeIndex - Math.floor(r() * 3)) };
    return v2Request({ method: 'DELETE', path, time: this.now, ...cond });
  }

  private authChange(): AuthChange {
    const r = this.rand;
    const user = this.pick(['root', 'root', 'alice', 'bob', '_svc']);
    const role = this.pick(['reader', 'writer', 'guest']);
    const hash = `h${Math.floor(r() * 1e6)}`;
    const perm = (): Permissions => ({
      kv: { read: r() < 0.2 ? null : [this.pick(['/a/*', '/b', '/*'])], write: r() < 0.5 ? null : [this.pick(['/a/*', '/c'])] },
    });
    const roll = r();
    if (roll < 0.2) return { op: 'createOrUpdateUser', user, password: hash, roles: null };
    if (roll < 0.3) return { op: 'createUser', user, password: hash, roles: [role] };
    if (roll < 0.45) return { op: 'updateUser', user, password: r() < 0.5 ? '' : hash, grant: r() < 0.6 ? [role] : [], revoke: r() < 0.4 ? [this.pick(['reader', 'writer'])] : [] };
    if (roll < 0.52) return { op: 'deleteUser', user };
    if (roll < 0.65) return { op: 'createRole', role: { role, permissions: perm() } };
    if (roll < 0.75) return { op: 'updateRole', role: this.pick(['reader', 'writer', 'guest', 'root']), grant: r() < 0.6 ? perm() : null, revoke: r() < 0.4 ? perm() : null };
    if (roll < 0.8) return { op: 'deleteRole', role };
    if (roll < 0.92) return { op: 'enable' };
    return { op: 'disable' };
  }
}

interface Run {
  log: Entry[];
  /** results[k]: what applying log[k] answered */
  results: string[];
  /** snapshot bytes by applied index */
  snapshots: Map<number, Uint8Array>;
  final: Machine;
}

/** A new cluster's log (bootstrap entries, a leader's empty entry, then `steps` random commands), applied to a fresh machine. */
function run(seed: number, steps: number, initial: readonly InitialMember[], snapshotAt: ReadonlySet<number> = new Set()): Run {
  const m = machine(initial);
  const work = new Workload(seed, initial.map((x) => x.id));
  const log: Entry[] = [];
  const results: string[] = [];
  const snapshots = new Map<number, Uint8Array>();
  const apply = (e: Entry): void => {
    log.push(e);
    results.push(render(m.sm.apply(e)));
    if (snapshotAt.has(e.index)) snapshots.set(e.index, m.sm.snapshot());
  };
  if (snapshotAt.has(0)) snapshots.set(0, m.sm.snapshot());
  for (const e of bootstrapEntries([...initial])) apply(e);
  apply(entry(log.length + 1, undefined));
  for (let i = 0; i < steps; i++) apply(entry(log.length + 1, work.next(m.sm.store.index())));
  return { log, results, snapshots, final: m };
}

function replay(log: readonly Entry[], upTo: number, initial: readonly InitialMember[] = INITIAL, forcedNewClusterAt?: number): Machine {
  const m = machine(initial, forcedNewClusterAt);
  for (const e of log.slice(0, upTo)) m.sm.apply(e);
  return m;
}

/** Collects a watcher's deliveries (and its close) as strings. */
function record(m: Machine, path: string, o: { recursive: boolean; stream: boolean; sinceIndex: number }): string[] {
  const got: string[] = [];
  const w = m.sm.store.watch(path, o);
  if (!w.ok) throw w.error;
  w.watcher.start(
    (ev: V2Event) => void got.push(`${ev.action} ${ev.node.key ?? '/'}@${ev.index}`),
    () => void got.push('closed'),
  );
  return got;
}

const WATCHES = [
  { path: '/', recursive: true, stream: true },
  { path: '/a', recursive: true, stream: false },
  { path: '/q', recursive: true, stream: true },
  { path: '/b/c', recursive: false, stream: false },
  { path: '/_h', recursive: true, stream: true },
] as const;

describe('MemberStateMachine snapshot/restore', () => {
  it('a member restored from a snapshot at any index applies every later entry exactly as the member that took it', () => {
    const totals = { restores: 0, authOk: 0, enabled: 0, v2Ok: 0, v2Failed: 0, inOrder: 0, expired: 0, watchAhead: 0, watchEvents: 0, peerCalls: 0, otherIds: 0, backwards: 0, headOfLog: 0 };
    for (let seed = 1; seed <= 10; seed++) {
      const steps = 300;
      const rand = mulberry32(seed * 7919);
      const points = new Set([0, 1, 2, 3, 4]);
      while (points.size < 10) points.add(5 + Math.floor(rand() * (steps - 10)));
      const a = run(seed, steps, INITIAL, points);
      const finalBytes = hex(a.final.sm.snapshot());
      for (const r of a.results) {
        if (r.startsWith('{"kind":"auth","ok":true')) totals.authOk++;
        if (r.startsWith('{"action"')) totals.v2Ok++;
        if (r.startsWith('{"action":"create","node":{"key":"') && r.includes('/0000000000')) totals.inOrder++;
        if (r.startsWith('{"errorCode"')) totals.v2Failed++;
      }
      totals.enabled += a.final.sm.auth.enabled() ? 1 : 0;
      totals.expired += a.final.sm.store.stats().expireCount;
      let variant = seed;
      for (const [at, bytes] of a.snapshots) {
        const where = `seed ${seed}, snapshot at ${at}`;
        variant++;
        // A replica of A at the snapshot point: the same entries give the same bytes.
        const mirror = replay(a.log, at);
        expect(hex(mirror.sm.snapshot()), where).toBe(hex(bytes));

        // B: another history, shorter, longer, divergent, or of another cluster.
        let b: Machine;
        switch (variant % 4) {
          case 0:
            b = replay(a.log, Math.floor(rand() * at));
            break;
          case 1:
            b = run(seed + 1000, Math.floor(rand() * 200), INITIAL).final;
            break;
          case 2:
            b = run(seed + 2000, Math.floor(rand() * 200), OTHER).final;
            totals.otherIds++;
            break;
          default:
            b = replay(a.log, Math.min(a.log.length, at + 1 + Math.floor(rand() * 50)));
            totals.backwards++;
        }
        if (at <= INITIAL.length) totals.headOfLog++;
        // Watches registered on B before the restore, and their twins on A's replica: B's watcher
        // waits for index >= its start + 1, whatever the restore does to the index (as in etcd).
        const watched = WATCHES.map((w) => {
          const since = b.sm.store.index() + 1;
          if (since > mirror.sm.store.index() + 1) totals.watchAhead++;
          const onB = record(b, w.path, { ...w, sinceIndex: 0 });
          const onMirror = record(mirror, w.path, { ...w, sinceIndex: since > mirror.sm.store.index() + 1 ? since : 0 });
          return { onB, onMirror };
        });
        const before = new Map(b.sm.membership.ids().map((id) => [id, b.sm.membership.peerURLs(id)]));
        const expectedCalls = mirror.sm.membership
          .ids()
          .filter((id) => JSON.stringify(before.get(id)) !== JSON.stringify(mirror.sm.membership.peerURLs(id)))
          .map((id) => [id, mirror.sm.membership.peerURLs(id)]);
        const { store, auth, membership } = b.sm;
        b.peerCalls.length = 0;
        // B served reads of its own: they stay B's counts (every other counter is the snapshot's).
        const reads = Math.floor(rand() * 5);
        for (let i = 0; i < reads; i++) b.sm.store.get('/a', true, false, T0);
        b.sm.store.recordKeysRequest(rand() < 0.5);
        const ownReads = { getsSuccess: b.sm.store.stats().getsSuccess, getsFail: b.sm.store.stats().getsFail };

        b.sm.restore(bytes);
        totals.restores++;
        totals.peerCalls += b.peerCalls.length;
        expect(b.peerCalls, where).toEqual(expectedCalls);
        expect(b.sm.store).toBe(store);
        expect(b.sm.auth).toBe(auth);
        expect(b.sm.membership).toBe(membership);
        expect(b.sm.applied(), where).toBe(at);
        b.sm.store.verify();
        expect(hex(b.sm.snapshot()), where).toBe(hex(bytes));
        expect(b.sm.membership.list(), where).toEqual(mirror.sm.membership.list());
        expect(b.sm.membership.clusterVersion).toBe(mirror.sm.membership.clusterVersion);
        expect(b.sm.store.stats(), where).toEqual({ ...mirror.sm.store.stats(), ...ownReads, watchers: WATCHES.length });

        // The rest of the log, on both: the same answers, callbacks, watch events and final bytes.
        for (const m of [b, mirror]) {
          m.peerCalls.length = 0;
          m.attrs.length = 0;
          m.forwarded.length = 0;
        }
        for (const e of a.log.slice(at)) {
          const want = a.results[e.index - 1];
          expect(render(b.sm.apply(e)), `${where}, entry ${e.index}`).toBe(want);
          expect(render(mirror.sm.apply(e)), `${where}, entry ${e.index} (replica)`).toBe(want);
        }
        b.sm.store.verify();
        expect(hex(b.sm.snapshot()), where).toBe(finalBytes);
        expect(hex(mirror.sm.snapshot()), where).toBe(finalBytes);
        expect(b.peerCalls, where).toEqual(mirror.peerCalls);
        expect(b.attrs, where).toEqual(mirror.attrs);
        expect(b.forwarded, where).toEqual(mirror.forwarded);
        for (const [i, w] of watched.entries()) {
          expect(w.onB, `${where}, watch ${WATCHES[i]!.path}`).toEqual(w.onMirror);
          totals.watchEvents += w.onB.length;
        }
      }
    }
    // The comparison proves little unless the generator reached every kind of state.
    expect(totals.restores).toBe(100);
    expect(totals.v2Ok).toBeGreaterThan(500);
    expect(totals.v2Failed).toBeGreaterThan(500);
    expect(totals.inOrder).toBeGreaterThan(20);
    expect(totals.authOk).toBeGreaterThan(150);
    expect(totals.enabled).toBeGreaterThan(2);
    expect(totals.watchAhead).toBeGreaterThan(20);
    expect(totals.expired).toBeGreaterThan(50);
    expect(totals.watchEvents).toBeGreaterThan(500);
    expect(totals.peerCalls).toBeGreaterThan(20);
    expect(totals.otherIds).toBeGreaterThan(10);
    expect(totals.backwards).toBeGreaterThan(10);
    expect(totals.headOfLog).toBe(40);
  });

  /** INITIAL's new log: bootstrap entries, a leader's entry, every member's publish, the cluster version, then `cmds`. */
  function clusterLog(cmds: Cmd[], initial: readonly InitialMember[] = INITIAL): Entry[] {
    const log = [...bootstrapEntries([...initial])];
    const add = (cmd: Cmd): void => void log.push(entry(log.length + 1, cmd));
    add(undefined);
    for (const m of initial) add({ kind: 'attrs', memberId: m.id, name: m.name, clientURLs: [`http://${m.name}:2379`] });
    add({ kind: 'version', version: '3.4.0' });
    for (const cmd of cmds) add(cmd);
    return log;
  }
  const put = (path: string, val: string, o: Partial<V2Request> = {}): Cmd => ({ kind: 'v2', req: v2Request({ method: 'PUT', path, val, time: T0, ...o }) });
  const sync = (time: number): Cmd => ({ kind: 'v2', req: v2Request({ method: 'SYNC', path: '/', time }) });
  /** Appends commands after a log, numbered on. */
  const after = (log: readonly Entry[], cmds: Cmd[]): Entry[] => cmds.map((cmd, i) => entry(log.length + 1 + i, cmd));
  const applyBoth = (machines: Machine[], entries: readonly Entry[]): string[][] => machines.map((m) => entries.map((e) => render(m.sm.apply(e))));

  it('a watcher registered on the restored member before the restore fires on the next matching write after it', () => {
    const log = clusterLog(Array.from({ length: 20 }, (_, i) => put(`/k${i % 3}`, String(i))));
    const a = replay(log, log.length);
    const b = replay(log, 5); // behind: its etcd index is below the snapshot's
    const once = record(b, '/k1', { recursive: false, stream: false, sinceIndex: 0 });
    const stream = record(b, '/', { recursive: true, stream: true, sinceIndex: 0 });
    expect(b.sm.store.stats().watchers).toBe(2);
    b.sm.restore(a.sm.snapshot());
    expect([once, stream]).toEqual([[], []]);
    expect(b.sm.store.stats().watchers).toBe(2);
    const next = a.sm.store.index() + 1;
    const [onA, onB] = applyBoth([a, b], after(log, [put('/other', 'x'), put('/k1', 'y'), put('/k1', 'z')]));
    expect(onB).toEqual(onA);
    expect(once).toEqual([`set /k1@${next + 1}`, 'closed']);
    expect(stream).toEqual([`set /other@${next}`, `set /k1@${next + 1}`, `set /k1@${next + 2}`]);
    expect(b.sm.store.stats().watchers).toBe(1);
  });

  it('TTL keys expire after a restore exactly as on the member that took the snapshot (SYNC carries the time)', () => {
    const log = clusterLog([
      put('/t1', 'a', { expiration: T0 + 2000 }),
      put('/dir', '', { dir: true, expiration: T0 + 5000 }),
      put('/dir/x', 'b'),
      put('/t2', 'c', { expiration: T0 + 10_000 }),
      put('/t2', 'c2', { prevExist: true, expiration: T0 + 12_000 }),
      put('/p', 'permanent'),
    ]);
    const a = replay(log, log.length);
    const b = machine();
    for (const e of clusterLog([put('/old', 'x', { expiration: T0 + 500 }), put('/t1', 'mine', { expiration: T0 + 60_000 })])) b.sm.apply(e);
    b.sm.restore(a.sm.snapshot());
    b.sm.store.verify();
    expect(b.sm.store.nextExpirationMs()).toBe(T0 + 2000);
    const watches = [a, b].map((m) => record(m, '/', { recursive: true, stream: true, sinceIndex: 0 }));
    const base = a.sm.store.index();
    const ticks = [T0 + 1000, T0 + 2000, T0 + 4999, T0 + 6000, T0 + 11_000, T0 + 20_000];
    for (const [i, e] of after(log, ticks.map(sync)).entries()) {
      expect(render(b.sm.apply(e))).toBe(render(a.sm.apply(e)));
      expect(b.sm.store.nextExpirationMs(), `after SYNC ${i}`).toBe(a.sm.store.nextExpirationMs());
      const at = ticks[i]!;
      expect(render(b.sm.store.get('/', true, true, at))).toBe(render(a.sm.store.get('/', true, true, at)));
    }
    expect(watches[0]).toEqual([`expire /t1@${base + 1}`, `expire /dir@${base + 2}`, `expire /t2@${base + 3}`]); // /dir/x goes with /dir
    expect(watches[1]).toEqual(watches[0]);
    expect(b.sm.store.hasTtlKeys()).toBe(false);
    expect(hex(b.sm.snapshot())).toBe(hex(a.sm.snapshot()));
  });

  it('refuses garbage, truncated, damaged and other-version bytes with an Error and leaves the member unchanged', () => {
    const aLog = clusterLog([put('/a', '1'), { kind: 'auth', change: { op: 'createOrUpdateUser', user: 'root', password: 'h', roles: null } }, { kind: 'auth', change: { op: 'enable' } }]);
    const a = replay(aLog, aLog.length);
    const good = a.sm.snapshot();
    const outer = packr.unpack(good) as { format: string; version: number; crc32: number; body: Uint8Array };
    const body = packr.unpack(outer.body) as Record<string, unknown>;
    /** The snapshot with its body changed, re-framed with a correct checksum. */
    const reframed = (change: (b: Record<string, unknown>) => void, top: Partial<typeof outer> = {}): Uint8Array => {
      const copy = { ...body, membership: structuredClone(body['membership']) };
      change(copy);
      const bytes = packr.pack(copy);
      return packr.pack({ ...outer, crc32: crc32(bytes), body: bytes, ...top });
    };
    const rewrap = (part: 'store' | 'auth', change: (w: Record<string, unknown>) => void): Uint8Array =>
      reframed((b) => {
        const w = packr.unpack(b[part] as Uint8Array) as Record<string, unknown>;
        change(w);
        b[part] = packr.pack(w);
      });
    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 100]! ^= 0x04;
    const rand = mulberry32(99);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['random bytes', Uint8Array.from({ length: 1000 }, () => Math.floor(rand() * 256))],
      ['truncated to 1 byte', good.subarray(0, 1)],
      ['truncated to half', good.subarray(0, good.length >> 1)],
      ['truncated by 1 byte', good.subarray(0, good.length - 1)],
      ['one bit flipped', flipped],
      ['trailing bytes', Uint8Array.from([...good, 0])],
      ['a store snapshot alone', a.sm.store.save()],
      ['an auth snapshot alone', a.sm.auth.save()],
      ['another format', packr.pack({ ...outer, format: 'something else' })],
      ['another version', packr.pack({ ...outer, version: 2 })],
      ['no version', reframed(() => undefined, { version: undefined })],
      ['no body', packr.pack({ format: outer.format, version: outer.version })],
      ['a wrong checksum', packr.pack({ ...outer, crc32: (outer.crc32 + 1) >>> 0 })],
      ['a negative applied index', reframed((b) => (b['applied'] = -1))],
      ['more bootstrap members than entries applied', reframed((b) => ((b['applied'] = 1), (b['bootstrap'] = [1, 2])))],
      ['bootstrap members out of order', reframed((b) => (b['bootstrap'] = [0x2b, 0x1c]))],
      ['no members', reframed((b) => ((b['membership'] as { members: unknown[] }).members = []))],
      ['members out of order', reframed((b) => (b['membership'] as { members: unknown[] }).members.reverse())],
      ['a member without peer URLs', reframed((b) => delete ((b['membership'] as { members: Record<string, unknown>[] }).members[0]!['peerURLs']))],
      ['a cluster version that is a number', reframed((b) => ((b['membership'] as Record<string, unknown>)['clusterVersion'] = 3))],
      ['no store', reframed((b) => delete b['store'])],
      ['a store of another version', rewrap('store', (w) => (w['version'] = 2))],
      ['a store whose nodes are past its index', rewrap('store', (w) => (w['index'] = 1))],
      ['an auth of another version', rewrap('auth', (w) => (w['version'] = 2))],
      ['auth enabled without root', rewrap('auth', (w) => (w['users'] = []))],
    ];
    expect(() => replay([], 0).sm.restore(reframed(() => undefined))).not.toThrow(); // the re-framing itself is sound

    const bLog = clusterLog([put('/w/x', '1'), put('/t', 'ttl', { expiration: T0 + 1000 })], OTHER);
    const b = replay(bLog, bLog.length, OTHER);
    const watched = record(b, '/w', { recursive: true, stream: true, sinceIndex: 0 });
    const before = { bytes: hex(b.sm.snapshot()), applied: b.sm.applied(), members: b.sm.membership.list(), next: b.sm.store.nextExpirationMs() };
    expect(before.next).toBe(T0 + 1000);
    for (const [what, data] of bad) {
      expect(() => b.sm.restore(data), what).toThrow(/^member state snapshot: /);
      expect(hex(b.sm.snapshot()), what).toBe(before.bytes);
      expect(b.sm.applied()).toBe(before.applied);
      expect(b.sm.membership.list()).toEqual(before.members);
      expect(b.sm.store.nextExpirationMs()).toBe(before.next);
      expect(b.peerCalls, what).toEqual([]);
      expect(b.sm.store.stats().watchers).toBe(1);
    }
    b.sm.store.verify();
    // and it still works: the next entry applies, the watcher fires, a good snapshot restores
    const index = b.sm.store.index();
    expect(render(b.sm.apply(entry(b.sm.applied() + 1, put('/w/y', '2'))))).toContain(`"modifiedIndex":${index + 1}`);
    expect(watched).toEqual([`set /w/y@${index + 1}`]);
    b.sm.restore(good);
    expect(hex(b.sm.snapshot())).toBe(hex(good));
  });

  it('calls onPeerURLsChanged exactly for the members whose peer URLs the restore changed, in id order', () => {
    const log = clusterLog([{ kind: 'peers', memberId: 0x2bn, peerURLs: ['http://10.1.0.2:2380'] }]);
    const snap = replay(log, log.length).sm.snapshot();

    const same = replay(log, 3); // the bootstrap entries only: the initial peer URLs
    same.sm.restore(snap);
    expect(same.peerCalls).toEqual([[0x2bn, ['http://10.1.0.2:2380']]]);
    same.peerCalls.length = 0;
    same.sm.restore(snap);
    expect(same.peerCalls).toEqual([]); // nothing changed this time

    const movedLog = clusterLog([{ kind: 'peers', memberId: 0x1cn, peerURLs: ['http://10.7.0.1:2380'] }]);
    const moved = replay(movedLog, movedLog.length);
    moved.peerCalls.length = 0;
    moved.sm.restore(snap);
    expect(moved.peerCalls).toEqual([
      [0x1cn, ['http://10.0.0.1:2380']],
      [0x2bn, ['http://10.1.0.2:2380']],
    ]);

    // Another cluster's member ids: replaced by the snapshot's (0x1c is in both, with the same URLs).
    const otherLog = clusterLog([], OTHER);
    const other = replay(otherLog, otherLog.length, OTHER);
    other.sm.restore(snap);
    expect(other.peerCalls).toEqual([
      [0x2bn, ['http://10.1.0.2:2380']],
      [0x3an, ['http://10.0.0.3:2380']],
    ]);
    expect(other.sm.membership.ids()).toEqual([0x1cn, 0x2bn, 0x3an]);
    expect(other.sm.membership.has(0x4dn)).toBe(false);
    expect(other.sm.membership.list()).toEqual(replay(log, log.length).sm.membership.list());
    expect(other.sm.membership.allPublished()).toBe(true);
    expect(other.sm.membership.clusterVersion).toBe('3.4.0');

    // members: 'configured' (what a member does until membership changes go through the log, e.g.
    // after --force-new-cluster): its own members stay, with the snapshot's records of them.
    const kept = replay(clusterLog([], OTHER), clusterLog([], OTHER).length, OTHER);
    kept.sm.restore(snap, { members: 'configured' });
    expect(kept.sm.membership.ids()).toEqual(OTHER.map((m) => m.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(kept.sm.membership.has(0x2bn)).toBe(false);
    expect(kept.sm.membership.info(0x1cn)).toEqual(replay(log, log.length).sm.membership.info(0x1cn));
    expect(kept.sm.membership.clusterVersion).toBe('3.4.0');
  });

  it('a snapshot taken among the bootstrap entries continues them (here after --force-new-cluster: a member they do not name)', () => {
    const members: InitialMember[] = [INITIAL[1]!, { name: 'new', id: 0x77n, peerURLs: ['http://10.9.9.9:2380'] }];
    const head = [...bootstrapEntries(INITIAL), entry(4, undefined)];
    const log = [...head, ...after(head, [put('/a', '1', { expiration: T0 + 1000 }), sync(T0 + 1000)])];
    const full = replay(log, log.length, members, 4);
    const end = hex(full.sm.snapshot());
    for (let at = 0; at <= log.length; at++) {
      const a = replay(log, at, members, 4);
      // (another member of the forced cluster: it too ignores the old cluster's members in the first 4 entries)
      const b = replay(clusterLog([put('/z', 'z')], OTHER), 4, OTHER, 4);
      b.sm.restore(a.sm.snapshot());
      const [onA, onB] = applyBoth([a, b], log.slice(at));
      expect(onB, `snapshot at ${at}`).toEqual(onA);
      expect(hex(b.sm.snapshot()), `snapshot at ${at}`).toBe(end);
    }
    // 0x1c's raftAttributes at entry 2, 0x77's at entry 4 (the first after the bootstrap entries), /a, its expiry
    expect(full.sm.store.index()).toBe(4);
  });

  it('members that applied the same entries produce byte-identical snapshots, whatever order their configuration lists members in', () => {
    const { log } = run(5, 250, INITIAL);
    const x = machine(INITIAL);
    const y = machine([...INITIAL].reverse());
    for (const e of log) {
      x.sm.apply(e);
      y.sm.apply(e);
      // x serves reads, y none: the counters of a member's own reads are not in its snapshot
      x.sm.store.get('/', true, false, T0);
      x.sm.store.recordKeysRequest(x.sm.auth.initialised());
      expect(hex(y.sm.snapshot()), `after entry ${e.index}`).toBe(hex(x.sm.snapshot()));
    }
    expect(x.sm.store.stats().getsSuccess + x.sm.store.stats().getsFail).toBe(2 * log.length);
    expect(x.sm.snapshot().length).toBeGreaterThan(1000);
  });
});
