// kill -9 of the leader while writers keep writing through random members: the two survivors elect
// a new leader, the writers continue, and the killed member, restarted on its data dir, catches up
// with every acknowledged write.
import { describe, expect, it } from 'vitest';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

const prefix = '/leader-kill';

describe('kill -9 of the leader under write load', () => {
  const cluster = useCluster({ label: 'leader-kill' });

  it('elects a new leader, keeps acknowledging writes, and the restarted old leader catches up', async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.members.map((m) => m.clientURL) });
    let electedMs = -1;
    let firstAckMs = -1;
    load.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the kill' });
      const old = await c.waitLeader();
      const killedAt = Date.now();
      await c.kill(old.name, 'SIGKILL');
      const next = await c.waitLeader({ notIn: [old.name], timeoutMs: 20_000 });
      electedMs = Date.now() - killedAt;
      expect(next.name).not.toBe(old.name);

      await load.waitAcked(200, { since: killedAt, timeoutMs: 30_000, what: 'with the old leader dead' });
      firstAckMs = (load.firstAckStartedAfter(killedAt) ?? Number.NaN) - killedAt;

      c.restart(old.name);
      await c.waitHealthy({ members: [old], timeoutMs: 30_000 });
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after the restart' });
    } finally {
      await load.stop();
    }
    const checks = await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    console.info(
      `[${c.label}] leader kill -9: new leader after ${electedMs} ms; first acknowledged write started after the kill took ${firstAckMs} ms; writes ${load.summary()}; each member holds ${checks.map((x) => x.keys).join('/')} keys`,
    );
    expect(load.count('acknowledged')).toBeGreaterThanOrEqual(400);
    expect(c.crashes()).toEqual([]);
  }, 180_000);
});
