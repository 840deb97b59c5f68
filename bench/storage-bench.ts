// Micro-benchmark of the durable raft log: fsynced batches per second and batch (fsync) latency
// for several batch sizes, then the time to reopen (load and validate) the log.
//   npx tsx bench/storage-bench.ts [--seconds 3] [--payload 256]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EntryType, type Entry } from '../src/raft/messages.js';
import { RaftLogStore } from '../src/storage/index.js';

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
