// Totals per nemesis kind for `npm run jepsen`: how many faults of each kind, how many aimed at the
// leader, the recovery times after their heals (min/median/max, and how many did not recover within
// the bound), and the outcomes of the operations invoked while a fault of that kind was active (from
// its start to its heal; the end of the run for one never healed), plus the same for operations
// invoked while no fault was active. Faults may overlap: an op counts under every active kind.
import type { Op } from './history.js';

export interface FaultSpan {
  kind: string;
  leaderTargeted: boolean;
  startMs: number;
  endMs: number | null;
  recoveryMs: number | null;
}

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
}

export interface KindStats {
  faults: number;
  leaderTargeted: number;
  /** Over the faults that recovered within the bound; null when none did. */
  recoveryMs: { min: number; median: number; max: number } | null;
  /** Faults whose heal was not followed by a quorum write+read within the bound. */
  notRecovered: number;
  /** Total time faults of this kind were active. */
  activeMs: number;
  ops: OutcomeCounts;
}

export interface NemesisStats {
  byKind: Record<string, KindStats>;
  noFault: { ops: OutcomeCounts };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Pure: `kinds` are listed even without faults (zeros). `endMs` closes faults never healed. */
export function nemesisStats(faults: readonly FaultSpan[], history: readonly Op[], kinds: readonly string[], endMs: number): NemesisStats {
  const byKind: Record<string, KindStats> = {};
  const zero = (): OutcomeCounts => ({ ok: 0, fail: 0, info: 0 });
  for (const k of [...kinds, ...faults.map((f) => f.kind)]) {
    byKind[k] ??= { faults: 0, leaderTargeted: 0, recoveryMs: null, notRecovered: 0, activeMs: 0, ops: zero() };
  }
  for (const [kind, stats] of Object.entries(byKind)) {
    const mine = faults.filter((f) => f.kind === kind);
    stats.faults = mine.length;
    stats.leaderTargeted = mine.filter((f) => f.leaderTargeted).length;
    const rec = mine.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
    stats.recoveryMs = rec.length > 0 ? { min: Math.min(...rec), median: median(rec), max: Math.max(...rec) } : null;
    stats.notRecovered = mine.filter((f) => f.endMs !== null && f.recoveryMs === null).length;
    stats.activeMs = Math.round(mine.reduce((n, f) => n + Math.max(0, (f.endMs ?? endMs) - f.startMs), 0));
  }
  const noFault = { ops: zero() };
  for (const op of history) {
    let any = false;
    const counted = new Set<string>();
    for (const f of faults) {
      if (op.invokeMs >= f.startMs && op.invokeMs < (f.endMs ?? endMs)) {
        any = true;
        if (!counted.has(f.kind)) byKind[f.kind]!.ops[op.outcome]++;
        counted.add(f.kind);
      }
    }
    if (!any) noFault.ops[op.outcome]++;
  }
  return { byKind, noFault };
}

/** One line per kind, then the no-fault line, for the CLI. */
export function describeNemesisStats(stats: NemesisStats): string[] {
  const ops = (c: OutcomeCounts): string => `ops ${c.ok}/${c.fail}/${c.info} (ok/fail/info)`;
  const lines = Object.entries(stats.byKind).map(([kind, s]) => {
    const rec = s.recoveryMs === null ? 'recovery -' : `recovery ${Math.round(s.recoveryMs.min)}/${Math.round(s.recoveryMs.median)}/${Math.round(s.recoveryMs.max)} ms (min/median/max)`;
    return `${kind}: ${s.faults} faults (${s.leaderTargeted} on the leader), ${(s.activeMs / 1000).toFixed(1)} s active, ${rec}${s.notRecovered > 0 ? `, ${s.notRecovered} not recovered` : ''}; ${ops(s.ops)} while active`;
  });
  lines.push(`no fault: ${ops(stats.noFault.ops)}`);
  return lines;
}
