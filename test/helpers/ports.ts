// Free loopback ports for tests (tools/ports.ts). Tests never use fixed ports: suites run in
// parallel, and each vitest worker draws from its own slice of the range below the ephemeral one,
// so two parallel suites never pick the same port.
import { PORT_RANGE, portFinder } from '../../tools/ports.js';

const SLICES = 8;
const sliceSize = Math.floor((PORT_RANGE.end - PORT_RANGE.start) / SLICES);
const poolId = Number(process.env['VITEST_POOL_ID'] ?? process.env['VITEST_WORKER_ID'] ?? 0) || 0;
const sliceStart = PORT_RANGE.start + (poolId % SLICES) * sliceSize;
// A pid-dependent first offset, so that processes reusing a pool id do not retrace each other.
const find = portFinder(sliceStart, sliceSize, process.pid * 7919);

/** `count` distinct ports on 127.0.0.1 that were free a moment ago, outside the ephemeral range. */
export function freePorts(count: number): Promise<number[]> {
  return find(count);
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
