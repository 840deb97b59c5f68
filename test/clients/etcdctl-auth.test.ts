// `ETCDCTL_API=2 etcdctl user / role / auth` against etcd-ts, side by side with a real etcd (own pair
// of servers: auth state is global). The cases run IN ORDER and build on each other: users and
// roles, grants and revokes, `auth enable`, commands with `--username user:password` (allowed and
// denied), a guest role without rights, `auth disable`. The transcripts (exit code, stdout, stderr;
// indexes relative to the case's start) must be equal, and contain the lines each case expects.
// Passwords: `user add name:password` and `--username name:password` take them on the command line;
// `user passwd` and `--username name` prompt, and read the answer from stdin (fed by the test; the
// prompt's `stty` complaint about stdin not being a terminal is part of both transcripts).
//   npx vitest run test/clients/etcdctl-auth.test.ts   (ETCDCTL_TRANSCRIPTS=1 prints them)
import { describe, expect, it } from 'vitest';
import type { Target } from '../helpers/target.js';
import { useBothServers } from './both-servers.js';
import { CtlSession } from './etcdctl-session.js';

interface Case {
  name: string;
  run: (s: CtlSession) => Promise<void>;
  /** Lines (after normalisation) the transcript must contain, on both servers. */
  expected: string[];
}

const root = { flags: ['--username', 'root:rootpw'] };
const dan = (password: string): { flags: string[] } => ({ flags: ['--username', `dan:${password}`] });

const cases: Case[] = [
  {
    name: 'user add / get / list, a second add of the same user changes its password, malformed commands',
    run: async (s) => {
      await s.run('user', 'list');
      await s.run('user', 'add', 'root:first');
      await s.run('user', 'add', 'root:rootpw');
      await s.run('user', 'add', 'dan:danpw');
      await s.run('user', 'get', 'dan');
      await s.run('user', 'get', 'root');
      await s.run('user', 'get', 'nobody');
      await s.run('user', 'list');
      await s.run('user', 'add');
      await s.run('user', 'get');
    },
    expected: ['  out: User root created', '  out: User dan created', '  out: User: dan', '  out: Roles:  root', '  err: auth: User nobody does not exist.', '  out: dan', '  out: root'],
  },
  {
    name: 'role add / grant (--path with --read, --write, --readwrite) / get / list / revoke',
    run: async (s) => {
      await s.run('role', 'add', 'r1');
      await s.run('role', 'add', 'r1');
      await s.run('role', 'grant', 'r1', '--path', '/a/*', '--readwrite');
      await s.run('role', 'grant', 'r1', '-path', '/b', '-read');
      await s.run('role', 'grant', 'r1', '--path', '/c/*', '--write');
      await s.run('role', 'grant', 'r1', '--path', '/d', '--rw');
      await s.run('role', 'get', 'r1');
      await s.run('role', 'revoke', 'r1', '--path', '/d', '--readwrite');
      await s.run('role', 'revoke', 'r1', '--path', '/zz', '--read');
      await s.run('role', 'get', 'r1');
      await s.run('role', 'get', 'root');
      await s.run('role', 'get', 'nobody');
      await s.run('role', 'list');
      await s.run('role', 'grant', 'r1', '--path', '/x');
      await s.run('role', 'grant', 'r1', '--read');
      await s.run('role', 'add');
      await s.run('role', 'remove', 'nobody');
    },
    expected: [
      '  out: Role r1 created',
      '  err: Role r1 already exists',
      '  out: Role r1 updated',
      '  out: KV Read:',
      '  out: \t/a/*',
      '  out: \t/c/*',
      '  err: auth: Role not updated. Use grant/revoke to update the role.',
      '  err: Please specify exactly one of --read, --write or --readwrite',
    ],
  },
  {
    name: 'user grant / revoke --roles, user passwd reads the new password from stdin',
    run: async (s) => {
      await s.run('user', 'grant', 'dan', '--roles', 'r1');
      await s.run('user', 'get', 'dan');
      await s.run('user', 'revoke', 'dan', '--roles', 'r1');
      await s.run('user', 'get', 'dan');
      await s.run('user', 'revoke', 'dan', '--roles', 'r1');
      await s.run('user', 'grant', 'dan', '--roles', 'r1');
      await s.runWith({ input: 'newpw\n' }, 'user', 'passwd', 'dan');
      await s.runWith({ input: '' }, 'user', 'passwd', 'dan');
      await s.runWith({ input: 'x\n' }, 'user', 'passwd', 'nobody');
    },
    expected: ['  out: User dan updated', '  out: Roles:  r1', '  out: Password updated'],
  },
  {
    name: 'auth enable: the guest role keeps anonymous access; --username decides per role; wrong passwords are denied',
    run: async (s) => {
      await s.run('auth', 'enable');
      await s.run('auth', 'enable');
      await s.run('set', '/a/k', 'anon');
      await s.run('get', '/a/k');
      await s.run('role', 'list');
      await s.runWith(root, 'role', 'get', 'guest');
      await s.runWith(root, 'role', 'list');
      await s.runWith(dan('newpw'), 'set', '/a/k', 'dan');
      await s.runWith(dan('newpw'), 'get', '/b');
      await s.runWith(dan('newpw'), 'set', '/b', 'no');
      await s.runWith(dan('newpw'), 'set', '/c/k', 'w');
      await s.runWith(dan('newpw'), 'get', '/c/k');
      await s.runWith(dan('newpw'), 'user', 'list');
      await s.runWith(dan('danpw'), 'get', '/a/k');
      await s.runWith({ flags: ['--username', 'nobody:x'] }, 'get', '/a/k');
      await s.runWith({ flags: ['--username', 'dan'], input: 'newpw\n' }, 'get', '/a/k');
      await s.runWith({ flags: ['-u', 'root:rootpw', '-o', 'json'] }, 'get', '/a/k');
    },
    expected: [
      '  out: Authentication Enabled',
      '  out: anon',
      '  out: Role: guest',
      '  out: dan',
      '  err: Error:  110: The request requires user authentication (Insufficient credentials) [0]',
      '  out: w',
      '  err: Insufficient credentials',
    ],
  },
  {
    name: 'guest without rights: anonymous keys access is denied, root still works; then guest gets its rights back',
    run: async (s) => {
      await s.runWith(root, 'role', 'revoke', 'guest', '--path', '/*', '--readwrite');
      await s.run('get', '/a/k');
      await s.run('set', '/a/k', 'anon');
      await s.run('ls', '/');
      await s.runWith(root, 'get', '/a/k');
      await s.runWith(dan('newpw'), 'get', '/a/k');
      await s.runWith(root, 'role', 'get', 'guest');
      await s.runWith(root, 'role', 'grant', 'guest', '--path', '/*', '--readwrite');
      await s.run('get', '/a/k');
    },
    expected: ['  out: Role guest updated', '  err: Error:  110: The request requires user authentication (Insufficient credentials) [0]', '  out: dan'],
  },
  {
    name: 'user remove and role remove need root; auth disable needs root; then anyone may manage users again',
    run: async (s) => {
      await s.run('user', 'remove', 'dan');
      await s.runWith(root, 'user', 'remove', 'dan');
      await s.runWith(root, 'user', 'remove', 'dan');
      await s.runWith(root, 'role', 'remove', 'r1');
      await s.runWith(root, 'user', 'list');
      await s.run('auth', 'disable');
      await s.runWith(dan('newpw'), 'auth', 'disable');
      await s.runWith(root, 'auth', 'disable');
      await s.run('auth', 'disable');
      await s.run('role', 'list');
      await s.run('role', 'get', 'guest');
      await s.run('role', 'remove', 'guest');
      await s.run('user', 'remove', 'root');
      await s.run('user', 'list');
    },
    expected: ['  out: User dan removed', '  err: auth: User dan does not exist', '  out: Role r1 removed', '  out: Authentication Disabled', '  err: auth: already disabled', '  out: User root removed'],
  },
];

const servers = useBothServers();

async function transcript(target: Target, c: Case): Promise<string[]> {
  const s = await CtlSession.open(target);
  try {
    await c.run(s);
  } finally {
    await s.close();
  }
  return s.lines;
}

describe('etcdctl (API v2) user, role and auth: etcd-ts answers as etcd does', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { etcd, etcdTs } = servers();
      const [fromEtcd, fromEtcdTs] = await Promise.all([transcript(etcd, c), transcript(etcdTs, c)]);
      if (process.env['ETCDCTL_TRANSCRIPTS'] === '1') console.log(`--- ${c.name} (real etcd)\n${fromEtcd.join('\n')}`);
      for (const line of c.expected) expect(fromEtcd, `real etcd: ${line}`).toContain(line);
      expect(fromEtcdTs.join('\n')).toBe(fromEtcd.join('\n'));
    }, 60_000);
  }
});
