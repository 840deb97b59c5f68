// Elections (paper §5.2, §5.4.1; Pre-Vote, thesis §9.6): starting a campaign, counting votes,
// and deciding whether to grant one.
import { EntryType, MessageType, NONE, type Entry, type Message, type NodeId } from './messages.js';
import { panic } from './assert.js';
import type { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { CAMPAIGN_TRANSFER_CONTEXT, Role, type CampaignType } from './role.js';
import { StorageError } from './storage.js';

export function voteRespType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      return panic(`not a vote message: ${MessageType[t]}`);
  }
}

/** The election timer fired (or campaign() / MsgTimeoutNow): campaign if allowed. */
export function hup(r: Raft, t: CampaignType): void {
  if (r.role === Role.Leader) return;
  if (!r.promotable()) {
    r.logger.warn({ id: r.id }, 'raft: not promotable, cannot campaign');
    return;
  }
  if (hasUnappliedConfChanges(r)) {
    r.logger.warn({ id: r.id, term: r.term }, 'raft: cannot campaign with unapplied configuration changes');
    return;
  }
  r.logger.info({ id: r.id, term: r.term, campaign: t }, 'raft: starting a new election');
  campaign(r, t);
}

/** Seam for membership changes: a conf change between applied and committed blocks campaigning. */
function hasUnappliedConfChanges(r: Raft): boolean {
  const log = r.log;
  if (log.applied >= log.committed) return false;
  let lo = log.applied + 1;
  const hi = log.committed + 1;
  while (lo < hi) {
    let ents: Entry[];
    try {
      ents = log.slice(lo, hi, log.maxApplyingEntsBytes); // paginated: bounded memory
    } catch (err) {
      // Compacted under us: whatever was there is applied. Anything else is a bug: rethrow.
      if (err instanceof StorageError && err.code === 'compacted') return false;
      throw err;
    }
    for (const e of ents) if (e.type === EntryType.ConfChange) return true;
    lo += ents.length;
  }
  return false;
}

/**
 * Becomes (pre-)candidate and asks every voter for its vote, with our last log index and term
 * (§5.4.1). A pre-vote asks for term+1 without changing our term; a transfer campaign carries a
 * context that overrides the voters' leader lease.
 */
export function campaign(r: Raft, t: CampaignType): void {
  let term: number;
  let voteMsg: MessageType;
  if (t === 'pre-election') {
    r.becomePreCandidate();
    voteMsg = MessageType.MsgPreVote;
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.MsgVote;
    term = r.term;
  }
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  for (const id of r.tracker.voters) {
    if (id === r.id) {
      // Our own vote counts once it is durable: RawNode.advance steps this response.
      r.send({ type: voteRespType(voteMsg), to: id, term });
      continue;
    }
    r.logger.info({ id: r.id, to: id, term, lastIndex, lastTerm, type: MessageType[voteMsg] }, 'raft: sent vote request');
    r.send({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm, ...(t === 'transfer' ? { context: CAMPAIGN_TRANSFER_CONTEXT } : {}) });
  }
}

/** Records a vote response and returns the election's outcome so far. */
export function poll(r: Raft, id: NodeId, t: MessageType, granted: boolean): VoteResult {
  r.tracker.recordVote(id, granted);
  const tally = r.tracker.tallyVotes();
  r.logger.info({ id: r.id, from: id, type: MessageType[t], granted, votes: tally.granted, rejections: tally.rejected, term: r.term }, 'raft: received vote');
  return tally.result;
}

/** §5.2: at most one vote per term, first come first served; §5.4.1: only for an up-to-date log. */
export function handleVoteRequest(r: Raft, m: Message): void {
  const canVote =
    // A repeat of the vote we already cast...
    r.vote === m.from ||
    // ...or we have not voted and know of no leader in this term...
    (r.vote === NONE && r.lead === NONE) ||
    // ...or a pre-vote for a future term.
    (m.type === MessageType.MsgPreVote && m.term > r.term);
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    // Answer with the request's term: for a pre-vote our own term may be older, and the
    // pre-candidate ignores messages from older terms.
    r.logger.info({ id: r.id, term: r.term, to: m.from, type: MessageType[m.type] }, 'raft: cast vote');
    r.send({ type: voteRespType(m.type), to: m.from, term: m.term });
    if (m.type === MessageType.MsgVote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.logger.info({ id: r.id, term: r.term, vote: r.vote, to: m.from, type: MessageType[m.type] }, 'raft: rejected vote');
    r.send({ type: voteRespType(m.type), to: m.from, term: r.term, reject: true });
  }
}
