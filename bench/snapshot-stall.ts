// How long taking a snapshot holds the event loop: a member's state of N keys (V-byte values,
// every 10th with a TTL, over 100 directories) is encoded in slices (MemberStateMachine.
// beginSnapshot, as RaftMember.maybeSnapshot runs it: one slice per setImmediate) while writes
// keep being applied between the slices, then written as a snapshot file (checksummed in slices).
// Prints the longest event-loop stall (perf_hooks.monitorEventLoopDelay and a 1 ms timer's drift),
// the slices, and the one-go snapshot() for comparison.
//   npx tsx bench/snapshot-stall.ts [--keys 100000] [--value 256]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { InitialMember } from '../src/config.js';
import { EntryType } from '../src/raft/messages.js';
import { bootstrapEntries } from '../src/server/bootstrap.js';
import { encodeEntryCommand, type EntryCommand } from '../src/server/entry-codec.js';
import { Membership } from '../src/server/membership.js';
import { MemberStateMachine } from '../src/server/state-machine.js';
import { encodeSnapshotPieces } from '../src/storage/codec.js';
import { openSnapshotFiles } from '../src/storage/snap-files.js';
import { v2Request } from '../src/store/command.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
const keys = arg('keys', 100_000);
const valueBytes = arg('value', 256);
const SLICE = { items: 1024, bytes: 1 << 20 }; // raft-member.ts SNAPSHOT_SLICE

const INITIAL: InitialMember[] = [{ name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] }];
const sm = new MemberStateMachine({ membership: new Membership(INITIAL), onPeerURLsChanged: () => undefined }, 0);
for (const e of bootstrapEntries(INITIAL)) sm.apply(e);
const T0 = Date.UTC(2026, 0, 1);
const value = 'v'.repeat(valueBytes);
const put = (i: number): void => {
  const cmd: EntryCommand = { kind: 'v2', req: v2Request({ method: 'PUT', path: `/dir${i % 100}/key${i}`, val: value, time: T0, expiration: i % 10 === 0 ? T0 + 3_600_000 : 0 }) };
  sm.apply({ index: sm.applied() + 1, term: 2, type: EntryType.Normal, data: encodeEntryCommand(cmd) });
};
for (let i = 0; i < keys; i++) put(i);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs fn while measuring the event loop: the longest delay seen by the histogram and by a 1 ms timer. */
async function measured(fn: () => Promise<void>): Promise<{ ms: number; maxDelayMs: number; maxDriftMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let maxDriftMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxDriftMs = Math.max(maxDriftMs, now - last - 1);
    last = now;
  }, 1);
  h.enable();
  await new Promise((resolve) => setTimeout(resolve, 20));
  last = performance.now();
  maxDriftMs = 0;
  const started = performance.now();
  await fn();
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5));
  h.disable();
  clearInterval(timer);
  return { ms, maxDelayMs: h.max / 1e6, maxDriftMs };
}

const oneGo = await measured(async () => {
  sm.snapshot();
});
console.log(`${keys} keys of ${valueBytes} B: snapshot() in one go ${oneGo.ms.toFixed(0)} ms (longest event-loop stall ${oneGo.maxDelayMs.toFixed(0)} ms, 1 ms timer drift ${oneGo.maxDriftMs.toFixed(0)} ms)`);

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshot-stall-'));
try {
  const files = await openSnapshotFiles(dir);
  const times: string[] = [];
  let slices = 0;
  let longestSliceMs = 0;
  let applied = 0;
  let bytes = 0;
  let encodeMs = 0;
  const sliced = await measured(async () => {
    const started = performance.now();
    const encoder = sm.beginSnapshot();
    for (;;) {
      const t = performance.now();
      const done = encoder.step(SLICE);
      longestSliceMs = Math.max(longestSliceMs, performance.now() - t);
      if (process.env.SLICES) times.push((performance.now() - t).toFixed(1));
      slices++;
      if (done) break;
      await tick();
      put(keys + applied++); // the member goes on applying between the slices
    }
    const data = encoder.bytes();
    bytes = data.length;
    encodeMs = performance.now() - started;
    const pieces = await encodeSnapshotPieces({ data, metadata: { index: 1, term: 2, confState: { voters: [0x1cn], learners: [] } } }, tick);
    await files.save(2, 1, pieces, { pause: tick });
  });
  if (process.env.SLICES) console.log(times.join(' '));
  console.log(
    `sliced: encoded ${(bytes / 2 ** 20).toFixed(1)} MiB in ${encodeMs.toFixed(0)} ms (${slices} slices, longest ${longestSliceMs.toFixed(1)} ms, ${applied} writes applied meanwhile); ` +
      `with the file written: ${sliced.ms.toFixed(0)} ms; longest event-loop stall ${sliced.maxDelayMs.toFixed(1)} ms (1 ms timer drift ${sliced.maxDriftMs.toFixed(1)} ms)`,
  );
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
