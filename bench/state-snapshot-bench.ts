// Micro-benchmark of a member's state-machine snapshot (MemberStateMachine.snapshot/restore): the
// time and bytes for a store of N keys with V-byte values (spread over 100 directories, the rest
// of the state as a running cluster has it), restored into a member that holds another state.
//   npx tsx bench/state-snapshot-bench.ts [--keys 100000] [--value 256] [--reps 3]
import type { InitialMember } from '../src/config.js';
import { EntryType, type Entry } from '../src/raft/messages.js';
import { bootstrapEntries } from '../src/server/bootstrap.js';
import { encodeEntryCommand, type EntryCommand } from '../src/server/entry-codec.js';
import { Membership } from '../src/server/membership.js';
import { MemberStateMachine } from '../src/server/state-machine.js';
import { v2Request } from '../src/store/command.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const keys = arg('keys', 100_000);
const valueBytes = arg('value', 256);
const reps = arg('reps', 3);

const INITIAL: InitialMember[] = [
  { name: 'm1', id: 0x1cn, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'm2', id: 0x2bn, peerURLs: ['http://10.0.0.2:2380'] },
  { name: 'm3', id: 0x3an, peerURLs: ['http://10.0.0.3:2380'] },
];

function machine(): MemberStateMachine {
  return new MemberStateMachine({ membership: new Membership(INITIAL), onPeerURLsChanged: () => undefined }, 0);
}

function applyAll(sm: MemberStateMachine, cmds: (EntryCommand | undefined)[]): void {
  for (const cmd of cmds) {
    const e: Entry = { index: sm.applied() + 1, term: 2, type: EntryType.Normal, data: cmd === undefined ? new Uint8Array() : encodeEntryCommand(cmd) };
    sm.apply(e);
  }
}

const T0 = Date.UTC(2026, 0, 1);
const a = machine();
for (const e of bootstrapEntries(INITIAL)) a.apply(e);
const value = 'v'.repeat(valueBytes);
const setup: (EntryCommand | undefined)[] = [undefined];
for (const m of INITIAL) setup.push({ kind: 'attrs', memberId: m.id, name: m.name, clientURLs: [`http://${m.name}:2379`] });
setup.push({ kind: 'version', version: '3.4.0' });
applyAll(a, setup);
let started = performance.now();
for (let i = 0; i < keys; i++) {
  const cmd: EntryCommand = { kind: 'v2', req: v2Request({ method: 'PUT', path: `/dir${i % 100}/key${i}`, val: value, time: T0, expiration: i % 10 === 0 ? T0 + 3_600_000 : 0 }) };
  applyAll(a, [cmd]);
}
console.log(`applied ${keys} keys of ${valueBytes} B (every 10th with a TTL) in ${(performance.now() - started).toFixed(0)} ms; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);

for (let rep = 1; rep <= reps; rep++) {
  started = performance.now();
  const bytes = a.snapshot();
  const snapshotMs = performance.now() - started;
  const b = machine();
  applyAll(b, [undefined, { kind: 'v2', req: v2Request({ method: 'PUT', path: '/other', val: 'x', time: T0 }) }]);
  started = performance.now();
  b.restore(bytes);
  const restoreMs = performance.now() - started;
  started = performance.now();
  b.store.verify();
  const verifyMs = performance.now() - started;
  const again = b.snapshot();
  const same = Buffer.compare(Buffer.from(again), Buffer.from(bytes)) === 0;
  console.log(
    `rep ${rep}: snapshot ${snapshotMs.toFixed(0)} ms, ${(bytes.length / 2 ** 20).toFixed(2)} MiB (${bytes.length} B, ${(bytes.length / keys).toFixed(1)} B/key); ` +
      `restore ${restoreMs.toFixed(0)} ms; verify ${verifyMs.toFixed(0)} ms; round trip identical: ${same}`,
  );
}
