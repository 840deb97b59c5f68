// `ETCDCTL_API=2 etcdctl` against etcd-ts: every case runs the same commands against a real etcd and
// against etcd-ts; what the user sees (exit code, stdout, stderr; indexes relative to the case's
// start) must be the same, and must contain the output the case expects.
//   npx vitest run test/clients/etcdctl.test.ts
// ETCDCTL_TRANSCRIPTS=1 prints the real etcd's transcript of every case.
import { describe, expect, it } from 'vitest';
import type { Target } from '../helpers/target.js';
import { useBothServers } from './both-servers.js';
import { CtlSession } from './etcdctl-session.js';
import { waitForWatchers, watcherCount } from './watchers.js';

interface Case {
  name: string;
  run: (s: CtlSession, prefix: string) => Promise<void>;
  /** Lines (after normalisation) the transcript must contain, on both servers. */
  expected: (prefix: string) => string[];
}

const cases: Case[] = [
  {
    name: 'set, get and update print the value',
    run: async (s, p) => {
      await s.run('set', `${p}/k`, 'v1');
      await s.run('get', `${p}/k`);
      await s.run('update', `${p}/k`, 'v2');
      await s.run('get', `${p}/k`);
    },
    expected: (p) => [`$ etcdctl set ${p}/k v1`, '  exit 0', '  out: v1', `$ etcdctl get ${p}/k`, `$ etcdctl update ${p}/k v2`, '  out: v2'],
  },
  {
    name: 'mk creates a key once; again it fails with 105 and exit code 4',
    run: async (s, p) => {
      await s.run('mk', `${p}/k`, 'v');
      await s.run('mk', `${p}/k`, 'again');
    },
    expected: (p) => [`$ etcdctl mk ${p}/k again`, '  exit 4', `  err: Error:  105: Key already exists (${p}/k) [@+1]`],
  },
  {
    name: 'update and get of a missing key fail with 100',
    run: async (s, p) => {
      await s.run('update', `${p}/missing`, 'v');
      await s.run('get', `${p}/missing`);
    },
    expected: (p) => ['  exit 4', `  err: Error:  100: Key not found (${p}) [@+0]`],
  },
  {
    name: 'mkdir, rmdir of a non-empty dir (108), rm, rmdir',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/d`);
      await s.run('mkdir', `${p}/d`);
      await s.run('set', `${p}/d/x`, '1');
      await s.run('rmdir', `${p}/d`);
      await s.run('rm', `${p}/d/x`);
      await s.run('rmdir', `${p}/d`);
      await s.run('ls', p);
    },
    expected: (p) => [
      `$ etcdctl mkdir ${p}/d`,
      `  err: Error:  105: Key already exists (${p}/d) [@+1]`,
      `  err: Error:  108: Directory not empty (${p}/d) [@+2]`,
      '  out: PrevNode.Value: 1',
    ],
  },
  {
    name: 'ls --recursive --sort lists the subtree in order; -p marks directories',
    run: async (s, p) => {
      await s.run('set', `${p}/b/d/e`, '3');
      await s.run('set', `${p}/a`, '1');
      await s.run('set', `${p}/b/c`, '2');
      await s.run('ls', '--recursive', '--sort', p);
      await s.run('ls', '--sort', '-p', p);
      await s.run('ls', `${p}/nothing`);
    },
    expected: (p) => [`  out: ${p}/a`, `  out: ${p}/b`, `  out: ${p}/b/c`, `  out: ${p}/b/d`, `  out: ${p}/b/d/e`, `  out: ${p}/b/`, `  err: Error:  100: Key not found (${p}/nothing) [@+3]`],
  },
  {
    name: 'rm prints the previous value; rm --with-value that differs is 101; rm of a dir needs --recursive',
    run: async (s, p) => {
      await s.run('set', `${p}/k`, 'v');
      await s.run('rm', '--with-value', 'other', `${p}/k`);
      await s.run('rm', `${p}/k`);
      await s.run('rm', `${p}/k`);
      await s.run('set', `${p}/r/a`, '1');
      await s.run('rm', `${p}/r`);
      await s.run('rm', '--recursive', `${p}/r`);
    },
    expected: (p) => [
      `  err: Error:  101: Compare failed ([other != v]) [@+1]`,
      '  out: PrevNode.Value: v',
      `  err: Error:  100: Key not found (${p}/k) [@+2]`,
      `  err: Error:  102: Not a file (${p}/r) [@+3]`,
    ],
  },
  {
    name: 'set --swap-with-value is a compare-and-swap',
    run: async (s, p) => {
      await s.run('set', `${p}/k`, 'old');
      await s.run('set', '--swap-with-value', 'old', `${p}/k`, 'new');
      await s.run('set', '--swap-with-value', 'old', `${p}/k`, 'newer');
      await s.run('get', `${p}/k`);
    },
    expected: () => ['  out: new', '  err: Error:  101: Compare failed ([old != new]) [@+2]'],
  },
  {
    name: 'set --ttl, and -o extended / -o json output',
    run: async (s, p) => {
      await s.run('set', '--ttl', '30', `${p}/t`, 'v');
      await s.run('-o', 'extended', 'get', `${p}/t`);
      await s.run('-o', 'extended', 'set', `${p}/e`, 'x');
      await s.run('-o', 'json', 'get', `${p}/e`);
    },
    expected: (p) => [`  out: Key: ${p}/t`, '  out: Created-Index: @+1', '  out: TTL: <positive>', '  out: Modified-Index: @+2', '  out: Index: @+2'],
  },
  {
    name: 'get of a directory says it is a directory',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/gd`);
      await s.run('get', `${p}/gd`);
    },
    expected: () => ['  exit 1'],
  },
  {
    name: 'setdir and updatedir --ttl; updatedir of a missing dir is 100',
    run: async (s, p) => {
      await s.run('setdir', `${p}/sd`);
      await s.run('updatedir', '--ttl', '30', `${p}/sd`);
      await s.run('updatedir', '--ttl', '30', `${p}/none`);
      await s.run('ls', p);
    },
    expected: (p) => [`  err: Error:  100: Key not found (${p}/none) [@+2]`, `  out: ${p}/sd`],
  },
  {
    name: 'watch prints the next change and exits',
    run: async (s, p) => {
      await s.run('set', `${p}/w`, 'before');
      const before = await watcherCount(s.target.clientURL);
      const w = s.start('watch', `${p}/w`);
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.run('set', `${p}/w`, 'after');
      await s.finish(w, ['watch', `${p}/w`]);
    },
    expected: (p) => [`$ etcdctl watch ${p}/w`, '  exit 0', '  out: after'],
  },
  {
    name: 'watch --recursive reports a change below the dir',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/dir`);
      const before = await watcherCount(s.target.clientURL);
      const w = s.start('watch', '--recursive', `${p}/dir`);
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.run('set', `${p}/dir/x`, 'child');
      await s.finish(w, ['watch', '--recursive', `${p}/dir`]);
    },
    expected: (p) => [`$ etcdctl watch --recursive ${p}/dir`, '  exit 0', '  out: child'],
  },
  {
    name: 'watch --after-index answers from history',
    run: async (s, p) => {
      await s.run('set', `${p}/h`, 'one');
      await s.run('set', `${p}/h`, 'two');
      const args = ['watch', '--after-index', s.index(1), `${p}/h`];
      await s.finish(s.start(...args), args);
    },
    expected: (p) => [`$ etcdctl watch --after-index {{i+1}} ${p}/h`, '  exit 0', '  out: two'],
  },
  {
    name: 'exec-watch --after-index runs the command once per event, with ETCD_WATCH_* set',
    run: async (s, p) => {
      await s.run('set', `${p}/e`, 'a');
      await s.run('set', `${p}/e`, 'b');
      // etcdctl 3.4 takes the key as the LAST argument here (urfave/cli drops the `--` its usage shows).
      const args = ['exec-watch', '--after-index', s.index(0), 'sh', '-c', 'echo "$ETCD_WATCH_ACTION $ETCD_WATCH_KEY $ETCD_WATCH_VALUE idx=$ETCD_WATCH_MODIFIED_INDEX"', `${p}/e`];
      const out = await s.collect(s.start(...args), args, 2);
      s.note(`indexes: ${out.map((l) => Number(/idx=(\d+)/.exec(l)?.[1]) - s.base).join(',')}`);
    },
    expected: (p) => [`  out: set ${p}/e a idx=${'<index>'}`, `  out: set ${p}/e b idx=${'<index>'}`, 'indexes: 1,2'],
  },
  {
    name: 'member list and cluster-health describe the single member',
    run: async (s) => {
      await s.run('member', 'list');
      await s.run('cluster-health');
    },
    expected: () => [
      '  out: <member id>: name=n1 peerURLs=<peerURL#0> clientURLs=<clientURL#0> isLeader=true',
      '  out: member <member id> is healthy: got healthy result from <clientURL#0>',
      '  out: cluster is healthy',
    ],
  },
  {
    name: 'member remove of an unknown id and malformed member commands fail alike',
    run: async (s) => {
      await s.run('member', 'remove', '1234');
      await s.run('member', 'add', 'n2');
      await s.run('member', 'remove');
    },
    expected: () => ["  err: Couldn't find a member in the cluster with an ID of 1234."],
  },
  {
    name: 'get --quorum and -q read the key like a plain get',
    run: async (s, p) => {
      await s.run('set', `${p}/q`, 'v');
      await s.run('get', '--quorum', `${p}/q`);
      await s.run('get', '-q', `${p}/q`);
      await s.run('get', '--quorum', `${p}/missing`);
    },
    expected: (p) => [`$ etcdctl get --quorum ${p}/q`, '  out: v', `  err: Error:  100: Key not found (${p}/missing) [@+1]`],
  },
  {
    name: 'set --ttl, then update --ttl changes the TTL and update --ttl 0 removes it',
    run: async (s, p) => {
      await s.run('set', '--ttl', '100', `${p}/t`, 'v');
      await s.runWith({ flags: ['-o', 'extended'] }, 'update', '--ttl', '200', `${p}/t`, 'v2');
      await s.runWith({ flags: ['-o', 'json'] }, 'get', `${p}/t`);
      await s.runWith({ flags: ['-o', 'extended'] }, 'update', '--ttl', '0', `${p}/t`, 'v3');
      await s.runWith({ flags: ['-o', 'json'] }, 'get', `${p}/t`);
    },
    expected: (p) => [
      '  out: PrevNode.Value: v',
      '  out: TTL: <positive>',
      `  out: {"action":"get","node":{"key":"${p}/t","value":"v2","nodes":null,"createdIndex":@+1,"modifiedIndex":@+2,"expiration":<time>,"ttl":<positive>},"prevNode":null}`,
      '  out: TTL: 0',
      '  out: Modified-Index: @+3',
    ],
  },
  {
    name: 'mk --in-order creates keys named after their index; ls --sort lists them in order',
    run: async (s, p) => {
      await s.run('mk', '--in-order', `${p}/q`, 'first');
      await s.run('mk', '--in-order', `${p}/q`, 'second');
      await s.runWith({ flags: ['-o', 'json'] }, 'mk', '--in-order', `${p}/q`, 'third');
      await s.run('ls', '--sort', `${p}/q`);
      // --sort: without it the real etcd lists a dir's children in Go map order, different on every
      // request (etcd-ts lists them in creation order), so an unsorted listing of several children
      // cannot be compared.
      await s.runWith({ flags: ['-o', 'json'] }, 'ls', '--sort', `${p}/q`);
      await s.runWith({ flags: ['-o', 'extended'] }, 'ls', `${p}/q`);
    },
    expected: (p) => [`  out: ${p}/q/<in-order @+1>`, `  out: ${p}/q/<in-order @+2>`, `  out: ${p}/q/<in-order @+3>`],
  },
  {
    name: 'rmdir and rm --dir of a missing dir are 100; setdir turns a key into a dir; -o extended/json mkdir, rmdir, updatedir',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/d`);
      await s.run('rmdir', `${p}/none`);
      await s.run('rm', '--dir', `${p}/none`);
      await s.run('set', `${p}/k`, 'v');
      await s.run('setdir', `${p}/k`);
      await s.run('rmdir', `${p}/k`);
      await s.runWith({ flags: ['-o', 'extended'] }, 'mkdir', `${p}/e`);
      await s.runWith({ flags: ['-o', 'json'] }, 'rmdir', `${p}/e`);
      await s.runWith({ flags: ['-o', 'json'] }, 'rm', '--dir', `${p}/d`);
      await s.run('mkdir', '--ttl', '30', `${p}/t`);
      await s.runWith({ flags: ['-o', 'extended'] }, 'updatedir', '--ttl', '60', `${p}/t`);
      await s.run('ls', '-p', `${p}/none`);
    },
    expected: (p) => [
      `  err: Error:  100: Key not found (${p}/none) [@+1]`,
      `$ etcdctl setdir ${p}/k`,
      `  out: Key: ${p}/e`,
      '  out: PrevNode.Value: ',
      `  err: Error:  100: Key not found (${p}/none) [@+9]`,
    ],
  },
  {
    name: 'global options: --no-sync, --timeout, --total-timeout, --debug, several --endpoints, --peers/-C/--endpoint',
    run: async (s, p) => {
      const url = s.target.clientURL;
      const dead = 'http://127.0.0.1:1';
      await s.run('set', `${p}/g`, 'v');
      await s.runWith({ flags: ['--no-sync', '--timeout', '1s', '--total-timeout', '3s'] }, 'get', `${p}/g`);
      await s.runWith({ flags: ['--debug'] }, 'get', `${p}/g`);
      await s.runWith({ flags: ['--debug', '--no-sync'] }, 'set', `${p}/g`, 'w');
      await s.runWith({ endpoints: null, flags: ['--endpoints', `${url},${dead}`] }, 'get', `${p}/g`);
      await s.runWith({ endpoints: null, flags: ['--no-sync', '--endpoints', `${dead},${url}`] }, 'get', `${p}/g`);
      await s.runWith({ endpoints: null, flags: ['--peers', url] }, 'get', `${p}/g`);
      await s.runWith({ endpoints: null, flags: ['-C', url] }, 'set', `${p}/g`, 'x');
      await s.runWith({ endpoints: null, flags: ['--endpoint', url] }, 'get', `${p}/g`);
      // Nobody listens: exit 2 when the first sync fails, 4 when the request itself does.
      await s.runWith({ endpoints: null, flags: ['--endpoints', dead, '--total-timeout', '1s'] }, 'get', `${p}/g`);
      await s.runWith({ endpoints: null, flags: ['--endpoints', dead, '--no-sync', '--total-timeout', '1s'] }, 'get', `${p}/g`);
    },
    expected: (p) => [
      '  err: cURL Command: curl -X GET <clientURL#0>/v2/members',
      `  err: cURL Command: curl -X GET <clientURL#0>/v2/keys${p}/g?quorum=false&recursive=false&sorted=false`,
      '  err: cURL Command: curl -X PUT <clientURL#0>/v2/keys' + p + '/g -d "value=w"',
      `$ etcdctl --endpoints <clientURL#0>,http://127.0.0.1:1 get ${p}/g`,
      `$ etcdctl -C <clientURL#0> set ${p}/g x`,
      '  out: x',
      '  exit 2',
    ],
  },
  {
    name: 'watch --forever prints every change until stopped',
    run: async (s, p) => {
      await s.run('set', `${p}/f`, 'v0');
      const before = await watcherCount(s.target.clientURL);
      const args = ['watch', '--forever', `${p}/f`];
      const w = s.start(...args);
      await waitForWatchers(s.target.clientURL, before + 1);
      for (const v of ['v1', 'v2', 'v3']) await s.run('set', `${p}/f`, v);
      await s.collect(w, args, 3);
    },
    expected: (p) => [`$ etcdctl watch --forever ${p}/f`, '  exit (stopped by the test)', '  out: v1', '  out: v2', '  out: v3'],
  },
  {
    name: 'watch --forever --recursive -o json prints each change below the dir as json',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/d`);
      const before = await watcherCount(s.target.clientURL);
      const args = ['-o', 'json', 'watch', '--forever', '--recursive', `${p}/d`];
      const w = s.start(...args);
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.run('set', `${p}/d/a`, '1');
      await s.run('rm', `${p}/d/a`);
      // -o json prints two lines per event (`[action] key`, then the response as json): 2 events, 4 lines.
      await s.collect(w, args, 4);
    },
    expected: () => ['  exit (stopped by the test)'],
  },
  {
    name: 'exec-watch --recursive runs the command for every change below the dir',
    run: async (s, p) => {
      await s.run('mkdir', `${p}/x`);
      const before = await watcherCount(s.target.clientURL);
      const args = ['exec-watch', '--recursive', 'sh', '-c', 'echo "$ETCD_WATCH_ACTION $ETCD_WATCH_KEY $ETCD_WATCH_VALUE idx=$ETCD_WATCH_MODIFIED_INDEX"', `${p}/x`];
      const w = s.start(...args);
      await waitForWatchers(s.target.clientURL, before + 1);
      await s.run('set', `${p}/x/a`, 'one');
      await s.run('set', `${p}/x/b/c`, 'two');
      await s.run('rm', `${p}/x/a`);
      const out = await s.collect(w, args, 3);
      s.note(`indexes: ${out.map((l) => Number(/idx=(\d+)/.exec(l)?.[1]) - s.base).sort().join(',')}`);
    },
    expected: (p) => [`  out: set ${p}/x/a one idx=<index>`, `  out: set ${p}/x/b/c two idx=<index>`, `  out: delete ${p}/x/a  idx=<index>`, 'indexes: 2,3,4'],
  },
  {
    name: 'member update changes the peer URLs (shown by member list), and back; unknown ids fail',
    run: async (s) => {
      const list = await s.run('member', 'list');
      const id = list.stdout.split(':')[0] ?? '';
      const peer = s.target.peerURLs[0] ?? '';
      await s.runWith({ flags: ['-o', 'json'] }, 'member', 'update', id, 'http://127.0.0.1:9');
      await s.run('member', 'list');
      await s.run('member', 'update', id, peer);
      await s.run('member', 'list');
      await s.run('member', 'update', '1234', peer);
      await s.run('member', 'update', id);
    },
    expected: () => [
      '  out: Updated member with ID <member id> in cluster',
      '  out: <member id>: name=n1 peerURLs=http://127.0.0.1:9 clientURLs=<clientURL#0> isLeader=true',
      '  out: <member id>: name=n1 peerURLs=<peerURL#0> clientURLs=<clientURL#0> isLeader=true',
      '  err: No such member: 1234',
      `$ etcdctl member update <member id> <peerURL#0>`,
    ],
  },
];
// Not compared here: `member add` and `member remove` of an existing member, which would change the
// one-member cluster both sides share (a second voter that never starts leaves it without a quorum).
// test/cluster/membership.test.ts runs them on a three-member cluster. `member remove` of an unknown
// id is answered with a 404 on both, see the case below.

const servers = useBothServers();

async function transcript(target: Target, c: Case, prefix: string): Promise<string[]> {
  const s = await CtlSession.open(target);
  try {
    await c.run(s, prefix);
  } finally {
    await s.close();
  }
  return s.lines.map((l) => l.replace(/idx=\d+/g, 'idx=<index>'));
}

describe('etcdctl (API v2) sees the same from etcd-ts as from etcd', () => {
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const { etcd, etcdTs } = servers();
      const prefix = `/ctl${i}`;
      const [fromEtcd, fromEtcdTs] = await Promise.all([transcript(etcd, c, prefix), transcript(etcdTs, c, prefix)]);
      if (process.env['ETCDCTL_TRANSCRIPTS'] === '1') console.log(`--- ${c.name} (real etcd)\n${fromEtcd.join('\n')}`);
      for (const line of c.expected(prefix)) expect(fromEtcd, `real etcd: ${line}`).toContain(line);
      expect(fromEtcdTs.join('\n')).toBe(fromEtcd.join('\n'));
    }, 60_000);
  }
});
