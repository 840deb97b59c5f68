// Value encoding for the raft log store: msgpackr tuples framed by a CRC-32 of the payload.
//   value = u32be(crc32(payload)) ++ payload,  payload = msgpackr(tuple)
// Decoders validate the shape completely and throw DataDirError('corrupt-value'): a value that
// decodes to something else than what we wrote is corruption, never a default.
// Member and cluster ids are etcd's 64-bit ids, bigints, written as msgpack int64 / uint64 and read
// back as bigints. A data dir written before ids were 64-bit holds them as msgpack numbers (at most
// 53 bits: positive fixint, uint8..uint32 or float64): those read as numbers and are widened to
// bigints, so an old data dir opens unchanged (its ids keep their old, truncated values).
import { Packr } from 'msgpackr';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from '../raft/messages.js';
import { EntryType, MAX_NODE_ID } from '../raft/messages.js';
import { crc32, crc32Pieces } from './crc32.js';
import { DataDirError } from './errors.js';

/** Bumped when the layout changes incompatibly; open refuses a dir with another version. */
export const FORMAT_VERSION = 1;

export interface MemberMetadata {
  formatVersion: number;
  clusterId: bigint;
  memberId: NodeId;
  name: string;
  /**
   * The member joined a running cluster (etcd's member add): its ids were assigned by the cluster,
   * not computed from its flags, and a restart takes them from here, as etcd takes them from its WAL.
   */
  joined?: boolean;
  /**
   * A joined member: the cluster's members as a peer listed them when it joined (id and peer URLs).
   * Until its first snapshot its disk holds no ConfState; a restart then takes its first peers from here.
   */
  joinedMembers?: { id: NodeId; peerURLs: string[] }[];
  /** --force-new-cluster rewrote this data dir when its last index was this (src/server/force-new-cluster.ts). */
  forcedAt?: number;
}

/**
 * The id an etcd-ts before 64-bit ids used for etcd's id `id`: its low 53 bits. A data dir written
 * then holds these (member, cluster, voters, log): it opens with them (isLegacyIdentity), and the
 * member keeps running with its old ids, as etcd keeps the ids of its WAL.
 */
export function legacyId(id: bigint): bigint {
  return id & ((1n << 53n) - 1n);
}

/**
 * Whether stored ids are the old 53-bit forms of the expected (64-bit) ones, not equal to them: a
 * data dir of this member written before ids were 64-bit.
 */
export function isLegacyIdentity(stored: { clusterId: bigint; memberId: bigint }, expected: { clusterId: bigint; memberId: bigint }): boolean {
  return (
    (stored.clusterId !== expected.clusterId || stored.memberId !== expected.memberId) &&
    stored.clusterId === legacyId(expected.clusterId) &&
    stored.memberId === legacyId(expected.memberId)
  );
}

const CRC_BYTES = 4;
/** A bound on the joined members (and peer URLs per member) a metadata record may list. */
const MAX_JOINED_MEMBERS = 1024;

// Records off: a stored value must decode without shared structures from another process.
const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CRC_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, crc32(payload));
  out.set(payload, CRC_BYTES);
  return out;
}

function unframe(what: string, value: Uint8Array): unknown {
  if (value.length < CRC_BYTES + 1) throw corrupt(what, `value too short (${value.length} bytes)`);
  const expected = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  const payload = value.subarray(CRC_BYTES);
  if (crc32(payload) !== expected) throw corrupt(what, 'checksum mismatch');
  try {
    return packr.unpack(payload);
  } catch (err) {
    throw corrupt(what, `undecodable (${(err as Error).message})`, err);
  }
}

function corrupt(what: string, detail: string, cause?: unknown): DataDirError {
  return new DataDirError('corrupt-value', `raft log: corrupt ${what}: ${detail}`, { cause });
}

function uint(what: string, v: unknown): number {
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw corrupt(what, `expected a non-negative integer, got ${String(v)}`);
  return v;
}

function bytes(what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw corrupt(what, 'expected bytes');
  // A plain view (not a Buffer) so that decoded values compare equal to what was written.
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function tuple(what: string, v: unknown, length: number): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw corrupt(what, `expected a ${length}-tuple`);
  return v;
}

/** An id: a bigint as written since ids are 64-bit, or a number as written before (widened). */
function id(what: string, v: unknown): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > MAX_NODE_ID) throw corrupt(what, `expected a 64-bit id, got ${v}`);
    return v;
  }
  return BigInt(uint(what, v));
}

function ids(what: string, v: unknown): NodeId[] {
  if (!Array.isArray(v)) throw corrupt(what, 'expected a list of ids');
  return v.map((x) => id(what, x));
}

// ---- Entry: [term, index, type, data]

export function encodeEntry(e: Entry): Uint8Array {
  return frame(packr.pack([e.term, e.index, e.type, e.data]));
}

export function decodeEntry(value: Uint8Array): Entry {
  const t = tuple('entry', unframe('entry', value), 4);
  const type = uint('entry type', t[2]);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) throw corrupt('entry', `unknown entry type ${type}`);
  return { term: uint('entry term', t[0]), index: uint('entry index', t[1]), type, data: bytes('entry data', t[3]) };
}

// ---- HardState: [term, vote, commit]

export function encodeHardState(hs: HardState): Uint8Array {
  return frame(packr.pack([hs.term, hs.vote, hs.commit]));
}

export function decodeHardState(value: Uint8Array): HardState {
  const t = tuple('hard state', unframe('hard state', value), 3);
  return { term: uint('hard state term', t[0]), vote: id('hard state vote', t[1]), commit: uint('hard state commit', t[2]) };
}

// ---- ConfState: [voters, learners]

export function encodeConfState(cs: ConfState): Uint8Array {
  return frame(packr.pack([cs.voters, cs.learners]));
}

export function decodeConfState(value: Uint8Array): ConfState {
  const t = tuple('conf state', unframe('conf state', value), 2);
  return { voters: ids('conf state voters', t[0]), learners: ids('conf state learners', t[1]) };
}

// ---- Snapshot: [index, term, voters, learners, data]
// The data sits inline: v2 store snapshots are small enough for one LevelDB value. A pointer to a
// separate snapshot file would replace the last field if that ever changes (FORMAT_VERSION + 1).

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const m = s.metadata;
  return frame(packr.pack([m.index, m.term, m.confState.voters, m.confState.learners, s.data]));
}

/**
 * encodeSnapshot's bytes as pieces to write one after the other, without copying the data:
 * [frame CRC, the tuple up to the data (its bin as a bin 32), the data]. The CRC over the data is
 * computed in slices, awaiting `pause` between them (crc32Pieces).
 */
export async function encodeSnapshotPieces(s: Snapshot, pause?: () => Promise<void>): Promise<Uint8Array[]> {
  const binHeader = new Uint8Array(5);
  binHeader[0] = 0xc6; // bin 32
  new DataView(binHeader.buffer).setUint32(1, s.data.length);
  const parts = [Uint8Array.of(0x95), packr.pack(s.metadata.index), packr.pack(s.metadata.term), packr.pack(s.metadata.confState.voters), packr.pack(s.metadata.confState.learners), binHeader];
  const head = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    head.set(p, offset);
    offset += p.length;
  }
  const crc = new Uint8Array(CRC_BYTES);
  new DataView(crc.buffer).setUint32(0, await crc32Pieces([head, s.data], 0, pause));
  return [crc, head, s.data];
}

export function decodeSnapshot(value: Uint8Array): Snapshot {
  const t = tuple('snapshot', unframe('snapshot', value), 5);
  return {
    data: bytes('snapshot data', t[4]),
    metadata: {
      index: uint('snapshot index', t[0]),
      term: uint('snapshot term', t[1]),
      confState: { voters: ids('snapshot voters', t[2]), learners: ids('snapshot learners', t[3]) },
    },
  };
}

// ---- Member metadata: [formatVersion, clusterId, memberId, name]

export function encodeMetadata(m: MemberMetadata): Uint8Array {
  // Four fields as before; six once a join or --force-new-cluster is recorded; seven with the joined members.
  const base = [m.formatVersion, m.clusterId, m.memberId, m.name];
  if (m.joinedMembers !== undefined) return frame(packr.pack([...base, m.joined === true ? 1 : 0, m.forcedAt ?? 0, m.joinedMembers.map((j) => [j.id, [...j.peerURLs]])]));
  return frame(packr.pack(m.joined === true || m.forcedAt !== undefined ? [...base, m.joined === true ? 1 : 0, m.forcedAt ?? 0] : base));
}

export function decodeMetadata(value: Uint8Array): MemberMetadata {
  const raw = unframe('member metadata', value);
  if (!Array.isArray(raw) || raw.length < 1) throw corrupt('member metadata', 'expected a tuple');
  const formatVersion = uint('format version', raw[0]);
  if (formatVersion !== FORMAT_VERSION) {
    throw new DataDirError('unsupported-format', `raft log: data dir format version ${formatVersion}, this build reads ${FORMAT_VERSION}`);
  }
  const t = tuple('member metadata', raw, raw.length === 7 ? 7 : raw.length === 6 ? 6 : 4);
  if (typeof t[3] !== 'string') throw corrupt('member metadata', 'name is not a string');
  const m: MemberMetadata = { formatVersion, clusterId: id('cluster id', t[1]), memberId: id('member id', t[2]), name: t[3] };
  if (t.length >= 6) {
    const joined = uint('joined', t[4]);
    const forcedAt = uint('forced at', t[5]);
    if (joined > 1) throw corrupt('member metadata', 'joined is not 0 or 1');
    if (joined === 1) m.joined = true;
    if (forcedAt > 0) m.forcedAt = forcedAt;
  }
  if (t.length === 7) {
    const list = t[6];
    if (!Array.isArray(list) || list.length > MAX_JOINED_MEMBERS) throw corrupt('member metadata', 'joined members is not a bounded list');
    m.joinedMembers = list.map((item: unknown) => {
      if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[1]) || item[1].length > MAX_JOINED_MEMBERS || !item[1].every((u: unknown) => typeof u === 'string')) throw corrupt('member metadata', 'a joined member is not [id, [peer URL, ...]]');
      return { id: id('joined member id', item[0]), peerURLs: [...(item[1] as string[])] };
    });
  }
  return m;
}

// ---- Backup record (key 'b'): [complete, sourceClusterId, sourceMemberId, sourceName, takenAtMs, index, quorum]

export interface BackupRecord {
  /** False while `etcd-ts backup` is still copying: such a copy is refused everywhere. */
  complete: boolean;
  /** The cluster and member the copy was taken from. */
  sourceClusterId: bigint;
  sourceMemberId: NodeId;
  sourceName: string;
  /** When the copy was taken (Unix ms). */
  takenAtMs: number;
  /**
   * Every entry up to this index was committed in the source cluster and is in the copy: the
   * index the source member confirmed with a quorum (ReadIndex) before the copy began, or its
   * HardState commit index when no quorum confirmed one (a stopped member, or --skip-quorum).
   */
  index: number;
  /** Whether `index` was confirmed with the source cluster's quorum. */
  quorum: boolean;
}

export function encodeBackupRecord(b: BackupRecord): Uint8Array {
  return frame(packr.pack([b.complete ? 1 : 0, b.sourceClusterId, b.sourceMemberId, b.sourceName, b.takenAtMs, b.index, b.quorum ? 1 : 0]));
}

export function decodeBackupRecord(value: Uint8Array): BackupRecord {
  const t = tuple('backup record', unframe('backup record', value), 7);
  if (typeof t[3] !== 'string') throw corrupt('backup record', 'name is not a string');
  return {
    complete: uint('backup complete', t[0]) === 1,
    sourceClusterId: id('backup cluster id', t[1]),
    sourceMemberId: id('backup member id', t[2]),
    sourceName: t[3],
    takenAtMs: uint('backup time', t[4]),
    index: uint('backup index', t[5]),
    quorum: uint('backup quorum', t[6]) === 1,
  };
}
