#!/usr/bin/env node
// fdatasync latency of small appends, one process against three at once (three members on one
// disk, as in `npm run bench`), on a file that grows (as LevelDB's log does) and on a preallocated
// one (as etcd's WAL segments are).
//   node bench/fsync-contention.mjs [--dir DIR] [--writes 3000]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 || argv[i + 1] === undefined ? dflt : argv[i + 1];
};
const writes = Math.min(100_000, Number(opt('writes', 3000)));
const RECORD_BYTES = 300;

if (argv[0] === '--child') {
  const [, file, mode] = argv;
  const record = Buffer.alloc(RECORD_BYTES, 7);
  const fd = fs.openSync(file, 'w+');
  if (mode === 'preallocated') {
    fs.writeSync(fd, Buffer.alloc(writes * RECORD_BYTES + 4096));
    fs.fsyncSync(fd);
  }
  const ms = [];
  for (let i = 0; i < writes; i++) {
    const started = performance.now();
    fs.writeSync(fd, record, 0, RECORD_BYTES, i * RECORD_BYTES);
    fs.fdatasyncSync(fd);
    ms.push(performance.now() - started);
  }
  fs.closeSync(fd);
  ms.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ p50: ms[ms.length >> 1], p90: ms[Math.floor(ms.length * 0.9)] }));
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(opt('dir', os.tmpdir()), 'etcd-ts-fsync-'));
const self = fileURLToPath(import.meta.url);
const child = (file, mode) =>
  new Promise((resolve, reject) => {
    let out = '';
    const c = spawn(process.execPath, [self, '--child', file, mode, '--writes', String(writes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
  });
try {
  console.log(`${writes} appends of ${RECORD_BYTES} B, each followed by fdatasync, in ${dir}`);
  for (const procs of [1, 3]) {
    for (const mode of ['growing', 'preallocated']) {
      const results = await Promise.all(Array.from({ length: procs }, (_, i) => child(path.join(dir, `${mode}-${i}`), mode)));
      const p50 = results.map((r) => r.p50.toFixed(3)).join(' / ');
      const p90 = results.map((r) => r.p90.toFixed(3)).join(' / ');
      console.log(`${procs} process(es), ${mode.padEnd(12)} file: fdatasync p50 ${p50} ms, p90 ${p90} ms`);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
