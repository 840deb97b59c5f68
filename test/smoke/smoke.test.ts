import { describe, expect, it } from 'vitest';
import { encodeV2Request, decodeV2Request, v2Request } from '../../src/store/command.js';
describe('smoke', () => {
  it('round-trips a command', () => {
    const r = v2Request({ method: 'PUT', path: '/a', time: 1.5, val: 'x', prevExist: true });
    expect(decodeV2Request(encodeV2Request(r))).toEqual(r);
  });
});
