// The public surface of the consensus core, for the member runtime (src/server) and tests.
export * from './messages.js';
export { MemoryStorage, StorageError, entrySizeBytes, type Storage, type StorageErrorCode, type InitialState } from './storage.js';
export { RawNode, type Ready } from './rawnode.js';
export { type RaftConfig, RaftConfigError } from './config.js';
export { Role, type SoftState, type ReadState } from './role.js';
export { type ProposalTicket } from './raft.js';
export { type Status, type ProgressStatus } from './status.js';
export { ProgressState } from './progress.js';
export { ProposalDroppedError, ReadIndexDroppedError, RequestDroppedError, type DropReason } from './errors.js';
export { RaftInvariantError } from './assert.js';
export { type RaftLogger, silentLogger } from './logger.js';
