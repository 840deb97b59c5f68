// Full-cluster restarts keep every acknowledged write: all members stopped (SIGTERM, then kill -9 of
// all three at once under write load), started again with the same flags and data dirs, elect a
// leader and serve every write they acknowledged before, and the etcd index goes on from where it was.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { useCluster } from './use-cluster.js';

async function etcdIndex(c: Cluster): Promise<number> {
  const leader = await c.waitLeader();
  const res = await c.client.http.send({ method: 'GET', url: `${leader.clientURL}/v2/keys/`, timeoutMs: 3000 });
  return Number(res.headers['x-etcd-index']);
}

async function restartAll(c: Cluster): Promise<number> {
  const startedAt = Date.now();
  for (const m of c.members) c.restart(m.name);
  await c.waitHealthy({ timeoutMs: 30_000 });
  await c.waitLeader({ timeoutMs: 30_000 });
  return Date.now() - startedAt;
}

describe('full-cluster restart', () => {
  const cluster = useCluster({ label: 'full-restart' });

  it('SIGTERM of every member, then a start of every member, keeps every acknowledged write', async () => {
    const c = cluster();
    const prefix = '/full-restart/sigterm';
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => c.members.map((m) => m.clientURL) });
    load.start();
    try {
      await load.waitAcked(400, { timeoutMs: 30_000 });
    } finally {
      await load.stop();
    }
    const indexBefore = await etcdIndex(c);
    const exits = await Promise.all(c.members.map((m) => c.kill(m.name, 'SIGTERM')));
    const restartMs = await restartAll(c);
    await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    expect(await etcdIndex(c)).toBeGreaterThanOrEqual(indexBefore);
    const after = await c.client.put(c.members[0]?.clientURL ?? '', `${prefix}/after-restart`, 'yes');
    expect(after.kind, JSON.stringify(after)).toBe('acknowledged');
    if (after.kind === 'acknowledged') expect(after.modifiedIndex).toBeGreaterThan(indexBefore);
    console.info(`[${c.label}] SIGTERM all (exits: ${exits.join(', ')}), restart all: healthy with a leader after ${restartMs} ms; writes ${load.summary()}`);
  }, 120_000);

  it('kill -9 of every member at once under write load, then a start of every member, keeps every acknowledged write', async () => {
    const c = cluster();
    const prefix = '/full-restart/sigkill';
    const load = new WriteLoad(c.client, { prefix, writers: 6, targets: () => c.members.map((m) => m.clientURL) });
    load.start();
    let restartMs = -1;
    try {
      await load.waitAcked(400, { timeoutMs: 30_000 });
      await Promise.all(c.members.map((m) => c.kill(m.name, 'SIGKILL')));
      restartMs = await restartAll(c);
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after the restart' });
    } finally {
      await load.stop();
    }
    const checks = await waitLedgerEverywhere(c.client, c.members, load.records, prefix, 30_000);
    console.info(
      `[${c.label}] kill -9 all under load, restart all: healthy with a leader after ${restartMs} ms; writes ${load.summary()}; members hold ${checks.map((x) => x.keys).join('/')} keys`,
    );
    expect(c.crashes()).toEqual([]);
  }, 120_000);
});
