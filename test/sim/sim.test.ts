// The bounded part of the randomized simulation that runs in `npm test`; `npm run sim` runs as
// many seeds as asked (CI: at least 10,000).
import { describe, expect, it } from 'vitest';
import { runSchedule, type ScheduleResult } from './schedule.js';

function explain(r: ScheduleResult): string {
  const f = r.failure;
  if (f === undefined) return '';
  return `seed ${r.seed}: ${f.message}\n${f.trace.join('\n')}`;
}

describe('randomized schedules (safety after every step, liveness after healing)', () => {
  for (const nodes of [3, 5]) {
    it(`${nodes} nodes, 60 seeds`, () => {
      for (let seed = 1; seed <= 60; seed++) {
        const r = runSchedule(seed * 7 + nodes, { nodes, steps: 300 });
        expect(r.ok, explain(r)).toBe(true);
      }
    });
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
