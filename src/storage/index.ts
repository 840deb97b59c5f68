export { RaftLogStore, mustSync, raftLogDir } from './raft-log-store.js';
export { openLevelKv } from './kv.js';
export type { KvOp, KvOpener, KvRange, KvStore } from './kv.js';
export type { BatchWritten, OpenedRaftLog, RaftLogStoreOptions, RaftStateUpdate, SaveOptions } from './raft-log-store.js';
export { DataDirError } from './errors.js';
export type { DataDirErrorCode } from './errors.js';
export type { MemberMetadata } from './codec.js';
