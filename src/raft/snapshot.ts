// The follower side of snapshots (paper §7): installing a leader's snapshot in place of the log.
// Seam for the snapshot issue: raft hands the snapshot to the application in a Ready; creating
// snapshots, streaming them and compaction policy belong to the runtime.
import type { Snapshot } from './messages.js';
import { NONE } from './messages.js';
import type { Raft } from './raft.js';
import { Role } from './role.js';
import { ProgressTracker } from './tracker.js';

/**
 * Replaces our log with the snapshot if it is newer than what we have committed. Returns false
 * if it was ignored (old, or we already hold its last entry, in which case commit fast-forwards).
 */
export function restoreSnapshot(r: Raft, s: Snapshot): boolean {
  if (s.metadata.index <= r.log.committed) return false;
  if (r.role !== Role.Follower) {
    // Defence in depth: only followers receive snapshots.
    r.logger.warn({ id: r.id }, 'raft: attempted to restore snapshot while not a follower');
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = s.metadata.confState;
  if (!cs.voters.includes(r.id) && !cs.learners.includes(r.id)) {
    r.logger.warn({ id: r.id, confState: cs }, 'raft: snapshot does not include this node; ignored');
    return false;
  }
  if (r.log.matchTerm(s.metadata.index, s.metadata.term)) {
    r.log.commitTo(s.metadata.index);
    return false;
  }
  r.log.restore(s);
  const old = r.tracker;
  r.tracker = new ProgressTracker(cs, old.maxInflightMsgs, old.maxInflightBytes, r.log.lastIndex() + 1);
  r.logger.info({ id: r.id, commit: r.log.committed, index: s.metadata.index, term: s.metadata.term }, 'raft: restored snapshot');
  return true;
}

/** The application persisted the snapshot of a Ready and loaded it into its state machine. */
export function appliedSnapshot(r: Raft, s: Snapshot): void {
  r.log.stableSnapTo(s.metadata.index);
  r.log.appliedTo(Math.max(s.metadata.index, r.log.applied), 0);
}
