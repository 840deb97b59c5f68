// A short `npm run jepsen` run in the suite: a fresh local three-member etcd-ts cluster (the
// launcher, with its control API), 15 s of clients with kill -9 and partitions. The history must be
// linearizable (the checker's budget is far beyond what this size needs, so 'unknown' would be a
// bug too), the members must converge, every member's watch must see the run's events in order
// without gaps, and the report files must be written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJepsen } from '../../tools/jepsen/run.js';

describe('jepsen against a local etcd-ts cluster', () => {
  it('is linearizable under kill and partition, and writes result.json and timeline.html', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepsen-local-'));
    const lines: string[] = [];
    try {
      const result = await runJepsen({ target: 'local', nemesis: ['kill', 'partition'], timeS: 10, clients: 4, keys: 4, seed: 13, outDir, checkTimeBudgetMs: 60_000, log: (l) => lines.push(l) });
      expect(result.verdict, `${result.summary}\n${lines.join('\n')}`).toBe('linearizable');
      expect(result.clusterChecksPassed, JSON.stringify(result.converged)).toBe(true);
      expect(result.faults.length).toBeGreaterThan(0);
      expect(result.watch.ok, JSON.stringify({ ...result.watch, problems: result.watch.problems.slice(0, 5) })).toBe(true);
      expect(Object.keys(result.watch.members)).toHaveLength(3);
      for (const m of Object.values(result.watch.members)) expect(m.events).toBeGreaterThan(0);
      expect(result.watch.acked.checked).toBeGreaterThan(0);
      const kinds = result.nemesisStats.byKind;
      expect(Object.keys(kinds).sort()).toEqual(['kill', 'partition']);
      expect(kinds['kill']!.faults + kinds['partition']!.faults).toBe(result.faults.length);
      expect(result.faults.every((f) => f.error === undefined), JSON.stringify(result.faults)).toBe(true);
      expect(result.ops).toBeGreaterThan(50);
      expect((result.counts['write']?.ok ?? 0) + (result.counts['cas-value']?.ok ?? 0)).toBeGreaterThan(0);
      expect(JSON.parse(fs.readFileSync(result.files.result, 'utf8')).verdict).toBe('linearizable');
      expect(fs.readFileSync(result.files.timeline, 'utf8')).toContain('<svg');
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }, 180_000);
});
