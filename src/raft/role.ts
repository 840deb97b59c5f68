// Small shared types of the core: a node's role and the volatile state the application observes.
import type { NodeId } from './messages.js';

/** A node's role (paper §5.1, plus the Pre-Vote phase of thesis §9.6). Values are etcd's names. */
export enum Role {
  Follower = 'StateFollower',
  PreCandidate = 'StatePreCandidate',
  Candidate = 'StateCandidate',
  Leader = 'StateLeader',
}

/** Volatile state, reported in a Ready when it changes; never persisted. */
export interface SoftState {
  /** The leader this node knows of in its current term, or NONE (0). */
  lead: NodeId;
  role: Role;
}

/**
 * The answer to readIndex(requestCtx): once the local state machine has applied `index`, a read
 * of it reflects every write committed before the request was made (thesis §6.4).
 */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export type CampaignType = 'pre-election' | 'election' | 'transfer';

/** Context of the votes of a leadership transfer: they override the CheckQuorum lease. */
export const CAMPAIGN_TRANSFER_CONTEXT: Uint8Array = Uint8Array.from('CampaignTransfer', (c) => c.charCodeAt(0));

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
