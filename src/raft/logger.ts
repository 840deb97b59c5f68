// The logging hook. Raft itself does no I/O: by default nothing is logged. The member runtime
// passes a pino logger (or a child of one); the signature (fields, message) is pino's.
// Raft logs only rare events (elections, step-downs, rejections, snapshots), never per message.

export interface RaftLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

function discard(): void {}

export const silentLogger: RaftLogger = Object.freeze({ debug: discard, info: discard, warn: discard });
