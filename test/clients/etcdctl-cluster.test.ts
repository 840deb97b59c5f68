// `ETCDCTL_API=2 etcdctl` pointed at a FOLLOWER of a three-member cluster: the real etcd and etcd-ts
// side by side, each started with n1 as the preferred leader and member ids ascending in name order
// (so `member list` and `cluster-health` list n1, n2, n3 on both, and the follower is n2 on both).
// Same comparison as etcdctl.test.ts: exit code, stdout and stderr, member ids, URLs and indexes
// normalised, must be equal, and contain the lines each case expects. etcd-ts answers a write on a
// follower with a 307 to the leader (etcdctl follows it); the real etcd forwards it; either way a
// read on the follower right after must see the write.
//   npx vitest run test/clients/etcdctl-cluster.test.ts   (ETCDCTL_TRANSCRIPTS=1 prints them)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterTargetKind } from '../helpers/cluster-binary.js';
import { startClusterTarget } from '../helpers/cluster-target.js';
import type { Target } from '../helpers/target.js';
import { CtlSession } from './etcdctl-session.js';
import { waitForWatchers, watcherCount } from './watchers.js';

interface Case {
  name: string;
  /** `s` talks to the follower n2 only (--no-sync); `leader` to n1 only. */
  run: (s: CtlSession, leader: CtlSession, prefix: string) => Promise<void>;
  expected: (prefix: string) => string[];
}

const ROUNDS = 10;

const cases: Case[] = [
  {
    name: `set then get through the follower, ${ROUNDS} times: never stale`,
    run: async (s, _leader, p) => {
      for (let i = 0; i < ROUNDS; i++) {
        await s.run('set', `${p}/k`, `v${i}`);
        const got = await s.run('get', `${p}/k`);
        if (got.stdout !== `v${i}\n`) s.note(`STALE: get after set v${i} gave ${JSON.stringify(got.stdout)}`);
      }
      await s.runWith({ flags: ['-o', 'extended'] }, 'update', `${p}/k`, 'last');
      await s.runWith({ flags: ['-o', 'extended'] }, 'get', '--quorum', `${p}/k`);
      await s.run('rm', `${p}/k`);
      await s.run('get', `${p}/k`);
    },
    expected: (p) => [`$ etcdctl get ${p}/k`, `  out: v${ROUNDS - 1}`, `  out: Modified-Index: @+${ROUNDS + 1}`, `  out: Index: @+${ROUNDS + 1}`, `  err: Error:  100: Key not found (${p}/k) [@+${ROUNDS + 2}]`],
  },
  {
    name: 'member list and cluster-health through the follower show three healthy members, n1 leading',
    run: async (s) => {
      await s.run('member', 'list');
      await s.runWith({ noSync: false }, 'member', 'list');
      await s.run('cluster-health');
      await s.runWith({ noSync: false, flags: ['-o', 'json'] }, 'cluster-health');
    },
    expected: () => [
      '  out: <member id>: name=n1 peerURLs=<peerURL#0> clientURLs=<clientURL#0> isLeader=true',
      '  out: <member id>: name=n2 peerURLs=<peerURL#1> clientURLs=<clientURL#1> isLeader=false',
      '  out: <member id>: name=n3 peerURLs=<peerURL#2> clientURLs=<clientURL#2> isLeader=false',
      '  out: member <member id> is healthy: got healthy result from <clientURL#0>',
      '  out: member <member id> is healthy: got healthy result from <clientURL#1>',
      '  out: member <member id> is healthy: got healthy result from <clientURL#2>',
      '  out: cluster is healthy',
    ],
  },
  {
    name: 'watch on the follower sees a write made on the leader; watch --forever sees several',
    run: async (s, leader, p) => {
      await s.run('set', `${p}/w`, 'before');
      const url = s.target.clientURL;
      const once = ['watch', `${p}/w`];
      let before = await watcherCount(url);
      const w = s.start(...once);
      await waitForWatchers(url, before + 1);
      await leader.run('set', `${p}/w`, 'from-leader');
      await s.finish(w, once);
      const forever = ['watch', '--forever', '--recursive', p];
      before = await watcherCount(url);
      const f = s.start(...forever);
      await waitForWatchers(url, before + 1);
      for (const v of ['a', 'b', 'c']) await leader.run('set', `${p}/d/${v}`, v);
      // --recursive prints two lines per event: `[action] key`, then the value.
      await s.collect(f, forever, 6);
    },
    expected: (p) => [`$ etcdctl watch ${p}/w`, '  exit 0', '  out: from-leader', '  out: a', '  out: b', '  out: c'],
  },
  {
    name: '--endpoints with all three members (with and without --no-sync)',
    run: async (s, _leader, p) => {
      const all = s.target.clientURLs.join(',');
      await s.runWith({ endpoints: null, flags: ['--endpoints', all] }, 'set', `${p}/e`, 'one');
      await s.runWith({ endpoints: null, flags: ['--endpoints', all] }, 'get', `${p}/e`);
      await s.runWith({ endpoints: null, flags: ['--no-sync', '--endpoints', all] }, 'update', `${p}/e`, 'two');
      await s.runWith({ endpoints: null, flags: ['--no-sync', '--endpoints', all] }, 'get', `${p}/e`);
      await s.runWith({ endpoints: null, flags: ['--endpoints', all] }, 'member', 'list');
      await s.runWith({ endpoints: null, flags: ['--peers', all] }, 'cluster-health');
    },
    expected: (p) => [`$ etcdctl --endpoints <clientURL#0>,<clientURL#1>,<clientURL#2> get ${p}/e`, '  out: one', '  out: two', '  out: cluster is healthy'],
  },
];

interface Pair {
  follower: Target;
  leader: Target;
}

const pairs = new Map<ClusterTargetKind, Pair>();
let startError: Error | undefined;

/** startClusterTarget talks to the leader (n1 when the steering worked); the follower is n2. */
async function start(kind: ClusterTargetKind): Promise<void> {
  const t = await startClusterTarget(kind, 3);
  const url = (i: number): string => t.clientURLs[i] as string;
  pairs.set(kind, { leader: { ...t, clientURL: url(0) }, follower: { ...t, clientURL: url(1) } });
}

beforeAll(async () => {
  // One after the other: six members starting at once on two cores slow each other's elections.
  for (const kind of ['etcd', 'etcd-ts'] as const) {
    try {
      await start(kind);
    } catch (err) {
      startError ??= err as Error;
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([...pairs.values()].map((p) => p.leader.stop()));
}, 60_000);

async function transcript(pair: Pair, c: Case, prefix: string): Promise<string[]> {
  const s = await CtlSession.open(pair.follower, { noSync: true });
  const leader = await CtlSession.open(pair.leader, { noSync: true });
  try {
    await c.run(s, leader, prefix);
  } finally {
    await Promise.all([s.close(), leader.close()]);
  }
  return s.lines;
}

describe('etcdctl (API v2) on a follower of a three-member cluster: etcd-ts as etcd', () => {
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const etcd = pairs.get('etcd');
      const etcdTs = pairs.get('etcd-ts');
      if (!etcd || !etcdTs) throw startError ?? new Error('clusters not started');
      const prefix = `/ctl3-${i}`;
      const [fromEtcd, fromEtcdTs] = await Promise.all([transcript(etcd, c, prefix), transcript(etcdTs, c, prefix)]);
      if (process.env['ETCDCTL_TRANSCRIPTS'] === '1') console.log(`--- ${c.name} (real etcd)\n${fromEtcd.join('\n')}`);
      for (const line of c.expected(prefix)) expect(fromEtcd, `real etcd: ${line}`).toContain(line);
      expect(fromEtcdTs.filter((l) => l.startsWith('STALE')), 'etcd-ts').toEqual([]);
      expect(fromEtcdTs.join('\n')).toBe(fromEtcd.join('\n'));
    }, 60_000);
  }
});
