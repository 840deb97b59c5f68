// The Raft state machine (etcd-io/raft raft.go): roles, terms, elections and the dispatch of
// messages to the per-role step functions. Pure and synchronous: inputs are ticks, messages and
// proposals; outputs are accumulated in `msgs`, `msgsAfterAppend`, `readStates` and the log's
// unstable tail, which RawNode hands to the application as a Ready.
//
// Section references are to the Raft paper ("In Search of an Understandable Consensus
// Algorithm", extended version) and, for Pre-Vote, CheckQuorum, leadership transfer and ReadIndex,
// to Ongaro's thesis ("Consensus: Bridging Theory and Practice").
import {
  isNodeId,
  ConfChangeType,
  EntryType,
  isEmptyHardState,
  MessageType,
  NONE,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Snapshot,
} from './messages.js';
import { assert, panic } from './assert.js';
import { RaftConfigError, type ResolvedRaftConfig } from './config.js';
import { handleVoteRequest, hup } from './election.js';
import { ProposalDroppedError } from './errors.js';
import { localMessage, NO_ENTRIES } from './local-message.js';
import { payloadBytes, RaftLog } from './log.js';
import type { RaftLogger } from './logger.js';
import { ProgressState } from './progress.js';
import { readIndex } from './read-index.js';
import { ReadOnly } from './read-only.js';
import { bcastAppend, maybeSendAppend } from './replication.js';
import { bytesEqual, CAMPAIGN_TRANSFER_CONTEXT, Role, type ReadState, type SoftState } from './role.js';
import { stepCandidate, stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import { ProgressTracker } from './tracker.js';

export { localMessage, NO_ENTRIES } from './local-message.js';

/** The fields of a message a sender fills in; `from` and (mostly) `term` are set by Raft.send. */
export interface MessageInit {
  type: MessageType;
  to: NodeId;
  term?: number;
  logTerm?: number;
  index?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;
  logTermHint?: number;
  context?: Uint8Array;
  snapshot?: Snapshot;
}

/** The position of a proposal in the log; it is committed iff the entry at `index` has `term`. */
export interface ProposalTicket {
  index: number;
  term: number;
}

export class Raft {
  readonly id: NodeId;
  /** Latest term this node has seen (§5.1). Persisted. */
  term = 0;
  /** Candidate voted for in `term`, or NONE (§5.2). Persisted. */
  vote: NodeId = NONE;
  /** The leader of `term` as far as this node knows, or NONE. */
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  tracker: ProgressTracker;
  readOnly: ReadOnly;
  /** Messages that vouch for no durable state: sent while the Ready is written (thesis §10.2.1). */
  msgs: Message[] = [];
  /**
   * Responses that vouch for durable state (MsgAppResp, MsgVoteResp, MsgPreVoteResp): sent after
   * the Ready is persisted, and the self-addressed ones are stepped by RawNode.advance (the leader
   * counts its own log and a candidate its own vote only once they are on disk).
   */
  msgsAfterAppend: Message[] = [];
  readStates: ReadState[] = [];
  /** The target of an ongoing leadership transfer (thesis §3.10), or NONE. */
  leadTransferee: NodeId = NONE;
  /** Seam for membership changes: >= the index of the latest pending conf change. */
  pendingConfIndex = 0;
  /** Payload bytes of the leader's uncommitted tail (an estimate that never overcounts). */
  uncommittedSizeBytes = 0;
  /** Leader/candidate: ticks since the last election timeout. Follower: since hearing from the leader. */
  electionElapsed = 0;
  /** Leader: ticks since the last heartbeat. */
  heartbeatElapsed = 0;
  /** In [electionTicks, 2*electionTicks), drawn again whenever the role or term changes (§5.2). */
  randomizedElectionTimeout = 0;
  /** ReadIndex requests held until this leader commits an entry of its own term (thesis §6.4). */
  pendingReadIndexMessages: Message[] = [];

  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxSizePerMsgBytes: number;
  readonly maxUncommittedEntriesBytes: number;
  readonly maxPendingReadIndexRequests: number;
  readonly logger: RaftLogger;
  private readonly random: () => number;

  constructor(cfg: ResolvedRaftConfig) {
    this.id = cfg.id;
    this.electionTicks = cfg.electionTicks;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.checkQuorum = cfg.checkQuorum;
    this.preVote = cfg.preVote;
    this.maxSizePerMsgBytes = cfg.maxSizePerMsgBytes;
    this.maxUncommittedEntriesBytes = cfg.maxUncommittedEntriesBytes;
    this.maxPendingReadIndexRequests = cfg.maxPendingReadIndexRequests;
    this.random = cfg.random;
    this.logger = cfg.logger;
    this.log = new RaftLog(cfg.storage, cfg.maxCommittedSizePerReadyBytes);
    this.readOnly = new ReadOnly(cfg.maxPendingReadIndexRequests);

    const { hardState, confState } = cfg.storage.initialState();
    let cs = confState;
    if (cs.voters.length === 0 && cs.learners.length === 0) {
      // A brand-new cluster: the voters come from the configuration. Without peers, a member that
      // joins a running cluster (etcd's `member add`, then --initial-cluster-state existing): it
      // starts with no configuration and learns it from the leader (its log's ConfChange entries,
      // or a snapshot's ConfState); without voters it can never campaign (promotable()).
      if ((this.log.lastIndex() !== 0 || !isEmptyHardState(hardState)) && !(cfg.joined && cfg.peers.length === 0)) {
        if (cfg.peers.length === 0) throw new RaftConfigError('storage holds no ConfState and no peers were given');
        throw new RaftConfigError('storage holds log entries or a HardState but no ConfState');
      }
      cs = { voters: [...cfg.peers], learners: [] };
    }
    this.tracker = new ProgressTracker(cs, cfg.maxInflightMsgs, cfg.maxInflightBytes, this.log.lastIndex() + 1);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (cfg.applied > this.log.applied) this.log.appliedTo(cfg.applied, 0);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      { id: this.id, peers: this.tracker.voters, term: this.term, commit: this.log.committed, applied: this.log.applied, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() },
      'raft: new node',
    );
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Restores the persisted HardState on restart. */
  loadState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      panic(`${this.id.toString(16)} state.commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /**
   * Queues a message. Vote messages carry an explicit term (a pre-vote is for term+1); every
   * other message gets the current term, except MsgReadIndex forwarded to the leader, which is
   * term-less like a local request.
   */
  send(init: MessageInit): void {
    const m: Message = {
      type: init.type,
      to: init.to,
      from: this.id,
      term: init.term ?? 0,
      logTerm: init.logTerm ?? 0,
      index: init.index ?? 0,
      entries: init.entries ?? NO_ENTRIES,
      commit: init.commit ?? 0,
      reject: init.reject ?? false,
      rejectHint: init.rejectHint ?? 0,
    };
    if (init.logTermHint !== undefined) m.logTermHint = init.logTermHint;
    if (init.context !== undefined) m.context = init.context;
    if (init.snapshot !== undefined) m.snapshot = init.snapshot;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      if (m.term === 0) panic(`term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) panic(`term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      if (t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (t === MessageType.MsgAppResp || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVoteResp) {
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) panic(`message should not be self-addressed when sending ${MessageType[t]}`);
      this.msgs.push(m);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions (§5.2)

  private reset(term: number): void {
    if (this.term !== term) {
      if (!(term > this.term)) panic(`term must not decrease: ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    // Fresh progress (and no votes) for everyone: what we knew belonged to the old term.
    const lastIndex = this.log.lastIndex();
    const old = this.tracker;
    this.tracker = new ProgressTracker(old.confState(), old.maxInflightMsgs, old.maxInflightBytes, lastIndex + 1);
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) self.match = lastIndex;
    this.pendingConfIndex = 0;
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly(this.maxPendingReadIndexRequests);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
    this.logger.info({ id: this.id, term: this.term, lead }, 'raft: became follower');
  }

  becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.logger.info({ id: this.id, term: this.term }, 'raft: became candidate');
  }

  /** Pre-Vote (thesis §9.6): campaign for term+1 without changing term or vote yet. */
  becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> pre-candidate]');
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = Role.PreCandidate;
    this.logger.info({ id: this.id, term: this.term }, 'raft: became pre-candidate');
  }

  becomeLeader(): void {
    assert(this.role !== Role.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.tracker.progress.get(this.id);
    assert(self !== undefined, 'leader has no progress of its own');
    // The leader is trivially in sync with itself, and always counts as active.
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively treat the whole tail as possibly holding a conf change (seam).
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2 / §8: a no-op entry of the new term lets the leader commit the entries of earlier
    // terms and learn the commit index. Its empty payload never counts against the bound.
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }])) {
      panic('empty entry was dropped');
    }
    this.logger.info({ id: this.id, term: this.term }, 'raft: became leader');
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  /** Followers and candidates: start an election after a randomized timeout (§5.2). */
  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(localMessage(MessageType.MsgHup, this.id));
    }
  }

  /** Leader: heartbeat every heartbeatTicks (§5.2); CheckQuorum every electionTicks. */
  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(localMessage(MessageType.MsgCheckQuorum, this.id));
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(localMessage(MessageType.MsgBeat, this.id));
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    if (!(r >= 0 && r < 1)) panic(`random() returned ${r}, not in [0, 1)`);
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(r * this.electionTicks);
  }

  /** Whether this node may become leader: it is a voter and is not installing a snapshot. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasNextOrInProgressSnapshot();
  }

  // ---------------------------------------------------------------------------------------------
  // The entry point for every message

  step(m: Message): void {
    // Term handling first (§5.1): a newer term makes us a follower; older terms are stale.
    if (m.term === 0) {
      // Local message (or a term-less forwarded MsgReadIndex).
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER_CONTEXT);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTicks;
        if (!force && inLease) {
          // Thesis §4.2.3: a server that heard from a current leader within the minimum election
          // timeout neither updates its term nor grants its vote; this stops a disruptive node.
          this.logger.info({ id: this.id, term: this.term, from: m.from, msgTerm: m.term, type: MessageType[m.type] }, 'raft: ignored vote request within leader lease');
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we asked for; we bump our term if we win.
      } else {
        this.logger.info({ id: this.id, term: this.term, from: m.from, msgTerm: m.term, type: MessageType[m.type] }, 'raft: received a message with higher term');
        const fromLeader = m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A leader of an older term is talking to us: maybe we advanced our term while
        // partitioned and can neither win nor rejoin. With CheckQuorum/Pre-Vote the old leader
        // would never learn our term from our votes, so tell it (it steps down; a fresh election
        // follows). Pre-Vote keeps this from happening in the first place.
        this.send({ type: MessageType.MsgAppResp, to: m.from });
      } else if (m.type === MessageType.MsgPreVote) {
        // Reject explicitly, or a pre-candidate behind on terms could wait forever.
        this.send({ type: MessageType.MsgPreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return; // stale: ignore
    }

    switch (m.type) {
      case MessageType.MsgHup:
        hup(this, this.preVote ? 'pre-election' : 'election');
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        handleVoteRequest(this, m);
        return;
      default:
        switch (this.role) {
          case Role.Leader:
            stepLeader(this, m);
            return;
          case Role.Candidate:
          case Role.PreCandidate:
            stepCandidate(this, m);
            return;
          case Role.Follower:
            stepFollower(this, m);
            return;
        }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Proposals (§5.3)

  /**
   * Appends a proposal to the leader's log and replicates it. Throws ProposalDroppedError when
   * this node is not the leader, a transfer is under way, or the uncommitted bound is reached.
   */
  propose(data: Uint8Array, type: EntryType = EntryType.Normal): ProposalTicket {
    this.checkProposalAllowed();
    if (type === EntryType.ConfChange) {
      // Seam for the membership issue: one change at a time (thesis §4.1).
      if (this.pendingConfIndex > this.log.applied) throw new ProposalDroppedError('conf-change-pending', this.id);
    }
    const entry: Entry = { term: 0, index: 0, type, data };
    this.appendAndBroadcast([entry]);
    if (type === EntryType.ConfChange) this.pendingConfIndex = entry.index;
    return { index: entry.index, term: entry.term };
  }

  /** Normal entries proposed together: one append, one broadcast. All or nothing, as propose(). */
  proposeBatch(datas: readonly Uint8Array[]): ProposalTicket[] {
    this.checkProposalAllowed();
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data }));
    this.appendAndBroadcast(entries);
    return entries.map((e) => ({ index: e.index, term: e.term }));
  }

  /** Throws ProposalDroppedError unless this node is the leader, a member, and not handing over. */
  private checkProposalAllowed(): void {
    if (this.role !== Role.Leader) {
      throw new ProposalDroppedError(this.lead === NONE ? 'no-leader' : 'not-leader', this.lead);
    }
    if (!this.tracker.progress.has(this.id)) throw new ProposalDroppedError('not-voter', NONE);
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('leadership-transfer', this.leadTransferee);
  }

  /** Appends proposed entries (or throws 'uncommitted-limit', appending none) and replicates them. */
  private appendAndBroadcast(entries: Entry[]): void {
    if (!this.appendEntry(entries)) throw new ProposalDroppedError('uncommitted-limit', this.id);
    bcastAppend(this);
  }

  /** Leader: stamps and appends entries; they count for the leader once durable. */
  appendEntry(es: Entry[]): boolean {
    let li = this.log.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry;
      e.term = this.term;
      e.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn({ id: this.id, uncommittedBytes: this.uncommittedSizeBytes }, 'raft: uncommitted entry size limit reached; dropping proposal');
      return false;
    }
    li = this.log.append(es);
    // The leader does not send itself a MsgApp: it acknowledges its own entries once they are
    // persisted (RawNode.advance steps this response).
    this.send({ type: MessageType.MsgAppResp, to: this.id, index: li });
    return true;
  }

  /** False if the entries would push the uncommitted tail over its bound (an empty tail accepts anything). */
  private increaseUncommittedSize(es: readonly Entry[]): boolean {
    const s = payloadBytes(es);
    if (this.uncommittedSizeBytes > 0 && s > 0 && this.uncommittedSizeBytes + s > this.maxUncommittedEntriesBytes) return false;
    this.uncommittedSizeBytes += s;
    return true;
  }

  /** Committed entries were applied: they no longer count against the uncommitted bound. */
  reduceUncommittedSize(s: number): void {
    this.uncommittedSizeBytes = s > this.uncommittedSizeBytes ? 0 : this.uncommittedSizeBytes - s;
  }

  /** Leader: tries to advance the commit index (§5.3, §5.4.2). */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committed(), this.term);
  }

  // ---------------------------------------------------------------------------------------------
  // ReadIndex (thesis §6.4; see read-index.ts)

  /** Whether this leader committed an entry of its own term: only then is its commit index current. */
  committedEntryInCurrentTerm(): boolean {
    return this.log.maybeTerm(this.log.committed) === this.term;
  }

  /** Local readIndex request; throws ReadIndexDroppedError when it cannot be served. */
  readIndex(ctx: Uint8Array): void {
    readIndex(this, ctx);
  }

  // ---------------------------------------------------------------------------------------------
  // Membership changes (thesis §4.1: one server at a time; etcd-io/raft's applyConfChange)

  /**
   * Applies a committed ConfChange to the configuration (the application calls this when it
   * applies the entry, on every member, in log order). Progress of members that stay is kept; a
   * new voter is probed from our last index; a removed one is forgotten. A leader then commits
   * what the new majority holds and starts replicating to the newcomer. A node that removed itself
   * can no longer campaign or count towards a quorum; the application stops it.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = this.tracker.confState();
    let voters = cs.voters;
    let learners = cs.learners;
    const id = cc.nodeId;
    if (!isNodeId(id)) panic(`conf change for invalid node id ${String(id)}`);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        if (!voters.includes(id)) voters = [...voters, id];
        learners = learners.filter((x) => x !== id);
        break;
      case ConfChangeType.AddLearnerNode:
        if (!voters.includes(id) && !learners.includes(id)) learners = [...learners, id];
        break;
      case ConfChangeType.RemoveNode:
        voters = voters.filter((x) => x !== id);
        learners = learners.filter((x) => x !== id);
        break;
      case ConfChangeType.UpdateNode:
        break;
    }
    return this.switchToConfig({ voters, learners });
  }

  private switchToConfig(cs: ConfState): ConfState {
    const old = this.tracker;
    const next = new ProgressTracker(cs, old.maxInflightMsgs, old.maxInflightBytes, this.log.lastIndex() + 1);
    for (const [id, pr] of next.progress) {
      const kept = old.progress.get(id);
      if (kept !== undefined) {
        kept.isLearner = pr.isLearner;
        next.progress.set(id, kept);
      } else {
        // A newcomer counts as active: check quorum must not depose the leader that just added it.
        pr.recentActive = true;
      }
    }
    for (const [id, v] of old.votes) next.votes.set(id, v);
    this.tracker = next;
    const self = next.progress.get(this.id);
    if (self === undefined && this.role === Role.Leader) {
      // Removed leader: it keeps leading until the application stops it (etcd-io/raft does the
      // same); it no longer counts itself, so what the remaining voters hold is committed.
      this.logger.info({ id: this.id, term: this.term }, 'raft: this leader was removed from the configuration');
    }
    if (this.role !== Role.Leader || next.voters.length === 0) return next.confState();
    if (this.maybeCommit()) bcastAppend(this);
    else for (const id of next.progress.keys()) if (id !== this.id) maybeSendAppend(this, id, false);
    if (this.leadTransferee !== NONE && !next.voters.includes(this.leadTransferee)) this.abortLeaderTransfer();
    return next.confState();
  }

  // ---------------------------------------------------------------------------------------------
  // Leadership transfer (thesis §3.10)

  sendTimeoutNow(to: NodeId): void {
    this.send({ type: MessageType.MsgTimeoutNow, to });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants

  /** Cheap structural checks; the simulator calls this after every step. */
  checkInvariants(): void {
    const log = this.log;
    if (!(log.applied <= log.applying && log.applying <= log.committed)) panic(`applied ${log.applied} <= applying ${log.applying} <= committed ${log.committed}`);
    if (!(log.committed <= log.lastIndex())) panic(`committed ${log.committed} > lastIndex ${log.lastIndex()}`);
    if (!(log.firstIndex() - 1 <= log.committed)) panic(`committed ${log.committed} below the snapshot ${log.firstIndex() - 1}`);
    if (!((this.role === Role.Leader) === (this.lead === this.id))) panic(`role ${this.role} but lead ${this.lead.toString(16)}`);
    if (this.role === Role.Candidate) assert(this.vote === this.id, 'a candidate votes for itself');
    if (this.role === Role.Leader) {
      for (const [id, pr] of this.tracker.progress) {
        if (!(pr.match < pr.next)) panic(`progress ${id.toString(16)}: match ${pr.match} < next ${pr.next}`);
        if (!(pr.pendingCommit < pr.next)) panic(`progress ${id.toString(16)}: pendingCommit ${pr.pendingCommit} < next ${pr.next}`);
        if (pr.state !== ProgressState.Snapshot && pr.next > log.lastIndex() + 1) panic(`progress ${id.toString(16)}: next ${pr.next} beyond lastIndex+1 ${log.lastIndex() + 1}`);
      }
    }
    log.unstable.checkInvariants();
  }
}
