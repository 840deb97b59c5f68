// What a raft log entry carries for this member runtime. An empty payload is the leader's no-op
// (raft appends one on election); every other Normal entry is one of these commands,
// msgpackr-encoded as a [kind, ...fields] tuple so that decoding needs no schema negotiation.
import { Packr } from 'msgpackr';
import { assertAuthChange } from '../store/auth-codec.js';
import type { AuthChange } from '../store/auth.js';
import type { V2Request } from '../store/command.js';
import { parseMemberId } from './ids.js';

export type EntryCommand =
  /** A v2 keys write (or SYNC), applied to the store. */
  | { kind: 'v2'; req: V2Request }
  /** A member publishes its name and client URLs (etcd's publish of member attributes). */
  | { kind: 'attrs'; memberId: bigint; name: string; clientURLs: string[]; runId?: number }
  /** The leader decides the cluster version once every member has published (etcd's /0/version). */
  | { kind: 'version'; version: string }
  /** PUT /v2/members/<id>: a member's new peer URLs (etcd's ConfChangeUpdateNode; voters unchanged). */
  | { kind: 'peers'; memberId: bigint; peerURLs: string[] }
  /** A v2 auth change (users, roles, enable/disable), passwords already hashed by the proposer. */
  | { kind: 'auth'; change: AuthChange }
  /**
   * One initial member of a new cluster, as etcd's bootstrap ConfChangeAddNode entries: a new data
   * dir's log starts with one per initial member (indexes 1..n, term 1, committed, in member id
   * order), written by every member at bootstrap (bootstrap.ts bootstrapEntries). Applying it
   * writes the member's /0/members/<id>/raftAttributes, so that raft index and etcd index advance
   * together from the start. The voters themselves come from the configuration, as before.
   */
  | BootstrapMemberCommand
  /**
   * A client's write that a follower forwarded to the leader (--follower-writes forward): the
   * follower answers its client when it applies the entry tagged with its own run id and sequence.
   */
  | ForwardedCommand;

export interface BootstrapMemberCommand {
  kind: 'bootstrap-member';
  memberId: bigint;
  peerURLs: string[];
}

/** The commands a follower may forward for its clients. */
export type ForwardableCommand = Extract<EntryCommand, { kind: 'v2' | 'auth' | 'peers' }>;

export interface ForwardedCommand {
  kind: 'forwarded';
  /** The member that took the client's request. */
  memberId: bigint;
  /** That member's run id (random per start) and its sequence number within the run. */
  runId: number;
  seq: number;
  cmd: ForwardableCommand;
}

const KIND_V2 = 1;
const KIND_ATTRS = 2;
const KIND_VERSION = 3;
const KIND_PEERS = 4;
const KIND_AUTH = 5;
const KIND_FORWARDED = 6;
const KIND_BOOTSTRAP_MEMBER = 7;

// Member ids are bigints, written as msgpack int64 / uint64 and read back as bigints; an entry
// written before ids were 64-bit holds its id as a number, widened on decoding (entryId).
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'bigint' });

/** A member id in an entry: a bigint, or a number from an entry written before 64-bit ids; undefined otherwise. */
function entryId(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v > 0n && v < 1n << 64n ? v : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return BigInt(v);
  return undefined;
}

export function encodeEntryCommand(cmd: EntryCommand): Uint8Array {
  switch (cmd.kind) {
    case 'v2':
      return packr.pack([KIND_V2, cmd.req]);
    case 'attrs':
      // The run id (since etcd-ts 0.2) is optional: entries written before it decode without one.
      return packr.pack(cmd.runId === undefined ? [KIND_ATTRS, cmd.memberId, cmd.name, cmd.clientURLs] : [KIND_ATTRS, cmd.memberId, cmd.name, cmd.clientURLs, cmd.runId]);
    case 'version':
      return packr.pack([KIND_VERSION, cmd.version]);
    case 'peers':
      return packr.pack([KIND_PEERS, cmd.memberId, cmd.peerURLs]);
    case 'auth':
      return packr.pack([KIND_AUTH, cmd.change]);
    case 'bootstrap-member':
      return packr.pack([KIND_BOOTSTRAP_MEMBER, cmd.memberId, cmd.peerURLs]);
    case 'forwarded':
      return packr.pack([KIND_FORWARDED, cmd.memberId, cmd.runId, cmd.seq, encodeEntryCommand(cmd.cmd)]);
  }
}

/** Throws on a payload this runtime did not write: applying it would diverge replicas. */
export function decodeEntryCommand(data: Uint8Array): EntryCommand {
  const tuple: unknown = packr.unpack(data);
  if (!Array.isArray(tuple)) throw new Error('entry command: not a tuple');
  switch (tuple[0]) {
    case KIND_V2: {
      const req = tuple[1] as V2Request;
      if (typeof req !== 'object' || req === null || typeof req.method !== 'string' || typeof req.path !== 'string') {
        throw new Error('entry command: malformed v2 request');
      }
      return { kind: 'v2', req };
    }
    case KIND_ATTRS: {
      const [, rawId, name, clientURLs, runId] = tuple as [number, unknown, string, string[], number | undefined];
      const memberId = entryId(rawId);
      if (memberId === undefined || typeof name !== 'string' || !Array.isArray(clientURLs) || (runId !== undefined && !Number.isSafeInteger(runId))) {
        throw new Error('entry command: malformed member attributes');
      }
      return runId === undefined ? { kind: 'attrs', memberId, name, clientURLs } : { kind: 'attrs', memberId, name, clientURLs, runId };
    }
    case KIND_VERSION: {
      if (typeof tuple[1] !== 'string') throw new Error('entry command: malformed cluster version');
      return { kind: 'version', version: tuple[1] };
    }
    case KIND_PEERS: {
      const [, rawId, peerURLs] = tuple as [number, unknown, string[]];
      const memberId = entryId(rawId);
      if (memberId === undefined || !Array.isArray(peerURLs) || !peerURLs.every((u) => typeof u === 'string')) {
        throw new Error('entry command: malformed peer URLs');
      }
      return { kind: 'peers', memberId, peerURLs };
    }
    case KIND_AUTH:
      return { kind: 'auth', change: assertAuthChange(tuple[1]) };
    case KIND_BOOTSTRAP_MEMBER: {
      const [, rawId, peerURLs] = tuple as [number, unknown, string[]];
      const memberId = entryId(rawId);
      if (memberId === undefined || !Array.isArray(peerURLs) || !peerURLs.every((u) => typeof u === 'string')) {
        throw new Error('entry command: malformed bootstrap member');
      }
      return { kind: 'bootstrap-member', memberId, peerURLs };
    }
    case KIND_FORWARDED: {
      const [, rawId, runId, seq, inner] = tuple as [number, unknown, number, number, unknown];
      const memberId = entryId(rawId);
      if (memberId === undefined || !Number.isSafeInteger(runId) || !Number.isSafeInteger(seq) || !(inner instanceof Uint8Array)) {
        throw new Error('entry command: malformed forwarded command');
      }
      const cmd = decodeEntryCommand(inner);
      if (!isForwardable(cmd)) throw new Error(`entry command: a ${cmd.kind} command cannot be forwarded`);
      return { kind: 'forwarded', memberId, runId, seq, cmd };
    }
    default:
      throw new Error(`entry command: unknown kind ${String(tuple[0])}`);
  }
}

/** Whether a follower may forward this command for a client (never SYNC: only the leader expires TTLs, by its clock). */
export function isForwardable(cmd: EntryCommand): cmd is ForwardableCommand {
  return (cmd.kind === 'v2' && cmd.req.method !== 'SYNC') || cmd.kind === 'auth' || cmd.kind === 'peers';
}

const V2_METHODS = new Set(['PUT', 'POST', 'DELETE']);

/**
 * A command a peer sent to be proposed (POST /members/propose): checked field by field, so that
 * nothing malformed reaches the log, where every member would fail to apply it. Returns why not.
 */
export function checkForwardable(v: unknown): ForwardableCommand | string {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const c = v as Record<string, unknown>;
  switch (c['kind']) {
    case 'v2': {
      const r = c['req'];
      if (typeof r !== 'object' || r === null) return 'v2: no request';
      const q = r as Record<string, unknown>;
      const allowed = new Set(['method', 'path', 'val', 'dir', 'prevValue', 'prevIndex', 'prevIndexText', 'prevExist', 'expiration', 'refresh', 'recursive', 'time']);
      for (const k of Object.keys(q)) if (!allowed.has(k)) return `v2: unknown field ${k}`;
      if (typeof q['method'] !== 'string' || !V2_METHODS.has(q['method'])) return 'v2: method must be PUT, POST or DELETE';
      if (typeof q['path'] !== 'string' || !canonicalKey(q['path'])) return 'v2: path is not a canonical key';
      if (typeof q['val'] !== 'string' || typeof q['prevValue'] !== 'string') return 'v2: val and prevValue are strings';
      for (const k of ['dir', 'refresh', 'recursive']) if (typeof q[k] !== 'boolean') return `v2: ${k} is a boolean`;
      if (q['prevExist'] !== null && typeof q['prevExist'] !== 'boolean') return 'v2: prevExist is a boolean or null';
      if (!Number.isSafeInteger(q['prevIndex']) || (q['prevIndex'] as number) < 0) return 'v2: prevIndex is a non-negative integer';
      if (q['prevIndexText'] !== undefined && (typeof q['prevIndexText'] !== 'string' || !/^\d{1,20}$/.test(q['prevIndexText']))) return 'v2: prevIndexText is decimal';
      for (const k of ['expiration', 'time']) {
        const n = q[k];
        if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return `v2: ${k} is a non-negative number`;
      }
      return { kind: 'v2', req: q as unknown as V2Request };
    }
    case 'auth':
      try {
        return { kind: 'auth', change: assertAuthChange(c['change']) };
      } catch (err: unknown) {
        return (err as Error).message;
      }
    case 'peers': {
      // In a peer's JSON the id is a hex string (JSON numbers cannot hold 64 bits); a bigint from memory.
      const { peerURLs } = c;
      const memberId = typeof c['memberId'] === 'string' ? parseMemberId(c['memberId']) : typeof c['memberId'] === 'bigint' ? entryId(c['memberId']) : undefined;
      if (memberId === undefined || !Array.isArray(peerURLs) || peerURLs.length > 64 || !peerURLs.every((u) => typeof u === 'string' && u.length <= 1024)) {
        return 'peers: malformed';
      }
      return { kind: 'peers', memberId, peerURLs: peerURLs as string[] };
    }
    default:
      return `kind ${String(c['kind'])} cannot be forwarded`;
  }
}

/** '/', or '/'-separated non-empty segments other than '.' and '..', without a trailing '/'. */
function canonicalKey(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/') || path.endsWith('/')) return false;
  for (const seg of path.slice(1).split('/')) if (seg === '' || seg === '.' || seg === '..') return false;
  return true;
}

/**
 * A membership change: the payload of a ConfChange entry (etcd's raftpb.ConfChange, whose context
 * is the member's JSON). 'add' carries the new member's peer URLs; 'remove' carries none.
 */
export interface MemberChange {
  change: 'add' | 'remove';
  memberId: bigint;
  peerURLs: string[];
}

const CONF_CHANGE_ADD = 0; // raftpb.ConfChangeAddNode
const CONF_CHANGE_REMOVE = 1; // raftpb.ConfChangeRemoveNode
const MAX_MEMBER_PEER_URLS = 64;

export function encodeMemberChange(c: MemberChange): Uint8Array {
  return packr.pack([c.change === 'add' ? CONF_CHANGE_ADD : CONF_CHANGE_REMOVE, c.memberId, c.peerURLs]);
}

/** Decodes a ConfChange entry's payload; throws on anything this code did not write. */
export function decodeMemberChange(data: Uint8Array): MemberChange {
  const tuple: unknown = packr.unpack(data);
  if (!Array.isArray(tuple) || tuple.length !== 3) throw new Error('member change: not a tuple of 3');
  const [type, memberId, peerURLs] = tuple as [unknown, unknown, unknown];
  if (type !== CONF_CHANGE_ADD && type !== CONF_CHANGE_REMOVE) throw new Error(`member change: unknown type ${String(type)}`);
  const id = entryId(memberId);
  if (id === undefined) throw new Error('member change: bad member id');
  if (!Array.isArray(peerURLs) || peerURLs.length > MAX_MEMBER_PEER_URLS || !peerURLs.every((u) => typeof u === 'string')) throw new Error('member change: bad peer URLs');
  return { change: type === CONF_CHANGE_ADD ? 'add' : 'remove', memberId: id, peerURLs: peerURLs as string[] };
}
