// etcd's command line: the same flag names (`--flag value`, `--flag=value`, `-flag` as Go's flag
// package allows), ETCD_* environment variables for flags not given (flags win), etcd's defaults,
// and etcd's validation. Any problem is one line on stderr naming the flag, and exit code 2.
import { goParseBool } from './http/go-text.js';
import type { InitialClusterState, InitialMember, LogLevel, MemberConfig, TLSFiles } from './config.js';
import { CIPHER_SUITES } from './server/tls.js';
import { computeClusterId, computeMemberId } from './server/ids.js';
import { compareIds } from './raft/messages.js';
import { parseMemberURLs, type MemberURL } from './server/urls.js';
import { ETCD_SERVER_VERSION, etcdTsVersion } from './server/version.js';
import { parseBackupCommandLine, type BackupOptions } from './backup-cli.js';

export type CliOutcome =
  | { kind: 'run'; config: MemberConfig; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string }
  /** `etcd-ts backup ...` (src/backup-cli.ts). */
  | { kind: 'backup'; options: BackupOptions }
  /** `message` is the whole line to print (flag named, usage hint included); exit code 2. */
  | { kind: 'error'; message: string };

type FlagName =
  | 'name'
  | 'data-dir'
  | 'listen-client-urls'
  | 'advertise-client-urls'
  | 'listen-peer-urls'
  | 'initial-advertise-peer-urls'
  | 'initial-cluster'
  | 'initial-cluster-state'
  | 'initial-cluster-token'
  | 'heartbeat-interval'
  | 'election-timeout'
  | 'snapshot-count'
  | 'max-snapshots'
  | 'experimental-snapshot-catchup-entries'
  | 'max-request-bytes'
  | 'log-level'
  | 'follower-writes'
  | 'force-new-cluster'
  | 'initial-election-tick-advance'
  | 'strict-reconfig-check'
  | 'cert-file'
  | 'key-file'
  | 'trusted-ca-file'
  | 'client-cert-auth'
  | 'auto-tls'
  | 'peer-cert-file'
  | 'peer-key-file'
  | 'peer-trusted-ca-file'
  | 'peer-client-cert-auth'
  | 'peer-auto-tls'
  | 'cipher-suites'
  | 'debug-faults-token-file'
  | 'help'
  | 'version';

interface FlagSpec {
  boolean: boolean;
  /** etcd's default; '' for none. */
  default: string;
  help: string;
}

const DEFAULT_NAME = 'default';
/**
 * etcd 3.4's is 100000. Ours is lower: etcd-ts replays the log after the snapshot at every start
 * and holds it in memory, so 10000 keeps a restart to a fraction of a second and the log's memory
 * to a few MB, while a snapshot (a few hundred ms of background work for 100,000 keys) is still rare.
 */
export const DEFAULT_SNAPSHOT_COUNT = 10_000;
/** --max-snapshots below this keeps this many (see where it is read). */
export const MIN_KEPT_SNAPSHOTS = 3;
/** etcd has no upper bound; ours keeps one request from taking the whole heap. */
const MAX_REQUEST_BYTES_LIMIT = 1024 * 1024 * 1024;
/** etcd's maxElectionMs. */
const MAX_ELECTION_TIMEOUT_MS = 50_000;

const flags: Record<FlagName, FlagSpec> = {
  name: { boolean: false, default: DEFAULT_NAME, help: 'Human-readable name for this member.' },
  'data-dir': { boolean: false, default: '', help: 'Path to the data directory (default "${name}.etcd"): the raft log and member metadata.' },
  'listen-client-urls': { boolean: false, default: 'http://localhost:2379', help: 'List of URLs to listen on for client traffic.' },
  'advertise-client-urls': {
    boolean: false,
    default: 'http://localhost:2379',
    help: "List of this member's client URLs to advertise to the public.",
  },
  'listen-peer-urls': { boolean: false, default: 'http://localhost:2380', help: 'List of URLs to listen on for peer traffic.' },
  'initial-advertise-peer-urls': {
    boolean: false,
    default: 'http://localhost:2380',
    help: "List of this member's peer URLs to advertise to the rest of the cluster.",
  },
  'initial-cluster': {
    boolean: false,
    default: 'default=http://localhost:2380',
    help: 'Initial cluster configuration for bootstrapping (name=peerURL,...).',
  },
  'initial-cluster-state': { boolean: false, default: 'new', help: "Initial cluster state ('new' or 'existing')." },
  'initial-cluster-token': { boolean: false, default: 'etcd-cluster', help: 'Initial cluster token for the cluster during bootstrap.' },
  'heartbeat-interval': { boolean: false, default: '100', help: 'Time (in milliseconds) of a heartbeat interval.' },
  'election-timeout': { boolean: false, default: '1000', help: 'Time (in milliseconds) for an election to timeout.' },
  'snapshot-count': { boolean: false, default: String(DEFAULT_SNAPSHOT_COUNT), help: 'Number of committed transactions to trigger a snapshot to disk.' },
  'max-snapshots': { boolean: false, default: '5', help: 'Maximum number of snapshot files to retain (0 is unlimited).' },
  'experimental-snapshot-catchup-entries': { boolean: false, default: '5000', help: 'Number of entries for a slow follower to catch-up after compacting the raft storage entries.' },
  'max-request-bytes': { boolean: false, default: '1572864', help: 'Maximum client request size in bytes the server will accept.' },
  'log-level': { boolean: false, default: 'info', help: "Log level: 'debug', 'info', 'warn' or 'error'." },
  'follower-writes': {
    boolean: false,
    default: 'redirect',
    help: "etcd-ts only. What a follower does with a client's write: 'redirect' answers 307 to the leader; 'forward' proposes it through the leader and answers after applying it, as etcd does.",
  },
  'initial-election-tick-advance': { boolean: true, default: 'true', help: 'Whether to fast-forward initial election ticks on boot for faster election.' },
  'strict-reconfig-check': { boolean: true, default: 'true', help: 'Reject reconfiguration requests that would cause quorum loss.' },
  'debug-faults-token-file': {
    boolean: false,
    default: '',
    help: "etcd-ts only, for tests and the live view. A file whose first line (16+ characters) is a token: with it, PUT /debug/raft/faults on the client port blackholes raft traffic to and from the peers it names (a partition). Off when not given.",
  },
  'force-new-cluster': {
    boolean: true,
    default: 'false',
    help: 'Force to create a new one-member cluster from the data dir\'s log and data (disaster recovery; see `etcd-ts backup --help`). --initial-cluster must list only this member.',
  },
  'cert-file': { boolean: false, default: '', help: 'Path to the client server TLS cert file.' },
  'key-file': { boolean: false, default: '', help: 'Path to the client server TLS key file.' },
  'trusted-ca-file': { boolean: false, default: '', help: 'Path to the client server TLS trusted CA cert file.' },
  'client-cert-auth': { boolean: true, default: 'false', help: 'Enable client cert authentication.' },
  'auto-tls': { boolean: true, default: 'false', help: 'Client TLS using generated certificates (kept in <data-dir>/fixtures/client).' },
  'peer-cert-file': { boolean: false, default: '', help: 'Path to the peer server TLS cert file.' },
  'peer-key-file': { boolean: false, default: '', help: 'Path to the peer server TLS key file.' },
  'peer-trusted-ca-file': { boolean: false, default: '', help: 'Path to the peer server TLS trusted CA file.' },
  'peer-client-cert-auth': { boolean: true, default: 'false', help: 'Enable peer client cert authentication.' },
  'peer-auto-tls': { boolean: true, default: 'false', help: 'Peer TLS using generated certificates (kept in <data-dir>/fixtures/peer).' },
  'cipher-suites': {
    boolean: false,
    default: '',
    help: 'Comma-separated list of supported TLS 1.2 cipher suites between client/server and peers, by their Go names (empty will be auto-populated).',
  },
  help: { boolean: true, default: 'false', help: 'Show this help and exit.' },
  version: { boolean: true, default: 'false', help: 'Print the version and exit.' },
};

const flagNames = Object.keys(flags) as FlagName[];

function isFlagName(name: string): name is FlagName {
  return Object.prototype.hasOwnProperty.call(flags, name);
}

const USAGE_HINT = "(see 'etcd-ts --help')";

class CliError extends Error {}

function fail(message: string): never {
  throw new CliError(message);
}

/** ETCD_LISTEN_CLIENT_URLS for listen-client-urls, as etcd's flags.FlagToEnv. */
export function envName(flag: string): string {
  return 'ETCD_' + flag.toUpperCase().replace(/-/g, '_');
}

/** Parses argv (without node and script) and the environment into a validated config. */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliOutcome {
  if (argv[0] === 'backup') return parseBackupCommandLine(argv.slice(1));
  try {
    const { values, fromCommandLine } = readFlags(argv);
    if (values.get('help') === 'true') return { kind: 'help', text: helpText() };
    if (values.get('version') === 'true') return { kind: 'version', text: versionText() };
    const warnings = applyEnvironment(values, fromCommandLine, env);
    return { kind: 'run', config: buildConfig(values, fromCommandLine, env, warnings), warnings };
  } catch (err: unknown) {
    if (err instanceof CliError) return { kind: 'error', message: `etcd-ts: ${err.message} ${USAGE_HINT}` };
    throw err;
  }
}

/** The flags given on the command line: name -> raw value ('true' for a bare boolean). */
function readFlags(argv: readonly string[]): { values: Map<FlagName, string>; fromCommandLine: Set<FlagName> } {
  const values = new Map<FlagName, string>();
  const fromCommandLine = new Set<FlagName>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (i + 1 < argv.length) fail(`'${argv[i + 1]}' is not a valid flag`);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') fail(`'${arg}' is not a valid flag`);
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const rawName = eq === -1 ? body : body.slice(0, eq);
    const name = rawName === 'h' ? 'help' : rawName;
    if (!isFlagName(name)) fail(`unknown flag --${rawName}`);
    const spec = flags[name];
    let value: string;
    if (spec.boolean) {
      const text = eq === -1 ? 'true' : body.slice(eq + 1);
      const parsed = goParseBool(text);
      if (parsed === undefined) fail(`invalid boolean value "${text}" for flag --${name}`);
      value = String(parsed);
    } else if (eq !== -1) {
      value = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) fail(`flag needs an argument: --${name}`);
      value = argv[++i]!;
    }
    values.set(name, value);
    fromCommandLine.add(name);
  }
  return { values, fromCommandLine };
}

/** Fills flags not given on the command line from ETCD_* variables; returns etcd's warnings. */
function applyEnvironment(
  values: Map<FlagName, string>,
  fromCommandLine: ReadonlySet<FlagName>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const warnings: string[] = [];
  for (const name of flagNames) {
    if (name === 'help' || name === 'version') continue;
    const value = env[envName(name)];
    if (value === undefined) continue;
    if (fromCommandLine.has(name)) {
      warnings.push(`recognized environment variable ${envName(name)}, but unused: shadowed by corresponding flag`);
      continue;
    }
    if (flags[name].boolean) {
      const parsed = goParseBool(value);
      if (parsed === undefined) fail(`invalid boolean value "${value}" for ${envName(name)} (flag --${name})`);
      values.set(name, String(parsed));
      continue;
    }
    values.set(name, value);
  }
  return warnings;
}

/** Where a value came from, for error messages: the flag, or the variable that set it. */
function source(name: FlagName, fromCommandLine: ReadonlySet<FlagName>, env: Readonly<Record<string, string | undefined>>): string {
  return !fromCommandLine.has(name) && env[envName(name)] !== undefined ? `${envName(name)} (flag --${name})` : `flag --${name}`;
}

function buildConfig(
  values: ReadonlyMap<FlagName, string>,
  fromCommandLine: ReadonlySet<FlagName>,
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[] = [],
): MemberConfig {
  const isSet = (name: FlagName): boolean => values.has(name);
  const raw = (name: FlagName): string => values.get(name) ?? flags[name].default;
  const where = (name: FlagName): string => source(name, fromCommandLine, env);

  const urls = (name: FlagName): MemberURL[] => {
    const text = raw(name);
    const parsed = parseMemberURLs(text.split(','));
    if ('error' in parsed) fail(`invalid value "${text}" for ${where(name)}: ${parsed.error}`);
    return parsed;
  };
  const uint = (name: FlagName): number => {
    const text = raw(name);
    if (!/^[0-9]{1,15}$/.test(text)) fail(`invalid value "${text}" for ${where(name)}: not a non-negative integer`);
    return Number(text);
  };

  const name = raw('name');
  if (name === '') fail(`invalid value "" for ${where('name')}: the name must not be empty`);

  const listenClientURLs = urls('listen-client-urls');
  const advertiseClientURLs = urls('advertise-client-urls');
  const listenPeerURLs = urls('listen-peer-urls');
  const initialAdvertisePeerURLs = urls('initial-advertise-peer-urls');
  for (const [flag, listen] of [['listen-client-urls', listenClientURLs], ['listen-peer-urls', listenPeerURLs]] as const) {
    for (const u of listen) {
      if (!isBindableHost(u.host)) fail(`invalid value "${raw(flag)}" for ${where(flag)}: expected IP in URL for binding (${u.text})`);
    }
  }
  // etcd: an explicit listen address needs an explicit advertised one (clients must reach it)
  if (isSet('listen-client-urls') && !isSet('advertise-client-urls')) {
    fail('--advertise-client-urls is required when --listen-client-urls is set explicitly');
  }

  const state = raw('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') {
    fail(`invalid value "${state}" for ${where('initial-cluster-state')}: valid values are "new" and "existing"`);
  }
  const token = raw('initial-cluster-token');
  if (token === '') fail(`invalid value "" for ${where('initial-cluster-token')}: the token must not be empty`);

  // etcd (UpdateDefaultClusterFromName): `--name abc` alone bootstraps abc=<its advertised peer URLs>
  let initialClusterText = raw('initial-cluster');
  if (name !== DEFAULT_NAME && initialClusterText === flags['initial-cluster'].default) {
    initialClusterText = initialAdvertisePeerURLs.map((u) => `${name}=${u.text}`).join(',');
  }
  const initialCluster = parseInitialCluster(initialClusterText, token, where('initial-cluster'));
  const self = initialCluster.find((m) => m.name === name);
  if (self === undefined) {
    fail(`couldn't find local name "${name}" in the initial cluster configuration (${where('initial-cluster')}: "${initialClusterText}")`);
  }
  const advertisedPeers = initialAdvertisePeerURLs.map((u) => u.text);
  if (self.peerURLs.join(',') !== advertisedPeers.join(',')) {
    fail(
      `--initial-cluster has ${name}=${self.peerURLs.join(',')} but missing from --initial-advertise-peer-urls=${advertisedPeers.join(',')}`,
    );
  }

  const heartbeatIntervalMs = uint('heartbeat-interval');
  const electionTimeoutMs = uint('election-timeout');
  if (heartbeatIntervalMs === 0) fail(`--heartbeat-interval must be >0 (set to ${heartbeatIntervalMs}ms)`);
  if (electionTimeoutMs === 0) fail(`--election-timeout must be >0 (set to ${electionTimeoutMs}ms)`);
  if (5 * heartbeatIntervalMs > electionTimeoutMs) {
    fail(`--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`);
  }
  if (electionTimeoutMs > MAX_ELECTION_TIMEOUT_MS) {
    fail(`--election-timeout[${electionTimeoutMs}ms] is too long, and should be set less than ${MAX_ELECTION_TIMEOUT_MS}ms`);
  }
  // 0 takes the default, as etcd's server does with a zero SnapshotCount
  const snapshotCount = uint('snapshot-count') || DEFAULT_SNAPSHOT_COUNT;
  // At least the files a restart may need are kept: the one the log records, a newer local one not
  // recorded yet, and a leader's one whose record a crash cut off (0 keeps all, as etcd).
  const maxSnapshots = uint('max-snapshots') === 0 ? 0 : Math.max(MIN_KEPT_SNAPSHOTS, uint('max-snapshots'));
  const snapshotCatchUpEntries = uint('experimental-snapshot-catchup-entries');
  if (snapshotCatchUpEntries === 0) fail(`invalid value "${raw('experimental-snapshot-catchup-entries')}" for ${where('experimental-snapshot-catchup-entries')}: must be at least 1`);
  const maxRequestBytes = uint('max-request-bytes');
  if (maxRequestBytes === 0 || maxRequestBytes > MAX_REQUEST_BYTES_LIMIT) {
    fail(`invalid value "${raw('max-request-bytes')}" for ${where('max-request-bytes')}: must be between 1 and ${MAX_REQUEST_BYTES_LIMIT}`);
  }
  const followerWrites = raw('follower-writes');
  if (followerWrites !== 'redirect' && followerWrites !== 'forward') {
    fail(`invalid value "${followerWrites}" for ${where('follower-writes')}: valid values are "redirect" and "forward"`);
  }
  const forceNewCluster = raw('force-new-cluster') === 'true';
  if (forceNewCluster && initialCluster.length !== 1) {
    fail(
      `--force-new-cluster starts a one-member cluster: ${where('initial-cluster')} must list only this member (it lists ${initialCluster.length}: ${initialCluster.map((m) => m.name).join(', ')}); ` +
        `leave it out or set it to ${name}=${advertisedPeers.join(',')}, and keep it so on later restarts`,
    );
  }
  const tlsSide = (side: 'client' | 'peer'): TLSFiles | undefined => {
    const p = side === 'peer' ? 'peer-' : '';
    const f = (n: string): FlagName => `${p}${n}` as FlagName;
    const files: TLSFiles = {
      certFile: raw(f('cert-file')),
      keyFile: raw(f('key-file')),
      trustedCAFile: raw(f('trusted-ca-file')),
      clientCertAuth: raw(f('client-cert-auth')) === 'true',
      autoTLS: raw(f('auto-tls')) === 'true',
    };
    if ((files.certFile === '') !== (files.keyFile === '')) {
      const [given, missing] = files.certFile === '' ? [f('key-file'), f('cert-file')] : [f('cert-file'), f('key-file')];
      fail(`${where(given)} is set but --${missing} is not: a TLS key and certificate go together`);
    }
    if (files.autoTLS && files.certFile !== '') {
      warnings.push(`ignoring ${side} auto TLS since certs given (--${f('auto-tls')} with --${f('cert-file')})`);
      files.autoTLS = false;
    }
    const listen = side === 'client' ? listenClientURLs : listenPeerURLs;
    const hasCert = files.certFile !== '' || files.autoTLS;
    for (const u of listen) {
      if (u.scheme === 'https' && !hasCert) {
        fail(`TLS key/cert (--${f('cert-file')}, --${f('key-file')}) must be provided for ${side} url ${u.text} with HTTPS scheme`);
      }
    }
    if (files.clientCertAuth) {
      if (files.trustedCAFile === '') fail(`${where(f('client-cert-auth'))} needs --${f('trusted-ca-file')}: the CA whose signature a ${side}'s certificate must carry`);
      for (const u of listen) {
        if (u.scheme === 'http') warnings.push(`The scheme of ${side} url ${u.text} is HTTP while client cert auth (--${f('client-cert-auth')}) is enabled. Ignored client cert auth for this url.`);
      }
    }
    const any = hasCert || files.trustedCAFile !== '' || files.clientCertAuth;
    return any ? files : undefined;
  };
  const clientTLS = tlsSide('client');
  const peerTLS = tlsSide('peer');
  const cipherText = raw('cipher-suites');
  const cipherSuites = cipherText === '' ? undefined : cipherText.split(',').map((c) => c.trim());
  for (const c of cipherSuites ?? []) {
    if (CIPHER_SUITES[c] === undefined) fail(`unexpected TLS cipher suite "${c}" (${where('cipher-suites')})`);
  }

  const logLevel = raw('log-level');
  if (!isLogLevel(logLevel)) fail(`invalid value "${logLevel}" for ${where('log-level')}: valid levels are debug, info, warn, error`);

  return {
    name,
    dataDir: raw('data-dir') !== '' ? raw('data-dir') : `${name}.etcd`,
    listenClientURLs,
    advertiseClientURLs: advertiseClientURLs.map((u) => u.text),
    listenPeerURLs,
    initialAdvertisePeerURLs: advertisedPeers,
    initialCluster,
    initialClusterState: state as InitialClusterState,
    initialClusterToken: token,
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount,
    maxSnapshots,
    snapshotCatchUpEntries,
    followerWrites,
    maxRequestBytes,
    logLevel,
    ...(forceNewCluster ? { forceNewCluster: true } : {}),
    ...(raw('initial-election-tick-advance') === 'false' ? { initialElectionTickAdvance: false } : {}),
    ...(raw('strict-reconfig-check') === 'false' ? { strictReconfigCheck: false } : {}),
    ...(clientTLS !== undefined ? { clientTLS } : {}),
    ...(peerTLS !== undefined ? { peerTLS } : {}),
    ...(cipherSuites !== undefined ? { cipherSuites } : {}),
    ...(raw('debug-faults-token-file') !== '' ? { debugFaultsTokenFile: raw('debug-faults-token-file') } : {}),
    memberId: self.id,
    clusterId: computeClusterId(initialCluster, token),
  };
}

/** `name=url,name=url,...` (a name may repeat for several URLs), as etcd's types.NewURLsMap. */
function parseInitialCluster(text: string, token: string, where: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const entry of text.split(',')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const url = eq === -1 ? '' : entry.slice(eq + 1);
    byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  if (byName.size === 0) fail(`invalid value "${text}" for ${where}: no members given`);
  const seen = new Set<string>();
  const members: InitialMember[] = [];
  for (const [name, list] of byName) {
    const parsed = parseMemberURLs(list);
    if ('error' in parsed) fail(`invalid value "${text}" for ${where}: ${parsed.error}`);
    const peerURLs = parsed.map((u) => u.text);
    for (const u of peerURLs) {
      if (seen.has(u)) fail(`invalid value "${text}" for ${where}: initial cluster has duplicate url ${u}`);
      seen.add(u);
    }
    members.push({ name, id: computeMemberId(peerURLs, token), peerURLs });
  }
  return members.sort((a, b) => compareIds(a.id, b.id));
}

function isLogLevel(s: string): s is LogLevel {
  return s === 'debug' || s === 'info' || s === 'warn' || s === 'error';
}

/** etcd binds only to IP addresses (and localhost, its default). */
function isBindableHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(host)) return true;
  return host.includes(':') && /^[0-9A-Fa-f:.]+$/.test(host);
}

export function helpText(): string {
  const lines = [
    'Usage:',
    '',
    '  etcd-ts [flags]',
    '    Start an etcd-ts member: an etcd v2 API compatible server.',
    '',
    '  etcd-ts backup --data-dir DIR --backup-dir DIR [--endpoint PEER_URL]',
    '    Copy a data dir (of a stopped or a running member) into a backup that starts with --force-new-cluster',
    "    (see 'etcd-ts backup --help').",
    '',
    '  etcd-ts --version',
    '    Show the version of etcd-ts.',
    '',
    '  etcd-ts -h | --help',
    '    Show the help information about etcd-ts.',
    '',
    'Flags (each also read from ETCD_<FLAG> in upper case with _ for -, e.g. ETCD_NAME; flags win):',
    '',
  ];
  for (const name of flagNames) {
    const spec = flags[name];
    lines.push(`  --${name}${spec.boolean ? '' : ` '${spec.default}'`}`);
    lines.push(`    ${spec.help}`);
  }
  return lines.join('\n') + '\n';
}

export function versionText(): string {
  return [
    `etcd-ts Version: ${etcdTsVersion()}`,
    `etcd API Version: ${ETCD_SERVER_VERSION} (v2 keys API)`,
    `Node Version: ${process.version}`,
    `Node OS/Arch: ${process.platform}/${process.arch}`,
  ].join('\n') + '\n';
}
