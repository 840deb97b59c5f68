// Structured logs: one JSON object per line (pino) on stdout, tagged with the member's name. The
// member adds a `component` (raft, transport) through child loggers, and term and index as fields
// of the lines about raft state.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

export function createMemberLogger(memberName: string, level: LogLevel): Logger {
  return pino({ level, base: { member: memberName, pid: process.pid } });
}
