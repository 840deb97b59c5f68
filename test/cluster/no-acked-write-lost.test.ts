// No acknowledged write is lost: thousands of writes (unique keys, unique values) by concurrent
// writers through random members (redirects followed) across several kill -9s of the leader and of
// followers, each followed by a restart on the same data dir. Afterwards every member must hold
// every acknowledged write, no value that was never written, nothing that certainly failed, and the
// same content as the others. Indeterminate writes (timeouts, lost connections, 5xx) may or may not
// be there: they are never counted as lost.
import { describe, expect, it } from 'vitest';
import { localValue } from '../helpers/cluster-reads.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

const prefix = '/no-acked-write-lost';
const targetAcked = 3000;
/** Victims, in order: the leader at the time, or a follower. */
const faults: ReadonlyArray<'leader' | 'follower'> = ['leader', 'follower', 'leader', 'follower', 'leader'];
const ackedBetweenFaults = 250;

interface FaultReport {
  victim: string;
  role: 'leader' | 'follower';
  newLeaderMs?: number;
  firstAckMs?: number;
  healthyAfterRestartMs: number;
}

describe('no acknowledged write lost', () => {
  const cluster = useCluster({ label: 'no-lost' });

  it(`every one of ≥${targetAcked} acknowledged writes, made across ${faults.length} kill -9s and restarts, is on every member`, async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 8, targets: () => c.members.map((m) => m.clientURL) });
    const reports: FaultReport[] = [];
    const startedAt = Date.now();
    load.start();
    try {
      await load.waitAcked(ackedBetweenFaults, { timeoutMs: 30_000, what: 'before the first fault' });
      for (const [i, role] of faults.entries()) {
        const leader = await c.waitLeader({ timeoutMs: 30_000 });
        const victim = role === 'leader' ? leader : c.live().find((m) => m !== leader);
        if (!victim) throw new Error(`fault ${i}: no ${role} to kill`);
        const killedAt = Date.now();
        await c.kill(victim.name, 'SIGKILL');
        const report: FaultReport = { victim: victim.name, role, healthyAfterRestartMs: -1 };
        if (role === 'leader') {
          await c.waitLeader({ notIn: [victim.name], timeoutMs: 30_000 });
          report.newLeaderMs = Date.now() - killedAt;
        }
        await load.waitAcked(ackedBetweenFaults, { since: killedAt, timeoutMs: 60_000, what: `fault ${i}: with ${victim.name} (${role}) dead` });
        const firstAck = load.firstAckStartedAfter(killedAt);
        if (firstAck !== undefined) report.firstAckMs = firstAck - killedAt;
        const restartedAt = Date.now();
        c.restart(victim.name);
        await c.waitHealthy({ members: [victim], timeoutMs: 30_000 });
        report.healthyAfterRestartMs = Date.now() - restartedAt;
        reports.push(report);
      }
      await load.waitAcked(targetAcked, { timeoutMs: 150_000, what: `${targetAcked} in total` });
    } finally {
      await load.stop();
    }
    const loadMs = Date.now() - startedAt;

    const checks = await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 60_000);

    // Single-key reads too (not only the recursive listing), for a sample of acknowledged writes.
    const acked = load.acknowledged;
    const sample = acked.filter((_, i) => i % Math.max(1, Math.floor(acked.length / 150)) === 0);
    for (const m of c.members) {
      for (const r of sample) expect(await localValue(c.client, m, r.key), `${r.key} on ${m.name}`).toBe(r.value);
    }

    const indeterminatePresent = load.records.filter((r) => r.outcome === 'indeterminate' && checks[0]?.content.get(r.key) === r.value).length;
    console.info(
      [
        `[${c.label}] no acknowledged write lost: ${load.summary()} in ${loadMs} ms by 8 writers through random members;`,
        `  indeterminate writes present afterwards: ${indeterminatePresent}; keys per member: ${checks.map((x) => `${x.member}=${x.keys}`).join(', ')}`,
        ...reports.map(
          (r, i) =>
            `  kill -9 #${i + 1} of ${r.victim} (${r.role}): ${r.newLeaderMs === undefined ? '' : `new leader after ${r.newLeaderMs} ms, `}first acknowledged write started after the kill took ${r.firstAckMs ?? '?'} ms, healthy ${r.healthyAfterRestartMs} ms after the restart`,
        ),
      ].join('\n'),
    );
    expect(load.count('acknowledged')).toBeGreaterThanOrEqual(targetAcked);
    expect(reports).toHaveLength(faults.length);
    expect(c.crashes()).toEqual([]);
  }, 300_000);
});
