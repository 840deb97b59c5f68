// A long-poll watch (GET ...?wait=true) on one member, split in its two observable moments: the
// response head (etcd flushes it when the watcher is registered) and the event body. Bounded.
import { request } from 'undici';
import type { EtcdEvent } from './kv-client.js';

export interface OpenWatch {
  /** Resolves with status and headers once the member has registered the watch. */
  registered: Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>;
  /** Resolves with the single event (non-stream watch). */
  event: Promise<EtcdEvent>;
  close(): void;
}

export function openWatch(url: string, timeoutMs: number): OpenWatch {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`watch ${url}: no event within ${timeoutMs} ms`)), timeoutMs);
  const response = request(url, { method: 'GET', signal: abort.signal });
  const registered = response.then((res) => ({ status: res.statusCode, headers: res.headers }));
  const event = response
    .then(async (res) => {
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`watch ${url}: ${res.statusCode} ${text.slice(0, 300)}`);
      return JSON.parse(text) as EtcdEvent;
    })
    .finally(() => clearTimeout(timer));
  // Callers may only await one of the two; keep the other from being an unhandled rejection.
  registered.catch(() => undefined);
  event.catch(() => undefined);
  return { registered, event, close: () => abort.abort(new Error('closed')) };
}
