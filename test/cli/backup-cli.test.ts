// The command line of `etcd-ts backup` and of --force-new-cluster (parsing only; the copy itself is
// in test/storage/backup.test.ts and test/cluster/backup-restore.test.ts).
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli.js';

function backup(argv: string[]) {
  const o = parseCommandLine(['backup', ...argv], {});
  if (o.kind !== 'backup') throw new Error(`expected a backup, got ${JSON.stringify(o)}`);
  return o.options;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const o = parseCommandLine(argv, env);
  if (o.kind !== 'error') throw new Error(`expected an error, got ${o.kind}`);
  return o.message;
}

describe('etcd-ts backup command line', () => {
  it('takes etcdctl backup\'s --data-dir and --backup-dir, Go-style', () => {
    expect(backup(['--data-dir', '/a', '--backup-dir', '/b'])).toEqual({ dataDir: '/a', backupDir: '/b', skipQuorum: false, timeoutMs: 30_000, withV3: false });
    expect(backup(['-data-dir=/a', '--backup-dir=/b', '--with-v3'])).toMatchObject({ dataDir: '/a', backupDir: '/b', withV3: true });
  });

  it('takes the running member\'s peer URL, --skip-quorum and --timeout', () => {
    const o = backup(['--data-dir', 'd', '--backup-dir', 'b', '--endpoint', 'http://127.0.0.1:2380', '--skip-quorum', '--timeout', '500ms']);
    expect(o).toMatchObject({ endpoint: 'http://127.0.0.1:2380', skipQuorum: true, timeoutMs: 500 });
    expect(backup(['--data-dir', 'd', '--backup-dir', 'b', '--timeout=2s']).timeoutMs).toBe(2000);
  });

  it('refuses what it cannot do, naming the flag', () => {
    expect(error(['backup', '--backup-dir', 'b'])).toMatch(/^etcd-ts backup: --data-dir is required/);
    expect(error(['backup', '--data-dir', 'd'])).toMatch(/--backup-dir is required/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--wal-dir', 'w'])).toMatch(/--wal-dir is not supported: etcd-ts keeps its log in the data dir/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--backup-wal-dir', 'w'])).toMatch(/--backup-wal-dir is not supported/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--endpoint', 'ftp://x'])).toMatch(/invalid value "ftp:\/\/x" for flag --endpoint/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--skip-quorum'])).toMatch(/--skip-quorum applies to a copy through --endpoint only/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--timeout', '0'])).toMatch(/invalid value "0" for flag --timeout/);
    expect(error(['backup', '--data-dir', 'd', '--backup-dir', 'b', '--bogus'])).toMatch(/unknown flag --bogus/);
    expect(error(['backup', '--data-dir', 'd', '--data-dir', 'e', '--backup-dir', 'b'])).toMatch(/--data-dir given twice/);
    expect(error(['backup', 'extra'])).toMatch(/'extra' is not a valid flag/);
    expect(error(['backup', '--data-dir'])).toMatch(/flag needs an argument: --data-dir/);
  });

  it('has a --help that says how to restore and that etcdctl backup cannot read the data dir', () => {
    const o = parseCommandLine(['backup', '--help'], {});
    expect(o.kind).toBe('help');
    if (o.kind !== 'help') return;
    expect(o.text).toContain('--force-new-cluster');
    expect(o.text).toContain('--endpoint PEER_URL');
    expect(o.text).toMatch(/`etcdctl backup` cannot read an etcd-ts data dir/);
    const main = parseCommandLine(['--help'], {});
    expect(main.kind === 'help' && main.text).toContain('etcd-ts backup --data-dir DIR --backup-dir DIR');
  });
});

describe('--force-new-cluster', () => {
  const solo = ['--name', 'r1', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380'];

  it('is a boolean flag, also read from ETCD_FORCE_NEW_CLUSTER, off by default', () => {
    const on = parseCommandLine([...solo, '--force-new-cluster'], {});
    expect(on.kind === 'run' && on.config.forceNewCluster).toBe(true);
    const env = parseCommandLine(solo, { ETCD_FORCE_NEW_CLUSTER: 'true' });
    expect(env.kind === 'run' && env.config.forceNewCluster).toBe(true);
    const off = parseCommandLine(solo, {});
    expect(off.kind === 'run' && off.config.forceNewCluster).toBeUndefined();
    const explicitOff = parseCommandLine([...solo, '--force-new-cluster=false'], { ETCD_FORCE_NEW_CLUSTER: 'true' });
    expect(explicitOff.kind === 'run' && explicitOff.config.forceNewCluster).toBeUndefined();
    expect(error(solo, { ETCD_FORCE_NEW_CLUSTER: 'maybe' })).toMatch(/invalid boolean value "maybe" for ETCD_FORCE_NEW_CLUSTER/);
  });

  it('gives the one-member cluster the id a new cluster of this member alone gets, so a restart without the flag matches', () => {
    const forced = parseCommandLine([...solo, '--force-new-cluster'], {});
    const plain = parseCommandLine(solo, {});
    if (forced.kind !== 'run' || plain.kind !== 'run') throw new Error('expected configs');
    expect(forced.config.initialCluster.map((m) => m.name)).toEqual(['r1']);
    expect(forced.config.clusterId).toBe(plain.config.clusterId);
    expect(forced.config.memberId).toBe(plain.config.memberId);
  });

  it('refuses an --initial-cluster with other members', () => {
    const three = '--initial-cluster=r1=http://127.0.0.1:2380,r2=http://127.0.0.1:2381,r3=http://127.0.0.1:2382';
    expect(error([...solo, three, '--force-new-cluster'])).toMatch(/--force-new-cluster starts a one-member cluster: flag --initial-cluster must list only this member \(it lists 3: (r[123](, )?){3}\)/);
  });
});
