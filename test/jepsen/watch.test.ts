// The jepsen watch checks (tools/jepsen/watch.ts): hand-made member streams with one fault each must
// be caught (a duplicate, an out-of-order event, a gap on one member, a divergent value, an
// acknowledged write missing from every stream), a clean run passes and a cleared gap (etcd's 401,
// legal) is reported but is not a violation. Then the watcher itself against a fake member that
// drops connections and clears its history: it resumes from its waitIndex and records the gap.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Op, OpKind } from '../../tools/jepsen/history.js';
import { checkWatch, startWatchers, type MemberStream, type WatchEvent } from '../../tools/jepsen/watch.js';

const K0 = '/j/k0';
const K1 = '/j/k1';
const PROBE = '/j/probe';

// The run's events: indexes 10..15 (index 12 is some other key's, outside the prefix).
const EVENTS: WatchEvent[] = [
  { index: 10, key: K0, action: 'set', value: 'a' },
  { index: 11, key: K1, action: 'create', value: 'b' },
  { index: 13, key: K0, action: 'compareAndSwap', value: 'c' },
  { index: 14, key: PROBE, action: 'set', value: 'probe-1' },
  { index: 15, key: K1, action: 'delete' },
];

let nextId = 0;
function op(kind: OpKind, key: string, index: number | undefined, value?: string, outcome: Op['outcome'] = 'ok'): Op {
  return { id: nextId++, client: 0, key, kind, value, invokeMs: nextId, completeMs: outcome === 'info' ? null : nextId + 1, outcome, index };
}
const HISTORY: Op[] = [
  op('write', K0, 10, 'a'),
  op('create', K1, 11, 'b'),
  op('read', K0, 10),
  op('cas-value', K0, 13, 'c'),
  op('delete', K1, 15),
  op('write', K1, undefined, 'never', 'fail'),
];

const stream = (member: string, events: WatchEvent[] = EVENTS, extra: Partial<MemberStream> = {}): MemberStream => ({
  member,
  startIndex: 10,
  events: events.map((e) => ({ ...e })),
  cleared: [],
  reconnects: 0,
  ...extra,
});
const clean = (): MemberStream[] => [stream('m1'), stream('m2'), stream('m3')];
const check = (streams: MemberStream[], history: Op[] = HISTORY) => checkWatch(streams, history, { probeKey: PROBE });

describe('jepsen watch check', () => {
  it('passes identical, complete streams that hold every acknowledged change', () => {
    const r = check(clean());
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.acked).toEqual({ checked: 4, uncovered: 0 });
    expect(r.keys).toEqual({ [K0]: 2, [K1]: 2, [PROBE]: 1 });
    expect(r.members['m2']).toMatchObject({ events: 5, cleared: 0, coveredTo: 15 });
  });

  it('catches a duplicate event on one member', () => {
    const s = clean();
    s[1]!.events.splice(2, 0, { ...EVENTS[1]! });
    const r = check(s);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'duplicate', member: 'm2', key: K1, index: 11 })]);
  });

  it('catches an out-of-order event', () => {
    const s = clean();
    const [a, b] = [s[2]!.events[2]!, s[2]!.events[3]!];
    s[2]!.events[2] = b;
    s[2]!.events[3] = a;
    const r = check(s);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'out-of-order', member: 'm3', key: K0, index: 13 })]);
  });

  it('catches an event below the waitIndex that asked for it', () => {
    const s = clean();
    s[0]!.events[1]!.waitIndex = 12;
    expect(check(s).problems).toEqual([expect.objectContaining({ kind: 'out-of-order', member: 'm1', index: 11 })]);
  });

  it('catches a gap on one member, with the member, key and index', () => {
    const s = clean();
    s[0]!.events.splice(2, 1); // m1 misses the compareAndSwap at 13, though it saw 11 and 14
    const r = check(s);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'gap', member: 'm1', key: K0, index: 13 })]);
    expect(r.problems[0]!.message).toContain('m1');
  });

  it('does not call events after a member\'s last one a gap (its watch had not caught up)', () => {
    const s = clean();
    s[2]!.events.splice(3); // m3 ends at 13
    expect(check(s).ok).toBe(true);
    expect(check(s).members['m3']!.coveredTo).toBe(13);
  });

  it('with requireComplete, catches a member whose watch stopped before the union\'s last event', () => {
    const s = clean();
    s[2]!.events.splice(3); // m3 ends at 13
    s[2]!.lastError = 'ECONNREFUSED';
    const r = checkWatch(s, HISTORY, { probeKey: PROBE, requireComplete: true });
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'incomplete', member: 'm3', index: 14 })]);
    expect(r.problems[0]!.message).toContain('ECONNREFUSED');
    // ...unless the rest is a cleared gap, or the watch stopped at its own bound
    s[2]!.cleared = [{ fromIndex: 14, resumeIndex: 16 }];
    expect(checkWatch(s, HISTORY, { probeKey: PROBE, requireComplete: true }).ok).toBe(true);
    s[2]!.cleared = [];
    s[2]!.truncated = true;
    expect(checkWatch(s, HISTORY, { probeKey: PROBE, requireComplete: true }).ok).toBe(true);
  });

  it('catches a divergent value at one index', () => {
    const s = clean();
    s[1]!.events[2]!.value = 'z';
    const r = check(s);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind)).toContain('divergent');
    expect(r.problems.find((p) => p.kind === 'divergent')).toMatchObject({ member: 'm2', key: K0, index: 13 });
  });

  it('catches an acknowledged write missing from every stream', () => {
    const history = [...HISTORY, op('write', K1, 12, 'lost')];
    const r = check(clean(), history);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'missing-ack', key: K1, index: 12 })]);
  });

  it('catches an acknowledged write whose index carries another event', () => {
    const history = [...HISTORY, op('write', K0, 14, 'mine')];
    expect(check(clean(), history).problems).toEqual([expect.objectContaining({ kind: 'ack-mismatch', key: K0, index: 14 })]);
  });

  it('catches an event that sets a value no operation that may have taken effect wrote', () => {
    const s = clean().map((x) => ({ ...x, events: [...x.events, { index: 16, key: K1, action: 'set', value: 'never' }] }));
    expect(check(s).problems).toEqual([expect.objectContaining({ kind: 'phantom', key: K1, index: 16 })]);
    // an indeterminate op may have taken effect
    expect(check(s, [...HISTORY, op('write', K1, undefined, 'never', 'info')]).ok).toBe(true);
  });

  it('a cleared gap (401) is reported, not a violation', () => {
    const s = clean();
    // m2 was down: its history moved past 11; the member refused waitIndex 11 and it resumed at 14
    s[1]!.events = s[1]!.events.filter((e) => e.index < 11 || e.index >= 14);
    s[1]!.cleared = [{ fromIndex: 11, resumeIndex: 14, etcdIndex: 20 }];
    s[1]!.reconnects = 3;
    const r = check(s);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.members['m2']).toMatchObject({ cleared: 1, clearedIndexes: 3, reconnects: 3 });
  });

  it('an acknowledged write no member covered (all cleared) is counted, not a violation', () => {
    const s = clean().map((x) => ({ ...x, events: x.events.filter((e) => e.index !== 13), cleared: [{ fromIndex: 12, resumeIndex: 14 }] }));
    const r = check(s);
    expect(r.ok).toBe(true);
    expect(r.acked).toEqual({ checked: 4, uncovered: 1 });
  });
});

describe('jepsen watcher against a fake member', () => {
  it('resumes from its waitIndex after dropped connections and records a 401 as a cleared gap', async () => {
    // The fake's events: 5..9 then 20..22; waitIndex below 20 after the first drop is "cleared".
    const events = new Map<number, { action: string; node: { key: string; value?: string; modifiedIndex: number } }>();
    for (const i of [5, 6, 7, 8, 9, 20, 21, 22]) events.set(i, { action: 'set', node: { key: `/p/k${i % 2}`, value: `v${i}`, modifiedIndex: i } });
    let requests = 0;
    const waitIndexes: number[] = [];
    const server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (!url.searchParams.has('wait')) {
        res.writeHead(200, { 'X-Etcd-Index': '4', 'Content-Type': 'application/json' }).end('{"action":"get","node":{"dir":true}}');
        return;
      }
      requests++;
      const waitIndex = Number(url.searchParams.get('waitIndex'));
      waitIndexes.push(waitIndex);
      if (requests === 3 || requests === 4) {
        req.socket.destroy(); // a killed member
        return;
      }
      if (requests > 4 && waitIndex < 20) {
        // etcd answers its errorCode 401 with HTTP 400
        res.writeHead(400, { 'X-Etcd-Index': '22', 'Content-Type': 'application/json' })
          .end(JSON.stringify({ errorCode: 401, message: 'The event in requested index is outdated and cleared', cause: `the requested history has been cleared [20/${waitIndex}]`, index: 22 }));
        return;
      }
      const next = [...events.keys()].filter((i) => i >= waitIndex).sort((a, b) => a - b)[0];
      res.writeHead(200, { 'X-Etcd-Index': String(waitIndex), 'Content-Type': 'application/json' });
      if (next === undefined) return; // a long poll that never answers (until the client aborts)
      res.end(JSON.stringify(events.get(next)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const watchers = await startWatchers([{ name: 'fake', clientURL: url }], '/p', { pollTimeoutMs: 2000, maxBackoffMs: 100 });
    try {
      expect(watchers).not.toBeNull();
      expect(watchers!.startIndex).toBe(5);
      expect(await watchers!.waitFor(22, 10_000)).toBe(true);
      await watchers!.stop();
      const [s] = watchers!.streams();
      expect(s!.events.map((e) => e.index)).toEqual([5, 6, 20, 21, 22]);
      expect(s!.cleared).toEqual([{ fromIndex: 7, resumeIndex: 20, etcdIndex: 22 }]);
      expect(s!.reconnects).toBe(2);
      expect(waitIndexes.slice(0, 6)).toEqual([5, 6, 7, 7, 7, 20]);
      const r = checkWatch(watchers!.streams(), []);
      expect(r.ok).toBe(true);
      expect(r.members['fake']).toMatchObject({ events: 5, cleared: 1, clearedIndexes: 13, reconnects: 2 });
    } finally {
      await watchers?.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 30_000);
});
