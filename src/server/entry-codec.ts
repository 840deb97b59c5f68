// What a raft log entry carries for this member runtime. An empty payload is the leader's no-op
// (raft appends one on election); every other Normal entry is one of these commands,
// msgpackr-encoded as a [kind, ...fields] tuple so that decoding needs no schema negotiation.
import { Packr } from 'msgpackr';
import { assertAuthChange } from '../store/auth-codec.js';
import type { AuthChange } from '../store/auth.js';
import type { V2Request } from '../store/command.js';

export type EntryCommand =
  /** A v2 keys write (or SYNC), applied to the store. */
  | { kind: 'v2'; req: V2Request }
  /** A member publishes its name and client URLs (etcd's publish of member attributes). */
  | { kind: 'attrs'; memberId: number; name: string; clientURLs: string[]; runId?: number }
  /** The leader decides the cluster version once every member has published (etcd's /0/version). */
  | { kind: 'version'; version: string }
  /** PUT /v2/members/<id>: a member's new peer URLs (etcd's ConfChangeUpdateNode; voters unchanged). */
  | { kind: 'peers'; memberId: number; peerURLs: string[] }
  /** A v2 auth change (users, roles, enable/disable), passwords already hashed by the proposer. */
  | { kind: 'auth'; change: AuthChange };

const KIND_V2 = 1;
const KIND_ATTRS = 2;
const KIND_VERSION = 3;
const KIND_PEERS = 4;
const KIND_AUTH = 5;

const packr = new Packr({ useRecords: false, moreTypes: false });

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
      const [, memberId, name, clientURLs, runId] = tuple as [number, number, string, string[], number | undefined];
      if (!Number.isSafeInteger(memberId) || typeof name !== 'string' || !Array.isArray(clientURLs) || (runId !== undefined && !Number.isSafeInteger(runId))) {
        throw new Error('entry command: malformed member attributes');
      }
      return runId === undefined ? { kind: 'attrs', memberId, name, clientURLs } : { kind: 'attrs', memberId, name, clientURLs, runId };
    }
    case KIND_VERSION: {
      if (typeof tuple[1] !== 'string') throw new Error('entry command: malformed cluster version');
      return { kind: 'version', version: tuple[1] };
    }
    case KIND_PEERS: {
      const [, memberId, peerURLs] = tuple as [number, number, string[]];
      if (!Number.isSafeInteger(memberId) || !Array.isArray(peerURLs) || !peerURLs.every((u) => typeof u === 'string')) {
        throw new Error('entry command: malformed peer URLs');
      }
      return { kind: 'peers', memberId, peerURLs };
    }
    case KIND_AUTH:
      return { kind: 'auth', change: assertAuthChange(tuple[1]) };
    default:
      throw new Error(`entry command: unknown kind ${String(tuple[0])}`);
  }
}
