// The entry key layout: 'e' + u64be(index), so that LevelDB's byte order is log order.
import { describe, expect, it } from 'vitest';
import { entryIndexOfKey, entryKey } from '../../src/storage/keys.js';

const INDEXES = [0, 1, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12_345, Number.MAX_SAFE_INTEGER];

describe('entryKey', () => {
  it('is the prefix and the index as a big-endian u64, and decodes back', () => {
    for (const index of INDEXES) {
      const key = entryKey(index);
      const expected = Buffer.alloc(9);
      expected[0] = 0x65;
      expected.writeBigUInt64BE(BigInt(index), 1);
      expect(Buffer.from(key).toString('hex'), `index ${index}`).toBe(expected.toString('hex'));
      expect(entryIndexOfKey(key)).toBe(index);
    }
  });

  it('sorts as bytes in the order of the indexes', () => {
    const keys = [...INDEXES].reverse().map((i) => Buffer.from(entryKey(i)));
    const sorted = [...keys].sort(Buffer.compare).map((k) => entryIndexOfKey(k));
    expect(sorted).toEqual(INDEXES);
  });

  it('refuses an index that is not a safe non-negative integer', () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) expect(() => entryKey(bad)).toThrow(RangeError);
  });
});
