// One follower down (kill -9) while writes continue: the leader keeps its role and the cluster keeps
// acknowledging writes with two members; the follower, restarted on its data dir, catches up with
// every write acknowledged while it was down.
import { describe, expect, it } from 'vitest';
import { waitAcknowledgedOn, waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

const prefix = '/follower-down';

describe('a follower down while writes continue', () => {
  const cluster = useCluster({ label: 'follower-down' });

  it('keeps the leader and acknowledging writes, and the restarted follower catches up', async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.members.map((m) => m.clientURL) });
    let healthyMs = -1;
    let caughtUpMs = -1;
    load.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the kill' });
      const leader = await c.waitLeader();
      const follower = c.live().find((m) => m !== leader);
      if (!follower) throw new Error('no follower');
      const killedAt = Date.now();
      await c.kill(follower.name, 'SIGKILL');
      await load.waitAcked(300, { since: killedAt, timeoutMs: 30_000, what: `with ${follower.name} down` });
      expect((await c.waitLeader()).name, 'the leader changed when a follower died').toBe(leader.name);

      const restartedAt = Date.now();
      c.restart(follower.name);
      await c.waitHealthy({ members: [follower], timeoutMs: 30_000 });
      healthyMs = Date.now() - restartedAt;
      const ackedWhileDown = load.acknowledged.filter((r) => r.endedAt < restartedAt);
      await waitAcknowledgedOn(c.client, [follower], ackedWhileDown, prefix, 30_000);
      caughtUpMs = Date.now() - restartedAt;
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after the restart' });
    } finally {
      await load.stop();
    }
    const checks = await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    console.info(
      `[${c.label}] follower kill -9 and restart: healthy ${healthyMs} ms after the restart, caught up after ${caughtUpMs} ms; writes ${load.summary()}; members hold ${checks.map((x) => x.keys).join('/')} keys`,
    );
    expect(c.crashes()).toEqual([]);
  }, 180_000);
});
