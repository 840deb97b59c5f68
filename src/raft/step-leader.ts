// How the leader reacts to messages (etcd-io/raft stepLeader).
import { MessageType, NONE, type Message } from './messages.js';
import { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { bcastAppend, bcastHeartbeat, maybeSendAppend, sendAppend } from './replication.js';
import { releasePendingReadIndexMessages, respondToReadIndex, stepLeaderReadIndex } from './read-index.js';

export function stepLeader(r: Raft, m: Message): void {
  // Message types that need no progress for m.from.
  switch (m.type) {
    case MessageType.MsgBeat:
      bcastHeartbeat(r);
      return;
    case MessageType.MsgCheckQuorum:
      // Thesis §6.2: a leader that has not heard from a majority within an election timeout
      // steps down, so a partitioned leader stops serving (and a new one can be elected).
      if (!r.tracker.quorumActive()) {
        r.logger.warn({ id: r.id, term: r.term }, 'raft: stepped down to follower since quorum is not active');
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.tracker.progress) {
        if (id !== r.id) pr.recentActive = false;
      }
      return;
    case MessageType.MsgReadIndex:
      stepLeaderReadIndex(r, m);
      return;
    case MessageType.MsgProp:
      // Proposals are local calls (Raft.propose); a forwarded MsgProp is not part of our protocol.
      return;
  }

  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug({ id: r.id, from: m.from }, 'raft: no progress for sender');
    return;
  }
  switch (m.type) {
    case MessageType.MsgAppResp: {
      // Also reached from RawNode.advance: the leader's acknowledgement of its own durable entries.
      pr.recentActive = true;
      if (m.reject) {
        // The follower's log does not contain (m.index, logTerm of that MsgApp). Its hint is the
        // highest index where the logs may match; with its term, skip a whole divergent term at
        // once rather than one entry per round trip (§5.3, "the leader can decrement nextIndex
        // to bypass all of the conflicting entries in that term").
        r.logger.debug({ id: r.id, from: m.from, index: m.index, hint: m.rejectHint, hintTerm: m.logTermHint ?? 0 }, 'raft: MsgApp rejected');
        let nextProbeIdx = m.rejectHint;
        const hintTerm = m.logTermHint ?? 0;
        if (hintTerm > 0) nextProbeIdx = r.log.findConflictByTerm(m.rejectHint, hintTerm).index;
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return;
      }
      // Update on a new match, or move a probing follower that is already in sync to replicate.
      const updated = pr.maybeUpdate(m.index);
      if (!updated && !(pr.match === m.index && pr.state === ProgressState.Probe)) return;
      switch (pr.state) {
        case ProgressState.Probe:
          pr.becomeReplicate();
          break;
        case ProgressState.Snapshot:
          if (pr.match + 1 >= r.log.firstIndex()) {
            // The follower caught up (from the snapshot or otherwise): resume from the log.
            pr.becomeProbe();
            pr.becomeReplicate();
          }
          break;
        case ProgressState.Replicate:
          pr.inflights.freeLE(m.index);
          break;
      }
      if (r.maybeCommit()) {
        // The commit index moved within our term: pending reads can now be served.
        releasePendingReadIndexMessages(r);
        bcastAppend(r);
      } else if (r.id !== m.from && pr.canBumpCommit(r.log.committed)) {
        // This follower may be missing the latest commit index: send it now rather than at the
        // next heartbeat.
        sendAppend(r, m.from);
      }
      // Acks may have opened the inflight window (or moved probe to replicate): send as many
      // entry-carrying messages as flow control allows.
      if (r.id !== m.from) {
        while (maybeSendAppend(r, m.from, false)) {
          // keep pipelining
        }
      }
      if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
        r.logger.info({ id: r.id, to: m.from }, 'raft: transferee caught up; sending MsgTimeoutNow');
        r.sendTimeoutNow(m.from);
      }
      return;
    }
    case MessageType.MsgHeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // A lagging or probing follower gets an append now (also un-sticks a full window whose
      // messages were all lost).
      if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) sendAppend(r, m.from);
      const ctx = m.context;
      if (ctx === undefined || ctx.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, ctx);
      if (acks === undefined || !r.tracker.hasQuorum(acks)) return;
      for (const rs of r.readOnly.advance(ctx)) respondToReadIndex(r, rs.req, rs.index);
      return;
    }
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      // A failed snapshot is forgotten before probing, or we would probe past it.
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      r.logger.debug({ id: r.id, to: m.from }, m.reject ? 'raft: snapshot failed, resumed replication' : 'raft: snapshot succeeded, resumed replication');
      // Wait for the follower's MsgAppResp (or a heartbeat interval) before the next MsgApp.
      pr.msgAppFlowPaused = true;
      return;
    case MessageType.MsgUnreachable:
      // An optimistic pipeline to an unreachable peer has probably lost messages: probe again.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      r.logger.debug({ id: r.id, to: m.from }, 'raft: peer unreachable');
      return;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) return;
      const transferee = m.from;
      const last = r.leadTransferee;
      if (last !== NONE) {
        if (last === transferee) return; // already under way
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return; // already leader
      // Thesis §3.10: bring the transferee up to date, then tell it to campaign at once. The
      // transfer must finish within an election timeout; proposals are refused meanwhile.
      r.logger.info({ id: r.id, term: r.term, to: transferee }, 'raft: starting leadership transfer');
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(transferee);
      else sendAppend(r, transferee);
      return;
    }
  }
}
