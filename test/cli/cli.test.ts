// etcd's command line (flags, ETCD_* variables, defaults, validation) and member/cluster ids.
import { describe, expect, it } from 'vitest';
import { envName, parseCommandLine, type CliOutcome } from '../../src/cli.js';
import type { MemberConfig } from '../../src/config.js';
import { computeClusterId, computeMemberId, formatId } from '../../src/server/ids.js';

function config(argv: string[], env: Record<string, string> = {}): MemberConfig {
  const outcome = parseCommandLine(argv, env);
  if (outcome.kind !== 'run') throw new Error(`expected a config, got ${JSON.stringify(outcome)}`);
  return outcome.config;
}

function errorOf(argv: string[], env: Record<string, string> = {}): string {
  const outcome: CliOutcome = parseCommandLine(argv, env);
  if (outcome.kind !== 'error') throw new Error(`expected an error, got ${outcome.kind}`);
  expect(outcome.message.split('\n')).toHaveLength(1);
  expect(outcome.message).toContain("(see 'etcd-ts --help')");
  return outcome.message;
}

const local = (c: number, p: number): string[] => [
  '--listen-client-urls', `http://127.0.0.1:${c}`,
  '--advertise-client-urls', `http://127.0.0.1:${c}`,
  '--listen-peer-urls', `http://127.0.0.1:${p}`,
  '--initial-advertise-peer-urls', `http://127.0.0.1:${p}`,
];

describe('defaults', () => {
  it('are etcd\'s', () => {
    const c = config([]);
    expect(c).toMatchObject({
      name: 'default',
      dataDir: 'default.etcd',
      advertiseClientURLs: ['http://localhost:2379'],
      initialAdvertisePeerURLs: ['http://localhost:2380'],
      initialCluster: [{ name: 'default', peerURLs: ['http://localhost:2380'] }],
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      snapshotCount: 10000,
      maxSnapshots: 5,
      snapshotCatchUpEntries: 5000,
      maxRequestBytes: 1572864,
      logLevel: 'info',
      followerWrites: 'redirect',
    });
    expect(c.listenClientURLs.map((u) => u.text)).toEqual(['http://localhost:2379']);
    expect(formatId(c.memberId)).toBe('8e9e05c52164694d');
    expect(formatId(c.clusterId)).toBe('cdf818194e3a8c32');
  });

  it('derive the data dir and a lone initial cluster from --name (etcd\'s UpdateDefaultClusterFromName)', () => {
    const c = config(['--name', 'abc', '--initial-advertise-peer-urls', 'http://127.0.0.1:12380']);
    expect(c.dataDir).toBe('abc.etcd');
    expect(c.initialCluster).toEqual([{ name: 'abc', id: c.memberId, peerURLs: ['http://127.0.0.1:12380'] }]);
  });
});

describe('flag syntax', () => {
  it('accepts --flag value, --flag=value and Go\'s single dash', () => {
    const c = config(['--name=n1', '-initial-cluster', 'n1=http://localhost:2380', '--log-level', 'warn']);
    expect(c.name).toBe('n1');
    expect(c.logLevel).toBe('warn');
  });

  it('--follower-writes takes redirect or forward, also from ETCD_FOLLOWER_WRITES', () => {
    expect(config(['--follower-writes', 'forward']).followerWrites).toBe('forward');
    expect(config(['--follower-writes=redirect']).followerWrites).toBe('redirect');
    expect(config([], { ETCD_FOLLOWER_WRITES: 'forward' }).followerWrites).toBe('forward');
  });

  it('reads ETCD_* variables for flags not given, and flags win over them', () => {
    const env = { ETCD_NAME: 'fromenv', ETCD_HEARTBEAT_INTERVAL: '50', ETCD_INITIAL_CLUSTER: 'fromenv=http://localhost:2380' };
    expect(config([], env)).toMatchObject({ name: 'fromenv', heartbeatIntervalMs: 50 });
    const outcome = parseCommandLine(['--name', 'flag', '--initial-cluster', 'flag=http://localhost:2380'], env);
    expect(outcome.kind === 'run' && outcome.config.name).toBe('flag');
    expect(outcome.kind === 'run' && outcome.warnings).toEqual([
      'recognized environment variable ETCD_NAME, but unused: shadowed by corresponding flag',
      'recognized environment variable ETCD_INITIAL_CLUSTER, but unused: shadowed by corresponding flag',
    ]);
    expect(envName('listen-client-urls')).toBe('ETCD_LISTEN_CLIENT_URLS');
  });

  it('prints help and version', () => {
    expect(parseCommandLine(['--help'], {})).toMatchObject({ kind: 'help', text: expect.stringContaining('--initial-cluster-token') });
    expect(parseCommandLine(['-h'], {}).kind).toBe('help');
    const version = parseCommandLine(['--version'], {});
    expect(version.kind === 'version' && version.text).toMatch(/^etcd-ts Version: \d+\.\d+\.\d+\netcd API Version: 3\.4\.23/);
  });
});

describe('validation: one line naming the flag', () => {
  it.each([
    [['--foo'], 'unknown flag --foo'],
    [['--name'], 'flag needs an argument: --name'],
    [['stray'], "'stray' is not a valid flag"],
    [['--heartbeat-interval', 'abc'], 'invalid value "abc" for flag --heartbeat-interval'],
    [['--heartbeat-interval=-5'], 'invalid value "-5" for flag --heartbeat-interval'],
    [['--snapshot-count', '1e3'], 'invalid value "1e3" for flag --snapshot-count'],
    [['--max-request-bytes', '0'], 'for flag --max-request-bytes'],
    [['--heartbeat-interval', '0'], '--heartbeat-interval must be >0'],
    [['--election-timeout', '400'], '--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]'],
    [['--election-timeout', '60000'], '--election-timeout[60000ms] is too long'],
    [['--initial-cluster-state', 'weird'], 'invalid value "weird" for flag --initial-cluster-state'],
    [['--log-level', 'verbose'], 'invalid value "verbose" for flag --log-level'],
    [['--follower-writes', 'proxy'], 'invalid value "proxy" for flag --follower-writes: valid values are "redirect" and "forward"'],
    [['--advertise-client-urls', 'foo'], 'for flag --advertise-client-urls: URL scheme must be http, https, unix, or unixs: foo'],
    [['--advertise-client-urls', 'http://127.0.0.1:1/path'], 'URL must not contain a path: http://127.0.0.1:1/path'],
    [['--advertise-client-urls', 'http://127.0.0.1'], 'URL address does not have the form "host:port": http://127.0.0.1'],
    [['--listen-client-urls', 'http://example.com:2379', '--advertise-client-urls', 'http://x:1'], 'expected IP in URL for binding'],
    [['--listen-client-urls', 'http://127.0.0.1:1'], '--advertise-client-urls is required when --listen-client-urls is set explicitly'],
    [['--name', 'x', '--initial-cluster', 'y=http://localhost:2380'], 'couldn\'t find local name "x" in the initial cluster configuration'],
    [['--initial-advertise-peer-urls', 'http://127.0.0.1:1'], '--initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=http://127.0.0.1:1'],
    [['--initial-cluster', 'default=http://localhost:2380,b=http://localhost:2380'], 'initial cluster has duplicate url http://localhost:2380'],
    [['--initial-cluster', 'default'], 'for flag --initial-cluster'],
    [['--help=maybe'], 'invalid boolean value "maybe" for flag --help'],
  ])('%j -> %s', (argv, fragment) => {
    expect(errorOf(argv)).toContain(fragment);
  });

  it('names the ETCD_* variable when the bad value came from the environment', () => {
    // --max-snapshots keeps at least the 3 files a restart may need; 0 keeps all
    expect(config(['--max-snapshots', '1']).maxSnapshots).toBe(3);
    expect(config(['--max-snapshots', '0']).maxSnapshots).toBe(0);
    expect(config(['--max-snapshots', '7']).maxSnapshots).toBe(7);
    expect(errorOf([], { ETCD_SNAPSHOT_COUNT: 'lots' })).toContain('invalid value "lots" for ETCD_SNAPSHOT_COUNT (flag --snapshot-count)');
  });

  it('accepts a three-member initial cluster naming this member with matching URLs', () => {
    const c = config([
      '--name', 'n2', ...local(22379, 22380),
      '--initial-cluster', 'n1=http://127.0.0.1:12380,n2=http://127.0.0.1:22380,n3=http://127.0.0.1:32380',
      '--initial-cluster-token', 'tok',
    ]);
    expect(c.initialCluster.map((m) => m.name).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(c.memberId).toBe(c.initialCluster.find((m) => m.name === 'n2')!.id);
  });
});

describe('ids', () => {
  // etcd 3.4.23 printed these for the same inputs: ours are exactly etcd's 64-bit ids
  it('derive the member id as etcd (sha1 of sorted peer URLs + token), all 64 bits', () => {
    expect(formatId(computeMemberId(['http://localhost:2380'], 'etcd-cluster'))).toBe('8e9e05c52164694d');
    expect(formatId(computeMemberId(['http://127.0.0.1:44844'], 'etcd-cluster'))).toBe('3317f065a2212dae');
  });

  it('derive the cluster id as etcd (sha1 of the sorted member ids), all 64 bits', () => {
    expect(formatId(computeClusterId([{ peerURLs: ['http://127.0.0.1:44844'] }], 'etcd-cluster'))).toBe('9002d3696eaf8577');
    const a = computeClusterId([{ peerURLs: ['http://a:1'] }, { peerURLs: ['http://b:1'] }], 't');
    const b = computeClusterId([{ peerURLs: ['http://b:1'] }, { peerURLs: ['http://a:1'] }], 't');
    expect(a).toBe(b);
    expect(typeof a === 'bigint' && a > 0n && a < 1n << 64n).toBe(true);
  });
});

describe('TLS flags', () => {
  const https = (c: number, p: number): string[] => [
    '--listen-client-urls', `https://127.0.0.1:${c},http://127.0.0.1:${c + 1}`,
    '--advertise-client-urls', `https://127.0.0.1:${c}`,
    '--listen-peer-urls', `https://127.0.0.1:${p}`,
    '--initial-advertise-peer-urls', `https://127.0.0.1:${p}`,
    '--initial-cluster', `default=https://127.0.0.1:${p}`,
  ];

  it('no TLS flag leaves both sides without TLS', () => {
    const c = config([]);
    expect(c.clientTLS).toBeUndefined();
    expect(c.peerTLS).toBeUndefined();
    expect(c.cipherSuites).toBeUndefined();
  });

  it('are read from flags and ETCD_* variables, each side on its own', () => {
    const c = config([...https(2379, 2380), '--cert-file', 'c.crt', '--key-file', 'c.key', '--client-cert-auth', '--trusted-ca-file', 'ca.crt'], {
      ETCD_PEER_CERT_FILE: 'p.crt',
      ETCD_PEER_KEY_FILE: 'p.key',
      ETCD_PEER_TRUSTED_CA_FILE: 'pca.crt',
      ETCD_PEER_CLIENT_CERT_AUTH: 'true',
      ETCD_CIPHER_SUITES: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    });
    expect(c.clientTLS).toEqual({ certFile: 'c.crt', keyFile: 'c.key', trustedCAFile: 'ca.crt', clientCertAuth: true, autoTLS: false });
    expect(c.peerTLS).toEqual({ certFile: 'p.crt', keyFile: 'p.key', trustedCAFile: 'pca.crt', clientCertAuth: true, autoTLS: false });
    expect(c.cipherSuites).toEqual(['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256']);
    expect(c.listenClientURLs.map((u) => u.scheme)).toEqual(['http', 'https']);
  });

  it('--auto-tls stands in for a certificate; with certificates given it is ignored with etcd\'s warning', () => {
    expect(config([...https(2379, 2380), '--auto-tls', '--peer-auto-tls']).clientTLS).toMatchObject({ autoTLS: true, certFile: '' });
    const outcome = parseCommandLine([...https(2379, 2380), '--peer-auto-tls', '--auto-tls', '--cert-file', 'c.crt', '--key-file', 'c.key'], {});
    expect(outcome.kind === 'run' && outcome.config.clientTLS).toMatchObject({ autoTLS: false, certFile: 'c.crt' });
    expect(outcome.kind === 'run' && outcome.warnings).toContain('ignoring client auto TLS since certs given (--auto-tls with --cert-file)');
  });

  it('client cert auth on an http URL is ignored for that URL with etcd\'s warning', () => {
    const outcome = parseCommandLine(['--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379', '--client-cert-auth', '--trusted-ca-file', 'ca.crt'], {});
    expect(outcome.kind).toBe('run');
    expect(outcome.kind === 'run' && outcome.warnings).toContain(
      'The scheme of client url http://127.0.0.1:2379 is HTTP while client cert auth (--client-cert-auth) is enabled. Ignored client cert auth for this url.',
    );
  });

  it('refuses an https URL without a certificate, a lone cert or key, cert auth without a CA, an unknown suite', () => {
    expect(errorOf(https(2379, 2380))).toContain('TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme');
    expect(errorOf([...https(2379, 2380), '--auto-tls'])).toContain('TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url https://127.0.0.1:2380 with HTTPS scheme');
    expect(errorOf([...https(2379, 2380), '--auto-tls', '--peer-auto-tls', '--peer-key-file', 'k'])).toContain('flag --peer-key-file is set but --peer-cert-file is not');
    expect(errorOf([...https(2379, 2380), '--auto-tls', '--peer-auto-tls', '--peer-client-cert-auth'])).toContain('--peer-client-cert-auth needs --peer-trusted-ca-file');
    expect(errorOf([...https(2379, 2380), '--auto-tls', '--peer-auto-tls'], { ETCD_CIPHER_SUITES: 'RC4' })).toContain('unexpected TLS cipher suite "RC4" (ETCD_CIPHER_SUITES (flag --cipher-suites))');
  });
});
