// The cluster's members as this member knows them: ids and peer URLs from the initial cluster
// (membership changes come with a later issue), names and client URLs as published through the
// log (etcd's member attributes), so every member answers /v2/members the same way once applied.
import type { InitialMember } from '../config.js';
import type { MemberInfo } from './backend.js';
import { formatId } from './ids.js';

interface MemberRecord {
  id: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  /** Whether attributes for this member were applied from the log. */
  published: boolean;
}

export class Membership {
  private readonly byId = new Map<number, MemberRecord>();
  /** The cluster version decided by a leader and applied from the log; null until then. */
  clusterVersion: string | null = null;

  constructor(initial: readonly InitialMember[]) {
    if (initial.length === 0) throw new Error('membership: the initial cluster is empty');
    for (const m of initial) {
      if (this.byId.has(m.id)) throw new Error(`membership: duplicate member id ${formatId(m.id)}`);
      // As in etcd, an initial member's name comes from --initial-cluster; client URLs are published.
      this.byId.set(m.id, { id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [], published: false });
    }
  }

  ids(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Applies published attributes; attributes of an unknown member are ignored (deterministically). */
  applyAttributes(id: number, name: string, clientURLs: readonly string[]): boolean {
    const m = this.byId.get(id);
    if (m === undefined) return false;
    m.name = name;
    m.clientURLs = [...clientURLs].sort();
    m.published = true;
    return true;
  }

  /** Replaces a member's peer URLs; false for an unknown member (ignored, deterministically). */
  applyPeerURLs(id: number, peerURLs: readonly string[]): boolean {
    const m = this.byId.get(id);
    if (m === undefined) return false;
    m.peerURLs = [...peerURLs].sort();
    return true;
  }

  /** Whether the applied attributes of `id` are exactly these. */
  publishedAs(id: number, name: string, clientURLs: readonly string[]): boolean {
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

  peerURLs(id: number): string[] {
    return [...(this.byId.get(id)?.peerURLs ?? [])];
  }

  /** A member's published client URLs, not copied (empty for an unknown member or before it published). */
  clientURLs(id: number): readonly string[] {
    return this.byId.get(id)?.clientURLs ?? [];
  }

  info(id: number): MemberInfo | null {
    const m = this.byId.get(id);
    if (m === undefined) return null;
    return { id: formatId(m.id), name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs] };
  }

  /** Every member, ordered by numeric id (as etcd lists them). */
  list(): MemberInfo[] {
    return this.ids().map((id) => this.info(id) as MemberInfo);
  }
}
