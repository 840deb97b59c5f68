import { Packr, Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/messages.js';
import { DEFAULT_MAX_ENTRIES_PER_BATCH, DEFAULT_TRANSPORT_LIMITS } from '../../src/transport/limits.js';
import { decodeBatch, encodeBatch, encodeSnapshotBody, ENTRY_OVERHEAD_BYTES, MAX_CONF_STATE_IDS_PER_BATCH, scanBatch, WireError } from '../../src/transport/wire.js';
import { messageSizeBytes } from '../../src/transport/wire.js';
import { append, message } from './helpers.js';
import { mulberry32 } from '../sim/prng.js';

const LIMITS = { maxMessages: 1024 };


function everyShape(): Message[] {
  return [
    message(1n, 2n),
    message(1n, 2n, { type: MessageType.MsgHeartbeat, context: Uint8Array.of(9, 8, 7), commit: 41 }),
    message(2n, 1n, { type: MessageType.MsgAppResp, reject: true, rejectHint: 17, logTermHint: 3, index: 20 }),
    message(1n, 2n, {
      type: MessageType.MsgApp,
      term: Number.MAX_SAFE_INTEGER,
      index: 2 ** 40,
      logTerm: 2 ** 33,
      commit: 2 ** 52,
      entries: [
        { term: 7, index: 2 ** 40 + 1, type: EntryType.Normal, data: new Uint8Array(0) },
        { term: 7, index: 2 ** 40 + 2, type: EntryType.ConfChange, data: Uint8Array.of(0, 255, 128) },
      ],
    }),
    message(1n, 3n, {
      type: MessageType.MsgSnap,
      snapshot: { data: Uint8Array.of(1, 2, 3, 4), metadata: { index: 100, term: 5, confState: { voters: [1n, 2n, 3n], learners: [4n] } } },
    }),
    message(3n, 1n, { type: MessageType.MsgVote, logTerm: 4, index: 99 }),
    message(3n, 1n, { type: MessageType.MsgReadIndex, context: new Uint8Array(0), entries: [{ term: 0, index: 0, type: EntryType.Normal, data: Uint8Array.of(5) }] }),
    message(2n, 1n, { type: MessageType.MsgPreVoteResp, reject: true }),
    message(1n, 2n, { type: MessageType.MsgTimeoutNow }),
  ];
}

describe('wire batches', () => {
  it('round-trip every message shape exactly, optional fields absent stay absent', () => {
    const msgs = everyShape();
    const decoded = decodeBatch(encodeBatch(msgs), LIMITS);
    expect(decoded).toEqual(msgs);
    expect('context' in (decoded[0] as Message)).toBe(false);
    expect('logTermHint' in (decoded[0] as Message)).toBe(false);
    expect('snapshot' in (decoded[0] as Message)).toBe(false);
    const app = decoded[3] as Message;
    expect(Object.getPrototypeOf(app.entries[1]!.data)).toBe(Uint8Array.prototype);
    expect(decoded[1]!.context).toEqual(Uint8Array.of(9, 8, 7));
    expect(decoded[6]!.context).toEqual(new Uint8Array(0));
  });

  it('writes an id that fits in 53 bits as a number (a release from before 64-bit ids reads it), a larger one as a 64-bit integer', () => {
    const small = 0x1f64ebc2939090n; // a 53-bit id, as a data dir from before 64-bit ids keeps
    const large = 0x8cfef8a1e90196c4n; // etcd's id for a member, >= 2^63
    const m = message(small, large, { type: MessageType.MsgSnap, snapshot: { data: Uint8Array.of(1), metadata: { index: 7, term: 2, confState: { voters: [small, large], learners: [3n] } } } });
    const raw = new Unpackr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true }).unpack(encodeBatch([m])) as unknown[][][];
    const t = raw[1]?.[0] as unknown[];
    expect([typeof t[1], typeof t[2]]).toEqual(['bigint', 'number']);
    expect(t[2]).toBe(Number(small));
    expect((t[12] as unknown[])[2]).toEqual([Number(small), large]);
    expect((t[12] as unknown[])[3]).toEqual([3]);
    // and every id decodes back to the bigint it was
    const back = decodeBatch(encodeBatch([m]), LIMITS)[0] as Message;
    expect([back.to, back.from, back.snapshot?.metadata.confState.voters, back.snapshot?.metadata.confState.learners]).toEqual([large, small, [small, large], [3n]]);
  });

  it('refuses bodies that are not batches we would have encoded', () => {
    const packr = new Packr({ useRecords: false });
    const valid = (m: Message) => [m.type, m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.reject, m.rejectHint, [], null, null, null];
    const bad: unknown[] = [
      'hello',
      [2, []],
      [1, 'x'],
      [1, [[1, 2]]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 3 ? -1 : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 3 ? 1.5 : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 0 ? MessageType.MsgHup : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 0 ? 99 : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 7 ? 0 : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 9 ? [[1, 1, 0, 'text']] : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 9 ? [[1, 1, 5, new Uint8Array(1)]] : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 11 ? 'ctx' : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 12 ? [1, 1, [], [], null] : v))]],
      [1, [valid(message(1n, 2n)).map((v, i) => (i === 12 ? [1, 1, ['a'], [], new Uint8Array(0)] : v))]],
    ];
    for (const value of bad) {
      expect(() => decodeBatch(packr.pack(value), LIMITS), JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toThrow(WireError);
    }
    expect(() => decodeBatch(Uint8Array.of(0xc1), LIMITS)).toThrow(WireError);
    expect(() => decodeBatch(new Uint8Array(0), LIMITS)).toThrow(WireError);
    const body = encodeBatch([message(1n, 2n)]);
    expect(() => decodeBatch(Buffer.concat([body, Uint8Array.of(0)]), LIMITS)).toThrow(WireError);
  });

  it('refuses a batch with more messages than the bound', () => {
    const msgs = Array.from({ length: 11 }, () => message(1n, 2n));
    expect(() => decodeBatch(encodeBatch(msgs), { maxMessages: 10 })).toThrow(/exceeds 10/);
  });

  it('never throws anything but WireError on random or mutated bodies (seeded fuzz)', () => {
    const seed = 0x5eed;
    const rand = mulberry32(seed);
    const valid = encodeBatch(everyShape());
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      let body: Uint8Array;
      if (round % 2 === 0) {
        body = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      } else {
        body = Uint8Array.from(valid);
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
      }
      try {
        const msgs = decodeBatch(body, LIMITS);
        for (const m of msgs) expect(Number.isSafeInteger(m.term) && m.term >= 0).toBe(true);
        accepted++;
      } catch (err) {
        if (!(err instanceof WireError)) throw new Error(`seed ${seed} round ${round}: ${String(err)}`);
      }
    }
    expect(accepted).toBeLessThan(3000);
  });

  it('estimates sizes that bound the encoded size', () => {
    const rand = mulberry32(7);
    for (let round = 0; round < 200; round++) {
      const m = append(1n + BigInt(Math.floor(rand() * 2 ** 40)), 2n, Math.floor(rand() * 2 ** 45), Math.floor(rand() * 5), Math.floor(rand() * 300));
      m.context = new Uint8Array(Math.floor(rand() * 40));
      m.logTermHint = Math.floor(rand() * 2 ** 50);
      expect(encodeBatch([m]).byteLength).toBeLessThanOrEqual(messageSizeBytes(m) + 8);
    }
    for (const m of everyShape()) expect(encodeBatch([m]).byteLength).toBeLessThanOrEqual(messageSizeBytes(m) + 8);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A batch of `messages` MsgApps (1 -> 2), each with `perMessage` empty entries [1, 1, 0, bin0] of
 * 6 bytes, written byte by byte (encodeBatch would first build millions of entry objects).
 */
function emptyEntriesBody(messages: number, perMessage: number): Buffer {
  const body = Buffer.alloc(8 + messages * (19 + 6 * perMessage));
  let p = 0;
  body[p++] = 0x92; // [version, messages]
  body[p++] = 1;
  body[p++] = 0xdd; // array32
  body.writeUInt32BE(messages, p);
  p += 4;
  for (let m = 0; m < messages; m++) {
    for (const b of [0x9d, MessageType.MsgApp, 2, 1, 1, 1, 0, 0, 0xc2, 0, 0xdd]) body[p++] = b;
    body.writeUInt32BE(perMessage, p);
    p += 4;
    for (let e = 0; e < perMessage; e++) {
      body[p++] = 0x94;
      body[p++] = 1;
      body[p++] = 1;
      body[p++] = EntryType.Normal;
      body[p++] = 0xc4;
      body[p++] = 0;
    }
    body[p++] = 0xc0;
    body[p++] = 0xc0;
    body[p++] = 0xc0;
  }
  return body.subarray(0, p);
}

/** MsgApps of `counts[i]` empty entries, contiguous from index 1. */
function appends(counts: number[]): Message[] {
  let index = 0;
  return counts.map((n) => {
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) entries.push({ term: 2, index: index + i + 1, type: EntryType.Normal, data: new Uint8Array(0) });
    const m = message(1n, 2n, { type: MessageType.MsgApp, term: 2, logTerm: 2, index, entries });
    index += n;
    return m;
  });
}

describe('a snapshot request body in pieces (encodeSnapshotBody)', () => {
  /** etcd's default member id (http://localhost:2380, token etcd-cluster): its top bit is set. */
  const TOP_ID = 0x8e9e05c52164694dn;

  it('is byte for byte encodeBatch([msg]), with the data as views of the snapshot (no copy), at every bin size', () => {
    for (const size of [0, 1, 255, 256, 65_535, 65_536, 3 * 1024 * 1024 + 7]) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i += 997) data[i] = i & 0xff;
      // (ids >= 2^63 among them: uint64 in the head, as in encodeBatch)
      const m = message(1n, TOP_ID, { type: MessageType.MsgSnap, term: 4, snapshot: { data, metadata: { index: 2 ** 40, term: 4, confState: { voters: [1n, TOP_ID, 3n], learners: [9n] } } } });
      const { pieces, length } = encodeSnapshotBody(m, 1024 * 1024);
      const joined = Buffer.concat(pieces);
      expect(joined.length).toBe(length);
      expect(Buffer.compare(joined, encodeBatch([m]))).toBe(0);
      // after the head, every piece is a view of the snapshot's own buffer, at most one chunk long
      for (const p of pieces.slice(1)) {
        expect(p.buffer).toBe(data.buffer);
        expect(p.byteLength).toBeLessThanOrEqual(1024 * 1024);
      }
      expect(pieces.length).toBe(1 + Math.ceil(size / (1024 * 1024)));
      const back = decodeBatch(joined, LIMITS)[0];
      expect(back?.snapshot?.metadata.index).toBe(2 ** 40);
      expect(back?.to).toBe(TOP_ID);
      expect(back?.snapshot?.metadata.confState.voters).toEqual([1n, TOP_ID, 3n]);
    }
  });

  it('takes only a MsgSnap with its snapshot', () => {
    expect(() => encodeSnapshotBody(message(1n, 2n), 1024)).toThrow(TypeError);
  });
});

describe('wire batch bounds and pre-scan', () => {
  it('derives the default entry bound from what a default sender can put in one batch', () => {
    expect(DEFAULT_TRANSPORT_LIMITS.maxEntriesPerBatch).toBe(DEFAULT_MAX_ENTRIES_PER_BATCH);
    expect(DEFAULT_MAX_ENTRIES_PER_BATCH).toBe(DEFAULT_TRANSPORT_LIMITS.maxBatchBytes / ENTRY_OVERHEAD_BYTES);
    // Three MsgApps filled by raft's default 1 MiB budget (24 bytes per empty entry) fit in one batch.
    expect(3 * Math.floor((1024 * 1024) / 24)).toBeLessThanOrEqual(DEFAULT_MAX_ENTRIES_PER_BATCH);
  });

  it('refuses an 11 MB body of empty entries before materialising anything', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack');
    // The reproduced attack: many MsgApps of ~1800 empty entries; and one MsgApp of 1.8M entries.
    for (const body of [emptyEntriesBody(1024, 1790), emptyEntriesBody(1, 1_830_000)]) {
      expect(body.length).toBeGreaterThan(10_900_000);
      const heapBefore = process.memoryUsage().heapUsed;
      let error: unknown;
      try {
        decodeBatch(body, LIMITS);
      } catch (err) {
        error = err;
      }
      const growth = process.memoryUsage().heapUsed - heapBefore;
      expect(error).toBeInstanceOf(WireError);
      expect((error as Error).message).toMatch(/entries exceeds 131072 \(maxEntriesPerBatch\)/);
      // Refused by the pre-scan: msgpackr never saw the body (it cost ~650 MB of heap when it did).
      expect(() => scanBatch(body, LIMITS)).toThrow(/maxEntriesPerBatch/);
      expect(unpack).not.toHaveBeenCalled();
      expect(growth).toBeLessThan(100 * 1024 * 1024);
    }
    // The spy does see the decoder's msgpackr (so not.toHaveBeenCalled above means something).
    decodeBatch(encodeBatch([message(1n, 2n)]), LIMITS);
    expect(unpack).toHaveBeenCalledTimes(1);
  });

  it('decodes a batch exactly at the entry bound and refuses one entry more', () => {
    const limits = { maxMessages: 16, maxEntriesPerBatch: 1000 };
    const at = appends([400, 0, 350, 250]);
    const decoded = decodeBatch(encodeBatch(at), limits);
    expect(decoded).toEqual(at);
    expect(scanBatch(encodeBatch(at), limits)).toEqual({ messages: 4, entries: 1000, confStateIds: 0 });
    const over = appends([400, 0, 350, 251]);
    expect(() => decodeBatch(encodeBatch(over), limits)).toThrow(/batch of 1001\+ entries exceeds 1000 \(maxEntriesPerBatch\)/);
    // The same with the default bound (three full default MsgApps and a little more).
    const full = appends([43690, 43690, 43690, 2]);
    expect(full.reduce((n, m) => n + m.entries.length, 0)).toBe(DEFAULT_MAX_ENTRIES_PER_BATCH);
    const fullDecoded = decodeBatch(encodeBatch(full), LIMITS);
    expect(fullDecoded.map((m) => m.entries.length)).toEqual([43690, 43690, 43690, 2]);
    expect(fullDecoded[3]!.entries[1]).toEqual({ term: 2, index: DEFAULT_MAX_ENTRIES_PER_BATCH, type: EntryType.Normal, data: new Uint8Array(0) });
    full[3]!.entries.push({ term: 2, index: DEFAULT_MAX_ENTRIES_PER_BATCH + 1, type: EntryType.Normal, data: new Uint8Array(0) });
    expect(() => decodeBatch(encodeBatch(full), LIMITS)).toThrow(/exceeds 131072 \(maxEntriesPerBatch\)/);
  });

  it('refuses a message count over the bound on the list header, even one the body cannot hold', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack');
    expect(() => decodeBatch(Uint8Array.of(0x92, 1, 0xdd, 0xff, 0xff, 0xff, 0xff), LIMITS)).toThrow(/4294967295 messages exceeds 1024 \(maxMessages\)/);
    expect(() => decodeBatch(Uint8Array.of(0x92, 1, 0xdc, 0x03, 0xff), LIMITS)).toThrow(/truncated body \(1023 elements announced\)/);
    expect(() => decodeBatch(emptyEntriesBody(1025, 0), LIMITS)).toThrow(/1025 messages exceeds 1024/);
    expect(unpack).not.toHaveBeenCalled();
  });

  it('bounds the member ids of snapshots', () => {
    const snapshotOf = (voters: bigint[]) => message(1n, 2n, { type: MessageType.MsgSnap, snapshot: { data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners: [] } } } });
    const ok = [snapshotOf(Array.from({ length: MAX_CONF_STATE_IDS_PER_BATCH }, (_, i) => BigInt(i + 1)))];
    expect(decodeBatch(encodeBatch(ok), LIMITS)[0]!.snapshot!.metadata.confState.voters).toHaveLength(MAX_CONF_STATE_IDS_PER_BATCH);
    const over = [...ok, snapshotOf([1n])];
    expect(() => decodeBatch(encodeBatch(over), LIMITS)).toThrow(/member ids exceeds/);
  });

  it('refuses in the pre-scan every structure our encoder does not write, with a WireError', () => {
    const generic = new Packr({ useRecords: false });
    const fields = (m: Message): unknown[] => [m.type, m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.reject, m.rejectHint, [], null, null, null];
    const msg = (i: number, v: unknown): unknown[] => fields(message(1n, 2n)).map((x, j) => (j === i ? v : x));
    const entry = (e: unknown[]): unknown => [1, [msg(9, [e])]];
    const snap = (s: unknown[]): unknown => [1, [msg(12, s)]];
    const bad: [string, unknown][] = [
      ['batch 3-tuple', [1, [], null]],
      ['batch 1-tuple', [1]],
      ['batch map', { v: 1, m: [] }],
      ['version as str', ['1', []]],
      ['messages as map', [1, { a: 1 }]],
      ['message 12-tuple', [1, [fields(message(1n, 2n)).slice(0, 12)]]],
      ['message 14-tuple', [1, [[...fields(message(1n, 2n)), null]]]],
      ['message as bin', [1, [new Uint8Array(13)]]],
      ['map where a uint is expected', [1, [msg(3, { term: 1 })]]],
      ['str where a uint is expected', [1, [msg(1, '2')]]],
      ['nil where a uint is expected', [1, [msg(6, null)]]],
      ['bool where a uint is expected', [1, [msg(4, true)]]],
      ['negative fixint', [1, [msg(3, -1)]]],
      ['int8', [1, [msg(3, -100)]]],
      ['int32', [1, [msg(3, -70_000)]]],
      ['non-integer float64', [1, [msg(3, 1.5)]]],
      ['unsafe float64', [1, [msg(3, 2 ** 53)]]],
      ['NaN', [1, [msg(3, Number.NaN)]]],
      ['infinity', [1, [msg(3, Number.POSITIVE_INFINITY)]]],
      ['a Date (msgpack ext)', [1, [msg(3, new Date(0))]]],
      ['uint where reject is expected', [1, [msg(7, 0)]]],
      ['map where entries are expected', [1, [msg(9, { 0: [1, 1, 0, new Uint8Array(0)] })]]],
      ['entry 3-tuple', entry([1, 1, 0])],
      ['entry 5-tuple', entry([1, 1, 0, new Uint8Array(0), null])],
      ['entry data as str', entry([1, 1, 0, 'text'])],
      ['entry data nil', entry([1, 1, 0, null])],
      ['entry term as str', entry(['1', 1, 0, new Uint8Array(0)])],
      ['logTermHint as str', [1, [msg(10, 'x')]]],
      ['context as str', [1, [msg(11, 'ctx')]]],
      ['context as list', [1, [msg(11, [1, 2])]]],
      ['snapshot 4-tuple', snap([1, 1, [], []])],
      ['snapshot as map', snap({ index: 1 } as never)],
      ['snapshot voters as str', snap([1, 1, 'x', [], new Uint8Array(0)])],
      ['snapshot voter as str', snap([1, 1, ['a'], [], new Uint8Array(0)])],
      ['snapshot voter negative', snap([1, 1, [-1], [], new Uint8Array(0)])],
      ['snapshot data nil', snap([1, 1, [], [], null])],
    ];
    for (const [what, value] of bad) {
      const body = generic.pack(value);
      expect(() => scanBatch(body, LIMITS), what).toThrow(WireError);
      expect(() => decodeBatch(body, LIMITS), what).toThrow(WireError);
    }
    const valid = encodeBatch(everyShape());
    const raw: [string, Uint8Array][] = [
      ['empty body', new Uint8Array(0)],
      ['reserved type 0xc1', Uint8Array.of(0xc1)],
      ['float32 version', Uint8Array.of(0x92, 0xca, 0x3f, 0x80, 0, 0, 0x90)],
      ['unsafe uint64 version', Uint8Array.of(0x92, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1, 0x90)],
      ['str8 version', Uint8Array.of(0x92, 0xd9, 1, 0x31, 0x90)],
      ['trailing byte', Buffer.concat([valid, Uint8Array.of(0)])],
      ['trailing batch', Buffer.concat([valid, valid])],
      ['bin announcing more than the body', Uint8Array.of(0x92, 1, 0x91, 0x9d, 1, 2, 1, 1, 0, 0, 0, 0xc2, 0, 0x90, 0xc0, 0xc6, 0x7f, 0xff, 0xff, 0xff, 0xc0)],
    ];
    // Every proper prefix of a valid body is a truncated body.
    for (let n = 0; n < valid.length; n++) raw.push([`truncated to ${n} bytes`, valid.subarray(0, n)]);
    for (const [what, body] of raw) {
      expect(() => scanBatch(body, LIMITS), what).toThrow(WireError);
      expect(() => decodeBatch(body, LIMITS), what).toThrow(WireError);
    }
  });

  it('accepts the integer forms msgpack allows for a safe uint (uint64 from other encoders)', () => {
    // [1, [[type, to=2, from=1, term=2^32 as uint64, logTerm=2^53-1 as uint64, 0, 0, false, 0, [], nil, nil, nil]]]
    const body = Uint8Array.of(0x92, 1, 0x91, 0x9d, MessageType.MsgHeartbeat, 2, 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xc2, 0, 0x90, 0xc0, 0xc0, 0xc0);
    const [m] = decodeBatch(body, LIMITS);
    expect(m).toEqual(message(1n, 2n, { term: 2 ** 32, logTerm: Number.MAX_SAFE_INTEGER }));
  });

  it('shares one frozen empty array for every empty payload, and plain views for the others', () => {
    const [a, b] = decodeBatch(encodeBatch(appends([3, 2])), LIMITS) as [Message, Message];
    const empty = a.entries[0]!.data;
    expect(empty.byteLength).toBe(0);
    expect(Object.isFrozen(empty)).toBe(true);
    for (const e of [...a.entries, ...b.entries]) expect(e.data).toBe(empty);
    const [h] = decodeBatch(encodeBatch([message(1n, 2n, { context: new Uint8Array(0) })]), LIMITS);
    expect(h!.context).toBe(empty);
    const [c] = decodeBatch(encodeBatch([append(1n, 2n, 1, 2, 5)]), LIMITS);
    expect(Object.getPrototypeOf(c!.entries[0]!.data)).toBe(Uint8Array.prototype);
    expect(c!.entries[1]!.data).toEqual(new Uint8Array(5).fill(2));
  });

  it('fuzz: mutated batches give a WireError or a batch the pre-scan counted exactly, never another exception', () => {
    const seed = 0xb0d1e5;
    const rand = mulberry32(seed);
    const int = (n: number) => Math.floor(rand() * n);
    // Valid batches with every shape, multi-byte headers (array16 lists, uint16/32, bin16) and many entries.
    const bases = [encodeBatch(everyShape()), encodeBatch([append(1n, 2n, 70_000, 40, 300), ...appends([20, 0, 5])]), encodeBatch(appends([17, 1]))];
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 4000; round++) {
      const base = bases[round % bases.length] as Uint8Array;
      let body = Uint8Array.from(base);
      const mutations = 1 + int(4);
      for (let k = 0; k < mutations; k++) {
        const at = int(body.length + 1);
        switch (int(5)) {
          case 0: // overwrite a byte
            if (body.length > 0) body[Math.min(at, body.length - 1)] = int(256);
            break;
          case 1: // a msgpack type byte that matters
            if (body.length > 0) body[Math.min(at, body.length - 1)] = [0xc0, 0xc2, 0xc4, 0xc6, 0xca, 0xcb, 0xcf, 0xdc, 0xdd, 0xde, 0xd9, 0x80, 0x9f, 0xff][int(14)] as number;
            break;
          case 2: // insert bytes
            body = Buffer.concat([body.subarray(0, at), Uint8Array.from({ length: 1 + int(9) }, () => int(256)), body.subarray(at)]);
            break;
          case 3: // delete bytes
            body = Buffer.concat([body.subarray(0, at), body.subarray(at + 1 + int(9))]);
            break;
          default: // truncate
            body = body.subarray(0, at);
        }
      }
      let shape: ReturnType<typeof scanBatch> | undefined;
      try {
        shape = scanBatch(body, LIMITS);
      } catch (err) {
        if (!(err instanceof WireError)) throw new Error(`seed ${seed} round ${round}: scanBatch threw ${String(err)}`);
      }
      try {
        const msgs = decodeBatch(body, LIMITS);
        accepted++;
        expect(shape).toBeDefined();
        expect(msgs.length).toBe(shape!.messages);
        expect(msgs.reduce((n, m) => n + m.entries.length, 0)).toBe(shape!.entries);
        for (const m of msgs) expect(Number.isSafeInteger(m.term) && m.term >= 0).toBe(true);
      } catch (err) {
        if (!(err instanceof WireError)) throw new Error(`seed ${seed} round ${round}: decodeBatch threw ${String(err)}`);
        // What the pre-scan lets through, msgpackr decodes: only the field checks may refuse it.
        if (shape !== undefined) expect(err.message, `seed ${seed} round ${round}`).not.toMatch(/undecodable/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(2000);
    expect(accepted).toBeGreaterThan(0);
  });
});
