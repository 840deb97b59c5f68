// Majority arithmetic, as etcd-io/raft's quorum/majority.go. Knows nothing of messages or logs:
// only "which value has a majority of voters behind it".
import type { NodeId } from './messages.js';
import { assert } from './assert.js';

export enum VoteResult {
  /** Neither side has a majority yet. */
  Pending = 0,
  /** A majority rejected: the election is lost. */
  Lost = 1,
  /** A majority granted: the election is won. */
  Won = 2,
}

/** The number of voters that forms a majority: floor(n/2) + 1 (paper §5.2). */
export function majoritySize(voterCount: number): number {
  return (voterCount >> 1) + 1;
}

// Scratch buffer for committedIndex: one allocation per process, not per call.
let scratch = new Float64Array(16);

/**
 * The largest index that a majority of `voters` have acknowledged (paper §5.3): sort the acked
 * indexes in descending order and take the one at position majority-1. Voters with no ack count
 * as 0. Callers must still check the entry's term before committing (§5.4.2).
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number): number {
  const n = voters.length;
  assert(n > 0, 'committedIndex of an empty voter set');
  if (n === 1) return acked(voters[0] as NodeId);
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) scratch[i] = acked(voters[i] as NodeId);
  // Insertion sort, ascending: n is a handful of voters.
  for (let i = 1; i < n; i++) {
    const v = scratch[i] as number;
    let j = i - 1;
    while (j >= 0 && (scratch[j] as number) > v) {
      scratch[j + 1] = scratch[j] as number;
      j--;
    }
    scratch[j + 1] = v;
  }
  return scratch[n - majoritySize(n)] as number;
}

/** The outcome of an election given the votes received so far (missing voters are pending). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.length;
  assert(n > 0, 'voteResult of an empty voter set');
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majoritySize(n);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** Whether the voters in `acks` form a majority (ReadIndex confirmation, CheckQuorum). */
export function hasMajority(voters: readonly NodeId[], isYes: (id: NodeId) => boolean): boolean {
  let yes = 0;
  for (const id of voters) if (isYes(id)) yes++;
  return yes >= majoritySize(voters.length);
}
