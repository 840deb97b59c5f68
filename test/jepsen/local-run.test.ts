// Short `npm run jepsen` runs in the suite, one per nemesis (kill -9, SIGSTOP, partition, delay), each on a
// fresh local three-member etcd-ts cluster (the launcher, with its control API), 12 s of 6 clients
// on 4 keys. The history must be
// linearizable (the checker's budget is far beyond what this size needs, so 'unknown' would be a
// bug too), the members must converge, every member's watch must see the run's events in order
// without gaps, and the report files must be written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJepsen } from '../../tools/jepsen/run.js';

describe('jepsen against a local etcd-ts cluster', () => {
  it.each(['kill', 'pause', 'partition', 'delay'] as const)('is linearizable under %s, its watches see every event, and it writes result.json and timeline.html', async (kind) => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepsen-local-'));
    const lines: string[] = [];
    try {
      const result = await runJepsen({ target: 'local', nemesis: [kind], timeS: 12, clients: 6, keys: 4, seed: 13, outDir, checkTimeBudgetMs: 60_000, log: (l) => lines.push(l) });
      expect(result.verdict, `${result.summary}\n${lines.join('\n')}`).toBe('linearizable');
      expect(result.clusterChecksPassed, JSON.stringify(result.converged)).toBe(true);
      expect(result.faults.length).toBeGreaterThan(0);
      expect(result.watch.ok, JSON.stringify({ ...result.watch, problems: result.watch.problems.slice(0, 5) })).toBe(true);
      expect(Object.keys(result.watch.members)).toHaveLength(3);
      for (const m of Object.values(result.watch.members)) expect(m.events).toBeGreaterThan(0);
      expect(result.watch.acked.checked).toBeGreaterThan(0);
      const kinds = result.nemesisStats.byKind;
      expect(Object.keys(kinds)).toEqual([kind]);
      expect(kinds[kind]!.faults).toBe(result.faults.length);
      expect(result.faults.every((f) => f.kind === kind && f.recoveryMs !== null), JSON.stringify(result.faults)).toBe(true);
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
