// Whole-member schedules in `npm test`: the seeds that found each hole of issue 9 on the code
// before the fixes (commit 0313b88, with the simulator as committed beside this file), which must
// pass now, and a bounded number of random schedules (SIM_MEMBER_SEEDS=N for more; CI also runs
// thousands through `npm run sim -- --members`). On a failure the message carries the replay command.
import { describe, expect, it } from 'vitest';
import { runMemberSchedule, type FaultKind, type MemberScheduleResult } from './member-schedule.js';

const FAULT_MS = 20_000;

function explain(r: MemberScheduleResult, members: number, faults?: readonly FaultKind[]): string {
  const f = r.failure;
  if (f === undefined) return '';
  const flag = faults === undefined ? '' : ` --faults ${faults.join(',')}`;
  return `${f.message}\n${f.trace.join('\n')}\nreplay: npm run sim -- --members --seed ${r.seed} --nodes ${members} --fault-ms ${FAULT_MS}${flag} --trace 200`;
}

interface Regression {
  hole: string;
  /** What the simulator reported on the old code. */
  found: string;
  faults: FaultKind[];
  runs: { seed: number; members: number }[];
}

const REGRESSIONS: Regression[] = [
  {
    hole: '1: a clean stop recorded a commit index over a conflicting suffix still on disk',
    found: 'Durable Commit',
    faults: ['crash', 'stop', 'partition', 'net'],
    runs: [{ seed: 13, members: 3 }, { seed: 166, members: 3 }, { seed: 232, members: 3 }, { seed: 139, members: 5 }],
  },
  {
    hole: '2: a lone member answered ReadIndex with the commit index its disk held, below acknowledged writes',
    found: 'Linearizable Read Index',
    faults: ['crash', 'stop'],
    runs: [{ seed: 4, members: 1 }, { seed: 8, members: 1 }, { seed: 12, members: 1 }],
  },
  {
    hole: '3: a member on an empty data dir bootstrapped again (raft panicked on the leader’s commit index; it voted twice in a term)',
    found: 'Peer Input (500), Single Vote',
    faults: ['wipe', 'crash', 'partition'],
    runs: [{ seed: 19, members: 3 }, { seed: 23, members: 3 }, { seed: 25, members: 3 }, { seed: 105, members: 5 }],
  },
  {
    hole: '4: forged peer input was taken',
    found: 'Forged Input',
    faults: ['forge'],
    runs: [{ seed: 1, members: 3 }, { seed: 3, members: 3 }, { seed: 5, members: 3 }],
  },
  {
    hole: '3 (the first fix): the only peer that held the wiped member\'s publish was down; another that never applied it said "new"',
    found: 'State Machine Safety (found on the first version of the fix, all faults)',
    faults: ['crash', 'stop', 'handoff', 'wipe', 'partition', 'net', 'forge'],
    runs: [{ seed: 5473, members: 3 }],
  },
  {
    hole: '4 (the first fix): the guard refused a batch carrying a member\'s own read, forwarded back to it after a leadership change',
    found: 'Peer Input (400) (found on the first version of the fix, all faults)',
    faults: ['crash', 'stop', 'handoff', 'wipe', 'partition', 'net', 'forge'],
    runs: [{ seed: 5095, members: 5 }, { seed: 5391, members: 5 }],
  },
  {
    hole: '5: a leader stopped without handing over',
    found: 'Stop Without Handoff',
    faults: ['handoff'],
    runs: [{ seed: 1, members: 3 }, { seed: 2, members: 5 }, { seed: 4, members: 5 }],
  },
];

describe('whole-member schedules: the seeds that found issue 9’s holes', () => {
  for (const reg of REGRESSIONS) {
    it(`hole ${reg.hole} (found as ${reg.found})`, async () => {
      for (const { seed, members } of reg.runs) {
        const r = await runMemberSchedule(seed, { members, faultMs: FAULT_MS, faults: reg.faults, followerWrites: 'redirect' });
        expect(r.ok, explain(r, members, reg.faults)).toBe(true);
      }
    }, 120_000);
  }
});

const SEEDS = Number(process.env['SIM_MEMBER_SEEDS'] ?? 8);

describe('whole-member schedules: every fault, random seeds', () => {
  for (const members of [1, 3, 5]) {
    it(`${members} member(s), ${SEEDS} seeds`, async () => {
      for (let k = 1; k <= SEEDS; k++) {
        const seed = 1000 * members + k;
        const r = await runMemberSchedule(seed, { members, faultMs: FAULT_MS });
        expect(r.ok, explain(r, members)).toBe(true);
        expect(r.stats.writesOk).toBeGreaterThan(0);
      }
    }, Math.max(60_000, SEEDS * 10_000));
  }

  it('a schedule is a pure function of its seed', async () => {
    const a = await runMemberSchedule(4242, { members: 3, faultMs: 10_000 });
    const b = await runMemberSchedule(4242, { members: 3, faultMs: 10_000 });
    expect(a.stats).toEqual(b.stats);
    expect(a.stats.writesOk + a.stats.readsOk).toBeGreaterThan(100);
  });
});

describe('--follower-writes forward under every fault', () => {
  it('writes through followers are taken there (never redirected), and read back there by their client', async () => {
    let writes = 0;
    for (const seed of [7001, 7002, 7003]) {
      const forward = await runMemberSchedule(seed, { members: 3, faultMs: FAULT_MS, followerWrites: 'forward' });
      expect(forward.ok, explain(forward, 3)).toBe(true);
      expect(forward.stats.redirects).toBe(0);
      writes += forward.stats.writesOk;
      // the same schedule with the default mode follows 307s
      const redirect = await runMemberSchedule(seed, { members: 3, faultMs: FAULT_MS, followerWrites: 'redirect' });
      expect(redirect.ok, explain(redirect, 3)).toBe(true);
      expect(redirect.stats.redirects).toBeGreaterThan(0);
    }
    expect(writes).toBeGreaterThan(100);
  }, 120_000);
});
