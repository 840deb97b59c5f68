// The cluster's members as this member knows them: ids and peer URLs from the initial cluster
// (membership changes come with a later issue), names and client URLs as published through the
// log (etcd's member attributes), so every member answers /v2/members the same way once applied.
// A raft snapshot carries all of it (state() / restoreFrom(), through MemberStateMachine).
import type { InitialMember } from '../config.js';
import type { MemberInfo } from './backend.js';
import { compareIds, isNodeId } from '../raft/messages.js';
import { formatId } from './ids.js';

export interface MemberRecord {
  /** Raft node id: etcd's 64-bit member id, positive. */
  id: bigint;
  name: string;
  /** Sorted (applyPeerURLs sorts; --initial-cluster's are canonical and sorted). */
  peerURLs: string[];
  /** Sorted; empty until published. */
  clientURLs: string[];
  /** Whether attributes for this member were applied from the log. */
  published: boolean;
}

/** Everything a Membership holds, as plain data: what a raft snapshot carries. */
export interface MembershipState {
  /** Every member, ordered by id. */
  members: MemberRecord[];
  clusterVersion: string | null;
  /** Members removed through the log (etcd's removed_members): never members again. Ascending. */
  removed?: bigint[];
}

export class Membership {
  private readonly byId = new Map<bigint, MemberRecord>();
  /** The cluster version decided by a leader and applied from the log; null until then. */
  clusterVersion: string | null = null;

  /** Ids removed through the log (etcd's RemovedMemberStoreKey): refused forever after. */
  private readonly removedIds = new Set<bigint>();

  /**
   * The initial cluster's members, or none: a member that joined a running cluster (or restarts
   * with --initial-cluster-state existing) learns the members from the log and snapshots only.
   */
  constructor(initial: readonly InitialMember[]) {
    for (const m of initial) {
      if (this.byId.has(m.id)) throw new Error(`membership: duplicate member id ${formatId(m.id)}`);
      // As in etcd, an initial member's name comes from --initial-cluster; client URLs are published.
      this.byId.set(m.id, { id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [], published: false });
    }
  }

  ids(): bigint[] {
    return [...this.byId.keys()].sort(compareIds);
  }

  has(id: bigint): boolean {
    return this.byId.has(id);
  }

  isRemoved(id: bigint): boolean {
    return this.removedIds.has(id);
  }

  /** Every id ever removed, ascending. */
  removed(): bigint[] {
    return [...this.removedIds].sort(compareIds);
  }

  /**
   * A member added through the log (or named by a bootstrap entry): a record with its peer URLs
   * and no attributes yet. Returns false (and changes nothing) for an id already a member.
   */
  add(id: bigint, peerURLs: readonly string[]): boolean {
    if (this.byId.has(id)) return false;
    this.byId.set(id, { id, name: '', peerURLs: [...peerURLs].sort(), clientURLs: [], published: false });
    return true;
  }

  /** A member removed through the log: gone, and its id never comes back. */
  remove(id: bigint): boolean {
    this.removedIds.add(id);
    return this.byId.delete(id);
  }

  /** The member (other than `exceptId`) that uses one of these peer URLs, if any. */
  peerURLOwner(peerURLs: readonly string[], exceptId?: bigint): bigint | undefined {
    for (const m of this.byId.values()) if (m.id !== exceptId && m.peerURLs.some((u) => peerURLs.includes(u))) return m.id;
    return undefined;
  }

  /** Applies published attributes; attributes of an unknown member are ignored (deterministically). */
  applyAttributes(id: bigint, name: string, clientURLs: readonly string[]): boolean {
    const m = this.byId.get(id);
    if (m === undefined) return false;
    m.name = name;
    m.clientURLs = [...clientURLs].sort();
    m.published = true;
    return true;
  }

  /** Replaces a member's peer URLs; false for an unknown member (ignored, deterministically). */
  applyPeerURLs(id: bigint, peerURLs: readonly string[]): boolean {
    const m = this.byId.get(id);
    if (m === undefined) return false;
    m.peerURLs = [...peerURLs].sort();
    return true;
  }

  /** Whether the applied attributes of `id` are exactly these. */
  publishedAs(id: bigint, name: string, clientURLs: readonly string[]): boolean {
    const m = this.byId.get(id);
    if (m === undefined || !m.published || m.name !== name) return false;
    const sorted = [...clientURLs].sort();
    return m.clientURLs.length === sorted.length && m.clientURLs.every((u, i) => u === sorted[i]);
  }

  /** Whether every member has published its attributes. */
  allPublished(): boolean {
    for (const m of this.byId.values()) if (!m.published) return false;
    return true;
  }

  peerURLs(id: bigint): string[] {
    return [...(this.byId.get(id)?.peerURLs ?? [])];
  }

  /** A member's published client URLs, not copied (empty for an unknown member or before it published). */
  clientURLs(id: bigint): readonly string[] {
    return this.byId.get(id)?.clientURLs ?? [];
  }

  info(id: bigint): MemberInfo | null {
    const m = this.byId.get(id);
    if (m === undefined) return null;
    return { id: formatId(m.id), name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs] };
  }

  /** Every member, ordered by numeric id (as etcd lists them). */
  list(): MemberInfo[] {
    return this.ids().map((id) => this.info(id) as MemberInfo);
  }

  /** A copy of the whole state (members ordered by id), for raft snapshots. */
  state(): MembershipState {
    const members = this.ids().map((id) => copyRecord(this.byId.get(id)!));
    const removed = this.removed();
    return removed.length === 0 ? { members, clusterVersion: this.clusterVersion } : { members, clusterVersion: this.clusterVersion, removed };
  }

  /**
   * Checks that `v` is a MembershipState this code could have written: at least one member,
   * positive 64-bit (bigint) ids, strictly ascending (so distinct), strings where strings belong.
   * Returns a copy; throws an Error naming the problem.
   */
  static checkState(v: unknown): MembershipState {
    const bad = (why: string): never => {
      throw new Error(`membership state: malformed (${why})`);
    };
    if (typeof v !== 'object' || v === null) bad('not an object');
    const { members, clusterVersion, removed } = v as { members?: unknown; clusterVersion?: unknown; removed?: unknown };
    if (clusterVersion !== null && typeof clusterVersion !== 'string') bad('cluster version');
    if (!Array.isArray(members) || members.length === 0) bad('no members');
    // Ids are bigints; a snapshot written before 64-bit ids holds numbers: widened (widenId).
    if (removed !== undefined && (!Array.isArray(removed) || !removed.map(widenId).every((id) => isNodeId(id)))) bad('removed members');
    const out: MemberRecord[] = [];
    for (const m of members as unknown[]) {
      if (typeof m !== 'object' || m === null) bad('member');
      const r = m as Partial<Record<keyof MemberRecord, unknown>>;
      const wide = widenId(r.id);
      if (!isNodeId(wide)) bad('member id');
      const id = wide as bigint;
      if (out.length > 0 && id <= out[out.length - 1]!.id) bad(`member ${formatId(id)} out of order`);
      if (typeof r.name !== 'string' || !isStringList(r.peerURLs) || !isStringList(r.clientURLs) || typeof r.published !== 'boolean') {
        bad(`member ${formatId(id)}`);
      }
      out.push(copyRecord({ ...(r as MemberRecord), id }));
    }
    const removedIds = removed === undefined ? [] : [...(removed as unknown[]).map(widenId) as bigint[]].sort(compareIds);
    return removedIds.length === 0 ? { members: out, clusterVersion: clusterVersion as string | null } : { members: out, clusterVersion: clusterVersion as string | null, removed: removedIds };
  }

  /**
   * Replaces the whole state, in place, with `state` (checked first: on bad input this throws and
   * nothing changes): the records (ids, names, peer URLs, client URLs, published) and the cluster
   * version. When the member ids differ from the current ones (no membership change exists yet;
   * this is for the one that comes), the members are replaced: ids() and list() answer the new
   * set. The raft voters are not this object's: they follow a ConfState, not a Membership.
   */
  restoreFrom(state: MembershipState): void {
    const checked = Membership.checkState(state);
    this.byId.clear();
    for (const m of checked.members) this.byId.set(m.id, m);
    this.clusterVersion = checked.clusterVersion;
    this.removedIds.clear();
    for (const id of checked.removed ?? []) this.removedIds.add(id);
  }
}

/** An id read from a snapshot: a number (written before ids were 64-bit) becomes a bigint; anything else is returned as it is. */
export function widenId(v: unknown): unknown {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? BigInt(v) : v;
}

function copyRecord(m: MemberRecord): MemberRecord {
  return { id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], published: m.published };
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
