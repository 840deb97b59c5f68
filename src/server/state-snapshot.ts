// The bytes of a member's state-machine snapshot (MemberStateMachine.snapshot/restore): everything
// needed to continue applying the log after the entry it was taken at. It is what a raft snapshot
// will carry (log compaction, a leader installing its state on a follower that fell behind), so it
// must decode the same on every member and be byte-identical on members that applied the same
// entries: no clocks, no Map iteration order (members by id, auth records by name, the key tree in
// its own insertion order, which the log decides).
//
// Format (msgpack, the store's packr: plain maps and arrays, no records, no extensions). The outer
// map names and checks what follows:
//
//   format      'etcd-ts member state'   tells these bytes apart from any other msgpack
//   version     1                        the layout below; anything else is refused
//   crc32       CRC-32 (IEEE) of body    a flipped bit is refused, not installed (written as a uint 32,
//                                        5 bytes whatever its value; older files have the shortest form)
//   body        bin: msgpack map
//     applied     raft index of the last entry applied into this state
//     bootstrap   null, or the member ids the bootstrap entries named so far (ascending): only a
//                 snapshot taken right at the head of a new log (applied <= the number of initial
//                 members) has them, and the next entry needs them (state-machine.ts
//                 endBootstrapEntries); with them such a snapshot is no different from any other
//     membership  { members: [{ id, name, peerURLs, clientURLs, published }] ascending by id,
//                   clusterVersion: string | null }
//     auth        bin: AuthStore.save() (src/store/auth.ts): { version: 1, initialised, enabled,
//                 users: [{ user, password, roles }], roles: [{ role, permissions, grant?,
//                 revoke? }] }, users and roles byte-ordered by name
//     store       bin: Store.save({ readCounts: false }) (src/store/snapshot.ts): { version: 1,
//                 index (etcd index), historyCapacity, nodes: [[parentOrdinal, name, createdIndex,
//                 modifiedIndex, expirationMs (0: none), value (null: a directory)]] in pre-order,
//                 children in their insertion order (ordinal 0 is the root), history: [V2Event]
//                 oldest first, stats: { the 15 counters of /v2/stats/store but watchers } }
//
// The store and auth parts are nested as bytes so that each keeps its own versioned codec and its
// own checks. A snapshot is encoded in slices (beginEncodeState, StateEncoder.step) while the member
// goes on applying: the store through a copy-on-write view of its tree (src/store/tree.ts
// TreeFreeze), the small parts at once, then everything copied into one buffer and checksummed a
// slice at a time. encodeState runs the same code in one go. The store's stats counters are the snapshot's, except the two that reads move
// (getsSuccess, getsFail): every member counts the reads it served (each keys request counts one),
// so they are saved as 0 and a restore keeps the member's own; otherwise no two members' bytes
// would ever match. (etcd snapshots them too, and a member restored there takes the leader's.)
import { crc32 } from '../storage/crc32.js';
import { AuthStore, type DecodedAuth } from '../store/auth.js';
import { packr } from '../store/msgpack.js';
import type { DecodedSnapshot } from '../store/snapshot.js';
import { Store, type StoreSave } from '../store/store.js';
import { Membership, widenId, type MembershipState } from './membership.js';
import { compareIds, isNodeId } from '../raft/messages.js';

const FORMAT = 'etcd-ts member state';
const FORMAT_VERSION = 1;

interface OuterWire {
  format: string;
  version: number;
  crc32: number;
  body: Uint8Array;
}

interface StateWire {
  applied: number;
  bootstrap: number[] | null;
  membership: MembershipState;
  auth: Uint8Array;
  store: Uint8Array;
}

/** What a member's state machine holds, as snapshot() reads it. */
export interface StateParts {
  applied: number;
  /** The bootstrap entries' member ids while applying them (state-machine.ts), else null. */
  bootstrap: ReadonlySet<bigint> | null;
  membership: Membership;
  auth: AuthStore;
  store: Store;
}

/** A snapshot decoded and checked in full; nothing of any state machine has changed yet. */
export interface DecodedState {
  applied: number;
  bootstrap: Set<bigint> | null;
  membership: MembershipState;
  auth: DecodedAuth;
  store: DecodedSnapshot;
}

/** Encodes the whole state now, in one go (the same bytes as beginEncodeState's). */
export function encodeState(parts: StateParts): Uint8Array {
  const encoder = beginEncodeState(parts);
  while (!encoder.step(UNBOUNDED_SLICE));
  return encoder.bytes();
}

/** A slice's work for StateEncoder.step: store nodes/events and bytes copied and checksummed. */
export interface StateSlice {
  items: number;
  bytes: number;
}

export const UNBOUNDED_SLICE: StateSlice = { items: Infinity, bytes: Infinity };

/**
 * Starts encoding the state as it is now: the applied index, the bootstrap members, the
 * membership and auth (small and bounded: encoded here, at once) and the store (frozen here,
 * copy-on-write: Store.beginSave). step() then does the rest in slices of bounded work while the
 * state machine goes on applying entries: the bytes are exactly the state of this call.
 * Memory while it runs: the store's kept copies (at most one per node that changes meanwhile) and
 * the encoded pieces, then one buffer of the whole snapshot that they are copied into.
 */
export function beginEncodeState(parts: StateParts): StateEncoder {
  const head = packMapHead([
    ['applied', parts.applied],
    ['bootstrap', parts.bootstrap === null ? null : [...parts.bootstrap].sort(compareIds)],
    ['membership', parts.membership.state()],
    ['auth', parts.auth.save()],
  ], 5);
  return new StateEncoder(head, packr.pack('store'), parts.store.beginSave({ readCounts: false }));
}

export class StateEncoder {
  /** The store's save until its pieces are taken (then only `body` refers to them, until copied). */
  private save: StoreSave | null;
  private out: Uint8Array | null = null;
  /** Body pieces (in out's order) and how far they are copied and checksummed. */
  private body: Uint8Array[] = [];
  private piece = 0;
  private pieceOffset = 0;
  private bodyAt = 0;
  private crc = 0;
  private finished = false;

  constructor(
    private readonly head: Uint8Array[],
    private readonly storeKey: Uint8Array,
    save: StoreSave,
  ) {
    this.save = save;
  }

  /** Does about one slice's work; true once the bytes are ready (bytes()). */
  step(slice: StateSlice): boolean {
    if (this.finished) return true;
    if (this.save !== null) {
      if (!this.save.step(slice)) return false;
      const storePieces = this.save.pieces();
      this.save = null;
      this.startAssembly(storePieces);
      return false;
    }
    // Copy the body into the output and checksum it, about slice.bytes at a time.
    const out = this.out as Uint8Array;
    let budget = Math.max(1, Math.min(slice.bytes, MAX_COPY_BYTES));
    while (budget > 0 && this.piece < this.body.length) {
      const p = this.body[this.piece] as Uint8Array;
      const n = Math.min(budget, p.length - this.pieceOffset);
      const part = p.subarray(this.pieceOffset, this.pieceOffset + n);
      out.set(part, this.bodyAt);
      this.crc = crc32(part, this.crc);
      this.bodyAt += n;
      this.pieceOffset += n;
      budget -= n;
      if (this.pieceOffset === p.length) {
        this.piece++;
        this.pieceOffset = 0;
      }
    }
    if (this.piece < this.body.length) return false;
    new DataView(out.buffer, out.byteOffset).setUint32(CRC_VALUE_OFFSET, this.crc);
    this.body = [];
    this.finished = true;
    return true;
  }

  /** The snapshot (decodeState reads it); only once step() returned true. */
  bytes(): Uint8Array {
    if (!this.finished) throw new Error('member state snapshot: not fully encoded yet');
    return this.out as Uint8Array;
  }

  /** Drops the encoding (the store stops keeping copies for it); idempotent. */
  release(): void {
    this.save?.release();
    this.save = null;
    this.body = [];
  }

  private startAssembly(storePieces: readonly Uint8Array[]): void {
    const storeLength = storePieces.reduce((n, p) => n + p.length, 0);
    this.body = [...this.head, this.storeKey, bin32Header(storeLength), ...storePieces];
    const bodyLength = this.body.reduce((n, p) => n + p.length, 0);
    const outerHead = outerHeader(bodyLength);
    this.out = new Uint8Array(outerHead.length + bodyLength);
    this.out.set(outerHead, 0);
    this.bodyAt = outerHead.length;
  }
}

/** Bytes copied and checksummed in one step at most, whatever the slice says. */
const MAX_COPY_BYTES = 1 << 30;

/**
 * The outer map up to the body's bytes: format, version, crc32 as a uint 32 (always 5 bytes, so the
 * body's offset does not depend on its checksum; patched in at CRC_VALUE_OFFSET once known), body
 * as a bin 32 header.
 */
function outerHeader(bodyLength: number): Uint8Array {
  const head = packMapHead([
    ['format', FORMAT],
    ['version', FORMAT_VERSION],
  ], 4);
  const parts = [...head, packr.pack('crc32'), Uint8Array.of(0xce, 0, 0, 0, 0), packr.pack('body'), bin32Header(bodyLength)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const CRC_VALUE_OFFSET = (() => {
  const head = packMapHead([
    ['format', FORMAT],
    ['version', FORMAT_VERSION],
  ], 4);
  return head.reduce((n, p) => n + p.length, 0) + packr.pack('crc32').length + 1;
})();

function bin32Header(length: number): Uint8Array {
  const header = new Uint8Array(5);
  header[0] = 0xc6; // bin 32
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/**
 * The start of a msgpack map of `size` string-keyed fields: its header and the given fields (a
 * Uint8Array value as a bin 32 of its bytes, anything else as packr packs it); the caller appends
 * the rest. What it writes is plain msgpack, for packr.unpack; a large bin is copied once, into
 * the snapshot's buffer.
 */
function packMapHead(fields: [string, unknown][], size: number): Uint8Array[] {
  if (size > 15 || fields.length > size) throw new Error('packMapHead: a fixmap holds at most 15 fields');
  const pieces: Uint8Array[] = [Uint8Array.of(0x80 | size)];
  for (const [key, value] of fields) {
    pieces.push(packr.pack(key));
    if (value instanceof Uint8Array) pieces.push(bin32Header(value.length), value);
    else pieces.push(packr.pack(value));
  }
  return pieces;
}

/**
 * Decodes and checks a snapshot in full (each part with its own decoder's checks) without touching
 * any state machine. Throws an Error saying what is wrong with bytes this code did not write.
 */
export function decodeState(data: Uint8Array): DecodedState {
  if (!(data instanceof Uint8Array)) fail('not bytes');
  const outer = asMap<OuterWire>(unpack(data, 'snapshot'));
  if (outer?.format !== FORMAT) fail('not a member state snapshot');
  const { version, crc32: sum, body } = outer!;
  if (version !== FORMAT_VERSION) fail(`version ${String(version)} is not ${FORMAT_VERSION}, the one this code reads`);
  if (!(body instanceof Uint8Array) || crc32(body) !== sum) fail('checksum mismatch (damaged bytes)');
  const w = asMap<StateWire>(unpack(body as Uint8Array, 'body')) ?? fail('malformed body');
  const { applied, bootstrap, membership, auth, store } = w;
  if (!Number.isSafeInteger(applied) || (applied as number) < 0) fail('malformed applied index');
  let named: Set<bigint> | null = null;
  if (bootstrap !== null) {
    // Ids are bigints; a snapshot written before 64-bit ids holds numbers (widened).
    const ids = (Array.isArray(bootstrap) ? (bootstrap as unknown[]) : fail('malformed bootstrap members')).map(widenId);
    const ascending = ids.every((id, i) => isNodeId(id) && (i === 0 || id > (ids[i - 1] as bigint)));
    // One bootstrap entry per id, at indexes 1..n: never more ids than entries applied.
    if (!ascending || ids.length > (applied as number)) fail('malformed bootstrap members');
    named = new Set(ids as bigint[]);
  }
  if (!(auth instanceof Uint8Array) || !(store instanceof Uint8Array)) fail('no auth or store part');
  try {
    return {
      applied: applied as number,
      bootstrap: named,
      membership: Membership.checkState(membership),
      auth: AuthStore.decodeSaved(auth as Uint8Array),
      store: Store.decodeSaved(store as Uint8Array),
    };
  } catch (err: unknown) {
    return fail((err as Error).message);
  }
}

function fail(why: string): never {
  throw new Error(`member state snapshot: ${why}`);
}

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err: unknown) {
    return fail(`${what} is not msgpack (${(err as Error).message})`);
  }
}

/** The decoded map with every field still unchecked; null when it is not a map. */
function asMap<T>(v: unknown): Partial<Record<keyof T, unknown>> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as Partial<Record<keyof T, unknown>>) : null;
}
