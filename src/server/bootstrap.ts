// Bootstrap safety (etcd's isMemberBootstrapped): a member that finds an empty data dir with
// --initial-cluster-state new is either new, or an old member whose data is gone (a volume that
// was not mounted, a mistyped --data-dir). The second must not start: with no term, no vote and
// no log it would vote again in terms it already voted in (two leaders in one term become
// possible) and count as a replica of entries it no longer has (committed entries can be lost).
//
// So before it creates anything, the member asks its peers (GET <peer URL>/members, etcd's peer
// endpoint) and refuses to start, with etcd's error, when a peer lists it with client URLs (it
// published itself before, so it was bootstrapped). A running member answers from its applied
// membership and from every publish in the rest of its log (one that restarted with an old commit
// index may not have applied the publish yet); a peer that is new itself answers at once
// (freshMemberApi), so the members of a new cluster find each other.
//
// Stricter than etcd, which starts when no peer answers (the simulator found the cases):
//   - the member waits (bounded) until enough peers answered: n - q + 1 of them in a cluster of n
//     with quorum q, so that the answers meet every quorum: a committed publish of this member is
//     on a quorum, so one of them holds it. A partitioned or half-restarted cluster is exactly when
//     a wiped member must not guess;
//   - except in a cluster that never elected anyone: when every peer that answered is at term 0
//     (X-Raft-Term; a member whose log holds only the bootstrap entries, at term 1 with no vote,
//     reports 0 too: reportedTerm), no vote was ever cast and nothing was ever committed beyond
//     the bootstrap entries where they can see, and one answer is enough, so a new cluster starts
//     with a member missing, as etcd's does.
// What no check can see: a member that voted or acknowledged entries but never published (it was
// wiped within its first seconds) leaves no trace on its peers; etcd has the same limit. And the
// term-0 shortcut trusts that the peers that answered are all there is: if the members that formed
// the cluster with this one are all down and only a member that never started answers, it looks
// like a new cluster (a down peer and a never-started one look the same from here).
import type { InitialMember } from '../config.js';
import { HEADER_CLUSTER_ID } from '../transport/protocol.js';
import { compareIds, EntryType, NONE, type Entry, type HardState } from '../raft/messages.js';
import type { RaftLog } from '../raft/log.js';
import { decodeEntryCommand, encodeEntryCommand } from './entry-codec.js';
import { formatId, parseMemberId } from './ids.js';
import type { Membership } from './membership.js';
import { RaftLogStore, type BatchWritten, type JoinedIdentity, type OpenedRaftLog, type SnapshotFileStore } from '../storage/index.js';
import { openSnapshotFiles, snapDir } from '../storage/snap-files.js';
import type { RaftMemberOptions } from './member-options.js';
import { httpPeerClient, replyJson, type PeerApiHandler, type PeerApiResponse, type PeerClient } from './peer-api.js';
import { nodeTimers, sleep, type MemberTimers } from './timers.js';
import { forceNewCluster } from './force-new-cluster.js';

export const MEMBERS_PATH = '/members';

/**
 * How a member appears in etcd's peer /members answer (membership.Member's JSON). In the JSON the
 * id is a hex string as etcd prints ids (JSON numbers cannot hold a 64-bit id exactly); in memory
 * a bigint. A number (from an etcd-ts before 64-bit ids) is read as well.
 */
export interface PeerMemberJSON {
  id: bigint;
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

/** X-Raft-Term on a /members answer: the answering member's term (0: it never saw an election). */
export const HEADER_RAFT_TERM = 'x-raft-term';

/** GET /members: the members as this member knows them, with X-Etcd-Cluster-ID and X-Raft-Term. */
export function membersAnswer(clusterId: bigint, members: readonly PeerMemberJSON[], term: number): PeerApiResponse {
  return { status: 200, headers: { [HEADER_CLUSTER_ID]: formatId(clusterId), [HEADER_RAFT_TERM]: String(term) }, json: members.map((m) => ({ ...m, id: formatId(m.id) })) };
}

/** A member id in a peer's /members JSON: a hex string (or a number, from an older etcd-ts); undefined otherwise. */
export function peerJsonId(v: unknown): bigint | undefined {
  if (typeof v === 'string') return parseMemberId(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return BigInt(v);
  if (typeof v === 'bigint' && v > 0n && v < 1n << 64n) return v;
  return undefined;
}

/** What a member answers on its peer port while it checks its own bootstrap: it is new too. */
export function freshMemberApi(clusterId: bigint, initialCluster: readonly InitialMember[]): PeerApiHandler {
  return (req) => {
    if (req.path !== MEMBERS_PATH) return { status: 503, text: 'etcdserver: not ready (checking whether this member was bootstrapped)' };
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, text: 'Method Not Allowed' };
    return membersAnswer(clusterId, initialCluster.map((m) => ({ id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [] })), 0);
  };
}

export interface BootstrapCheckOptions {
  memberId: bigint;
  clusterId: bigint;
  initialCluster: readonly InitialMember[];
  peerClient: PeerClient;
  timers: MemberTimers;
  /** Told once per round while too few peers answered. */
  onWaiting: (asked: string[]) => void;
  /** Give up (and refuse to start) after this long without enough answers. Default 5 minutes. */
  timeoutMs?: number;
  /** One request's timeout and the pause between rounds. Default 1000 ms each (etcd's bootstrap timeout). */
  attemptTimeoutMs?: number;
}

/**
 * Opens (or creates) the member's data dir. On an empty one, with --initial-cluster-state new in a
 * cluster of several members, first checks with the peers that this member is new (while the
 * check runs, options.onBootstrapCheck gets the handler the peer port must serve). Throws
 * DataDirError for a data dir of another cluster or member, or a damaged one;
 * AlreadyBootstrappedError or BootstrapCheckError from the check.
 */
export interface OpenedMemberLog extends OpenedRaftLog {
  /** When this open joined a running cluster: its members as a peer listed them (the transport's first peers). */
  joinedCluster?: PeerMemberJSON[];
}

export async function openMemberLog(options: RaftMemberOptions, onBatchWritten: (b: BatchWritten) => void): Promise<OpenedMemberLog> {
  const { config } = options;
  const voters = config.initialCluster.map((m) => m.id);
  const timers = options.timers ?? nodeTimers;
  if (config.forceNewCluster === true) await forceNewCluster(options);
  let joinedCluster: PeerMemberJSON[] | undefined;
  const opened = await RaftLogStore.open({
    dataDir: config.dataDir,
    clusterId: config.clusterId,
    memberId: config.memberId,
    name: config.name,
    adoptJoinedIdentity: true,
    // Written only when this open creates the data dir: a new cluster's voters and its bootstrap
    // entries; a member that joins a running cluster starts with neither and learns them from it.
    ...(config.initialClusterState === 'new'
      ? { initialConfState: { voters, learners: [] }, initialEntries: bootstrapEntries(config.initialCluster), initialHardState: bootstrapHardState(config.initialCluster) }
      : {}),
    onBatchWritten,
    ...(options.openKv !== undefined ? { openKv: options.openKv } : {}),
    snapshotFiles: await (options.openSnapshotFiles ?? openDiskSnapshotFiles)(snapDir(config.dataDir), config.maxSnapshots ?? 5),
    beforeCreate: async (): Promise<JoinedIdentity | undefined> => {
      if (config.initialClusterState === 'existing') {
        const joined = await joinRunningCluster(options, timers);
        joinedCluster = joined.members;
        return { clusterId: joined.clusterId, memberId: joined.memberId, members: joined.members };
      }
      if (voters.length === 1) return undefined;
      options.onBootstrapCheck?.(freshMemberApi(config.clusterId, config.initialCluster));
      try {
        await checkNotBootstrapped({
          memberId: config.memberId,
          clusterId: config.clusterId,
          initialCluster: config.initialCluster,
          peerClient: options.peerClient ?? httpPeerClient,
          timers,
          onWaiting: (asked) => options.logger.warn({ asked }, 'the data dir is empty: waiting for a peer to say whether this member was already bootstrapped'),
        });
      } finally {
        options.onBootstrapCheck?.(null);
      }
      return undefined;
    },
  });
  options.onLogOpened?.(opened.store);
  // A joined member restarted before its first snapshot or ConfChange: its disk knows no
  // configuration yet, and its first peers are the members it joined (kept in the metadata).
  const noConfState = opened.confState.voters.length === 0 && opened.confState.learners.length === 0;
  if (joinedCluster === undefined && opened.metadata.joined === true && noConfState && opened.metadata.joinedMembers !== undefined) {
    joinedCluster = opened.metadata.joinedMembers.map((m) => ({ id: m.id, name: '', peerURLs: [...m.peerURLs], clientURLs: [] }));
  }
  return joinedCluster === undefined ? opened : { ...opened, joinedCluster };
}

/**
 * etcd's join (--initial-cluster-state existing on an empty data dir: GetClusterFromRemotePeers,
 * then ValidateClusterAndAssignIDs): asks the peers of --initial-cluster for the running cluster's
 * members; --initial-cluster must list exactly them, each with the same peer URLs, and this member
 * among them (a `member add` made it one). Its id and the cluster's are the running cluster's.
 * Throws etcd's errors otherwise; a bounded number of rounds while no peer answers.
 */
async function joinRunningCluster(options: RaftMemberOptions, timers: MemberTimers): Promise<{ clusterId: bigint; memberId: bigint; members: PeerMemberJSON[] }> {
  const { config } = options;
  const client = options.peerClient ?? httpPeerClient;
  const self = config.initialCluster.find((m) => m.id === config.memberId);
  const urls = config.initialCluster.filter((m) => m.id !== config.memberId).flatMap((m) => m.peerURLs);
  const deadline = timers.nowMs() + JOIN_TIMEOUT_MS;
  let remote: { clusterIdHex: string; members: PeerMemberJSON[] } | undefined;
  for (;;) {
    for (const url of urls) {
      remote = await askClusterOf(client, url, 2000);
      if (remote !== undefined) break;
    }
    if (remote !== undefined) break;
    if (timers.nowMs() >= deadline || urls.length === 0) throw new BootstrapCheckError('cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs');
    options.logger.warn({ asked: urls }, 'joining a running cluster: no peer answered yet');
    await sleep(timers, 1000);
  }
  const described = `{ClusterID:${remote.clusterIdHex} Members:[${remote.members.map((m) => `&{ID:${formatId(m.id)} RaftAttributes:{PeerURLs:[${m.peerURLs.join(' ')}]} Attributes:{Name:${m.name} ClientURLs:[${m.clientURLs.join(' ')}]}}`).join(' ')}] RemovedMemberIDs:[]}`;
  if (remote.members.length !== config.initialCluster.length) throw new BootstrapCheckError(`error validating peerURLs ${described}: member count is unequal`);
  let memberId: bigint | undefined;
  for (const m of remote.members) {
    const local = config.initialCluster.find((l) => sameURLs(l.peerURLs, m.peerURLs));
    if (local === undefined) {
      throw new BootstrapCheckError(`error validating peerURLs ${described}: PeerURLs: no match found for existing member (${formatId(m.id)}, [${m.peerURLs.join(' ')}]), last resolver error (<nil>)`);
    }
    if (local === self) memberId = m.id;
  }
  if (memberId === undefined) throw new BootstrapCheckError(`error validating peerURLs ${described}: this member's peer URLs are not in the cluster`);
  const clusterId = parseMemberId(remote.clusterIdHex);
  if (clusterId === undefined) throw new BootstrapCheckError(`a peer gave the cluster id ${remote.clusterIdHex}, which etcd-ts cannot use`);
  options.logger.info({ memberId: formatId(memberId), clusterId: remote.clusterIdHex, members: remote.members.map((m) => formatId(m.id)) }, 'joining a running cluster');
  return { clusterId, memberId, members: remote.members };
}

const JOIN_TIMEOUT_MS = 30_000;

function sameURLs(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
}

/** A peer's cluster id and members, asked without a cluster id of our own (we do not know it yet). */
export async function askClusterOf(client: PeerClient, url: string, timeoutMs: number): Promise<{ clusterIdHex: string; members: PeerMemberJSON[] } | undefined> {
  try {
    const reply = await client.request(url, { method: 'GET', path: MEMBERS_PATH, headers: {} }, timeoutMs);
    const clusterIdHex = reply.headers[HEADER_CLUSTER_ID];
    if (reply.status !== 200 || clusterIdHex === undefined) return undefined;
    const v = replyJson(reply);
    if (!Array.isArray(v) || v.length === 0 || v.length > 1000) return undefined;
    const out: PeerMemberJSON[] = [];
    for (const m of v as unknown[]) {
      if (typeof m !== 'object' || m === null) return undefined;
      const r = m as Record<string, unknown>;
      const id = peerJsonId(r['id']);
      if (id === undefined || !isStrings(r['peerURLs']) || !isStrings(r['clientURLs'])) return undefined;
      out.push({ id, name: String(r['name'] ?? ''), peerURLs: r['peerURLs'], clientURLs: r['clientURLs'] });
    }
    return { clusterIdHex, members: out };
  } catch {
    return undefined;
  }
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 64 && v.every((u) => typeof u === 'string');
}

function openDiskSnapshotFiles(dir: string, maxSnapshots: number): Promise<SnapshotFileStore> {
  return openSnapshotFiles(dir, { maxSnapshots });
}

/**
 * The head of a new cluster's log, as etcd-io/raft's Bootstrap writes it for etcd's initial
 * members: one entry per initial member, in member id order (etcd's MemberIDs, sorted), at
 * indexes 1..n and term 1. etcd's are ConfChangeAddNode entries; these are 'bootstrap-member'
 * commands (the voters stay in the ConfState written beside them). Every member of the new
 * cluster writes the same ones, already committed (bootstrapHardState), so the raft index starts
 * at n, as the etcd index does once they are applied.
 */
export function bootstrapEntries(initialCluster: readonly InitialMember[]): Entry[] {
  const members = [...initialCluster].sort((a, b) => compareIds(a.id, b.id));
  return members.map((m, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.Normal,
    data: encodeEntryCommand({ kind: 'bootstrap-member', memberId: m.id, peerURLs: [...m.peerURLs] }),
  }));
}

/** The HardState written with the bootstrap entries: term 1, no vote, all of them committed. */
export function bootstrapHardState(initialCluster: readonly InitialMember[]): HardState {
  return { term: 1, vote: NONE, commit: initialCluster.length };
}

/**
 * The term a member reports in X-Raft-Term on /members: 0 while it never saw an election. A
 * member on a new data dir is at term 1 with the bootstrap entries alone in its log (the first
 * election goes to term 2); one written before bootstrap entries existed is at term 0 until then.
 * A member at term 1 with anything else in its log, or a vote, saw an election (an old-layout log
 * at term 1), and reports its term.
 */
export function reportedTerm(term: number, vote: bigint, raftLog: RaftLog): number {
  if (term !== 1 || vote !== NONE) return term;
  const first = raftLog.firstIndex();
  const last = raftLog.lastIndex();
  if (first !== 1 || last < 1 || last > MAX_BOOTSTRAP_ENTRIES) return term;
  for (const e of raftLog.slice(first, last + 1, Number.MAX_SAFE_INTEGER)) {
    if (e.term !== 1 || e.type !== EntryType.Normal || e.data.length === 0) return term;
    if (decodeEntryCommand(e.data).kind !== 'bootstrap-member') return term;
  }
  return 0;
}

/** More initial members than this: reportedTerm does not scan the log (and reports the term). */
const MAX_BOOTSTRAP_ENTRIES = 1024;

/**
 * etcd's peer /members as a peer's bootstrap check reads it: the applied membership, and also
 * every publish in the log beyond what was applied. A member wiped after it published must be
 * recognised even by a peer that restarted with an old commit index and has not replayed that
 * far yet (the simulator found this). Undefined when the unapplied tail is longer than maxScan.
 */
export function membersWithLoggedPublishes(membership: Membership, raftLog: RaftLog, applied: number, maxScan: number): PeerMemberJSON[] | undefined {
  const byId = new Map<bigint, PeerMemberJSON>();
  for (const m of membership.list()) {
    const id = parseMemberId(m.id) as bigint;
    byId.set(id, { id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs });
  }
  const last = raftLog.lastIndex();
  let next = Math.max(applied + 1, raftLog.firstIndex());
  if (last - next + 1 > maxScan) return undefined;
  while (next <= last) {
    const ents = raftLog.slice(next, last + 1, 4 * 1024 * 1024);
    for (const e of ents) {
      if (e.type !== EntryType.Normal || e.data.length === 0) continue;
      const cmd = decodeEntryCommand(e.data);
      const known = cmd.kind === 'attrs' ? byId.get(cmd.memberId) : undefined;
      if (cmd.kind === 'attrs' && known !== undefined) byId.set(cmd.memberId, { ...known, name: cmd.name, clientURLs: [...cmd.clientURLs] });
    }
    next += ents.length;
  }
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}

/** Peer answers that meet every quorum of a cluster of n: n - q + 1 (see the top of this file). */
function answersNeeded(n: number): number {
  return n - (Math.floor(n / 2) + 1) + 1;
}

/** Resolves when this member may bootstrap; throws AlreadyBootstrappedError or BootstrapCheckError. */
export async function checkNotBootstrapped(o: BootstrapCheckOptions): Promise<void> {
  const peers = o.initialCluster.filter((m) => m.id !== o.memberId);
  if (peers.length === 0) return;
  const attemptMs = o.attemptTimeoutMs ?? 1000;
  const deadline = o.timers.nowMs() + (o.timeoutMs ?? 5 * 60_000);
  const clusterIdHex = formatId(o.clusterId);
  const needed = answersNeeded(o.initialCluster.length);
  for (;;) {
    const answers = await Promise.all(peers.map((p) => askPeer(o.peerClient, p.peerURLs, clusterIdHex, attemptMs)));
    let answered = 0;
    let everyAnswerNew = true;
    for (const a of answers) {
      if (a === undefined) continue;
      answered++;
      if (a.term !== 0) everyAnswerNew = false;
      const self = a.members.find((m) => m.id === o.memberId);
      if (self !== undefined && self.clientURLs.length > 0) throw new AlreadyBootstrappedError(formatId(o.memberId));
    }
    if (answered >= needed || (answered > 0 && everyAnswerNew)) return;
    if (enoughWithoutRemoved(o, peers, answers)) return;
    const urls = peers.flatMap((p) => p.peerURLs);
    if (o.timers.nowMs() >= deadline) {
      throw new BootstrapCheckError(
        `the data dir is empty and only ${answered} of the ${needed} peers needed answered (asked ${urls.join(', ')}): cannot tell whether member ${formatId(o.memberId)} was already bootstrapped`,
      );
    }
    o.onWaiting(urls);
    await sleep(o.timers, attemptMs);
  }
}

/**
 * Initial members that a running peer no longer lists were removed: they count in no quorum from
 * then on (a removed id never comes back). A peer lists a member as removed only once it applied
 * the removal, so its log holds everything committed before it, this member's publish included;
 * one committed after it is on a quorum of the smaller cluster. So, when no answer lists a member
 * outside the initial cluster (an addition would need asking too), n - q + 1 answers of the
 * members left are enough. Found by the member simulator: a member partitioned from the start of
 * a 3-member cluster, one member then removed, waited for an answer that could never come while
 * the other waited for its vote.
 */
function enoughWithoutRemoved(o: BootstrapCheckOptions, peers: readonly InitialMember[], answers: readonly ({ members: PeerMemberJSON[]; term: number } | undefined)[]): boolean {
  const initial = new Set(o.initialCluster.map((m) => m.id));
  const removed = new Set<bigint>();
  for (const a of answers) {
    if (a === undefined || a.term === 0) continue;
    const listed = new Set(a.members.map((m) => m.id));
    for (const id of listed) if (!initial.has(id)) return false;
    if (!listed.has(o.memberId)) return false;
    for (const id of initial) if (!listed.has(id)) removed.add(id);
  }
  if (removed.size === 0) return false;
  const needed = answersNeeded(o.initialCluster.length - removed.size);
  let answered = 0;
  peers.forEach((p, i) => {
    if (answers[i] !== undefined && !removed.has(p.id)) answered++;
  });
  return answered >= needed;
}

/** The first answer of one peer at any of its URLs. */
async function askPeer(client: PeerClient, urls: readonly string[], clusterIdHex: string, timeoutMs: number): Promise<{ members: PeerMemberJSON[]; term: number } | undefined> {
  for (const url of urls) {
    const a = await askMembers(client, url, clusterIdHex, timeoutMs);
    if (a !== undefined) return a;
  }
  return undefined;
}

/** A peer's member list, or undefined when it did not give one (down, not ready, another cluster, garbage). */
async function askMembers(client: PeerClient, url: string, clusterIdHex: string, timeoutMs: number): Promise<{ members: PeerMemberJSON[]; term: number } | undefined> {
  try {
    const reply = await client.request(url, { method: 'GET', path: MEMBERS_PATH, headers: { [HEADER_CLUSTER_ID]: clusterIdHex } }, timeoutMs);
    if (reply.status !== 200 || reply.headers[HEADER_CLUSTER_ID] !== clusterIdHex) return undefined;
    // A peer that does not say its term (not etcd-ts) counts as one that saw elections.
    const termText = reply.headers[HEADER_RAFT_TERM];
    const term = termText !== undefined && /^\d+$/.test(termText) ? Number(termText) : 1;
    const v = replyJson(reply);
    if (!Array.isArray(v)) return undefined;
    const out: PeerMemberJSON[] = [];
    for (const m of v as unknown[]) {
      if (typeof m !== 'object' || m === null) return undefined;
      const r = m as Record<string, unknown>;
      const id = peerJsonId(r['id']);
      if (id === undefined || !Array.isArray(r['clientURLs'])) return undefined;
      out.push({ id, name: String(r['name'] ?? ''), peerURLs: Array.isArray(r['peerURLs']) ? (r['peerURLs'] as string[]) : [], clientURLs: r['clientURLs'] as string[] });
    }
    return { members: out, term };
  } catch {
    return undefined;
  }
}
