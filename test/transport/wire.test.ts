import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, type Message } from '../../src/raft/messages.js';
import { decodeBatch, encodeBatch, WireError } from '../../src/transport/wire.js';
import { messageSizeBytes } from '../../src/transport/wire.js';
import { append, message } from './helpers.js';
import { mulberry32 } from '../sim/prng.js';

const LIMITS = { maxMessages: 1024 };


function everyShape(): Message[] {
  return [
    message(1, 2),
    message(1, 2, { type: MessageType.MsgHeartbeat, context: Uint8Array.of(9, 8, 7), commit: 41 }),
    message(2, 1, { type: MessageType.MsgAppResp, reject: true, rejectHint: 17, logTermHint: 3, index: 20 }),
    message(1, 2, {
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
    message(1, 3, {
      type: MessageType.MsgSnap,
      snapshot: { data: Uint8Array.of(1, 2, 3, 4), metadata: { index: 100, term: 5, confState: { voters: [1, 2, 3], learners: [4] } } },
    }),
    message(3, 1, { type: MessageType.MsgVote, logTerm: 4, index: 99 }),
    message(3, 1, { type: MessageType.MsgReadIndex, context: new Uint8Array(0), entries: [{ term: 0, index: 0, type: EntryType.Normal, data: Uint8Array.of(5) }] }),
    message(2, 1, { type: MessageType.MsgPreVoteResp, reject: true }),
    message(1, 2, { type: MessageType.MsgTimeoutNow }),
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

  it('refuses bodies that are not batches we would have encoded', () => {
    const packr = new Packr({ useRecords: false });
    const valid = (m: Message) => [m.type, m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.reject, m.rejectHint, [], null, null, null];
    const bad: unknown[] = [
      'hello',
      [2, []],
      [1, 'x'],
      [1, [[1, 2]]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 3 ? -1 : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 3 ? 1.5 : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 0 ? MessageType.MsgHup : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 0 ? 99 : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 7 ? 0 : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 9 ? [[1, 1, 0, 'text']] : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 9 ? [[1, 1, 5, new Uint8Array(1)]] : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 11 ? 'ctx' : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 12 ? [1, 1, [], [], null] : v))]],
      [1, [valid(message(1, 2)).map((v, i) => (i === 12 ? [1, 1, ['a'], [], new Uint8Array(0)] : v))]],
    ];
    for (const value of bad) {
      expect(() => decodeBatch(packr.pack(value), LIMITS), JSON.stringify(value)).toThrow(WireError);
    }
    expect(() => decodeBatch(Uint8Array.of(0xc1), LIMITS)).toThrow(WireError);
    expect(() => decodeBatch(new Uint8Array(0), LIMITS)).toThrow(WireError);
    const body = encodeBatch([message(1, 2)]);
    expect(() => decodeBatch(Buffer.concat([body, Uint8Array.of(0)]), LIMITS)).toThrow(WireError);
  });

  it('refuses a batch with more messages than the bound', () => {
    const msgs = Array.from({ length: 11 }, () => message(1, 2));
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
      const m = append(1 + Math.floor(rand() * 2 ** 40), 2, Math.floor(rand() * 2 ** 45), Math.floor(rand() * 5), Math.floor(rand() * 300));
      m.context = new Uint8Array(Math.floor(rand() * 40));
      m.logTermHint = Math.floor(rand() * 2 ** 50);
      expect(encodeBatch([m]).byteLength).toBeLessThanOrEqual(messageSizeBytes(m) + 8);
    }
    for (const m of everyShape()) expect(encodeBatch([m]).byteLength).toBeLessThanOrEqual(messageSizeBytes(m) + 8);
  });
});
