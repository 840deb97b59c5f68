// An idle member must not wake up many times a second: prom-client's event-loop-lag sampler
// defaults to a 10 ms timer (100 wake-ups a second, most of an idle member's CPU), so
// MemberMetrics samples every EVENT_LOOP_SAMPLE_MS instead. Measured in a child process (the
// test runner's own timers would count) with the built dist/: its voluntary context switches
// over one idle second.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_SAMPLE_MS } from '../../src/server/metrics.js';

const metricsJs = fileURLToPath(new URL('../../dist/server/metrics.js', import.meta.url));
const statsJs = fileURLToPath(new URL('../../dist/transport/stats.js', import.meta.url));

const script = `
const { MemberMetrics } = await import(${JSON.stringify(metricsJs)});
const { TransportStats } = await import(${JSON.stringify(statsJs)});
const m = new MemberMetrics({ hasLeader: () => true, isLeader: () => true, committedIndex: () => 0, appliedIndex: () => 0, pendingProposals: () => 0, peers: () => [], transport: new TransportStats(), processMetrics: true });
await m.text();
const keepAlive = setInterval(() => {}, 60_000);
await new Promise((r) => setTimeout(r, 300));
const before = process.resourceUsage().voluntaryContextSwitches;
await new Promise((r) => setTimeout(r, 1000));
const after = process.resourceUsage().voluntaryContextSwitches;
clearInterval(keepAlive);
console.log(JSON.stringify({ switches: after - before }));
`;

describe('idle wake-ups', () => {
  it('the process metrics sample the event loop every EVENT_LOOP_SAMPLE_MS, not every 10 ms', () => {
    expect(EVENT_LOOP_SAMPLE_MS).toBeGreaterThanOrEqual(100);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const { switches } = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { switches: number };
    // A 10 ms sampler alone makes about 100 a second; every 100 ms about 10 (a busy machine adds a few).
    expect(switches).toBeLessThan(50);
  });
});
