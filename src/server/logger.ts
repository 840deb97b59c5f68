// Structured logs: one JSON object per line (pino) on stdout, tagged with the member's name. The
// member adds a `component` (raft, transport) through child loggers, and term and index as fields
// of the lines about raft state.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

export function createMemberLogger(memberName: string, level: LogLevel): Logger {
  return pino({ level, base: { member: memberName, pid: process.pid }, formatters: { log: idsAsHex } });
}

/**
 * The only bigints logged are member and cluster ids (raft passes its NodeIds as they are): each is
 * written as etcd writes ids, lower-case hex (`8e9e05c52164694d`), at the top level of a line's
 * fields or in a list there. Only lines that are written pay for this.
 */
export function idsAsHex(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    const v = fields[key];
    let hex: unknown;
    if (typeof v === 'bigint') hex = v.toString(16);
    else if (Array.isArray(v) && v.some((x) => typeof x === 'bigint')) hex = v.map((x: unknown) => (typeof x === 'bigint' ? x.toString(16) : x));
    else continue;
    out ??= { ...fields };
    out[key] = hex;
  }
  return out ?? fields;
}
