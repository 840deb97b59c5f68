// The member metadata record (key 'm'): the fields a restart depends on survive a round trip, and
// a damaged joined-members list is refused as corrupt rather than trusted.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMetadata, encodeMetadata, type MemberMetadata } from '../../src/storage/codec.js';
import { crc32 } from '../../src/storage/crc32.js';

/** A metadata value as written before ids were 64-bit: ids as msgpack numbers (53 bits at most). */
function oldMetadataValue(tuple: unknown[]): Uint8Array {
  const payload = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true }).pack(tuple);
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, crc32(payload));
  out.set(payload, 4);
  return out;
}

describe('member metadata', () => {
  it('keeps a joined member\'s ids and the members it joined (its first peers after a restart before any snapshot)', () => {
    const m: MemberMetadata = { formatVersion: 1, clusterId: 0x1234n, memberId: 0x99n, name: 'm4', joined: true, joinedMembers: [{ id: 0x1n, peerURLs: ['http://127.0.0.1:2380'] }, { id: 0x2n, peerURLs: ['http://127.0.0.2:2380', 'http://127.0.0.3:2380'] }] };
    expect(decodeMetadata(encodeMetadata(m))).toEqual(m);
  });

  it('reads the four- and six-field records written before', () => {
    const four: MemberMetadata = { formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a' };
    expect(decodeMetadata(encodeMetadata(four))).toEqual(four);
    const six: MemberMetadata = { formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a', joined: true, forcedAt: 12 };
    expect(decodeMetadata(encodeMetadata(six))).toEqual(six);
  });

  it('reads a joined member\'s record written before ids were 64-bit (number ids, one above 2^32), widening its ids to bigints', () => {
    const big = 2 ** 52 + 12345; // a 53-bit id: msgpack float64, not an integer type
    const value = oldMetadataValue([1, 0x1234, big, 'm4', 1, 0, [[0x1, ['http://127.0.0.1:2380']], [big, ['http://127.0.0.2:2380']]]]);
    expect(decodeMetadata(value)).toEqual({ formatVersion: 1, clusterId: 0x1234n, memberId: BigInt(big), name: 'm4', joined: true, joinedMembers: [{ id: 1n, peerURLs: ['http://127.0.0.1:2380'] }, { id: BigInt(big), peerURLs: ['http://127.0.0.2:2380'] }] });
    expect(decodeMetadata(oldMetadataValue([1, 7, 8, 'a']))).toEqual({ formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a' });
  });

  it('writes a joined member id >= 2^63 as all 64 bits', () => {
    const top = 0x8e9e05c52164694dn;
    const m: MemberMetadata = { formatVersion: 1, clusterId: top - 1n, memberId: top, name: 'm4', joined: true, joinedMembers: [{ id: top, peerURLs: ['http://127.0.0.1:2380'] }] };
    const back = decodeMetadata(encodeMetadata(m));
    expect(back).toEqual(m);
    expect(typeof back.joinedMembers?.[0]?.id).toBe('bigint');
  });

  it('refuses a joined-members list that is not [id, [peer URL, ...]]', () => {
    const good = encodeMetadata({ formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a', joined: true, joinedMembers: [{ id: 1n, peerURLs: ['http://127.0.0.1:2380'] }] });
    expect(() => decodeMetadata(good)).not.toThrow();
    // (a peer URL that is not a string, framed with a valid checksum)
    const bad = encodeMetadata({ formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a', joined: true, joinedMembers: [{ id: 1n, peerURLs: [42 as unknown as string] }] });
    expect(() => decodeMetadata(bad)).toThrow(/joined member/);
  });
});
