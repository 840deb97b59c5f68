// etcd's --force-new-cluster (etcdserver's restartAsStandaloneNode) on an etcd-ts data dir: this
// member becomes the only voter of a new cluster and keeps the whole log and the data.
//
// What it does, once, before the member opens its log (src/storage/backup.ts, one fsynced batch):
//   - metadata: this member's id and the new cluster's id, both computed from the flags as for any
//     new cluster (--initial-cluster lists only this member, so the cluster id is etcd's genID of
//     this member alone and the token); a restart without the flag computes the same and starts.
//   - ConfState: this member alone (the snapshot's too, if there is one). etcd appends
//     ConfChangeRemoveNode entries for the other members; here the voters live beside the log
//     (membership changes through the log come with member add/remove, issue 10), so there are
//     no such entries and the old members are simply no longer voters.
//   - HardState: same term, no vote, commit = the last index of the log: every entry in the log
//     is committed. etcd 3.4 instead discards the entries beyond its WAL's commit index; here the
//     commit index on disk is written lazily (up to a heartbeat or 1000 entries behind what was
//     applied), so entries beyond it may be committed and acknowledged: dropping them could lose
//     acknowledged writes. An entry that the old cluster never committed was never acknowledged
//     either (its client got an error or a timeout, an outcome etcd calls unknown): it now takes
//     effect.
//   - a backup's record (etcd-ts backup) is removed: the data dir is now an ordinary one.
// The store is rebuilt by applying the whole log at start, as on every start. The old members'
// published attributes and peer URL updates in the log are ignored on replay (they are not
// members), so /v2/members and /0/members in the store hold only this member; the etcd index
// (modifiedIndex) of the keys written after them is lower by that many writes (etcdctl backup
// drops the member attribute entries and the ConfChange entries too, with the same effect).
import type { Logger } from 'pino';
import { mapLevelError, openLevelKv, raftLogDir, rewriteForNewCluster, type KvStore } from '../storage/index.js';
import { formatId } from './ids.js';
import type { RaftMemberOptions } from './member-options.js';

export async function forceNewCluster(options: Pick<RaftMemberOptions, 'config' | 'logger' | 'openKv'>): Promise<void> {
  const { config } = options;
  const logger: Logger = options.logger;
  if (config.initialCluster.length !== 1 || config.initialCluster[0]?.id !== config.memberId) {
    throw new Error('--force-new-cluster starts a one-member cluster: --initial-cluster must list only this member');
  }
  const location = raftLogDir(config.dataDir);
  let db: KvStore;
  try {
    db = await (options.openKv ?? openLevelKv)(location);
  } catch (err) {
    throw mapLevelError(err, location);
  }
  try {
    const done = await rewriteForNewCluster(db, { clusterId: config.clusterId, memberId: config.memberId, name: config.name });
    logger.warn(
      {
        previousMember: formatId(done.previous.memberId),
        previousCluster: formatId(done.previous.clusterId),
        previousVoters: done.previousVoters.map(formatId),
        backupOf: done.backup === undefined ? undefined : { member: formatId(done.backup.sourceMemberId), cluster: formatId(done.backup.sourceClusterId), index: done.backup.index },
        memberId: formatId(config.memberId),
        clusterId: formatId(config.clusterId),
        term: done.term,
        previousCommit: done.previousCommit,
        commit: done.commit,
      },
      '--force-new-cluster: this member is now the only member of a new cluster; every entry of its log is committed',
    );
  } finally {
    await db.close();
  }
}
