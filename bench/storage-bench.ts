// Micro-benchmark of the durable raft log: fsynced batches per second and batch (fsync) latency
// for several batch sizes, then the time to reopen (load and validate) the log.
//   npx tsx bench/storage-bench.ts [--seconds 3] [--payload 256]
// With --batch-forms it compares instead the CPU per entry of LevelDB's two batch forms (an array
// of operations, and a chained batch as src/storage/kv.ts uses), without fsync.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { EntryType, type Entry } from '../src/raft/messages.js';
import { RaftLogStore } from '../src/storage/index.js';
import { entryKey } from '../src/storage/keys.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const seconds = arg('seconds', 3);
const payloadBytes = arg('payload', 256);
const MAX_BATCHES_PER_RUN = 1_000_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** CPU per entry of db.batch(ops) against a chained batch, for 1, 8 and 32 entries of `payloadBytes`. */
async function compareBatchForms(dir: string): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const value = new Uint8Array(payloadBytes).fill(0x61);
  let next = 0;
  const key = (): Uint8Array => entryKey(++next);
  const forms: Record<string, (n: number) => Promise<void>> = {
    'array of operations': (n) => db.batch(Array.from({ length: n }, () => ({ type: 'put' as const, key: key(), value })), { sync: false }),
    'chained batch': (n) => {
      const batch = db.batch();
      for (let k = 0; k < n; k++) batch.put(key(), value);
      return batch.write({ sync: false });
    },
  };
  console.log(`payload ${payloadBytes} B, sync: false, CPU of the whole process (LevelDB's threads included) per entry`);
  for (const n of [1, 8, 32]) {
    for (const [name, write] of Object.entries(forms)) {
      const batches = Math.round(64_000 / n);
      const cpu = process.cpuUsage();
      for (let b = 0; b < batches; b++) await write(n);
      const used = process.cpuUsage(cpu);
      console.log(`${String(n).padStart(3)} entries/batch, ${name.padEnd(20)} ${((used.user + used.system) / (batches * n)).toFixed(1).padStart(6)} µs CPU per entry`);
    }
  }
  await db.close();
}

if (process.argv.includes('--batch-forms')) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-batch-forms-'));
  try {
    await compareBatchForms(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-storage-bench-'));
try {
  const durations: number[] = [];
  const opened = await RaftLogStore.open({ dataDir, clusterId: 1n, memberId: 1n, name: 'bench', onBatchWritten: (b) => durations.push(b.durationMs) });
  let last = 0;
  const payload = new Uint8Array(payloadBytes).fill(0x61);
  console.log(`payload ${payloadBytes} B, ${seconds} s per run, sync: true (one fsync per batch)`);
  for (const entriesPerBatch of [1, 10, 100, 1000]) {
    durations.length = 0;
    const started = performance.now();
    let batches = 0;
    while (performance.now() - started < seconds * 1000 && batches < MAX_BATCHES_PER_RUN) {
      const entries: Entry[] = [];
      for (let k = 0; k < entriesPerBatch; k++) entries.push({ term: 1, index: ++last, type: EntryType.Normal, data: payload });
      await opened.store.save({ hardState: { term: 1, vote: 1n, commit: last }, entries }, { sync: true });
      batches++;
    }
    const elapsedS = (performance.now() - started) / 1000;
    const sorted = [...durations].sort((a, b) => a - b);
    console.log(
      `${String(entriesPerBatch).padStart(5)} entries/batch: ${(batches / elapsedS).toFixed(0).padStart(6)} batches/s, ` +
        `${((batches * entriesPerBatch) / elapsedS).toFixed(0).padStart(7)} entries/s, ` +
        `batch ms p50 ${percentile(sorted, 50).toFixed(2)} p99 ${percentile(sorted, 99).toFixed(2)} max ${(sorted[sorted.length - 1] ?? 0).toFixed(2)}`,
    );
  }
  await opened.store.close();
  const reopenStarted = performance.now();
  const again = await RaftLogStore.open({ dataDir, clusterId: 1n, memberId: 1n, name: 'bench' });
  console.log(`reopen (load + validate ${again.lastIndex} entries): ${(performance.now() - reopenStarted).toFixed(0)} ms`);
  await again.store.close();
} finally {
  await fs.rm(dataDir, { recursive: true, force: true });
}
