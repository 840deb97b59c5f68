// Replacing a dead member of the docker-compose cluster the way the README's "Replacing a member of
// the docker-compose cluster" does it, under a write load: infra3's container is killed for good,
// removed with DELETE /v2/members/<id>, http://infra4-peer:2380 added with POST /v2/members (both sent
// to infra1 and following its 307 to the leader, as `curl -L`), then the profile service infra4 is
// started with `compose --profile replace up -d infra4`. infra4 joins with
// ETCD_INITIAL_CLUSTER_STATE=existing, becomes healthy (its /health and Docker's HEALTHCHECK), holds
// every acknowledged write, and /v2/members lists infra1, infra2 and infra4 with infra4's client URL.
import { expect, it } from 'vitest';
import type { DockerMember } from '../helpers/compose-cluster.js';
import { waitAcknowledgedOn, waitLedgerEverywhere } from '../helpers/ledger-check.js';
import { WriteLoad } from '../helpers/write-load.js';
import { describeDocker, useComposeCluster } from './use-compose-cluster.js';

const prefix = '/docker-member-replace';
const newPeerURL = 'http://infra4-peer:2380';

interface MemberJSON {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

interface Answer {
  status: number;
  body: string;
}

/** Like `curl -L`: a follower's 307 is followed to the leader with the same method and body. */
async function api(url: string, method: string, body?: unknown): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      redirect: 'follow',
      signal: AbortSignal.timeout(10_000),
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String((err as Error).cause ?? err) };
  }
}

/** Sends the request again while the leader refuses it (etcd's strict reconfiguration check: 500) or none answers; bounded. */
async function until(want: number, what: string, send: () => Promise<Answer>, timeoutMs = 30_000): Promise<{ answer: Answer; attempts: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: Answer = { status: -1, body: 'not sent' };
  for (let attempts = 1; ; attempts++) {
    last = await send();
    if (last.status === want) return { answer: last, attempts };
    if (Date.now() > deadline || (last.status !== 500 && last.status !== 0)) throw new Error(`${what}: ${last.status} ${last.body} (wanted ${want}, attempt ${attempts})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function membersOf(m: DockerMember): Promise<MemberJSON[]> {
  const res = await api(`${m.clientURL}/v2/members`, 'GET');
  expect(res.status, `GET /v2/members on ${m.name}: ${res.body}`).toBe(200);
  return (JSON.parse(res.body) as { members: MemberJSON[] }).members;
}

async function metric(m: DockerMember, name: string): Promise<number> {
  const res = await api(`${m.clientURL}/metrics`, 'GET');
  let total = 0;
  for (const line of res.body.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

describeDocker('docker: replacing a dead member with the compose service infra4', () => {
  const cluster = useComposeCluster('replace', { profiles: ['replace'] });

  it('kill infra3 for good, remove it, add infra4, compose --profile replace up -d infra4: it joins, catches up, and nothing acknowledged is lost', async () => {
    const c = cluster();
    const [infra1, infra2, infra3] = [c.member('infra1'), c.member('infra2'), c.member('infra3')];
    let targets: DockerMember[] = [infra1, infra2, infra3];
    const load = new WriteLoad(c.client, { prefix, writers: 4, targets: () => targets.map((m) => m.clientURL) });
    const t: Record<string, number> = {};
    let infra4: DockerMember | undefined;
    let addedId = '';
    let attempts = { remove: 0, add: 0 };
    load.start();
    try {
      await load.waitAcked(200, { timeoutMs: 30_000, what: 'before the kill' });
      const deadId = (await membersOf(infra1)).find((m) => m.name === 'infra3')?.id;
      expect(deadId, 'infra3 in /v2/members').toBeTruthy();

      // `docker-compose kill infra3`: dead for good (its container is never started again).
      const t0 = Date.now();
      await c.kill('infra3');
      targets = [infra1, infra2];
      await c.waitLeader({ notIn: ['infra3'], timeoutMs: 20_000 });
      t['leader'] = Date.now() - t0;

      // curl -L -X DELETE http://127.0.0.1:2379/v2/members/<id>  (a member that is down may always be removed)
      const removed = await until(204, 'DELETE /v2/members/<infra3>', () => api(`${infra1.clientURL}/v2/members/${deadId}`, 'DELETE'));
      attempts.remove = removed.attempts;
      t['removed'] = Date.now() - t0;
      expect((await membersOf(infra2)).map((m) => m.name).sort()).toEqual(['infra1', 'infra2']);

      // curl -L -X POST http://127.0.0.1:2379/v2/members -H 'Content-Type: application/json' -d '{"peerURLs":["http://infra4-peer:2380"]}'
      const added = await until(201, 'POST /v2/members', () => api(`${infra1.clientURL}/v2/members`, 'POST', { peerURLs: [newPeerURL] }));
      attempts.add = added.attempts;
      t['added'] = Date.now() - t0;
      const record = JSON.parse(added.answer.body) as MemberJSON;
      expect(record.peerURLs).toEqual([newPeerURL]);
      addedId = record.id;

      // docker-compose --profile replace up -d infra4
      infra4 = await c.startProfileService('infra4');
      t['started'] = Date.now() - t0;
      await c.waitHealthy({ members: [infra4], docker: true, timeoutMs: 90_000 });
      t['healthy'] = Date.now() - t0;
      const ackedBefore = load.records.slice();
      await waitAcknowledgedOn(c.client, c.ledgerMembers.filter((m) => m.name === 'infra4'), ackedBefore, prefix, 60_000);
      t['caughtUp'] = Date.now() - t0;

      targets = [infra1, infra2, infra4];
      const since = Date.now();
      await load.waitAcked(150, { since, timeoutMs: 60_000, what: 'with infra4 among the targets' });
    } finally {
      await load.stop();
    }
    if (!infra4) throw new Error('infra4 did not start');
    const live = [infra1, infra2, infra4];
    const checks = await waitLedgerEverywhere(c.client, c.ledgerMembers.filter((m) => live.some((l) => l.name === m.name)), load.records, prefix, 60_000);
    expect(checks.map((x) => x.member).sort()).toEqual(['infra1', 'infra2', 'infra4']);

    // Every member lists exactly infra1, infra2, infra4 with their client URLs; infra4 with the id it was added with.
    await c.waitMembersPublished(30_000, live);
    const list = await membersOf(infra4);
    expect(list.map((m) => m.name).sort()).toEqual(['infra1', 'infra2', 'infra4']);
    const self = list.find((m) => m.name === 'infra4');
    expect(self).toEqual({ id: addedId, name: 'infra4', peerURLs: [newPeerURL], clientURLs: [infra4.clientURL] });

    // A quorum read on infra4 sees the last acknowledged write.
    const last = load.acknowledged.reduce((a, b) => (b.endedAt > a.endedAt ? b : a));
    const read = await api(`${infra4.clientURL}/v2/keys${last.key}?quorum=true`, 'GET');
    expect(read.status, read.body).toBe(200);
    expect((JSON.parse(read.body) as { node: { value: string } }).node.value).toBe(last.value);

    // With the compose file's default --snapshot-count the leader has not compacted what infra4 lacks:
    // it usually catches up by plain log replication (test/cluster/membership.test.ts covers the snapshot).
    const snapshots = await metric(infra4, 'etcd_network_snapshot_receive_success');
    expect((await c.inspect('infra3')).State.Running, 'infra3 stays dead').toBe(false);
    expect(await c.crashes()).toEqual([]);

    console.info(
      [
        `[docker replace] kill of infra3 at 0 ms; leader (not infra3) at ${t['leader']} ms`,
        `removed at ${t['removed']} ms (${attempts.remove} attempt(s)), infra4 added at ${t['added']} ms (${attempts.add} attempt(s)) as ${addedId}`,
        `compose up of infra4 done at ${t['started']} ms, healthy (/health and Docker) at ${t['healthy']} ms, caught up at ${t['caughtUp']} ms`,
        `infra4 caught up by ${snapshots > 0 ? `${snapshots} snapshot(s) and ` : ''}log replication`,
        `load writes ${load.summary()}`,
        `${load.count('acknowledged')} acknowledged writes checked on ${checks.map((x) => `${x.member} (${x.keys} keys)`).join(', ')}`,
        `members: ${list.map((m) => `${m.id}:${m.name}`).join(', ')}`,
      ].join('; '),
    );
  }, 300_000);
});
