// The absolute expiration a proposer puts in a command for `ttl`, computed as etcd computes it:
// time.Now().Add(time.Duration(ttl) * time.Second).UnixNano(), every step in wrapping int64
// arithmetic. So `ttl=0` expires now, and a huge ttl wraps: 99999999999 lands in 1688. etcd then
// treats it as permanent on a create/set (anything before 2000) and keeps it as a long-past
// expiration on an update/compare-and-swap, so the key goes at the next expiry sync. Commands carry
// Unix milliseconds >= 0, so an instant before 1970 is sent as 1 ms after the epoch: the same
// behaviour in both cases (only the expiration a response prints differs from etcd's 1688 date).

/** Below this many digits (1e9 s, ~31 years) nothing can overflow, so plain doubles are exact enough. */
const maxSafeTtlDigits = 9;
const nsPerMs = 1_000_000n;
/** Stands for any instant before 1970 (commands carry non-negative times). */
const LONG_PAST_MS = 1;

/**
 * Unix milliseconds (fractional) of `now + ttl seconds`; `ttlDigits` is a validated uint64 in decimal.
 * 0 means permanent, as in a command; Go's wrap-around can produce it only by a 1-in-2^64 accident.
 */
export function expirationFromTtl(ttlDigits: string, nowMs: number): number {
  if (ttlDigits.length <= maxSafeTtlDigits) return nowMs + Number(ttlDigits) * 1000;
  const wholeMs = Math.floor(nowMs);
  const nowNs = BigInt(wholeMs) * nsPerMs + BigInt(Math.round((nowMs - wholeMs) * 1e6));
  const durationNs = BigInt.asIntN(64, BigInt.asIntN(64, BigInt(ttlDigits)) * 1_000_000_000n);
  const unixNs = BigInt.asIntN(64, nowNs + durationNs);
  if (unixNs <= 0n) return unixNs === 0n ? 0 : LONG_PAST_MS;
  return Number(unixNs / nsPerMs) + Number(unixNs % nsPerMs) / 1e6;
}
