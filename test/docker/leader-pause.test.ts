// `docker pause` of the leader (every process of the container frozen, its sockets still open): the
// other two elect a new leader and keep acknowledging writes; the frozen leader answers nothing; after
// `docker unpause` it steps down, follows the new leader and converges.
import { expect, it } from 'vitest';
import type { WriteOutcome } from '../helpers/kv-client.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { waitFor } from '../helpers/wait-for.js';
import { QuorumReader } from '../helpers/quorum-reader.js';
import { WriteLoad, type WriteRecord } from '../helpers/write-load.js';
import { describeDocker, printFaultReport, useComposeCluster } from './use-compose-cluster.js';

const prefix = '/docker-leader-pause';

function asRecord(key: string, value: string, via: string, startedAt: number, outcome: WriteOutcome): WriteRecord {
  const r: WriteRecord = { key, value, via, startedAt, endedAt: Date.now(), outcome: outcome.kind };
  if (outcome.kind === 'acknowledged') r.index = outcome.modifiedIndex;
  else r.reason = outcome.reason;
  return r;
}

describeDocker('docker: pause / unpause of the leader container', () => {
  const cluster = useComposeCluster('pause');

  it('the other two elect a leader and keep writing; the frozen leader answers nothing; after unpause it follows and converges', async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.live().map((m) => m.clientURL) });
    // Quorum reads on every live member (followers' ones go to the leader as MsgReadIndex).
    const reads = new QuorumReader(c.client, load, { readers: 2, targets: () => c.live().map((m) => m.clientURL) });
    const extra: WriteRecord[] = [];
    let newLeaderMs = -1;
    let stepDownMs = -1;
    let victim = '';
    load.start();
    reads.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the pause' });
      const old = await c.waitLeader();
      victim = old.name;
      await c.pause(old.name);
      const pausedAt = Date.now();
      // Clients reading from every member at the moment of the fault (checked like the loops' reads).
      const faultBurst = reads.burst(c.members.map((m) => m.clientURL), 10);

      const shortKey = `${prefix}/to-paused-leader-short`;
      const short = await c.client.put(old.clientURL, shortKey, 'short', { timeoutMs: 1500 });
      extra.push(asRecord(shortKey, 'short', old.clientURL, pausedAt, short));
      expect(short.kind, `a frozen container answered: ${JSON.stringify(short)}`).toBe('indeterminate');
      expect(short.kind === 'indeterminate' && short.status, 'an HTTP status from a frozen container').toBeFalsy();
      // Sent to the frozen leader and left waiting across the unpause: whatever it finally gets,
      // an acknowledgement must be true (the ledger check below includes it).
      const longKey = `${prefix}/to-paused-leader-long`;
      const longStartedAt = Date.now();
      let longSettled = false;
      const long = c.client.put(old.clientURL, longKey, 'long', { timeoutMs: 40_000 }).finally(() => (longSettled = true));

      const next = await c.waitLeader({ notIn: [old.name], timeoutMs: 20_000 });
      newLeaderMs = Date.now() - pausedAt;
      expect(next.name).not.toBe(old.name);
      await load.waitAcked(150, { since: pausedAt, timeoutMs: 30_000, what: 'with the old leader frozen' });
      expect(longSettled, 'a frozen container answered a write').toBe(false);

      await faultBurst;
      const unpausedAt = Date.now();
      await c.unpause(old.name);
      const healBurst = reads.burst(c.members.map((m) => m.clientURL), 10);
      await waitFor(async () => (await c.raftState(old)) === 'StateFollower', {
        what: `${old.name} (the old leader) to report StateFollower after unpause`,
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      stepDownMs = Date.now() - unpausedAt;
      const agreed = await c.waitAllAgree(c.members, 20_000);
      await healBurst;
      expect(agreed.name).not.toBe(old.name);
      extra.push(asRecord(longKey, 'long', old.clientURL, longStartedAt, await long));
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after unpause' });
    } finally {
      await Promise.all([load.stop(), reads.stop()]);
    }
    const checks = await waitLedgerEverywhere(c.client, c.ledgerMembers, [...load.records, ...extra], prefix, 30_000);
    printFaultReport({
      fault: `docker pause of leader ${victim}, unpause`,
      newLeaderMs,
      load,
      reads,
      checks,
      extra,
      notes: [
        `old leader StateFollower ${stepDownMs} ms after unpause`,
        `writes sent to the frozen leader: ${extra.map((r) => `${r.key.split('/').pop()} ${r.outcome}${r.reason ? ` (${r.reason.slice(0, 80)})` : ''}`).join(', ')}`,
      ],
    });
    expect(load.count('acknowledged')).toBeGreaterThanOrEqual(350);
    expect(reads.violations, 'stale quorum reads').toEqual([]);
    expect(reads.ok).toBeGreaterThan(0);
    expect(await c.crashes()).toEqual([]);
  }, 240_000);
});
