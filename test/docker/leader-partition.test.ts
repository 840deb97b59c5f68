// A partition: the leader's container is disconnected from the compose `peer` network (raft traffic),
// while clients on the host still reach it through the `client` network. The majority elects a new
// leader and keeps acknowledging writes and serving quorum reads; the cut-off old leader acknowledges
// no write and serves no `quorum=true` read (it answers an error after a bounded time); reconnected,
// it rejoins as a follower and converges: every acknowledged write on every member.
import { expect, it } from 'vitest';
import type { WriteOutcome } from '../helpers/kv-client.js';
import { waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { QuorumReader } from '../helpers/quorum-reader.js';
import { WriteLoad, type WriteRecord } from '../helpers/write-load.js';
import { describeDocker, printFaultReport, useComposeCluster } from './use-compose-cluster.js';

const prefix = '/docker-leader-partition';
/** A client's patience with the cut-off member: it must answer (an error) well within this. */
const isolatedAnswerBoundMs = 20_000;

function asRecord(key: string, value: string, via: string, startedAt: number, outcome: WriteOutcome): WriteRecord {
  const r: WriteRecord = { key, value, via, startedAt, endedAt: Date.now(), outcome: outcome.kind };
  if (outcome.kind === 'acknowledged') r.index = outcome.modifiedIndex;
  else r.reason = outcome.reason;
  return r;
}

describeDocker('docker: network partition of the leader container', () => {
  const cluster = useComposeCluster('partition');

  it('the majority elects a leader and keeps writing; the cut-off leader acknowledges nothing and serves no quorum read; healed, it converges', async () => {
    const c = cluster();
    // The cut-off member stays a target (it runs): the writers that pick it wait for its error answer.
    const load = new WriteLoad(c.client, { prefix, writers: 6, targets: () => c.live().map((m) => m.clientURL) });
    // Quorum reads on every live member (followers' ones go to the leader as MsgReadIndex).
    const reads = new QuorumReader(c.client, load, { readers: 2, targets: () => c.live().map((m) => m.clientURL) });
    const extra: WriteRecord[] = [];
    const notes: string[] = [];
    let newLeaderMs = -1;
    let victim = '';
    load.start();
    reads.start();
    try {
      await load.waitAcked(100, { timeoutMs: 30_000, what: 'before the partition' });
      const old = await c.waitLeader();
      victim = old.name;
      await c.isolate(old.name);
      const partitionedAt = Date.now();
      // Clients reading from every member at the moment of the fault (checked like the loops' reads).
      const faultBurst = reads.burst(c.members.map((m) => m.clientURL), 10);

      const next = await c.waitLeader({ notIn: [old.name], timeoutMs: 20_000 });
      newLeaderMs = Date.now() - partitionedAt;
      const majority = c.members.filter((m) => m !== old);
      const follower = majority.find((m) => m !== next);
      if (!follower) throw new Error('no follower on the majority side');

      // The cut-off old leader: a write is answered with an error, never acknowledged.
      const writeKey = `${prefix}/to-isolated-leader`;
      const writeStartedAt = Date.now();
      const write = await c.client.put(old.clientURL, writeKey, 'isolated', { timeoutMs: isolatedAnswerBoundMs });
      const writeAnswerMs = Date.now() - writeStartedAt;
      extra.push(asRecord(writeKey, 'isolated', old.clientURL, writeStartedAt, write));
      expect(write.kind, `the cut-off leader acknowledged a write: ${JSON.stringify(write)}`).not.toBe('acknowledged');
      expect(write.kind !== 'acknowledged' && write.status, `the cut-off leader did not answer the write within ${isolatedAnswerBoundMs} ms: ${JSON.stringify(write)}`).toBeGreaterThanOrEqual(500);

      // ... a quorum read likewise; a plain read is served from its (possibly stale) local copy.
      const readStartedAt = Date.now();
      const quorumRead = await c.client.get(old.clientURL, `${prefix}`, { quorum: true, recursive: true, timeoutMs: isolatedAnswerBoundMs });
      const readAnswerMs = Date.now() - readStartedAt;
      expect(quorumRead.status, `quorum=true read on the cut-off leader: ${quorumRead.status} ${quorumRead.body.slice(0, 200)}`).toBeGreaterThanOrEqual(500);
      const plainRead = await c.client.get(old.clientURL, `${prefix}`, { recursive: true, timeoutMs: 5000 });
      expect(plainRead.status).toBe(200);
      notes.push(
        `cut-off leader answered a write with ${write.kind !== 'acknowledged' ? write.status : '?'} after ${writeAnswerMs} ms and a quorum read with ${quorumRead.status} ${quorumRead.json?.errorCode ?? ''} after ${readAnswerMs} ms; its state then: ${await c.raftState(old)}`,
      );

      // The majority side acknowledges writes and serves quorum reads of them.
      const majorityKey = `${prefix}/majority-side`;
      const majorityStartedAt = Date.now();
      const majorityWrite = await c.client.put(follower.clientURL, majorityKey, 'majority', { timeoutMs: 10_000 });
      extra.push(asRecord(majorityKey, 'majority', follower.clientURL, majorityStartedAt, majorityWrite));
      expect(majorityWrite.kind, JSON.stringify(majorityWrite)).toBe('acknowledged');
      const majorityRead = await c.client.get(follower.clientURL, majorityKey, { quorum: true, timeoutMs: 10_000 });
      expect(majorityRead.status).toBe(200);
      expect(majorityRead.json?.node.value).toBe('majority');
      await load.waitAcked(100, { since: partitionedAt, timeoutMs: 40_000, what: 'on the majority side' });
      await faultBurst;

      const healedAt = Date.now();
      const ackedByIsolated = load.records.filter(
        (r) => r.via === old.clientURL && r.outcome === 'acknowledged' && r.startedAt >= partitionedAt && r.endedAt <= healedAt,
      );
      const sentToIsolated = load.records.filter((r) => r.via === old.clientURL && r.startedAt >= partitionedAt && r.endedAt <= healedAt);
      expect(ackedByIsolated.map((r) => `${r.key} @${r.index}`), 'writes acknowledged by the cut-off leader').toEqual([]);
      const answerMs = sentToIsolated.map((r) => r.endedAt - r.startedAt).sort((a, b) => a - b);
      notes.push(
        `load writes sent to the cut-off leader: ${sentToIsolated.length}, acknowledged 0 (answered in median ${answerMs[answerMs.length >> 1] ?? '-'} ms, max ${answerMs.at(-1) ?? '-'} ms; e.g. ${sentToIsolated.at(-1)?.reason?.slice(0, 120) ?? ''})`,
      );

      notes.push(`partitioned for ${healedAt - partitionedAt} ms`);
      await c.heal(old.name);
      const healBurst = reads.burst(c.members.map((m) => m.clientURL), 10);
      const agreed = await c.waitAllAgree(c.members, 30_000);
      notes.push(`after the heal all three follow ${agreed.name} in ${Date.now() - healedAt} ms (old leader ${old.name}: ${await c.raftState(old)})`);
      await healBurst;
      await load.waitAcked(100, { since: Date.now(), timeoutMs: 30_000, what: 'after the heal' });
    } finally {
      await Promise.all([load.stop(), reads.stop()]);
    }
    const checks = await waitLedgerEverywhere(c.client, c.ledgerMembers, [...load.records, ...extra], prefix, 30_000);
    printFaultReport({ fault: `partition of leader ${victim} (peer network disconnected), heal`, newLeaderMs, load, reads, checks, extra, notes });
    expect(load.count('acknowledged')).toBeGreaterThanOrEqual(300);
    expect(reads.violations, 'stale quorum reads').toEqual([]);
    expect(reads.ok).toBeGreaterThan(0);
    expect(await c.crashes()).toEqual([]);
  }, 240_000);
});
