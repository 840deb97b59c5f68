// Invariant checks (TIGER_STYLE): a broken invariant is a bug, and a bug must crash loudly rather
// than let a replica limp on with a corrupted log. These are never used for input validation:
// bad network input is dropped by RawNode.step, not asserted.

export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = 'RaftInvariantError';
  }
}

/** Throws RaftInvariantError. Call sites build the message only on the failing path. */
export function panic(message: string): never {
  throw new RaftInvariantError(message);
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) panic(message);
}
