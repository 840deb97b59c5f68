// Secrets a member hands out to prove who may do something on its peer port (the forward token,
// the backup token): random, and compared in constant time.
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes as lower-case hex. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Whether `given` is `expected`, in time independent of where they differ; false when either is missing. */
export function sameToken(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
