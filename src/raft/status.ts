// A snapshot of a node's raft state for /v2/stats and debugging.
import type { NodeId } from './messages.js';
import type { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { Role } from './role.js';

export interface ProgressStatus {
  id: NodeId;
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  paused: boolean;
  inflightMsgs: number;
  inflightBytes: number;
  pendingSnapshot: number;
  isLearner: boolean;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  /** The known leader, or NONE (0). */
  lead: NodeId;
  role: Role;
  leadTransferee: NodeId;
  /** One entry per peer (including the leader itself) when this node is the leader; else empty. */
  progress: ProgressStatus[];
}

export function getStatus(r: Raft): Status {
  const progress: ProgressStatus[] = [];
  if (r.role === Role.Leader) {
    for (const [id, pr] of r.tracker.progress) {
      progress.push({
        id,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        recentActive: pr.recentActive,
        paused: pr.isPaused(),
        inflightMsgs: pr.inflights.count,
        inflightBytes: pr.inflights.bytes,
        pendingSnapshot: pr.pendingSnapshot,
        isLearner: pr.isLearner,
      });
    }
  }
  return {
    id: r.id,
    term: r.term,
    vote: r.vote,
    commit: r.log.committed,
    applied: r.log.applied,
    lastIndex: r.log.lastIndex(),
    lead: r.lead,
    role: r.role,
    leadTransferee: r.leadTransferee,
    progress,
  };
}
