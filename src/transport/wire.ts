// The wire form of a batch of raft messages: msgpackr over compact tuples.
//   batch    = [WIRE_VERSION, message[]]
//   message  = [type, to, from, term, logTerm, index, commit, reject, rejectHint, entry[],
//               logTermHint | nil, context | nil, snapshot | nil]
//   entry    = [term, index, type, data]
//   snapshot = [index, term, voters, learners, data]
// Tuples keep batches small and fast to decode; the decoder validates every field, so a body from
// a confused or hostile client is a WireError (answered 400), never a crash or a half-typed Message.
// Before msgpackr builds a single object, scanBatch walks the bytes once and refuses a body that is
// not exactly this shape or that exceeds the message / entry bounds: an entry costs 6 bytes on the
// wire but a few hundred bytes of heap once decoded, so the bounds must hold before decoding.
// Member ids (to, from, voters, learners) are etcd's 64-bit ids, bigints: one that fits in 53 bits
// is written as a number (see wireId: rolling upgrades from before 64-bit ids), any other as msgpackr
// writes a bigint, an int64 (0xd3) below 2^63 and a uint64 (0xcf) from there; it reads both back as bigint
// (int64AsType 'bigint'); an id another encoder wrote in a shorter integer form reads as a number
// and is widened to a bigint, so every decoded id is a bigint and none is ever a float.
import { Packr } from 'msgpackr';
import { EntryType, isLocalMessage, MAX_NODE_ID, MessageType, type Entry, type Message, type NodeId, type Snapshot } from '../raft/messages.js';
import { DEFAULT_MAX_ENTRIES_PER_BATCH } from './limits.js';

export const WIRE_VERSION = 1;

// Upper bounds of the encoded bytes around payloads (13 fields of at most 9 bytes plus headers; an
// entry's 4 fields), so that messageSizeBytes never underestimates what encodeBatch produces.
const MESSAGE_OVERHEAD_BYTES = 128;
export const ENTRY_OVERHEAD_BYTES = 32;
const ID_BYTES = 9;

/**
 * Voter and learner ids in one batch: a membership is a handful of members, and each id is one
 * byte on the wire but 8 in a decoded array, so the lists are bounded like the entries.
 */
export const MAX_CONF_STATE_IDS_PER_BATCH = 64 * 1024;

/**
 * The payload of every decoded empty entry (raft's no-op entries, empty contexts and snapshots):
 * one shared, frozen, zero-length array instead of a view per entry. A zero-length array has no
 * element to write; freezing also refuses properties (msgpackr's unpack() caches a `dataView` on its
 * source, so unpacking this array throws a TypeError where an unfrozen one throws msgpackr's
 * end-of-data Error: decode entry data only when it is non-empty, as the state machine does).
 */
const EMPTY_BYTES: Uint8Array = Object.freeze(new Uint8Array(0));

export class WireError extends Error {
  readonly code = 'malformed-batch';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`raft messages: ${message}`, options);
    this.name = 'WireError';
  }
}

const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

/** An upper bound of a message's encoded size, computed without encoding. */
export function messageSizeBytes(m: Message): number {
  let size = MESSAGE_OVERHEAD_BYTES;
  for (const e of m.entries) size += ENTRY_OVERHEAD_BYTES + e.data.byteLength;
  if (m.context !== undefined) size += m.context.byteLength + 5;
  if (m.snapshot !== undefined) {
    const cs = m.snapshot.metadata.confState;
    size += 48 + m.snapshot.data.byteLength + ID_BYTES * (cs.voters.length + cs.learners.length);
  }
  return size;
}

export function encodeBatch(messages: readonly Message[]): Uint8Array {
  return packr.pack([WIRE_VERSION, messages.map(messageTuple)]);
}

/**
 * A MsgSnap's request body, byte for byte what encodeBatch([m]) encodes, as pieces that do not copy
 * the snapshot's data: the batch up to the data's bin header, then views of the data of at most
 * chunkBytes each. The data is the last value of the batch (the snapshot is a message's last
 * field and the data the snapshot's), so nothing follows it. The sender streams these pieces: a
 * snapshot costs it no second copy, whatever its size.
 */
export function encodeSnapshotBody(m: Message, chunkBytes: number): { pieces: Uint8Array[]; length: number } {
  const snap = m.snapshot;
  if (m.type !== MessageType.MsgSnap || snap === undefined) throw new TypeError('encodeSnapshotBody: expected a MsgSnap with its snapshot');
  const data = snap.data;
  if (data.byteLength > 0xffffffff) throw new RangeError(`snapshot of ${data.byteLength} bytes exceeds msgpack's bin32 bound`);
  const head = packr.pack([WIRE_VERSION, [messageTuple({ ...m, snapshot: { metadata: snap.metadata, data: EMPTY_BYTES } })]]);
  // msgpackr writes the empty data as bin8 of length 0, last: replace it with the data's header.
  if (head.length < 2 || head[head.length - 2] !== BIN8 || head[head.length - 1] !== 0) throw new Error('encodeSnapshotBody: unexpected encoding of the empty snapshot data');
  const n = data.byteLength;
  const header = n < 0x100 ? [BIN8, n] : n < 0x10000 ? [BIN16, n >>> 8, n & 0xff] : [BIN32, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const prefix = new Uint8Array(head.length - 2 + header.length);
  prefix.set(head.subarray(0, head.length - 2));
  prefix.set(header, head.length - 2);
  const pieces: Uint8Array[] = [prefix];
  const step = Math.max(1, Math.floor(chunkBytes));
  for (let at = 0; at < n; at += step) pieces.push(data.subarray(at, Math.min(n, at + step)));
  return { pieces, length: prefix.length + n };
}

const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An id as it goes on the wire: a bigint (int64 / uint64), but as a plain number when it fits in
 * 53 bits. Data dirs from before 64-bit ids keep their 53-bit ids, and a release from before reads
 * ids only in the number forms: so the members of such a cluster can be upgraded one at a time.
 */
function wireId(id: NodeId): NodeId | number {
  return id <= MAX_SAFE_ID ? Number(id) : id;
}

function messageTuple(m: Message): unknown[] {
  return [
    m.type,
    wireId(m.to),
    wireId(m.from),
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    m.reject,
    m.rejectHint,
    m.entries.map((e) => [e.term, e.index, e.type, e.data]),
    m.logTermHint ?? null,
    m.context ?? null,
    m.snapshot === undefined ? null : snapshotTuple(m.snapshot),
  ];
}

function snapshotTuple(s: Snapshot): unknown[] {
  const md = s.metadata;
  return [md.index, md.term, md.confState.voters.map(wireId), md.confState.learners.map(wireId), s.data];
}

export interface DecodeLimits {
  /** Messages in one batch. */
  maxMessages: number;
  /** Entries in one batch, over all its messages. Default DEFAULT_MAX_ENTRIES_PER_BATCH. */
  maxEntriesPerBatch?: number;
}

/** What scanBatch counted in a body it accepted. */
export interface BatchShape {
  messages: number;
  entries: number;
  confStateIds: number;
}

/**
 * Decodes and validates a batch; throws WireError on anything we would not have encoded, and on a
 * batch over the bounds before any of it is materialised.
 */
export function decodeBatch(body: Uint8Array, limits: DecodeLimits): Message[] {
  scanBatch(body, limits);
  let raw: unknown;
  try {
    // Through a plain Uint8Array (not the caller's Buffer): msgpackr's bin values are then plain
    // Uint8Array views over the body, used as they are; msgpackr also tags its source with a
    // cached DataView, which stays on this wrapper.
    raw = packr.unpack(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  } catch (err) {
    throw new WireError(`undecodable body (${(err as Error).message})`, { cause: err });
  }
  const batch = tuple('batch', raw, 2);
  if (batch[0] !== WIRE_VERSION) throw new WireError(`unsupported wire version ${String(batch[0])}`);
  const list = batch[1];
  if (!Array.isArray(list)) throw new WireError('batch: expected a list of messages');
  return list.map(decodeMessage);
}

// The msgpack type bytes our encoder emits (msgpackr with useRecords: false): non-negative
// integers as positive fixint / uint8 / uint16 / uint32 and, from 2^32 on, float64 (msgpackr never
// writes uint64 for a number, but another msgpack encoder may, so a safe uint64 is accepted);
// arrays as fixarray / array16 / array32; Uint8Array as bin8 / bin16 / bin32; null; booleans.
const NIL = 0xc0;
const FALSE = 0xc2;
const TRUE = 0xc3;
const BIN8 = 0xc4;
const BIN16 = 0xc5;
const BIN32 = 0xc6;
const FLOAT64 = 0xcb;
const UINT8 = 0xcc;
const UINT16 = 0xcd;
const UINT32 = 0xce;
const UINT64 = 0xcf;
const INT64 = 0xd3;
const ARRAY16 = 0xdc;
const ARRAY32 = 0xdd;
/** Fewest bytes of an encoded entry ([fixint, fixint, fixint, bin8 of 0 bytes]) and message. */
const MIN_ENTRY_BYTES = 6;
const MIN_MESSAGE_BYTES = 14;
const MESSAGE_UINT_FIELDS = ['message.term', 'message.logTerm', 'message.index', 'message.commit'] as const;

/**
 * Checks, without building any object, that `body` is exactly one batch of our tuple shape (every
 * integer field a non-negative safe integer, nothing after it) within the bounds: at most
 * maxMessages messages, maxEntriesPerBatch entries, MAX_CONF_STATE_IDS_PER_BATCH ids. A list is
 * refused on its length header, before its elements are walked. One pass with a handful of byte
 * reads per value and none per payload byte: linear in the body with a small constant, constant
 * memory. Throws WireError, never anything else.
 */
export function scanBatch(body: Uint8Array, limits: DecodeLimits): BatchShape {
  const maxEntries = limits.maxEntriesPerBatch ?? DEFAULT_MAX_ENTRIES_PER_BATCH;
  const s = new Scanner(body);
  if (s.arrayLength('batch') !== 2) throw new WireError('batch: expected a 2-tuple');
  const version = s.uint('batch.version');
  if (version !== WIRE_VERSION) throw new WireError(`unsupported wire version ${version}`);
  const messages = s.arrayLength('batch.messages');
  if (messages > limits.maxMessages) throw new WireError(`batch of ${messages} messages exceeds ${limits.maxMessages} (maxMessages)`);
  s.room(messages, MIN_MESSAGE_BYTES, 'batch.messages');
  let entries = 0;
  let ids = 0;
  for (let i = 0; i < messages; i++) {
    s.tuple('message', 13);
    s.uint('message.type');
    s.id('message.to');
    s.id('message.from');
    for (const field of MESSAGE_UINT_FIELDS) s.uint(field);
    s.bool('message.reject');
    s.uint('message.rejectHint');
    const n = s.arrayLength('message.entries');
    entries += n;
    if (entries > maxEntries) throw new WireError(`batch of ${entries}+ entries exceeds ${maxEntries} (maxEntriesPerBatch)`);
    s.room(n, MIN_ENTRY_BYTES, 'message.entries');
    for (let j = 0; j < n; j++) {
      s.tuple('entry', 4);
      s.uint('entry.term');
      s.uint('entry.index');
      s.uint('entry.type');
      s.bin('entry.data');
    }
    if (!s.nil()) s.uint('message.logTermHint');
    if (!s.nil()) s.bin('message.context');
    if (!s.nil()) {
      s.tuple('snapshot', 5);
      s.uint('snapshot.index');
      s.uint('snapshot.term');
      for (const what of ['snapshot.voters', 'snapshot.learners']) {
        const k = s.arrayLength(what);
        ids += k;
        if (ids > MAX_CONF_STATE_IDS_PER_BATCH) throw new WireError(`batch of ${ids}+ member ids exceeds ${MAX_CONF_STATE_IDS_PER_BATCH}`);
        s.room(k, 1, what);
        for (let j = 0; j < k; j++) s.id(what);
      }
      s.bin('snapshot.data');
    }
  }
  if (s.pos !== body.length) throw new WireError(`${body.length - s.pos} trailing bytes after the batch`);
  return { messages, entries, confStateIds: ids };
}

/** A cursor over msgpack bytes that reads headers and skips payloads; every read is bounds-checked. */
class Scanner {
  pos = 0;
  private readonly end: number;
  private view: DataView | undefined;

  constructor(private readonly buf: Uint8Array) {
    this.end = buf.length;
  }

  /** Reads a length-prefixed integer of `bytes` big-endian bytes after the type byte, and skips both. */
  private fixed(bytes: number, what: string): number {
    const { buf, pos } = this;
    if (this.end - pos <= bytes) throw new WireError(`${what}: truncated body`);
    let v = 0;
    for (let i = 1; i <= bytes; i++) v = v * 256 + (buf[pos + i] as number);
    this.pos = pos + 1 + bytes;
    return v;
  }

  private type(what: string): number {
    if (this.pos >= this.end) throw new WireError(`${what}: truncated body`);
    return this.buf[this.pos] as number;
  }

  /** A non-negative safe integer, in any form our encoder writes one. */
  uint(what: string): number {
    const t = this.type(what);
    if (t <= 0x7f) {
      this.pos++;
      return t;
    }
    switch (t) {
      case UINT8:
        return this.fixed(1, what);
      case UINT16:
        return this.fixed(2, what);
      case UINT32:
        return this.fixed(4, what);
      case UINT64: {
        const hi = this.buf[this.pos + 1];
        // The top 11 bits of a safe integer are zero (2^53 - 1 at most).
        if (hi !== undefined && (hi !== 0 || (this.buf[this.pos + 2] as number) > 0x1f)) break;
        return this.fixed(8, what);
      }
      case FLOAT64: {
        if (this.end - this.pos < 9) throw new WireError(`${what}: truncated body`);
        this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
        const v = this.view.getFloat64(this.pos + 1);
        if (!Number.isSafeInteger(v) || v < 0) break;
        this.pos += 9;
        return v;
      }
    }
    throw new WireError(`${what}: expected a non-negative integer (msgpack type 0x${t.toString(16)})`);
  }

  /** A member id: a non-negative integer below 2^64, in any integer form (ours is int64 / uint64). */
  id(what: string): void {
    const t = this.type(what);
    if (t === UINT64 || t === INT64) {
      if (this.end - this.pos < 9) throw new WireError(`${what}: truncated body`);
      // An int64 id is below 2^63: its top bit (the sign) is clear.
      if (t === INT64 && ((this.buf[this.pos + 1] as number) & 0x80) !== 0) throw new WireError(`${what}: expected a non-negative id`);
      this.pos += 9;
      return;
    }
    this.uint(what);
  }

  arrayLength(what: string): number {
    const t = this.type(what);
    if (t >= 0x90 && t <= 0x9f) {
      this.pos++;
      return t & 0x0f;
    }
    if (t === ARRAY16) return this.fixed(2, what);
    if (t === ARRAY32) return this.fixed(4, what);
    throw new WireError(`${what}: expected a list (msgpack type 0x${t.toString(16)})`);
  }

  tuple(what: string, length: number): void {
    if (this.arrayLength(what) !== length) throw new WireError(`${what}: expected a ${length}-tuple`);
  }

  /** A list of `count` elements of at least `minBytes` each must fit in what is left of the body. */
  room(count: number, minBytes: number, what: string): void {
    if (count * minBytes > this.end - this.pos) throw new WireError(`${what}: truncated body (${count} elements announced)`);
  }

  bool(what: string): void {
    const t = this.type(what);
    if (t !== TRUE && t !== FALSE) throw new WireError(`${what}: expected a boolean (msgpack type 0x${t.toString(16)})`);
    this.pos++;
  }

  /** Skips a nil and returns true, or returns false (consuming nothing) before anything else. */
  nil(): boolean {
    if (this.pos < this.end && this.buf[this.pos] === NIL) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Skips a bin value without reading its bytes. */
  bin(what: string): void {
    const t = this.type(what);
    let length: number;
    if (t === BIN8) length = this.fixed(1, what);
    else if (t === BIN16) length = this.fixed(2, what);
    else if (t === BIN32) length = this.fixed(4, what);
    else throw new WireError(`${what}: expected bytes (msgpack type 0x${t.toString(16)})`);
    if (length > this.end - this.pos) throw new WireError(`${what}: truncated body (${length} bytes announced)`);
    this.pos += length;
  }
}

function decodeMessage(raw: unknown): Message {
  const t = tuple('message', raw, 13);
  const type = uint('type', t[0]);
  if (type > MessageType.MsgPreVoteResp) throw new WireError(`unknown message type ${type}`);
  if (isLocalMessage(type)) throw new WireError(`local message type ${MessageType[type]} on the wire`);
  if (typeof t[7] !== 'boolean') throw new WireError('message.reject: expected a boolean');
  if (!Array.isArray(t[9])) throw new WireError('message.entries: expected a list');
  const m: Message = {
    type,
    to: nodeId('to', t[1]),
    from: nodeId('from', t[2]),
    term: uint('term', t[3]),
    logTerm: uint('logTerm', t[4]),
    index: uint('index', t[5]),
    entries: t[9].map(decodeEntry),
    commit: uint('commit', t[6]),
    reject: t[7],
    rejectHint: uint('rejectHint', t[8]),
  };
  if (t[10] !== null) m.logTermHint = uint('logTermHint', t[10]);
  if (t[11] !== null) m.context = bytes('context', t[11]);
  if (t[12] !== null) m.snapshot = decodeSnapshot(t[12]);
  return m;
}

function decodeEntry(raw: unknown): Entry {
  const t = tuple('entry', raw, 4);
  const type = uint('entry.type', t[2]);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) throw new WireError(`unknown entry type ${type}`);
  return { term: uint('entry.term', t[0]), index: uint('entry.index', t[1]), type, data: bytes('entry.data', t[3]) };
}

function decodeSnapshot(raw: unknown): Snapshot {
  const t = tuple('snapshot', raw, 5);
  return {
    data: bytes('snapshot.data', t[4]),
    metadata: { index: uint('snapshot.index', t[0]), term: uint('snapshot.term', t[1]), confState: { voters: ids('snapshot.voters', t[2]), learners: ids('snapshot.learners', t[3]) } },
  };
}

function tuple(what: string, v: unknown, length: number): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw new WireError(`${what}: expected a ${length}-tuple`);
  return v;
}

function uint(what: string, v: unknown): number {
  // A uint64 from another encoder reads as a bigint (int64AsType 'bigint'): fine while it is safe.
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new WireError(`${what}: expected a non-negative integer`);
  return v;
}

/** A member id: a bigint as we write it, or a number another encoder wrote in a shorter form (widened). */
function nodeId(what: string, v: unknown): NodeId {
  if (typeof v === 'bigint') {
    if (v < 0n || v > MAX_NODE_ID) throw new WireError(`${what}: expected a 64-bit id`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new WireError(`${what}: expected a non-negative id`);
  return BigInt(v);
}

function bytes(what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new WireError(`${what}: expected bytes`);
  if (v.byteLength === 0) return EMPTY_BYTES;
  // A plain view over the body (no copy), so decoded messages equal what was encoded. msgpackr
  // already made one (it unpacks a plain Uint8Array); anything else is re-wrapped.
  return Object.getPrototypeOf(v) === Uint8Array.prototype ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function ids(what: string, v: unknown): NodeId[] {
  if (!Array.isArray(v)) throw new WireError(`${what}: expected a list of ids`);
  return v.map((id) => nodeId(what, id));
}
