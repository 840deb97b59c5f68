// A snapshot encoded in slices (MemberStateMachine.beginSnapshot, as RaftMember.maybeSnapshot takes
// it) is the state at the index it was begun at, whatever is applied between its slices: writes
// over frozen keys, deletes of keys and whole directories, TTL changes and expiries, new keys in
// frozen directories, auth and membership writes. It must equal, byte for byte, the snapshot of a
// replica that applied the log up to that index only. And a large one never holds the event loop
// for long: encoded one slice per turn of the loop, the longest stall stays far below the time the
// whole encoding takes in one go.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { InitialMember } from '../../src/config.js';
import { EntryType, type Entry } from '../../src/raft/messages.js';
import { bootstrapEntries } from '../../src/server/bootstrap.js';
import { encodeEntryCommand, type EntryCommand } from '../../src/server/entry-codec.js';
import { Membership } from '../../src/server/membership.js';
import { MemberStateMachine } from '../../src/server/state-machine.js';
import { v2Request, type V2Request } from '../../src/store/command.js';
import { mulberry32 } from '../sim/prng.js';

const INITIAL: InitialMember[] = [
  { name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'm2', id: 0x2bn, peerURLs: ['http://10.0.0.2:2380'] },
];
const T0 = Date.UTC(2026, 0, 1);

function machine(): MemberStateMachine {
  const sm = new MemberStateMachine({ membership: new Membership(INITIAL), onPeerURLsChanged: () => undefined }, 0);
  for (const e of bootstrapEntries(INITIAL)) sm.apply(e);
  return sm;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A random log over a small key space (so that later entries hit what earlier ones wrote). */
function randomLog(seed: number, length: number, firstIndex: number): Entry[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const dirs = ['/a', '/a/b', '/c', '/c/d/e', '/f'];
  const key = (): string => `${pick(dirs)}/k${Math.floor(rand() * 12)}`;
  const log: Entry[] = [];
  let time = T0;
  for (let i = 0; i < length; i++) {
    time += Math.floor(rand() * 400);
    const ttl = rand() < 0.3 ? time + 200 + Math.floor(rand() * 3000) : 0;
    const r = rand();
    let cmd: EntryCommand | undefined;
    const v2 = (req: Partial<V2Request> & Pick<V2Request, 'method' | 'path'>): EntryCommand => ({ kind: 'v2', req: v2Request({ time, ...req }) });
    if (r < 0.3) cmd = v2({ method: 'PUT', path: key(), val: `v${i}`, expiration: ttl });
    else if (r < 0.38) cmd = v2({ method: 'PUT', path: key(), prevExist: true, val: `u${i}`, expiration: ttl }); // update in place
    else if (r < 0.43) cmd = v2({ method: 'PUT', path: key(), prevExist: true, refresh: true, expiration: time + 5000 }); // TTL change only
    else if (r < 0.48) cmd = v2({ method: 'PUT', path: pick(dirs), dir: true, prevExist: true, expiration: ttl }); // a directory's TTL
    else if (r < 0.53) cmd = v2({ method: 'PUT', path: `${pick(dirs)}/sub${Math.floor(rand() * 3)}`, dir: true, expiration: ttl });
    else if (r < 0.6) cmd = v2({ method: 'POST', path: pick(dirs), val: `q${i}`, expiration: ttl });
    else if (r < 0.7) cmd = v2({ method: 'DELETE', path: key() });
    else if (r < 0.75) cmd = v2({ method: 'DELETE', path: pick(dirs), recursive: true });
    else if (r < 0.8) cmd = v2({ method: 'DELETE', path: key(), prevValue: `v${i - 1}` });
    else if (r < 0.9) cmd = v2({ method: 'SYNC', path: '/' }); // expires what is due at `time`
    else if (r < 0.93) cmd = { kind: 'attrs', memberId: pick(INITIAL).id, name: `n${i}`, clientURLs: [`http://c${i}:2379`] };
    else if (r < 0.96) cmd = { kind: 'auth', change: { op: 'createOrUpdateUser', user: `user${Math.floor(rand() * 4)}`, password: `p${i}`, roles: null } };
    else cmd = undefined; // an empty entry (a new leader's)
    log.push({ index: firstIndex + i, term: 2, type: EntryType.Normal, data: cmd === undefined ? new Uint8Array() : encodeEntryCommand(cmd) });
  }
  return log;
}

describe('snapshots encoded in slices', () => {
  it('hold exactly the state at the index they were begun at, whatever is applied between the slices', () => {
    let compared = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const live = machine();
      const head = live.applied();
      const log = randomLog(seed, 600, head + 1);
      const at = 200 + (seed % 7) * 30; // entries applied before the snapshot begins
      for (const e of log.slice(0, at)) live.apply(e);
      const before = live.store.index();

      const encoder = live.beginSnapshot();
      let next = at;
      // One node, event or byte at a time: an entry is applied between every two steps.
      while (!encoder.step({ items: 1, bytes: 64 })) {
        if (next < log.length) live.apply(log[next++]!);
      }
      const sliced = encoder.bytes();
      expect(next - at, `seed ${seed}: entries applied while encoding`).toBeGreaterThan(50);
      expect(live.store.index(), `seed ${seed}`).toBeGreaterThan(before);

      const replica = machine();
      for (const e of log.slice(0, at)) replica.apply(e);
      const where = `seed ${seed}, snapshot at ${head + at}, ${next - at} entries applied while encoding`;
      expect(hex(sliced), where).toBe(hex(replica.snapshot()));
      // And the live state is the whole log's: its own snapshot now is that of a replica of it.
      const whole = machine();
      for (const e of log.slice(0, next)) whole.apply(e);
      expect(hex(live.snapshot()), where).toBe(hex(whole.snapshot()));
      // The sliced bytes restore into a member that then applies the rest like the live one.
      const restored = machine();
      restored.restore(sliced);
      restored.store.verify();
      for (const e of log.slice(at, next)) restored.apply(e);
      expect(hex(restored.snapshot()), where).toBe(hex(live.snapshot()));
      compared++;
    }
    expect(compared).toBe(30);
  });

  it('do not hold the event loop for long: 200,000 keys encoded one slice per turn of the loop', async () => {
    const sm = machine();
    const value = 'v'.repeat(256);
    let index = sm.applied();
    const put = (i: number): void => {
      const cmd: EntryCommand = { kind: 'v2', req: v2Request({ method: 'PUT', path: `/dir${i % 100}/key${i}`, val: value, time: T0, expiration: i % 10 === 0 ? T0 + 3_600_000 : 0 }) };
      sm.apply({ index: ++index, term: 2, type: EntryType.Normal, data: encodeEntryCommand(cmd) });
    };
    const KEYS = 200_000;
    for (let i = 0; i < KEYS; i++) put(i);

    // What the encoding costs in one go, on this machine now (the bound below follows its load).
    let started = performance.now();
    const oneGo = sm.snapshot();
    const oneGoMs = performance.now() - started;

    const delay = monitorEventLoopDelay({ resolution: 1 });
    let longestGapMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 2);
    delay.enable();
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = performance.now();
    started = performance.now();
    const encoder = sm.beginSnapshot();
    let slices = 0;
    let written = 0;
    // The slice RaftMember uses (raft-member.ts SNAPSHOT_SLICE), one per turn of the event loop.
    while (!encoder.step({ items: 1024, bytes: 1 << 20 })) {
      slices++;
      await new Promise((resolve) => setImmediate(resolve));
      put(KEYS + written++); // writes go on meanwhile
    }
    const totalMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
    clearInterval(ticker);
    delay.disable();
    const stallMs = Math.max(delay.max / 1e6, longestGapMs);
    const bytes = encoder.bytes().length;
    const summary = `${(bytes / 2 ** 20).toFixed(1)} MiB in ${slices} slices over ${totalMs.toFixed(0)} ms; longest stall ${stallMs.toFixed(1)} ms; in one go: ${oneGoMs.toFixed(0)} ms`;
    if (process.env.SNAPSHOT_SLICES_VERBOSE) console.log(summary);
    // Generous: a slice takes a few ms (GC pauses included) and the whole in one go 500+ ms. On a
    // machine so loaded that the one go takes over half a second more, a fifth of it.
    expect(stallMs, summary).toBeLessThan(Math.max(100, oneGoMs / 5));
    // The same bytes as in one go: the writes applied meanwhile are not in them.
    expect(Buffer.from(encoder.bytes()).equals(Buffer.from(oneGo)), summary).toBe(true);
    expect(bytes, summary).toBeGreaterThan(50 * 2 ** 20);
    expect(written, summary).toBeGreaterThan(100);
  }, 120_000);
});
