// What a member accepts on its peer port, checked before anything reaches raft. The port speaks
// plain HTTP and knows its peers only by the cluster id they send (which every client response
// shows), so anything that can reach it can claim to be a member. Until peer TLS proves who is
// talking, this guard refuses every message a well-behaved member can never send:
//   - a sender that is not a current member of this cluster (or is this member itself);
//   - a type that never crosses the wire (local types, MsgProp: proposals are not forwarded);
//   - a term of 0 on any type but a forwarded MsgReadIndex (term 0 means "local" to raft: it
//     would skip every term check, PreVote and the leader lease);
//   - leader-only messages (appends, heartbeats, snapshots, MsgTimeoutNow, read answers) in this
//     member's current term from anyone but the leader it follows (one leader per term, §5.2);
//   - indexes that cannot be: entries that are not contiguous after the append's index or whose
//     terms go backwards or beyond the message's term, a heartbeat committing beyond this log, an
//     acknowledgement of entries this leader does not have, a vote whose last log term is newer
//     than the candidate's term;
//   - a snapshot whose metadata cannot be (index 0, a term beyond the message's, voters that are
//     not this cluster's members) or whose data is not a state machine snapshot at that index:
//     raft would write it to disk and replace the whole log before the state machine could
//     refuse it.
// Messages of an older term pass: raft ignores them (and answers the few that need an answer).
// Each message is checked against raft's state as it is when that message's turn comes (after
// the ones before it in the batch were stepped), so the bounds are exact: a heartbeat may commit
// what an append earlier in the batch really added, not what it claimed to add. The first refused
// message and everything after it are dropped (what came before passed the same checks), the
// sender gets a 400 with the reason, and the member logs it. The simulator checks that members'
// own traffic is never refused.
import { MessageType, NONE, type Message, type NodeId } from '../raft/messages.js';
import type { Raft } from '../raft/raft.js';
import { Role } from '../raft/role.js';
import { formatId } from './ids.js';

/** What the guard reads of the member's state (raft's own fields, read at the moment of the check). */
export interface GuardView {
  readonly selfId: NodeId;
  isMember(id: NodeId): boolean;
  readonly term: number;
  /** The leader this member follows in its term, or 0. */
  readonly lead: NodeId;
  readonly role: Role;
  readonly lastIndex: number;
  /** The commit index: raft ignores a snapshot at or below it. */
  readonly commitIndex: number;
  /** Why a snapshot's data cannot be installed (it does not decode, or is of another index), or null. */
  refuseSnapshotData(data: Uint8Array, index: number): string | null;
}

/** The guard's view of a live raft (its fields read at the moment of each check). */
export function raftGuardView(
  selfId: NodeId,
  membership: { has(id: NodeId): boolean },
  raft: Raft,
  refuseSnapshotData: (data: Uint8Array, index: number) => string | null,
): GuardView {
  return {
    selfId,
    refuseSnapshotData,
    isMember: (id) => membership.has(id),
    get term() {
      return raft.term;
    },
    get lead() {
      return raft.lead;
    },
    get role() {
      return raft.role;
    },
    get lastIndex() {
      return raft.log.lastIndex();
    },
    get commitIndex() {
      return raft.log.committed;
    },
  };
}

/** Types a member sends to its peers. */
const WIRE_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.MsgApp,
  MessageType.MsgAppResp,
  MessageType.MsgVote,
  MessageType.MsgVoteResp,
  MessageType.MsgSnap,
  MessageType.MsgHeartbeat,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgTransferLeader,
  MessageType.MsgTimeoutNow,
  MessageType.MsgReadIndex,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVote,
  MessageType.MsgPreVoteResp,
]);

/** Only the leader of a term sends these in it. */
const FROM_LEADER: ReadonlySet<MessageType> = new Set([
  MessageType.MsgApp,
  MessageType.MsgHeartbeat,
  MessageType.MsgSnap,
  MessageType.MsgTimeoutNow,
  MessageType.MsgReadIndexResp,
]);

/**
 * Checks a batch from `sender` message by message, calling step(m) for each one that passes
 * before the next is checked (so `view` sees its effect); returns why the first refused message
 * was refused (it and the rest are not stepped), or null when every message was stepped.
 */
export function refusePeerBatch(messages: readonly Message[], sender: NodeId, view: GuardView, step?: (m: Message) => void): string | null {
  if (sender === view.selfId || !view.isMember(sender)) return `${formatId(sender)} is not a member of this cluster`;
  for (const m of messages) {
    const why = refuseMessage(m, view);
    if (why !== null) return `${MessageType[m.type] ?? `type ${m.type}`} from ${formatId(m.from)} (term ${m.term}): ${why}`;
    step?.(m);
  }
  return null;
}

function refuseSnapshot(m: Message, v: GuardView): string | null {
  const snap = m.snapshot;
  if (snap === undefined) return 'a snapshot message carries no snapshot';
  const { index, term, confState } = snap.metadata;
  if (!(index > 0) || !(term > 0)) return `a snapshot at index ${index}, term ${term} cannot be`;
  if (term > m.term) return `a snapshot of term ${term} cannot come in term ${m.term}`;
  if (confState.voters.length === 0) return 'a snapshot without voters cannot be';
  // Its members need not be known here: a member that fell behind (or just joined) learns the
  // members added since from the snapshot itself (its data carries the membership, checked below).
  if (!confState.voters.includes(m.from)) return `a snapshot whose voters do not include its sender ${formatId(m.from)} cannot come from the leader`;
  // Only a snapshot raft would install costs the decoding (raft ignores older ones).
  if (m.term < v.term || index <= v.commitIndex) return null;
  const why = v.refuseSnapshotData(snap.data, index);
  return why === null ? null : `the snapshot's data cannot be installed: ${why}`;
}

function refuseMessage(m: Message, v: GuardView): string | null {
  if (!WIRE_TYPES.has(m.type)) return 'this type is never sent between members';
  if (m.entries.length > 0 && m.type !== MessageType.MsgApp) return 'only an append carries entries';
  // A read this member forwarded may come back to it when leadership moved meanwhile (raft drops it).
  const ownForwardedRead = m.type === MessageType.MsgReadIndex && m.from === v.selfId;
  if (!ownForwardedRead && (m.from === v.selfId || !v.isMember(m.from))) return `${formatId(m.from)} is not a member of this cluster`;
  if (m.type === MessageType.MsgReadIndex) {
    if (m.term !== 0) return 'a forwarded read request carries no term';
    if (m.context === undefined || m.context.length === 0) return 'a read request needs a context';
    return null;
  }
  if (m.term === 0) return 'term 0 is only for local messages';
  if (m.term < v.term) return null; // stale: raft ignores it (or tells the sender its term)
  if (FROM_LEADER.has(m.type) && m.term === v.term) {
    if (v.role === Role.Leader) return `this member leads term ${v.term}`;
    if (v.lead !== NONE && m.from !== v.lead) return `${formatId(v.lead)} leads term ${v.term}`;
  }
  switch (m.type) {
    case MessageType.MsgApp:
      return refuseAppend(m);
    case MessageType.MsgHeartbeat:
      if (m.commit > v.lastIndex) return `commit ${m.commit} is beyond this member's last index ${v.lastIndex}`;
      return null;
    case MessageType.MsgSnap:
      return refuseSnapshot(m, v);
    case MessageType.MsgTimeoutNow:
      if (m.term !== v.term) return 'a leadership transfer comes from the leader of this member\'s term';
      return null;
    case MessageType.MsgReadIndexResp:
      if (m.context === undefined || m.context.length === 0) return 'a read answer needs a context';
      return null;
    case MessageType.MsgAppResp:
      if (v.role === Role.Leader && m.term === v.term && !m.reject && m.index > v.lastIndex) {
        return `acknowledges index ${m.index}, beyond this leader's last index ${v.lastIndex}`;
      }
      if (m.reject && m.rejectHint > m.index) return `reject hint ${m.rejectHint} is beyond the rejected index ${m.index}`;
      return null;
    case MessageType.MsgVote:
    case MessageType.MsgPreVote:
      if (m.logTerm > m.term) return `the candidate's last log term ${m.logTerm} is newer than its term ${m.term}`;
      return null;
    default:
      return null;
  }
}

/** §5.3: entries follow m.index contiguously, with terms non-decreasing, >= m.logTerm and <= m.term. */
function refuseAppend(m: Message): string | null {
  if (m.logTerm > m.term) return `previous entry's term ${m.logTerm} is newer than the message's term`;
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as Message['entries'][number];
    if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`;
    if (e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} (previous ${prevTerm}, message ${m.term})`;
    prevTerm = e.term;
  }
  if (!Number.isSafeInteger(m.index + m.entries.length)) return 'indexes beyond 2^53';
  return null;
}
