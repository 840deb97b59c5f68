// The leader's view of the cluster: the voter set, one Progress per peer, and the votes of the
// current election (etcd-io/raft tracker/tracker.go, simplified to a single majority config;
// joint consensus is the membership issue's seam).
import { compareIds, isNodeId, type ConfState, type NodeId } from './messages.js';
import { assert } from './assert.js';
import { Progress } from './progress.js';
import { committedIndex, hasMajority, voteResult, type VoteResult } from './quorum.js';

export interface VoteTally {
  granted: number;
  rejected: number;
  result: VoteResult;
}

export class ProgressTracker {
  /** Voter ids in increasing order (iteration order is deterministic). */
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** One Progress per voter and learner, inserted in id order. */
  readonly progress = new Map<NodeId, Progress>();
  /** The votes received in the current election; the first answer of each voter counts. */
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    confState: ConfState,
    readonly maxInflightMsgs: number,
    readonly maxInflightBytes: number,
    nextIndex: number,
  ) {
    const voters = [...new Set(confState.voters)].sort(compareIds);
    const learners = [...new Set(confState.learners)].sort(compareIds);
    for (const id of voters) assert(isNodeId(id), `invalid voter id ${String(id)}`);
    for (const id of learners) assert(!voters.includes(id), `node ${id.toString(16)} is both voter and learner`);
    this.voters = voters;
    this.learners = learners;
    for (const id of [...voters, ...learners].sort(compareIds)) {
      const pr = new Progress(nextIndex, maxInflightMsgs, maxInflightBytes);
      pr.isLearner = learners.includes(id);
      this.progress.set(id, pr);
    }
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  /** The highest index replicated on a majority of voters (§5.3). */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Whether a majority of voters was heard from since the last check (CheckQuorum). */
  quorumActive(): boolean {
    return hasMajority(this.voters, (id) => this.progress.get(id)?.recentActive ?? false);
  }

  /** Whether `acks` holds a majority of voters (ReadIndex leadership confirmation). */
  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    return hasMajority(this.voters, (id) => acks.has(id));
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; only the first answer from each node counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
