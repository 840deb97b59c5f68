// Bounded wait for a member's /health to report {"health":"true"}.
import http from 'node:http';
import https from 'node:https';
import { delay, type Spawned } from './child-process.js';
import { clientTLSOptions } from './https-client.js';

function probeHealth(clientURL: string): Promise<boolean> {
  return new Promise((resolve) => {
    const secure = clientURL.startsWith('https:');
    const get = secure ? https.get : http.get;
    const req = get(`${clientURL}/health`, { timeout: 1000, ...(secure ? clientTLSOptions() : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Polls `clientURL`/health until it is healthy. Throws when `timeoutMs` passes or when one of
 * `processes` exits first (its output is in the message).
 */
export async function waitHealthy(clientURL: string, processes: readonly Spawned[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = processes.find((p) => p.hasExited());
    if (dead) {
      const how = await dead.exited;
      throw new Error(`process ${dead.pid} exited (${how}) before ${clientURL} became healthy:\n${dead.logTail().slice(-4000)}`);
    }
    if (await probeHealth(clientURL)) return;
    if (Date.now() > deadline) {
      const logs = processes.map((p) => `--- pid ${p.pid}\n${p.logTail().slice(-2000)}`).join('\n');
      throw new Error(`${clientURL}/health not healthy within ${timeoutMs} ms\n${logs}`);
    }
    await delay(50);
  }
}
