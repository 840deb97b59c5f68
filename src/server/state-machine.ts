// What a member replicates: the v2 key tree, the v2 auth records and the membership (published
// attributes, peer URLs, the cluster version). apply(entry) is the one place a committed log entry
// changes them; it reads no clock and no randomness, so every member that applies the same log
// holds the same state and answers the same etcd indexes. snapshot() captures all of it at
// applied() (format: state-snapshot.ts) and restore() puts a snapshot in place of it, for raft
// snapshots: log compaction, and a leader's state installed on a follower that fell behind.
import { EntryType, type Entry } from '../raft/messages.js';
import { AuthStore, type AuthResult } from '../store/auth.js';
import { Store, type ApplyResult } from '../store/store.js';
import { decodeEntryCommand, decodeMemberChange, type EntryCommand, type ForwardedCommand, type MemberChange } from './entry-codec.js';
import { formatId } from './ids.js';
import type { Membership } from './membership.js';
import { beginEncodeState, decodeState, encodeState, type StateEncoder, type StateParts } from './state-snapshot.js';

/**
 * What applying a ConfChange entry gives its proposer: 'ok', or why the change was refused when
 * it was applied (etcd's ValidateConfigurationChange, checked again at apply time on every member,
 * so every member decides the same; a refused change leaves raft's configuration as it was).
 */
export interface MemberChangeResult {
  memberChange: 'ok' | 'id-exists' | 'id-removed' | 'id-not-found' | 'peer-url-exists';
}

export type EntryResult = ApplyResult | AuthResult | MemberChangeResult;

const NOTHING_TO_ANSWER: ApplyResult = { ok: true, event: null };

export interface StateMachineOptions {
  membership: Membership;
  /** A member's peer URLs changed (applied from the log): the transport must follow. */
  onPeerURLsChanged: (memberId: bigint, peerURLs: string[]) => void;
  /** A member's published attributes were applied, with the run id they carry (if any). */
  onAttributesApplied?: (memberId: bigint, runId: number | undefined, index: number) => void;
  /** A command a follower forwarded was applied, with its result (that follower answers its client). */
  onForwardedApplied?: (cmd: ForwardedCommand, result: EntryResult) => void;
  /**
   * A member joined or left raft's configuration (a ConfChange entry, or a bootstrap entry naming
   * a member raft may not know yet, as on a member that joined later): raft must apply it, the
   * transport follow it. Called in log order on every member, also while replaying the log.
   */
  onConfChange?: (change: MemberChange, index: number) => void;
  /**
   * Set after --force-new-cluster (the data dir's record of it): the log up to this index is the
   * old cluster's, whose membership changes and members other than this one's are ignored.
   */
  forcedNewClusterAt?: number;
}

export class MemberStateMachine {
  readonly store = new Store();
  readonly auth = new AuthStore();
  readonly membership: Membership;
  private readonly onPeerURLsChanged: (memberId: bigint, peerURLs: string[]) => void;
  private readonly onAttributesApplied: ((memberId: bigint, runId: number | undefined, index: number) => void) | undefined;
  private readonly onForwardedApplied: ((cmd: ForwardedCommand, result: EntryResult) => void) | undefined;
  private readonly onConfChange: ((change: MemberChange, index: number) => void) | undefined;
  private readonly forcedNewClusterAt: number;
  private appliedIndex: number;
  /** While applying the bootstrap entries at the head of the log: the members they named. */
  private bootstrapMembers: Set<bigint> | null = null;

  // store, auth and membership are held by the HTTP layer and the member: restore() changes them in
  // place and never replaces them.

  constructor(options: StateMachineOptions, appliedIndex: number) {
    this.membership = options.membership;
    this.onPeerURLsChanged = options.onPeerURLsChanged;
    this.onAttributesApplied = options.onAttributesApplied;
    this.onForwardedApplied = options.onForwardedApplied;
    this.onConfChange = options.onConfChange;
    this.forcedNewClusterAt = options.forcedNewClusterAt ?? 0;
    this.appliedIndex = appliedIndex;
  }

  applied(): number {
    return this.appliedIndex;
  }

  /**
   * The whole replicated state as of applied(): the applied index, the store, the auth records and
   * the membership (state-snapshot.ts documents the bytes). Members that applied the same entries
   * produce the same bytes (the stats counters of their own reads are left out).
   */
  snapshot(): Uint8Array {
    return encodeState(this.stateParts());
  }

  /**
   * snapshot()'s bytes, encoded in slices (StateEncoder.step) while entries go on being applied:
   * the state is taken now (the store copy-on-write, the rest copied), so the bytes are those of
   * applied() at this call whatever is applied or restored meanwhile. One at a time; release() an
   * encoder that is dropped before its end.
   */
  beginSnapshot(): StateEncoder {
    return beginEncodeState(this.stateParts());
  }

  private stateParts(): StateParts {
    return { applied: this.appliedIndex, bootstrap: this.bootstrapMembers, membership: this.membership, auth: this.auth, store: this.store };
  }

  /**
   * Replaces the state, in place, with a snapshot's: afterwards applied() is the snapshot's index
   * and every later entry applies exactly as on the member that took it. `store`, `auth` and
   * `membership` stay the same objects; the store's watchers stay registered (Store.restoreFrom),
   * its stats counters are the snapshot's but for those of the member's own reads.
   * The snapshot may be at any index, before or after applied(): deciding whether to install one
   * is the caller's (raft's). The bootstrap entries' transient state is the snapshot's (none,
   * unless it was taken at the head of a new log). onPeerURLsChanged is then called, in id order,
   * for each member of the restored membership whose peer URLs differ from before (a member that
   * was not there before included), so the transport follows; a member the snapshot no longer
   * has is simply gone from the membership (removing peers is the membership-change work's).
   * Bytes this code did not write throw an Error, and then nothing has changed: all of it is
   * decoded and checked before anything is replaced.
   */
  restore(data: Uint8Array, options: { members?: 'snapshot' | 'configured' } = {}): void {
    const decoded = decodeState(data);
    const before = new Map(this.membership.ids().map((id) => [id, this.membership.peerURLs(id)]));
    this.store.restoreFrom(decoded.store, { keepReadCounts: true });
    this.auth.restoreFrom(decoded.auth);
    if (options.members === 'configured') {
      // The members stay this member's (after --force-new-cluster: itself alone): the snapshot
      // gives their records, as replaying the log gives only their attributes and ignores anyone
      // else's. What a member does until membership changes go through the log.
      const records = new Map(decoded.membership.members.map((m) => [m.id, m]));
      const current = this.membership.state();
      this.membership.restoreFrom({ members: current.members.map((m) => records.get(m.id) ?? m), clusterVersion: decoded.membership.clusterVersion });
    } else {
      this.membership.restoreFrom(decoded.membership);
    }
    this.appliedIndex = decoded.applied;
    this.bootstrapMembers = decoded.bootstrap;
    for (const id of this.membership.ids()) {
      const urls = this.membership.peerURLs(id);
      if (!sameList(before.get(id), urls)) this.onPeerURLsChanged(id, urls);
    }
  }

  /**
   * Why `data` cannot be installed as the snapshot at raft index `index` (it does not decode, fails
   * its checksum, or is of another index), or null: checked before raft takes a leader's snapshot.
   */
  refuseSnapshotData(data: Uint8Array, index: number): string | null {
    try {
      const decoded = decodeState(data);
      return decoded.applied === index ? null : `it holds the state at index ${decoded.applied}, not ${index}`;
    } catch (err: unknown) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** Applies the next committed entry; returns what a client waiting for it gets. */
  apply(e: Entry): EntryResult {
    if (e.index !== this.appliedIndex + 1) throw new Error(`state machine: applying ${e.index} after ${this.appliedIndex}`);
    if (e.type === EntryType.ConfChange) {
      if (this.bootstrapMembers !== null) this.endBootstrapEntries();
      const result = this.applyMemberChange(decodeMemberChange(e.data), e.index);
      this.appliedIndex = e.index;
      return result;
    }
    let result: EntryResult = NOTHING_TO_ANSWER;
    let forwarded: ForwardedCommand | undefined;
    const cmd = e.data.length > 0 ? decodeEntryCommand(e.data) : undefined;
    if (cmd?.kind === 'bootstrap-member') {
      this.applyBootstrapMember(cmd.memberId, cmd.peerURLs, e.index);
    } else if (this.bootstrapMembers !== null) {
      this.endBootstrapEntries();
    } else if (e.index === 1) {
      // A log written before the bootstrap entries (etcd-ts 0.2 and earlier): its first entry (the
      // first leader's empty entry) stands for them, so such a data dir replays to the same store.
      this.applyBootstrap();
    }
    if (cmd !== undefined && cmd.kind !== 'bootstrap-member') {
      if (cmd.kind === 'forwarded') forwarded = cmd;
      result = this.applyCommand(cmd.kind === 'forwarded' ? cmd.cmd : cmd, e.index);
    }
    this.appliedIndex = e.index;
    if (forwarded !== undefined) this.onForwardedApplied?.(forwarded, result);
    return result;
  }

  private applyCommand(cmd: Exclude<EntryCommand, ForwardedCommand>, index: number): EntryResult {
    const { store, membership } = this;
    switch (cmd.kind) {
      case 'v2':
        return store.apply(cmd.req);
      case 'auth':
        return this.auth.apply(cmd.change, store);
      case 'attrs':
        if (membership.applyAttributes(cmd.memberId, cmd.name, cmd.clientURLs)) {
          store.applyInternal(`0/members/${formatId(cmd.memberId)}/attributes`, JSON.stringify({ name: cmd.name, clientURLs: cmd.clientURLs }));
        }
        this.onAttributesApplied?.(cmd.memberId, cmd.runId, index);
        return NOTHING_TO_ANSWER;
      case 'peers':
        if (membership.applyPeerURLs(cmd.memberId, cmd.peerURLs)) {
          const urls = membership.peerURLs(cmd.memberId);
          store.applyInternal(`0/members/${formatId(cmd.memberId)}/raftAttributes`, JSON.stringify({ peerURLs: urls }));
          this.onPeerURLsChanged(cmd.memberId, urls);
        }
        return NOTHING_TO_ANSWER;
      case 'version':
        if (membership.clusterVersion === null) {
          membership.clusterVersion = cmd.version;
          store.applyInternal('0/version', cmd.version);
        }
        return NOTHING_TO_ANSWER;
      case 'bootstrap-member':
        throw new Error('state machine: a bootstrap member entry inside another command');
    }
  }

  /**
   * A bootstrap entry (entry-codec.ts 'bootstrap-member', one per initial member at the head of a
   * new cluster's log): writes that member's raft attributes, as etcd does when it applies its
   * bootstrap ConfChangeAddNode entries. The peer URLs written are the membership's (the ones the
   * entry carries, unless a restart changed --initial-cluster: as before these entries existed).
   * A member that is no longer in the membership (--force-new-cluster keeps only this member) is
   * skipped, as its published attributes are.
   */
  private applyBootstrapMember(memberId: bigint, peerURLs: readonly string[], index: number): void {
    // Only the head of a new log holds them; one anywhere else (no member writes that) is ignored.
    if (this.appliedIndex !== (this.bootstrapMembers?.size ?? 0)) return;
    this.bootstrapMembers ??= new Set();
    this.bootstrapMembers.add(memberId);
    // A member that joined later (or restarts with --initial-cluster-state existing) knows no
    // members but the log's: the entry gives the member's record, and raft learns the voter.
    if (!this.membership.has(memberId) && this.forcedNewClusterAt === 0 && !this.membership.isRemoved(memberId)) {
      this.membership.add(memberId, peerURLs);
    }
    if (this.membership.has(memberId)) {
      this.store.applyInternal(`0/members/${formatId(memberId)}/raftAttributes`, JSON.stringify({ peerURLs: this.membership.peerURLs(memberId) }));
      this.onConfChange?.({ change: 'add', memberId, peerURLs: this.membership.peerURLs(memberId) }, index);
    }
  }

  /**
   * A ConfChange entry (etcd's applyConfChange): checked again here, as etcd does, so every member
   * decides alike; a valid one changes the membership and writes etcd's store keys (an add writes
   * /0/members/<id>/raftAttributes; a remove deletes /0/members/<id> and creates
   * /0/removed_members/<id>: one and two etcd indexes, as etcd's), then raft and the transport
   * follow (onConfChange). A member whose membership came from its flags may see an add of a
   * member it already has (replaying the log of a cluster it joined later): the add then only
   * makes sure raft knows the voter.
   */
  private applyMemberChange(c: MemberChange, index: number): MemberChangeResult {
    if (index <= this.forcedNewClusterAt) return { memberChange: 'ok' };
    const { membership, store } = this;
    const key = `0/members/${formatId(c.memberId)}`;
    if (c.change === 'add') {
      if (membership.isRemoved(c.memberId)) return { memberChange: 'id-removed' };
      if (membership.has(c.memberId)) {
        this.onConfChange?.(c, index);
        return { memberChange: 'ok' };
      }
      if (membership.peerURLOwner(c.peerURLs) !== undefined) return { memberChange: 'peer-url-exists' };
      membership.add(c.memberId, c.peerURLs);
      store.applyInternal(`${key}/raftAttributes`, JSON.stringify({ peerURLs: membership.peerURLs(c.memberId) }));
      this.onConfChange?.(c, index);
      return { memberChange: 'ok' };
    }
    if (membership.isRemoved(c.memberId)) return { memberChange: 'id-removed' };
    if (!membership.has(c.memberId)) {
      // Never a member here: only a member replaying a log from before it knew this one.
      membership.remove(c.memberId);
      this.onConfChange?.(c, index);
      return { memberChange: 'id-not-found' };
    }
    membership.remove(c.memberId);
    store.applyInternal(key, '');
    store.applyInternal(`0/removed_members/${formatId(c.memberId)}`, '');
    this.onConfChange?.(c, index);
    return { memberChange: 'ok' };
  }

  /**
   * The first entry after the bootstrap entries: a member of the membership that none of them
   * named gets its raft attributes now (only after --force-new-cluster with a new member id: the
   * log's bootstrap entries name the old cluster's members), so the store always has them.
   */
  private endBootstrapEntries(): void {
    const named = this.bootstrapMembers ?? new Set<bigint>();
    this.bootstrapMembers = null;
    for (const id of this.membership.ids()) {
      if (!named.has(id)) this.store.applyInternal(`0/members/${formatId(id)}/raftAttributes`, JSON.stringify({ peerURLs: this.membership.peerURLs(id) }));
    }
  }

  /**
   * etcd writes each initial member's raft attributes into its store when it applies the
   * bootstrap ConfChange entries at the head of a new cluster's log. A log written before etcd-ts
   * had bootstrap entries starts with the first leader's empty entry, which stands in for them:
   * every member applies it, so etcd indexes match etcd's from the start (a fresh cluster of n
   * members is at index 2n+1 after the members published and the cluster version was set), but
   * the raft index ran n-1 behind the etcd index.
   */
  private applyBootstrap(): void {
    for (const id of this.membership.ids()) {
      this.store.applyInternal(`0/members/${formatId(id)}/raftAttributes`, JSON.stringify({ peerURLs: this.membership.peerURLs(id) }));
    }
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
