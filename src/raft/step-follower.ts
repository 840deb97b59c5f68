// How followers and candidates react to messages (etcd-io/raft stepFollower, stepCandidate), and
// the receiving side of AppendEntries, heartbeats and snapshots.
import { MessageType, NONE, type Message } from './messages.js';
import { campaign, hup, poll } from './election.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './replication.js';
import { Role } from './role.js';
import { restoreSnapshot } from './snapshot.js';

/** Shared by Candidate and PreCandidate; they differ in which vote responses they count. */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteRespType = r.role === Role.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgApp:
      // §5.2: a candidate that hears from a leader of its term (or newer) returns to follower.
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteRespType: {
      const result = poll(r, m.from, m.type, !m.reject);
      if (result === VoteResult.Won) {
        if (r.role === Role.PreCandidate) {
          campaign(r, 'election');
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (result === VoteResult.Lost) {
        // A MsgPreVoteResp carries the future term we asked for; stay in ours.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case MessageType.MsgTimeoutNow:
      r.logger.debug({ id: r.id, term: r.term, from: m.from }, 'raft: candidate ignored MsgTimeoutNow');
      return;
  }
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === NONE) {
        r.logger.info({ id: r.id, term: r.term }, 'raft: no leader; dropping leader transfer');
        return;
      }
      // Forward to the leader; `from` stays the transferee, as the leader reads it.
      r.msgs.push({ ...m, to: r.lead, term: r.term });
      return;
    case MessageType.MsgTimeoutNow:
      // Thesis §3.10: the leader asks us to campaign now. Transfers skip Pre-Vote: we are not
      // recovering from a partition, and the votes carry a context that overrides the lease.
      r.logger.info({ id: r.id, term: r.term, from: m.from }, 'raft: received MsgTimeoutNow; campaigning');
      hup(r, 'transfer');
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === NONE) {
        r.logger.info({ id: r.id, term: r.term }, 'raft: no leader; dropping read index request');
        return;
      }
      // Forward to the leader, keeping the original requester (its id answers the request).
      r.msgs.push({ ...m, to: r.lead, from: m.from === NONE ? r.id : m.from, term: 0 });
      return;
    case MessageType.MsgReadIndexResp:
      if (m.context === undefined || m.context.length === 0) {
        r.logger.warn({ id: r.id, from: m.from }, 'raft: MsgReadIndexResp without context');
        return;
      }
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
  }
}

/** §5.3: the AppendEntries consistency check, conflict truncation and commit propagation. */
export function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index is already known to match: acknowledge it.
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.committed });
    return;
  }
  const lastNewIndex = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNewIndex !== undefined) {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: lastNewIndex });
    return;
  }
  // Our log lacks (m.index, m.logTerm). Hint the leader at the largest (index, term) where the
  // logs may still match: the last index <= m.index whose term is <= m.logTerm. That skips our
  // whole divergent tail of higher terms in one round trip.
  const hintIndex = Math.min(m.index, r.log.lastIndex());
  const hint = r.log.findConflictByTerm(hintIndex, m.logTerm);
  r.logger.debug({ id: r.id, index: m.index, logTerm: m.logTerm, from: m.from, hintIndex: hint.index, hintTerm: hint.term }, 'raft: rejected MsgApp');
  r.send({ type: MessageType.MsgAppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTermHint: hint.term });
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(m.commit);
  r.send({ type: MessageType.MsgHeartbeatResp, to: m.from, ...(m.context !== undefined ? { context: m.context } : {}) });
}

export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (s === undefined) {
    r.logger.warn({ id: r.id, from: m.from }, 'raft: MsgSnap without snapshot');
    return;
  }
  if (restoreSnapshot(r, s)) {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.lastIndex() });
  } else {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.committed });
  }
}
