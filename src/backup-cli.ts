// `etcd-ts backup`: the command line of the backup command (run by src/backup-command.ts). Flags
// as etcdctl backup names them (--data-dir, --backup-dir; --with-v3 is accepted and means nothing
// here), Go-style like the member's (`--flag value`, `--flag=value`, `-flag`). Any problem is one
// line naming the flag, exit code 2.
import { goParseBool } from './http/go-text.js';
import { parseMemberURLs } from './server/urls.js';

export interface BackupOptions {
  dataDir: string;
  backupDir: string;
  /** The running member's peer URL: used when the data dir is locked by that member. */
  endpoint?: string;
  /** Copy what the running member has without confirming its commit index with a quorum. */
  skipQuorum: boolean;
  /** Bound on the endpoint's silence (connect, quorum confirmation, each chunk), in ms. */
  timeoutMs: number;
  /** --with-v3 was given (there is no v3 data: the backup always holds everything). */
  withV3: boolean;
  /** For an https:// --endpoint: the member's peer TLS files (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file). */
  peerTLS?: { certFile: string; keyFile: string; trustedCAFile: string };
}

export type BackupCliOutcome =
  | { kind: 'backup'; options: BackupOptions }
  | { kind: 'help'; text: string }
  | { kind: 'error'; message: string };

type Flag = 'data-dir' | 'backup-dir' | 'endpoint' | 'skip-quorum' | 'timeout' | 'with-v3' | 'peer-cert-file' | 'peer-key-file' | 'peer-trusted-ca-file' | 'help';

const BOOLEAN: ReadonlySet<Flag> = new Set(['skip-quorum', 'with-v3', 'help']);
const FLAGS: ReadonlySet<string> = new Set<Flag>(['data-dir', 'backup-dir', 'endpoint', 'skip-quorum', 'timeout', 'with-v3', 'peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file', 'help']);

/** etcdctl backup's flags that have no meaning for an etcd-ts data dir, and why. */
const REFUSED: Readonly<Record<string, string>> = {
  'wal-dir': 'etcd-ts keeps its log in the data dir (member/raft, LevelDB): there is no separate WAL dir',
  'backup-wal-dir': 'etcd-ts keeps its log in the data dir (member/raft, LevelDB): there is no separate WAL dir',
};

const HINT = "(see 'etcd-ts backup --help')";

class BackupCliError extends Error {}

function fail(message: string): never {
  throw new BackupCliError(message);
}

export function parseBackupCommandLine(argv: readonly string[]): BackupCliOutcome {
  try {
    const values = new Map<Flag, string>();
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (!arg.startsWith('-') || arg === '-' || arg === '--') fail(`'${arg}' is not a valid flag (backup takes flags only)`);
      const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
      const eq = body.indexOf('=');
      const raw = eq === -1 ? body : body.slice(0, eq);
      const name = raw === 'h' ? 'help' : raw;
      if (REFUSED[name] !== undefined) fail(`flag --${name} is not supported: ${REFUSED[name]}`);
      if (!FLAGS.has(name)) fail(`unknown flag --${raw}`);
      const flag = name as Flag;
      if (values.has(flag)) fail(`flag --${flag} given twice`);
      if (BOOLEAN.has(flag)) {
        const text = eq === -1 ? 'true' : body.slice(eq + 1);
        const parsed = goParseBool(text);
        if (parsed === undefined) fail(`invalid boolean value "${text}" for flag --${flag}`);
        values.set(flag, String(parsed));
      } else if (eq !== -1) {
        values.set(flag, body.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) fail(`flag needs an argument: --${flag}`);
        values.set(flag, argv[++i]!);
      }
    }
    if (values.get('help') === 'true') return { kind: 'help', text: backupHelpText() };
    const dataDir = values.get('data-dir') ?? '';
    const backupDir = values.get('backup-dir') ?? '';
    if (dataDir === '') fail('--data-dir is required: the data dir to copy');
    if (backupDir === '') fail('--backup-dir is required: where to write the backup (a new or empty directory)');
    const options: BackupOptions = { dataDir, backupDir, skipQuorum: values.get('skip-quorum') === 'true', timeoutMs: 30_000, withV3: values.get('with-v3') === 'true' };
    const endpoint = values.get('endpoint');
    if (endpoint !== undefined) {
      const parsed = parseMemberURLs([endpoint]);
      if ('error' in parsed) fail(`invalid value "${endpoint}" for flag --endpoint: ${parsed.error}`);
      options.endpoint = parsed[0]!.text;
    }
    const timeout = values.get('timeout');
    if (timeout !== undefined) {
      const m = /^([0-9]{1,7})(ms|s)?$/.exec(timeout);
      const ms = m === null ? 0 : Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
      if (ms <= 0) fail(`invalid value "${timeout}" for flag --timeout: a positive duration such as 30s or 500ms`);
      options.timeoutMs = ms;
    }
    if (options.skipQuorum && options.endpoint === undefined) fail('--skip-quorum applies to a copy through --endpoint only');
    const certFile = values.get('peer-cert-file') ?? '';
    const keyFile = values.get('peer-key-file') ?? '';
    const trustedCAFile = values.get('peer-trusted-ca-file') ?? '';
    if ((certFile === '') !== (keyFile === '')) fail('--peer-cert-file and --peer-key-file go together');
    if (certFile !== '' || trustedCAFile !== '') {
      if (options.endpoint === undefined || !options.endpoint.startsWith('https://')) fail('--peer-cert-file, --peer-key-file and --peer-trusted-ca-file apply to an https:// --endpoint only');
      options.peerTLS = { certFile, keyFile, trustedCAFile };
    }
    return { kind: 'backup', options };
  } catch (err: unknown) {
    if (err instanceof BackupCliError) return { kind: 'error', message: `etcd-ts backup: ${err.message} ${HINT}` };
    throw err;
  }
}

export function backupHelpText(): string {
  return [
    'Usage:',
    '',
    '  etcd-ts backup --data-dir DIR --backup-dir DIR [--endpoint PEER_URL] [--skip-quorum] [--timeout 30s]',
    '',
    "Copies an etcd-ts member's data dir into a backup (as `etcdctl backup` does for etcd), whether the",
    'member is stopped or running. The backup gets a new random member id and cluster id: it cannot be',
    'mistaken for the member or rejoin its cluster, and it starts only as a new one-member cluster:',
    '',
    '  etcd-ts --name NAME --data-dir BACKUP_DIR --force-new-cluster [--listen-*/--advertise-* flags]',
    '',
    'Stopped member: the command opens the data dir (LevelDB) itself and copies it.',
    'Running member: LevelDB locks the data dir, so the command asks the member, at its peer URL',
    '(--endpoint), for a copy: the member first confirms its commit index with a quorum (ReadIndex)',
    'and waits until it has applied it, so the copy holds every write acknowledged before the command',
    'began, then streams one point-in-time view of its log (a LevelDB snapshot) while it keeps serving.',
    '',
    '`etcdctl backup` cannot read an etcd-ts data dir (it reads etcd\'s snap/ and wal/ files; etcd-ts',
    'keeps its log in LevelDB under member/raft): use this command.',
    '',
    'Flags:',
    '',
    '  --data-dir DIR',
    '    The data dir to copy (etcdctl backup\'s flag).',
    '  --backup-dir DIR',
    '    Where to write the backup: a new or empty directory (etcdctl backup\'s flag).',
    '  --endpoint PEER_URL',
    '    The running member\'s peer URL (one of its --listen-peer-urls), used when the data dir is locked',
    '    by that member. The member must be the one running on --data-dir.',
    '  --skip-quorum',
    '    With --endpoint: copy what the member has even when it cannot confirm its commit index with a',
    '    quorum (the cluster lost its majority). Writes acknowledged by the other members may be missing.',
    '  --timeout DURATION',
    "    How long the member may stay silent (connect, quorum confirmation, each chunk); default 30s.",
    '  --peer-cert-file FILE, --peer-key-file FILE, --peer-trusted-ca-file FILE',
    '    With an https:// --endpoint: the member\'s own peer TLS flags (the certificate to present when the',
    '    member requires one, and the CA its certificate is checked against).',
    '  --with-v3',
    '    Accepted for etcdctl compatibility; etcd-ts has no v3 data (the backup always holds everything).',
    '  -h, --help',
    '    Show this help and exit.',
    '',
  ].join('\n');
}
