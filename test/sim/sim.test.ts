// The bounded part of the randomized simulation that runs in `npm test` (about 130 schedules,
// a few seconds). `npm run sim -- --seeds 10000` runs as many as asked; SIM_SEEDS=N raises the
// per-size count here too (e.g. SIM_SEEDS=5000 npm test in a CI job with time to spare).
import { describe, expect, it } from 'vitest';
import { runSchedule, type ScheduleResult } from './schedule.js';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 60);
const TIMEOUT_MS = Math.max(30_000, SEEDS * 250);

function explain(r: ScheduleResult): string {
  const f = r.failure;
  if (f === undefined) return '';
  return `seed ${r.seed}: ${f.message}\n${f.trace.join('\n')}`;
}

describe('randomized schedules (safety after every step, liveness after healing)', () => {
  for (const nodes of [3, 5]) {
    it(`${nodes} nodes, ${SEEDS} seeds`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runSchedule(seed * 7 + nodes, { nodes, steps: 300 });
        expect(r.ok, explain(r)).toBe(true);
      }
    }, TIMEOUT_MS);
  }

  it('7 nodes, 10 seeds', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = runSchedule(seed, { nodes: 7, steps: 300 });
      expect(r.ok, explain(r)).toBe(true);
    }
  });

  it('a schedule is a pure function of its seed', () => {
    const a = runSchedule(4242, { nodes: 5, steps: 200 });
    const b = runSchedule(4242, { nodes: 5, steps: 200 });
    expect(a.stats).toEqual(b.stats);
    expect(a.stats.acked).toBeGreaterThan(0);
  });
});
