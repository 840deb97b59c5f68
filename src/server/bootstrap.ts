// Bootstrap safety (etcd's isMemberBootstrapped): a member that finds an empty data dir with
// --initial-cluster-state new is either new, or an old member whose data is gone (a volume that
// was not mounted, a mistyped --data-dir). The second must not start: with no term, no vote and
// no log it would vote again in terms it already voted in (two leaders in one term become
// possible) and count as a replica of entries it no longer has (committed entries can be lost).
//
// So before it creates anything, the member asks its peers (GET <peer URL>/members, etcd's peer
// endpoint) and refuses to start, with etcd's error, when a peer that serves clients lists it with
// client URLs (it published itself before, so it was bootstrapped). Stricter than etcd, which
// starts when no peer answers: the member waits (bounded) until some peer answers, because a
// partitioned old member is exactly the dangerous case. Peers that are themselves new answer at
// once (freshMemberApi), so a new cluster's members find each other; a member that is restarting
// answers 503 until it has replayed what its disk held (its applied state may not show the member
// yet).
import type { InitialMember } from '../config.js';
import { HEADER_CLUSTER_ID } from '../transport/protocol.js';
import { formatId } from './ids.js';
import { replyJson, type PeerApiHandler, type PeerApiResponse, type PeerClient } from './peer-api.js';
import { sleep, type MemberTimers } from './timers.js';

export const MEMBERS_PATH = '/members';

/** How a member appears in etcd's peer /members answer (membership.Member's JSON). */
export interface PeerMemberJSON {
  id: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export class AlreadyBootstrappedError extends Error {
  constructor(memberIdHex: string) {
    super(`member ${memberIdHex} has already been bootstrapped`);
    this.name = 'AlreadyBootstrappedError';
  }
}

export class BootstrapCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapCheckError';
  }
}

/** GET /members: the members as this member knows them, with X-Etcd-Cluster-ID. */
export function membersAnswer(clusterId: number, members: readonly PeerMemberJSON[]): PeerApiResponse {
  return { status: 200, headers: { [HEADER_CLUSTER_ID]: formatId(clusterId) }, json: members };
}

/** What a member answers on its peer port while it checks its own bootstrap: it is new too. */
export function freshMemberApi(clusterId: number, initialCluster: readonly InitialMember[]): PeerApiHandler {
  return (req) => {
    if (req.path !== MEMBERS_PATH) return { status: 503, text: 'etcdserver: not ready (checking whether this member was bootstrapped)' };
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, text: 'Method Not Allowed' };
    return membersAnswer(clusterId, initialCluster.map((m) => ({ id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [] })));
  };
}

export interface BootstrapCheckOptions {
  memberId: number;
  clusterId: number;
  initialCluster: readonly InitialMember[];
  peerClient: PeerClient;
  timers: MemberTimers;
  /** Told once per round while no peer answers. */
  onWaiting: (asked: string[]) => void;
  /** Give up (and refuse to start) after this long without any answer. Default 5 minutes. */
  timeoutMs?: number;
  /** One request's timeout and the pause between rounds. Default 1000 ms each (etcd's bootstrap timeout). */
  attemptTimeoutMs?: number;
}

/** Resolves when this member may bootstrap; throws AlreadyBootstrappedError or BootstrapCheckError. */
export async function checkNotBootstrapped(o: BootstrapCheckOptions): Promise<void> {
  const peers = o.initialCluster.filter((m) => m.id !== o.memberId);
  if (peers.length === 0) return;
  const attemptMs = o.attemptTimeoutMs ?? 1000;
  const deadline = o.timers.nowMs() + (o.timeoutMs ?? 5 * 60_000);
  const clusterIdHex = formatId(o.clusterId);
  const urls = peers.flatMap((p) => p.peerURLs);
  for (;;) {
    const answers = await Promise.all(urls.map((url) => askMembers(o.peerClient, url, clusterIdHex, attemptMs)));
    let answered = false;
    for (const members of answers) {
      if (members === undefined) continue;
      answered = true;
      const self = members.find((m) => m.id === o.memberId);
      if (self !== undefined && self.clientURLs.length > 0) throw new AlreadyBootstrappedError(formatId(o.memberId));
    }
    if (answered) return;
    if (o.timers.nowMs() >= deadline) {
      throw new BootstrapCheckError(
        `the data dir is empty and no peer answered (asked ${urls.join(', ')}): cannot tell whether member ${formatId(o.memberId)} was already bootstrapped`,
      );
    }
    o.onWaiting(urls);
    await sleep(o.timers, attemptMs);
  }
}

/** A peer's member list, or undefined when it did not give one (down, not ready, another cluster, garbage). */
async function askMembers(client: PeerClient, url: string, clusterIdHex: string, timeoutMs: number): Promise<PeerMemberJSON[] | undefined> {
  try {
    const reply = await client.request(url, { method: 'GET', path: MEMBERS_PATH, headers: { [HEADER_CLUSTER_ID]: clusterIdHex } }, timeoutMs);
    if (reply.status !== 200 || reply.headers[HEADER_CLUSTER_ID] !== clusterIdHex) return undefined;
    const v = replyJson(reply);
    if (!Array.isArray(v)) return undefined;
    const out: PeerMemberJSON[] = [];
    for (const m of v as unknown[]) {
      if (typeof m !== 'object' || m === null) return undefined;
      const r = m as Record<string, unknown>;
      if (typeof r['id'] !== 'number' || !Array.isArray(r['clientURLs'])) return undefined;
      out.push({ id: r['id'], name: String(r['name'] ?? ''), peerURLs: Array.isArray(r['peerURLs']) ? (r['peerURLs'] as string[]) : [], clientURLs: r['clientURLs'] as string[] });
    }
    return out;
  } catch {
    return undefined;
  }
}
