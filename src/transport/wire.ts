// The wire form of a batch of raft messages: msgpackr over compact tuples.
//   batch    = [WIRE_VERSION, message[]]
//   message  = [type, to, from, term, logTerm, index, commit, reject, rejectHint, entry[],
//               logTermHint | nil, context | nil, snapshot | nil]
//   entry    = [term, index, type, data]
//   snapshot = [index, term, voters, learners, data]
// Tuples keep batches small and fast to decode; the decoder validates every field, so a body from
// a confused or hostile client is a WireError (answered 400), never a crash or a half-typed Message.
import { Packr } from 'msgpackr';
import { EntryType, isLocalMessage, MessageType, type Entry, type Message, type Snapshot } from '../raft/messages.js';

export const WIRE_VERSION = 1;

// Upper bounds of the encoded bytes around payloads (13 fields of at most 9 bytes plus headers; an
// entry's 4 fields), so that messageSizeBytes never underestimates what encodeBatch produces.
const MESSAGE_OVERHEAD_BYTES = 128;
const ENTRY_OVERHEAD_BYTES = 32;
const ID_BYTES = 9;

export class WireError extends Error {
  readonly code = 'malformed-batch';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`raft messages: ${message}`, options);
    this.name = 'WireError';
  }
}

const packr = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

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

function messageTuple(m: Message): unknown[] {
  return [
    m.type,
    m.to,
    m.from,
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
  return [md.index, md.term, md.confState.voters, md.confState.learners, s.data];
}

/** Decodes and validates a batch; throws WireError on anything we would not have encoded. */
export function decodeBatch(body: Uint8Array, limits: { maxMessages: number }): Message[] {
  let raw: unknown;
  try {
    raw = packr.unpack(body);
  } catch (err) {
    throw new WireError(`undecodable body (${(err as Error).message})`, { cause: err });
  }
  const batch = tuple('batch', raw, 2);
  if (batch[0] !== WIRE_VERSION) throw new WireError(`unsupported wire version ${String(batch[0])}`);
  const list = batch[1];
  if (!Array.isArray(list)) throw new WireError('batch: expected a list of messages');
  if (list.length > limits.maxMessages) throw new WireError(`batch of ${list.length} messages exceeds ${limits.maxMessages}`);
  return list.map(decodeMessage);
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
    to: uint('to', t[1]),
    from: uint('from', t[2]),
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
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new WireError(`${what}: expected a non-negative integer`);
  return v;
}

function bytes(what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new WireError(`${what}: expected bytes`);
  // A plain view over the body (no copy), so decoded messages equal what was encoded.
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function ids(what: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw new WireError(`${what}: expected a list of ids`);
  return v.map((id) => uint(what, id));
}
