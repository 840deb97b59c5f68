// Structured logs: one JSON object per line (pino) on stdout, tagged with the member's name. The
// cluster runtime adds term and index through child loggers.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

export function createMemberLogger(memberName: string, level: LogLevel): Logger {
  return pino({ level, base: { member: memberName, pid: process.pid } });
}
