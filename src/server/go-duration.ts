// Go's time.Duration.String(), which etcd uses in /v2/stats/self (`"uptime":"1m27.701187079s"`).

/** Formats a non-negative duration in nanoseconds as Go does: `1h2m3.5s`, `12.5ms`, `1.5µs`, `0s`. */
export function formatGoDuration(totalNs: bigint): string {
  if (totalNs < 0n) return '-' + formatGoDuration(-totalNs);
  if (totalNs === 0n) return '0s';
  if (totalNs < 1_000_000_000n) {
    if (totalNs < 1_000n) return `${totalNs}ns`;
    if (totalNs < 1_000_000n) return fraction(totalNs, 1_000n) + 'µs';
    return fraction(totalNs, 1_000_000n) + 'ms';
  }
  const hours = totalNs / 3_600_000_000_000n;
  const minutes = (totalNs / 60_000_000_000n) % 60n;
  const secondsNs = totalNs % 60_000_000_000n;
  let out = '';
  if (hours > 0n) out += `${hours}h`;
  if (hours > 0n || minutes > 0n) out += `${minutes}m`;
  return out + fraction(secondsNs, 1_000_000_000n) + 's';
}

/** The same for a duration in (fractional) milliseconds, as our clocks give it; negative counts as 0. */
export function formatGoDurationMs(durationMs: number): string {
  return formatGoDuration(BigInt(Math.max(0, Math.round(durationMs * 1e6))));
}

/** `value / unit` with the remainder as a decimal fraction, trailing zeros trimmed. */
function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}
