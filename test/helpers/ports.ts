// Free loopback ports for tests. Tests never use fixed ports: suites run in parallel.
//
// Ports come from below the kernel's ephemeral range (Linux: 32768-60999 by default). A port the
// kernel hands out for `listen(0)` is an ephemeral one, and between our check and the server's own
// bind any outgoing connection of any process may take it as its local port ("address already in
// use"). Below the range only explicit binds compete, and each vitest worker draws from its own
// slice of it, so two parallel suites never pick the same port.
import net from 'node:net';

const RANGE_START = 10_000;
const RANGE_END = 32_000;
const SLICES = 8;
const sliceSize = Math.floor((RANGE_END - RANGE_START) / SLICES);
const poolId = Number(process.env['VITEST_POOL_ID'] ?? process.env['VITEST_WORKER_ID'] ?? 0) || 0;
const sliceStart = RANGE_START + (poolId % SLICES) * sliceSize;
// Start at a pid-dependent offset so that processes reusing a pool id do not retrace each other.
let cursor = (process.pid * 7919) % sliceSize;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` distinct ports on 127.0.0.1 that were free a moment ago, outside the ephemeral range. */
export async function freePorts(count: number): Promise<number[]> {
  if (!(count >= 1 && count <= 64)) throw new Error(`freePorts: count out of range: ${count}`);
  const ports: number[] = [];
  for (let tried = 0; ports.length < count; tried++) {
    if (tried >= sliceSize) throw new Error(`freePorts: no ${count} free ports in ${sliceStart}-${sliceStart + sliceSize - 1}`);
    const port = sliceStart + (cursor++ % sliceSize);
    if (await canBind(port)) ports.push(port);
  }
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
