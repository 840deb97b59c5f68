// Free loopback ports for tests. Tests never use fixed ports: suites run in parallel.
import net from 'node:net';

/** Asks the kernel for `count` distinct free ports on 127.0.0.1 (held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  if (!(count >= 1 && count <= 64)) throw new Error(`freePorts: count out of range: ${count}`);
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(srv);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
