// Checks a write ledger against what members actually hold: one recursive GET of the load's
// directory per member, compared as a key -> value map.
//   lost          an acknowledged write whose key is missing, holds another value, or sits at another
//                 modifiedIndex than the acknowledgement said (each key is written once)
//   never written a key or value that no writer ever sent
//   failed        a write reported as certainly failed that is present anyway
// Indeterminate writes may or may not be present, but every member must agree about them.
import type { ClusterMember } from './cluster-member.js';
import type { EtcdNode, KvClient } from './kv-client.js';
import { waitFor } from './wait-for.js';
import type { WriteRecord } from './write-load.js';

export interface MemberCheck {
  member: string;
  keys: number;
  lost: string[];
  neverWritten: string[];
  failedButPresent: string[];
  /** The member's key -> value map. */
  content: Map<string, string>;
  /** The member's key -> modifiedIndex map. */
  indexes: Map<string, number>;
}

export interface Tree {
  values: Map<string, string>;
  indexes: Map<string, number>;
}

function collectFiles(node: EtcdNode | undefined, into: Tree): void {
  if (!node) return;
  if (node.dir) {
    for (const child of node.nodes ?? []) collectFiles(child, into);
  } else if (node.key !== undefined) {
    into.values.set(node.key, node.value ?? '');
    into.indexes.set(node.key, node.modifiedIndex ?? -1);
  }
}

/** Every file under `prefix` on one member (plain, local GET; empty when the dir does not exist). */
export async function readTree(client: KvClient, clientURL: string, prefix: string, timeoutMs = 10_000): Promise<Tree> {
  const res = await client.http.send({ method: 'GET', url: `${clientURL}/v2/keys${prefix}?recursive=true`, timeoutMs });
  const json = JSON.parse(res.body) as { node?: EtcdNode; errorCode?: number };
  const tree: Tree = { values: new Map(), indexes: new Map() };
  if (res.status === 404 && json.errorCode === 100) return tree;
  if (res.status !== 200) throw new Error(`GET ${prefix}?recursive=true on ${clientURL}: ${res.status} ${res.body.slice(0, 200)}`);
  collectFiles(json.node, tree);
  return tree;
}

/** Why an acknowledged write is not (exactly) on the member, or undefined when it is. */
function lostReason(r: WriteRecord, tree: Tree): string | undefined {
  const got = tree.values.get(r.key);
  if (got !== r.value) return `${r.key}=${r.value} (member has ${got === undefined ? 'nothing' : JSON.stringify(got)}; acked via ${r.via})`;
  const index = tree.indexes.get(r.key);
  if (r.index !== undefined && index !== r.index) return `${r.key} acknowledged at index ${r.index}, member has it at ${index}`;
  return undefined;
}

export function checkContent(member: string, tree: Tree, records: readonly WriteRecord[]): MemberCheck {
  const content = tree.values;
  const byKey = new Map(records.map((r) => [r.key, r]));
  const check: MemberCheck = { member, keys: content.size, lost: [], neverWritten: [], failedButPresent: [], content, indexes: tree.indexes };
  for (const r of records) {
    if (r.outcome !== 'acknowledged') continue;
    const why = lostReason(r, tree);
    if (why) check.lost.push(why);
  }
  for (const [key, value] of content) {
    const r = byKey.get(key);
    if (!r || r.value !== value) check.neverWritten.push(`${key}=${JSON.stringify(value)}`);
    else if (r.outcome === 'failed') check.failedButPresent.push(`${key} (${r.reason ?? ''})`);
  }
  return check;
}

export function problemsOf(checks: readonly MemberCheck[], limit = 10): string[] {
  const out: string[] = [];
  for (const c of checks) {
    const add = (what: string, list: string[]): void => {
      if (list.length) out.push(`${c.member}: ${list.length} ${what}, e.g. ${list.slice(0, limit).join('; ')}`);
    };
    add('acknowledged writes missing', c.lost);
    add('keys never written', c.neverWritten);
    add('failed writes present', c.failedButPresent);
  }
  const [first, ...rest] = checks;
  for (const c of rest) {
    if (!first) break;
    const differ = [...new Set([...first.content.keys(), ...c.content.keys()])].filter(
      (k) => first.content.get(k) !== c.content.get(k) || first.indexes.get(k) !== c.indexes.get(k),
    );
    if (differ.length) out.push(`${first.member} and ${c.member} differ on ${differ.length} keys, e.g. ${differ.slice(0, limit).join(', ')}`);
  }
  return out;
}

/** Acknowledgements that reported the same modifiedIndex for different writes (never legitimate). */
export function ackIndexCollisions(records: readonly WriteRecord[]): string[] {
  const byIndex = new Map<number, WriteRecord>();
  const out: string[] = [];
  for (const r of records) {
    if (r.outcome !== 'acknowledged' || r.index === undefined) continue;
    const other = byIndex.get(r.index);
    if (other) out.push(`${other.key} and ${r.key} both acknowledged at index ${r.index}`);
    else byIndex.set(r.index, r);
  }
  return out;
}

/**
 * Waits (bounded) until every given member holds every acknowledged write, nothing never written or
 * certainly failed, and all members hold the same content (values and indexes) under `prefix`.
 * Returns the checks. Two acknowledgements with the same index fail at once.
 */
export async function waitLedgerEverywhere(
  client: KvClient,
  members: readonly ClusterMember[],
  records: readonly WriteRecord[],
  prefix: string,
  timeoutMs: number,
): Promise<MemberCheck[]> {
  const collisions = ackIndexCollisions(records);
  if (collisions.length > 0) throw new Error(`${collisions.length} acknowledgements share an index, e.g. ${collisions.slice(0, 5).join('; ')}`);
  let last: string[] = ['no check completed'];
  return waitFor(
    async () => {
      const checks = await Promise.all(members.map(async (m) => checkContent(m.name, await readTree(client, m.clientURL, prefix), records)));
      last = problemsOf(checks);
      return last.length === 0 ? checks : undefined;
    },
    {
      what: `every acknowledged write under ${prefix} (of ${records.length} attempts) on ${members.map((m) => m.name).join(', ')}, and nothing else`,
      timeoutMs,
      intervalMs: 500,
      describe: () => last.join('\n'),
    },
  );
}

/** Waits (bounded) until every acknowledged write in `records` is on each of `members` (catch-up). */
export async function waitAcknowledgedOn(
  client: KvClient,
  members: readonly ClusterMember[],
  records: readonly WriteRecord[],
  prefix: string,
  timeoutMs: number,
): Promise<void> {
  const acked = records.filter((r) => r.outcome === 'acknowledged');
  let last = 'no check completed';
  await waitFor(
    async () => {
      const missing = await Promise.all(
        members.map(async (m) => {
          const tree = await readTree(client, m.clientURL, prefix);
          return [m.name, acked.filter((r) => lostReason(r, tree) !== undefined).map((r) => r.key)] as const;
        }),
      );
      last = missing.map(([name, keys]) => `${name} misses ${keys.length}${keys.length ? ` (e.g. ${keys.slice(0, 5).join(', ')})` : ''}`).join('; ');
      return missing.every(([, keys]) => keys.length === 0);
    },
    { what: `${acked.length} acknowledged writes under ${prefix} on ${members.map((m) => m.name).join(', ')}`, timeoutMs, intervalMs: 200, describe: () => last },
  );
}
