// `docker kill -s KILL` of the leader's container under a write load: the other two elect a new leader
// and keep acknowledging writes; `docker start` brings the member back on its volume, it catches up,
// and every acknowledged write is on every member.
import { expect, it } from 'vitest';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { QuorumReader } from '../helpers/quorum-reader.js';
import { WriteLoad } from '../helpers/write-load.js';
import { describeDocker, printFaultReport, useComposeCluster } from './use-compose-cluster.js';

const prefix = '/docker-leader-kill';

describeDocker('docker: kill -9 of the leader container, then restart', () => {
  const cluster = useComposeCluster('kill');

  it('the other two elect a leader and keep writing; the restarted member catches up; no acknowledged write is lost', async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.live().map((m) => m.clientURL) });
    // Quorum reads on every live member (followers' ones go to the leader as MsgReadIndex).
    const reads = new QuorumReader(c.client, load, { readers: 2, targets: () => c.live().map((m) => m.clientURL) });
    let newLeaderMs = -1;
    let rejoinMs = -1;
    let victim = '';
    load.start();
    reads.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the kill' });
      const old = await c.waitLeader();
      victim = old.name;
      const killedAt = Date.now();
      await c.kill(old.name);
      // Clients reading from every member at the moment of the fault (checked like the loops' reads).
      const faultBurst = reads.burst(c.members.map((m) => m.clientURL), 10);
      const next = await c.waitLeader({ notIn: [old.name], timeoutMs: 20_000 });
      newLeaderMs = Date.now() - killedAt;
      expect(next.name).not.toBe(old.name);
      await load.waitAcked(150, { since: killedAt, timeoutMs: 30_000, what: 'with the old leader dead' });

      await faultBurst;
      const restartedAt = Date.now();
      await c.start(old.name);
      const healBurst = reads.burst(c.members.map((m) => m.clientURL), 10);
      await c.waitHealthy({ members: [old], timeoutMs: 30_000 });
      await c.waitAllAgree(c.members, 20_000);
      rejoinMs = Date.now() - restartedAt;
      await healBurst;
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after the restart' });
    } finally {
      await Promise.all([load.stop(), reads.stop()]);
    }
    const checks = await waitLedgerEverywhere(c.client, c.ledgerMembers, load.records, prefix, 30_000);
    printFaultReport({
      fault: `kill -9 of leader ${victim}'s container, docker start`,
      newLeaderMs,
      load,
      reads,
      checks,
      notes: [`restarted member healthy and following ${rejoinMs} ms after docker start`],
    });
    expect(load.count('acknowledged')).toBeGreaterThanOrEqual(350);
    expect(reads.violations, 'stale quorum reads').toEqual([]);
    expect(reads.ok).toBeGreaterThan(0);
    expect(await c.crashes()).toEqual([]);
  }, 240_000);
});
