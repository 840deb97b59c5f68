// The absolute expiration a proposer puts in a command for `ttl`, computed as etcd computes it:
// time.Now().Add(time.Duration(ttl) * time.Second).UnixNano(), every step in wrapping int64
// arithmetic. So `ttl=0` expires now, and a huge ttl wraps: 99999999999 lands before 1970, which
// the store treats as permanent on a create/set and keeps as a long-past expiration on an
// update/compare-and-swap (all as the real etcd 3.4 answers). The store receives milliseconds.

/** Below this many digits (1e9 s, ~31 years) nothing can overflow, so plain doubles are exact enough. */
const maxSafeTtlDigits = 9;
const nsPerMs = 1_000_000n;

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
  return Number(unixNs / nsPerMs) + Number(unixNs % nsPerMs) / 1e6;
}
