// The member metadata record (key 'm'): the fields a restart depends on survive a round trip, and
// a damaged joined-members list is refused as corrupt rather than trusted.
import { describe, expect, it } from 'vitest';
import { decodeMetadata, encodeMetadata, type MemberMetadata } from '../../src/storage/codec.js';

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

  it('refuses a joined-members list that is not [id, [peer URL, ...]]', () => {
    const good = encodeMetadata({ formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a', joined: true, joinedMembers: [{ id: 1n, peerURLs: ['http://127.0.0.1:2380'] }] });
    expect(() => decodeMetadata(good)).not.toThrow();
    // (a peer URL that is not a string, framed with a valid checksum)
    const bad = encodeMetadata({ formatVersion: 1, clusterId: 7n, memberId: 8n, name: 'a', joined: true, joinedMembers: [{ id: 1n, peerURLs: [42 as unknown as string] }] });
    expect(() => decodeMetadata(bad)).toThrow(/joined member/);
  });
});
