// Helpers for messages raft builds for itself.
import { NONE, type Entry, type Message, type MessageType, type NodeId } from './messages.js';

/** Shared empty entry list for messages without entries. Frozen: nobody may append to it. */
export const NO_ENTRIES = Object.freeze([]) as unknown as Entry[];

/** A message generated inside this node (term 0, never sent on the wire). */
export function localMessage(type: MessageType, from: NodeId): Message {
  return { type, to: NONE, from, term: 0, logTerm: 0, index: 0, entries: NO_ENTRIES, commit: 0, reject: false, rejectHint: 0 };
}
