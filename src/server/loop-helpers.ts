// Small pure decisions of the member's loop, kept apart so that they can be read (and tested) alone.
import type { Entry } from '../raft/messages.js';
import type { Ready } from '../raft/rawnode.js';
import type { Status } from '../raft/status.js';

/**
 * The follower to hand leadership to: a voter that was recently active, with the longest log
 * (the least to catch up, so the transfer finishes fastest); undefined when there is none.
 */
export function chooseTransferee(status: Status, selfId: bigint): bigint | undefined {
  // Recently active followers first. Right after a CheckQuorum round every flag is cleared until
  // the next answers arrive (the member simulator stopped a leader in that window, seed 2319):
  // then the most caught-up follower, active or not (raft gives the transfer up after an
  // election timeout if it does not answer).
  const pick = (activeOnly: boolean): bigint | undefined => {
    let best: { id: bigint; match: number } | undefined;
    for (const p of status.progress) {
      if (p.id === selfId || p.isLearner || (activeOnly && !p.recentActive)) continue;
      if (best === undefined || p.match > best.match || (p.match === best.match && p.id < best.id)) best = { id: p.id, match: p.match };
    }
    return best?.id;
  };
  return pick(true) ?? pick(false);
}

export function randomNonce(random: () => number): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * How many of the Ready's committed entries were durable before it: those below its first new
 * entry (a follower may learn that entries of this very Ready are committed). None with a
 * snapshot, which replaces the state machine first.
 */
export function stableCommittedPrefix(rd: Ready): number {
  if (rd.snapshot !== undefined) return 0;
  const firstNew = rd.entries.length > 0 ? (rd.entries[0] as Entry).index : Number.POSITIVE_INFINITY;
  const committed = rd.committedEntries;
  let n = 0;
  while (n < committed.length && (committed[n] as Entry).index < firstNew) n++;
  return n;
}
