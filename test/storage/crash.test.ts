// Crash consistency: a writer killed with SIGKILL at an arbitrary moment leaves a log that opens,
// holds every batch it acknowledged, and holds each batch entirely or not at all.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RaftLogStore } from '../../src/storage/index.js';
import { CLUSTER_ID, MEMBER_ID, makeTempDir, removeDir } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BATCH_ENTRIES = 37;

let dataDir: string;

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  await removeDir(dataDir);
});

/** Runs the writer until it has acknowledged at least `minAcked` batches, then SIGKILLs it. */
async function writeAndKill(minAcked: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(CLUSTER_ID), String(MEMBER_ID), String(BATCH_ENTRIES), '100000'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lastAcked = 0;
  let acked = 0;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer acknowledged only ${acked} batches in time; stderr: ${stderr}`)), 20_000);
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        lastAcked = Number(line.split(' ')[1]);
        acked++;
      }
      if (acked >= minAcked) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (acked < minAcked) reject(new Error(`writer exited with ${code}; stderr: ${stderr}`));
    });
  });
  await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  return lastAcked;
}

describe('crash consistency', () => {
  it('keeps every acknowledged batch and never half a batch across repeated SIGKILLs', async () => {
    for (let round = 1; round <= 3; round++) {
      const lastAcked = await writeAndKill(20 * round);
      const o = await RaftLogStore.open({ dataDir, clusterId: CLUSTER_ID, memberId: MEMBER_ID, name: 'crash' });
      try {
        expect(o.lastIndex).toBeGreaterThanOrEqual(lastAcked);
        expect(o.lastIndex % BATCH_ENTRIES).toBe(0);
        expect(o.hardState.commit).toBe(o.lastIndex);
        expect(o.storage.entries(1, o.lastIndex + 1, Number.MAX_SAFE_INTEGER)).toHaveLength(o.lastIndex);
      } finally {
        await o.store.close();
      }
    }
  });
});
