// etcd's v2 error (v2error.Error): a stable numeric code, etcd's exact message for it, a cause and
// the store index at the time of the failure. The HTTP layer serialises it with toJSON() and answers
// with httpStatus(); the store returns it (never throws it) for every failure a client can cause.

export const ErrorCode = {
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NoMorePeer: 103,
  NotDir: 104,
  NodeExist: 105,
  KeyIsPreserved: 106,
  RootROnly: 107,
  DirNotEmpty: 108,
  ExistingPeerAddr: 109,
  Unauthorized: 110,
  ValueRequired: 200,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  ValueOrTTLRequired: 204,
  TimeoutNaN: 205,
  NameRequired: 206,
  IndexOrValueRequired: 207,
  IndexValueMutex: 208,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTTLRequired: 212,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
  EventIndexCleared: 401,
  StandbyInternal: 402,
  InvalidActiveSize: 403,
  InvalidRemoveDelay: 404,
  ClientInternal: 500,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The exact wire messages of etcd 3.4 (v2error's table). */
const messages: ReadonlyMap<number, string> = new Map<number, string>([
  [ErrorCode.KeyNotFound, 'Key not found'],
  [ErrorCode.TestFailed, 'Compare failed'],
  [ErrorCode.NotFile, 'Not a file'],
  [ErrorCode.NoMorePeer, 'Reached the max number of peers in the cluster'],
  [ErrorCode.NotDir, 'Not a directory'],
  [ErrorCode.NodeExist, 'Key already exists'],
  [ErrorCode.KeyIsPreserved, 'The prefix of given key is a keyword in etcd'],
  [ErrorCode.RootROnly, 'Root is read only'],
  [ErrorCode.DirNotEmpty, 'Directory not empty'],
  [ErrorCode.ExistingPeerAddr, 'Peer address has existed'],
  [ErrorCode.Unauthorized, 'The request requires user authentication'],
  [ErrorCode.ValueRequired, 'Value is Required in POST form'],
  [ErrorCode.PrevValueRequired, 'PrevValue is Required in POST form'],
  [ErrorCode.TTLNaN, 'The given TTL in POST form is not a number'],
  [ErrorCode.IndexNaN, 'The given index in POST form is not a number'],
  [ErrorCode.ValueOrTTLRequired, 'Value or TTL is required in POST form'],
  [ErrorCode.TimeoutNaN, 'The given timeout in POST form is not a number'],
  [ErrorCode.NameRequired, 'Name is required in POST form'],
  [ErrorCode.IndexOrValueRequired, 'Index or value is required'],
  [ErrorCode.IndexValueMutex, 'Index and value cannot both be specified'],
  [ErrorCode.InvalidField, 'Invalid field'],
  [ErrorCode.InvalidForm, 'Invalid POST form'],
  [ErrorCode.RefreshValue, 'Value provided on refresh'],
  [ErrorCode.RefreshTTLRequired, 'A TTL must be provided on refresh'],
  [ErrorCode.RaftInternal, 'Raft Internal Error'],
  [ErrorCode.LeaderElect, 'During Leader Election'],
  [ErrorCode.WatcherCleared, 'watcher is cleared due to etcd recovery'],
  [ErrorCode.EventIndexCleared, 'The event in requested index is outdated and cleared'],
  [ErrorCode.StandbyInternal, 'Standby Internal Error'],
  [ErrorCode.InvalidActiveSize, 'Invalid active size'],
  [ErrorCode.InvalidRemoveDelay, 'Standby remove delay'],
  [ErrorCode.ClientInternal, 'Client Internal Error'],
]);

/** Only these codes have a status of their own in etcd; every other code is a 400. */
const httpStatuses: ReadonlyMap<number, number> = new Map<number, number>([
  [ErrorCode.KeyNotFound, 404],
  [ErrorCode.TestFailed, 412],
  [ErrorCode.NotFile, 403],
  [ErrorCode.NodeExist, 412],
  [ErrorCode.DirNotEmpty, 403],
  [ErrorCode.Unauthorized, 401],
  [ErrorCode.RaftInternal, 500],
  [ErrorCode.LeaderElect, 500],
]);

export interface EtcdErrorJSON {
  errorCode: number;
  message: string;
  cause?: string;
  index: number;
}

export class EtcdError extends Error {
  readonly errorCode: number;
  /** '' means "no cause": the field is then omitted from the JSON, as etcd's `omitempty` does. */
  override readonly cause: string;
  readonly index: number;

  constructor(errorCode: number, cause: string, index: number) {
    const message = messages.get(errorCode);
    if (message === undefined) throw new Error(`EtcdError: unknown error code ${errorCode}`);
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`EtcdError: bad index ${index}`);
    // A client-caused failure, not a bug: skip the stack trace, whose capture dominates the cost of
    // the misses a set or create meets on every new key.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'EtcdError';
    this.errorCode = errorCode;
    this.cause = cause;
    this.index = index;
  }

  httpStatus(): number {
    return httpStatuses.get(this.errorCode) ?? 400;
  }

  /** etcd's field order: errorCode, message, cause (omitted when empty), index. */
  toJSON(): EtcdErrorJSON {
    if (this.cause === '') return { errorCode: this.errorCode, message: this.message, index: this.index };
    return { errorCode: this.errorCode, message: this.message, cause: this.cause, index: this.index };
  }
}
