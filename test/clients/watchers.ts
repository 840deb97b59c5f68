// Knowing when a client's watch is registered on the server (so the test can trigger the event
// without racing it): the `watchers` counter of /v2/stats/store.
import { exchange } from '../conformance/exchange.js';

export async function watcherCount(clientURL: string): Promise<number> {
  const ex = await exchange(clientURL, { method: 'GET', path: '/v2/stats/store' }, 5000);
  const parsed = JSON.parse(ex.body().toString('utf8') || '{}') as { watchers?: unknown };
  if (typeof parsed.watchers !== 'number') throw new Error(`${clientURL}/v2/stats/store has no watchers count: ${ex.body().toString('utf8')}`);
  return parsed.watchers;
}

/** Waits until at least `count` watchers are registered; throws after `timeoutMs`. */
export async function waitForWatchers(clientURL: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await watcherCount(clientURL);
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`${clientURL}: ${n} watcher(s) registered after ${timeoutMs} ms, wanted ${count}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
