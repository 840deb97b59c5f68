// Free loopback ports, for the test suite (test/helpers/ports.ts) and the tools that start clusters
// (tools/jepsen/local-cluster.ts).
//
// Ports come from below the kernel's ephemeral range (Linux: 32768-60999 by default). A port the
// kernel hands out for `listen(0)` is an ephemeral one, and between our check and the server's own
// bind any outgoing connection of any process may take it as its local port ("address already in
// use"). Below the range only explicit binds compete.
import net from 'node:net';

/** The range below the ephemeral one that ports are drawn from. */
export const PORT_RANGE = { start: 10_000, end: 32_000 } as const;

/** Whether a server can listen on 127.0.0.1:port right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A finder of ports in [start, start + size) that were free a moment ago: each call goes on from
 * where the previous one stopped (from firstOffset at first), wrapping around, and tries each port
 * of the range at most once per call.
 */
export function portFinder(start: number, size: number, firstOffset: number): (count: number) => Promise<number[]> {
  let cursor = firstOffset % size;
  return async (count) => {
    if (!(count >= 1 && count <= 64)) throw new Error(`freePorts: count out of range: ${count}`);
    const ports: number[] = [];
    for (let tried = 0; ports.length < count; tried++) {
      if (tried >= size) throw new Error(`freePorts: no ${count} free ports in ${start}-${start + size - 1}`);
      const port = start + (cursor++ % size);
      if (await canBind(port)) ports.push(port);
    }
    return ports;
  };
}
