// The nemesis's bookkeeping (tools/jepsen): totals per fault kind (faults, leader-targeted, recovery
// min/median/max, outcomes of the ops invoked while a fault of that kind was active and while none
// was), the majority view of the leader, and the seeded fault timings.
import { describe, expect, it } from 'vitest';
import type { Op } from '../../tools/jepsen/history.js';
import { describeNemesisStats, median, nemesisStats, type FaultSpan } from '../../tools/jepsen/nemesis-stats.js';
import { prng } from '../../tools/jepsen/run.js';
import { between, FAULT_DURATION_MS, majorityLeader } from '../../tools/jepsen/targeting.js';

let nextId = 0;
const op = (invokeMs: number, outcome: Op['outcome']): Op => ({ id: nextId++, client: 0, key: 'k', kind: 'read', invokeMs, completeMs: outcome === 'info' ? null : invokeMs + 1, outcome });

describe('jepsen nemesis totals per kind', () => {
  it('counts faults, leader targets, recovery times and op outcomes per kind and outside faults', () => {
    const faults: FaultSpan[] = [
      { kind: 'kill', leaderTargeted: true, startMs: 100, endMs: 200, recoveryMs: 50 },
      { kind: 'kill', leaderTargeted: false, startMs: 300, endMs: 400, recoveryMs: 10 },
      { kind: 'kill', leaderTargeted: false, startMs: 500, endMs: 600, recoveryMs: 30 },
      { kind: 'partition', leaderTargeted: true, startMs: 700, endMs: 800, recoveryMs: null },
      { kind: 'pause', leaderTargeted: false, startMs: 900, endMs: null, recoveryMs: null },
    ];
    const history = [op(0, 'ok'), op(150, 'ok'), op(160, 'info'), op(350, 'fail'), op(650, 'ok'), op(750, 'info'), op(950, 'ok'), op(999, 'info')];
    const s = nemesisStats(faults, history, ['kill', 'pause', 'partition'], 1000);
    expect(s.byKind['kill']).toEqual({ faults: 3, leaderTargeted: 1, recoveryMs: { min: 10, median: 30, max: 50 }, notRecovered: 0, activeMs: 300, ops: { ok: 1, fail: 1, info: 1 } });
    expect(s.byKind['partition']).toMatchObject({ faults: 1, leaderTargeted: 1, recoveryMs: null, notRecovered: 1, ops: { ok: 0, fail: 0, info: 1 } });
    // never healed: active until the end of the run, not counted as "not recovered"
    expect(s.byKind['pause']).toMatchObject({ faults: 1, notRecovered: 0, activeMs: 100, ops: { ok: 1, fail: 0, info: 1 } });
    expect(s.noFault.ops).toEqual({ ok: 2, fail: 0, info: 0 });
    const lines = describeNemesisStats(s);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('kill: 3 faults (1 on the leader), 0.3 s active, recovery 10/30/50 ms (min/median/max); ops 1/1/1 (ok/fail/info) while active');
    expect(lines[3]).toBe('no fault: ops 2/0/0 (ok/fail/info)');
  });

  it('lists the kinds asked for even without faults, and counts overlapping kinds once each', () => {
    const s = nemesisStats(
      [{ kind: 'kill', leaderTargeted: false, startMs: 0, endMs: 10, recoveryMs: 1 }, { kind: 'kill', leaderTargeted: false, startMs: 5, endMs: 15, recoveryMs: 2 }],
      [op(7, 'ok')],
      ['kill', 'pause'],
      20,
    );
    expect(s.byKind['kill']!.ops).toEqual({ ok: 1, fail: 0, info: 0 });
    expect(s.byKind['pause']).toMatchObject({ faults: 0, recoveryMs: null, ops: { ok: 0, fail: 0, info: 0 } });
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});

describe('jepsen leader targeting', () => {
  it('names the leader only when a majority of members agree', () => {
    expect(majorityLeader({ a: 'b', b: 'b', c: '? timeout after 1000 ms' }, 3).leader).toBe('b');
    expect(majorityLeader({ a: 'b', b: 'b', c: 'c' }, 3).leader).toBe('b');
    const split = majorityLeader({ a: 'a', b: 'b', c: '? ECONNREFUSED' }, 3);
    expect(split.leader).toBeNull();
    expect(split.reason).toContain('no majority (2 of 3)');
    expect(split.reason).toContain('c: ? ECONNREFUSED');
    expect(majorityLeader({ a: 'a', b: '? x', c: '? y' }, 3).leader).toBeNull();
  });

  it('draws fault timings from the seeded PRNG within the range', () => {
    const draw = (seed: number): number[] => {
      const r = prng(seed);
      return Array.from({ length: 50 }, () => between(r, FAULT_DURATION_MS));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...a)).toBeLessThan(5000);
    expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(2500);
  });
});
