// SIGSTOP of the leader (a hung or cut-off machine that still holds its sockets): the other two elect
// a new leader and keep acknowledging writes; the stopped leader acknowledges nothing; after SIGCONT
// it steps down, rejoins as a follower and converges. A write that reached the old leader while it
// was stopped is answered after SIGCONT: whatever the answer, if it says "acknowledged" the write
// must be in the cluster.
import { describe, expect, it } from 'vitest';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import type { WriteOutcome } from '../helpers/kv-client.js';
import { waitFor } from '../helpers/wait-for.js';
import { WriteLoad, type WriteRecord } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

const prefix = '/leader-pause';

function asRecord(key: string, value: string, via: string, startedAt: number, outcome: WriteOutcome): WriteRecord {
  const r: WriteRecord = { key, value, via, startedAt, endedAt: Date.now(), outcome: outcome.kind };
  if (outcome.kind === 'acknowledged') r.index = outcome.modifiedIndex;
  else r.reason = outcome.reason;
  return r;
}

describe('SIGSTOP / SIGCONT of the leader', () => {
  const cluster = useCluster({ label: 'leader-pause' });

  it('the other two elect a new leader and keep writing; the stopped leader acknowledges nothing; after SIGCONT it steps down and converges', async () => {
    const c = cluster();
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.live().map((m) => m.clientURL) });
    const extra: WriteRecord[] = [];
    let electedMs = -1;
    let stepDownMs = -1;
    load.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the pause' });
      const old = await c.waitLeader();
      const pausedAt = Date.now();
      c.pause(old.name);

      // Sent straight to the stopped leader: one with a short bound, one that outlives the pause.
      const shortKey = `${prefix}/to-stopped-leader-short`;
      const short = await c.client.put(old.clientURL, shortKey, 'short', { timeoutMs: 1500 });
      extra.push(asRecord(shortKey, 'short', old.clientURL, pausedAt, short));
      expect(short.kind, JSON.stringify(short)).toBe('indeterminate');
      const longKey = `${prefix}/to-stopped-leader-long`;
      const longStartedAt = Date.now();
      let longSettled = false;
      const long = c.client.put(old.clientURL, longKey, 'long', { timeoutMs: 25_000 }).finally(() => (longSettled = true));

      const next = await c.waitLeader({ notIn: [old.name], timeoutMs: 20_000 });
      electedMs = Date.now() - pausedAt;
      expect(next.name).not.toBe(old.name);
      await load.waitAcked(200, { since: pausedAt, timeoutMs: 30_000, what: 'with the old leader stopped' });
      expect(longSettled, 'a stopped process answered a write').toBe(false);

      const resumedAt = Date.now();
      c.resume(old.name);
      await waitFor(
        async () => {
          const res = await c.client.http.send({ method: 'GET', url: `${old.clientURL}/v2/stats/self`, timeoutMs: 1000 });
          return (JSON.parse(res.body) as { state?: string }).state === 'StateFollower';
        },
        { what: `${old.name} (the old leader) to report StateFollower after SIGCONT`, timeoutMs: 15_000, intervalMs: 50 },
      );
      stepDownMs = Date.now() - resumedAt;
      const leaderAfter = await c.waitLeader({ timeoutMs: 15_000 });
      expect(leaderAfter.name).not.toBe(old.name);
      extra.push(asRecord(longKey, 'long', old.clientURL, longStartedAt, await long));
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after SIGCONT' });
    } finally {
      await load.stop();
    }
    const checks = await waitLedgerEverywhere(c.client, c.members, [...load.records, ...extra], prefix, 30_000);
    console.info(
      `[${c.label}] leader SIGSTOP: new leader after ${electedMs} ms; old leader StateFollower ${stepDownMs} ms after SIGCONT; writes to the stopped leader: ${extra.map((r) => `${r.key.split('/').pop()} ${r.outcome}${r.reason ? ` (${r.reason.slice(0, 80)})` : ''}`).join(', ')}; load ${load.summary()}; members hold ${checks.map((x) => x.keys).join('/')} keys`,
    );
    expect(c.crashes()).toEqual([]);
  }, 180_000);
});
