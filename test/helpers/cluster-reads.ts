// Bounded "is it visible everywhere yet?" checks: plain (local) GETs on each member, no redirects
// followed, so each member answers from its own copy.
import type { ClusterMember } from './cluster-member.js';
import type { EtcdEvent, KvClient } from './kv-client.js';
import { waitFor } from './wait-for.js';

/** The value of `key` on one member (local read), or null when it answers 404 Key not found. */
export async function localValue(client: KvClient, m: ClusterMember, key: string, timeoutMs = 2000): Promise<string | null> {
  const res = await client.http.send({ method: 'GET', url: `${m.clientURL}/v2/keys${key}`, timeoutMs });
  const json = JSON.parse(res.body) as EtcdEvent & { errorCode?: number };
  if (res.status === 404 && json.errorCode === 100) return null;
  if (res.status !== 200) throw new Error(`GET ${key} on ${m.name}: ${res.status} ${res.body.slice(0, 200)}`);
  return json.node.value ?? null;
}

/** Waits until every member in `members` answers `expected` for `key` (null = not found). */
export async function waitValueEverywhere(
  client: KvClient,
  members: readonly ClusterMember[],
  key: string,
  expected: string | null,
  timeoutMs = 10_000,
): Promise<void> {
  const seen = new Map<string, string>();
  await waitFor(
    async () => {
      const values = await Promise.all(members.map(async (m) => [m.name, await localValue(client, m, key).catch((e: Error) => `<${e.message}>`)] as const));
      for (const [name, v] of values) seen.set(name, JSON.stringify(v));
      return values.every(([, v]) => v === expected);
    },
    {
      what: `${key} = ${JSON.stringify(expected)} on ${members.map((m) => m.name).join(', ')}`,
      timeoutMs,
      intervalMs: 50,
      describe: () => [...seen].map(([n, v]) => `${n}: ${v}`).join(', '),
    },
  );
}
