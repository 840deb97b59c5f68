// The differential comparison of expirations (compare.ts expirationGapMs): each side's expiration is
// known relative to the server's clock only within its request's send..receive window, so an answer
// that arrived late (a stalled test process) still compares equal; one that differs beyond the
// tolerance whatever the windows does not.
import { describe, expect, it } from 'vitest';
import { expirationGapMs, expirationToleranceMs } from './compare.js';

describe('expirationGapMs', () => {
  it('is the distance between the two ranges, 0 when they overlap', () => {
    expect(expirationGapMs({ deltaMs: 2300 }, { deltaMs: 2300 })).toBe(0);
    expect(expirationGapMs({ deltaMs: 2300 }, { deltaMs: 1300 })).toBe(1000);
    expect(expirationGapMs({ deltaMs: 1300 }, { deltaMs: 2300 })).toBe(1000);
    // the late answer of CI's failure: 1.0 s less, but its request took 1.1 s from send to receive
    expect(expirationGapMs({ deltaMs: 2300, windowMs: 3 }, { deltaMs: 1250, windowMs: 1100 })).toBe(0);
    expect(expirationGapMs({ deltaMs: 5000, windowMs: 3 }, { deltaMs: 1300, windowMs: 5 })).toBeGreaterThan(expirationToleranceMs);
  });
});
