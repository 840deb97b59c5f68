// Deliberate alterations of a recorded transcript, to prove the comparison catches real differences
// and tolerates the allowed ones.
import type { RawRecord, RawTranscript } from './transcript.js';

export function cloneTranscript(t: RawTranscript): RawTranscript {
  return structuredClone(t);
}

/** A copy of `t` with `change` applied to the record of step `step`. */
export function mutateStep(t: RawTranscript, step: number, change: (r: RawRecord) => void): RawTranscript {
  const copy = cloneTranscript(t);
  const record = copy.records.find((r) => r.step === step);
  if (!record) throw new Error(`no record for step ${step} in ${t.script}`);
  change(record);
  return copy;
}

/** Replaces the first match of `pattern` in the record's body; throws when nothing matches (a mutation that does nothing proves nothing). */
export function replaceInBody(r: RawRecord, pattern: RegExp, replacement: string | ((m: string, ...groups: string[]) => string)): void {
  if (r.body === undefined || !pattern.test(r.body)) throw new Error(`pattern ${pattern} not in body ${JSON.stringify(r.body)}`);
  r.body = r.body.replace(pattern, replacement as (m: string, ...groups: string[]) => string);
}

/** Shifts an RFC3339Nano timestamp by `ms`, keeping 9 fraction digits trimmed the Go way. */
export function shiftTimestamp(ts: string, ms: number): string {
  const m = /^(.*?)(\.(\d+))?Z$/.exec(ts);
  if (!m) throw new Error(`not a timestamp: ${ts}`);
  const nanos = BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt(((m[3] ?? '') + '000000000').slice(0, 9)) + BigInt(Math.round(ms * 1e6));
  const secs = nanos / 1_000_000_000n;
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const base = new Date(Number(secs) * 1000).toISOString().replace(/\.\d+Z$/, '');
  return `${base}${frac ? `.${frac}` : ''}Z`;
}
