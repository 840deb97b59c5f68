// The refusal a data dir written by `etcd-ts backup` gets from a plain start (the backup's own
// metadata carries random ids, as etcdctl backup's, so it can never pass for the member or the
// cluster it was copied from; the record under BACKUP_KEY says what it is).
import { decodeBackupRecord } from './codec.js';
import { DataDirError } from './errors.js';

const formatId = (id: bigint): string => id.toString(16);

export function refuseBackup(value: Uint8Array, dataDir: string): DataDirError {
  const b = decodeBackupRecord(value);
  if (!b.complete) {
    return new DataDirError(
      'incomplete-backup',
      `raft log: ${dataDir} is a copy that etcd-ts backup did not finish writing (from member ${formatId(b.sourceMemberId)} of cluster ${formatId(b.sourceClusterId)}): take the backup again`,
    );
  }
  return new DataDirError(
    'backup-needs-force-new-cluster',
    `raft log: ${dataDir} is a backup made by etcd-ts backup (of member ${b.sourceName} ${formatId(b.sourceMemberId)} of cluster ${formatId(b.sourceClusterId)}, at index ${b.index}): ` +
      'it starts only as a new one-member cluster, with --force-new-cluster (ETCD_FORCE_NEW_CLUSTER=true)',
  );
}
