// Member and cluster ids are exactly etcd 3.4's (64-bit), and an id with the top bit set (>= 2^63)
// goes through every layer unchanged: ids.ts, the peer protocol, the wire, the raft log store, the
// raft core and the entry / snapshot payloads. The expected ids are computed here independently,
// with node:crypto, as etcd does (membership.NewMember, RaftCluster.genID).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../src/raft/index.js';
import { computeAddedMemberId, computeClusterId, computeMemberId, formatId, parseMemberId } from '../../src/server/ids.js';
import { decodeEntryCommand, decodeMemberChange, encodeEntryCommand, encodeMemberChange } from '../../src/server/entry-codec.js';
import { Membership } from '../../src/server/membership.js';
import { decodeConfState, decodeHardState, decodeMetadata, encodeConfState, encodeHardState, encodeMetadata, FORMAT_VERSION, isLegacyIdentity, legacyId } from '../../src/storage/codec.js';
import { crc32 } from '../../src/storage/crc32.js';
import { RaftLogStore } from '../../src/storage/index.js';
import { parseId } from '../../src/transport/protocol.js';
import { decodeBatch, encodeBatch } from '../../src/transport/wire.js';
import { local, newTestRaft, newTestStorage, readMessages } from '../raft/helpers.js';

/** etcd's NewMember id: sha1(sorted peer URLs joined with "" ++ token), first 8 bytes big-endian. */
function etcdMemberId(peerURLs: readonly string[], token: string): bigint {
  return createHash('sha1').update([...peerURLs].sort().join('') + token, 'utf8').digest().readBigUInt64BE(0);
}

/** etcd's genID: sha1 of the sorted member ids, each 8 bytes big-endian; first 8 bytes. */
function etcdClusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(buf).digest().readBigUInt64BE(0);
}

const TOP = 1n << 63n;
/** An etcd id with the top bit set: etcd's own default member (http://localhost:2380, token etcd-cluster). */
const DEFAULT_MEMBER = 0x8e9e05c52164694dn;

describe('ids: exactly etcd 3.4', () => {
  it('computes the member id as etcd, all 64 bits (known vectors and independent sha1)', () => {
    expect(computeMemberId(['http://localhost:2380'], 'etcd-cluster')).toBe(DEFAULT_MEMBER);
    expect(formatId(computeMemberId(['http://localhost:2380'], 'etcd-cluster'))).toBe('8e9e05c52164694d');
    expect(formatId(computeMemberId(['http://127.0.0.1:44844'], 'etcd-cluster'))).toBe('3317f065a2212dae');
    const cases: [string[], string][] = [
      [['http://10.0.0.1:2380'], 'tok'],
      [['http://10.0.0.2:2380', 'http://10.0.1.2:2380'], 'tok'],
      [['https://b.example:2380', 'https://a.example:2380'], 'etcd-cluster-1'],
      [['http://127.0.0.1:12380'], ''],
    ];
    for (const [urls, token] of cases) expect(computeMemberId(urls, token)).toBe(etcdMemberId(urls, token));
    // The URLs are sorted before hashing: their order does not matter.
    expect(computeMemberId(['http://b:1', 'http://a:1'], 't')).toBe(computeMemberId(['http://a:1', 'http://b:1'], 't'));
  });

  it('computes the cluster id as etcd: sha1 of the sorted 64-bit member ids', () => {
    expect(formatId(computeClusterId([{ peerURLs: ['http://localhost:2380'] }], 'etcd-cluster'))).toBe('cdf818194e3a8c32');
    expect(formatId(computeClusterId([{ peerURLs: ['http://127.0.0.1:44844'] }], 'etcd-cluster'))).toBe('9002d3696eaf8577');
    const members = [['http://127.0.0.1:2380'], ['http://127.0.0.1:2381'], ['http://127.0.0.1:2382']];
    for (const token of ['etcd-cluster', 'ids64-a', 'ids64-b']) {
      const expected = etcdClusterId(members.map((u) => etcdMemberId(u, token)));
      expect(computeClusterId(members.map((peerURLs) => ({ peerURLs })), token)).toBe(expected);
      expect(computeClusterId([...members].reverse().map((peerURLs) => ({ peerURLs })), token)).toBe(expected);
    }
  });

  it('computes an added member id from the time in seconds, as etcd member add', () => {
    const urls = ['http://10.0.0.9:2380'];
    expect(computeAddedMemberId(urls, 'tok', 1_700_000_000_999)).toBe(etcdMemberId(urls, 'tok1700000000'));
  });

  it('writes ids as etcd (lower-case hex, no leading zeros) and parses 1 to 16 hex digits, not zero', () => {
    expect(formatId(0xan)).toBe('a');
    expect(formatId(0x0123n)).toBe('123');
    expect(formatId((1n << 64n) - 1n)).toBe('ffffffffffffffff');
    expect(parseMemberId('8e9e05c52164694d')).toBe(DEFAULT_MEMBER);
    expect(parseMemberId('ffffffffffffffff')).toBe((1n << 64n) - 1n);
    expect(parseMemberId('0000000000000001')).toBe(1n);
    expect(parseMemberId('1')).toBe(1n);
    for (const bad of ['', '0', '0000000000000000', '10000000000000000', '8e9e05c52164694d0', 'xyz', '-1', '0x1f', ' 1f', '1f ', '8E9E05C52164694D']) {
      expect(parseMemberId(bad), bad).toBeUndefined();
    }
    // The peer headers (X-Server-From, X-Etcd-Cluster-Id) as etcd reads them: any case.
    expect(parseId('8E9E05C52164694D')).toBe(DEFAULT_MEMBER);
    expect(parseId('10000000000000000')).toBeUndefined();
    expect(parseId('0')).toBeUndefined();
  });
});

describe('an id >= 2^63 round-trips through every layer', () => {
  const A = DEFAULT_MEMBER;
  const B = 0xffff_ffff_ffff_fffen;
  const C = 0x1n;
  expect(A >= TOP && B >= TOP).toBe(true);

  it('wire: to, from, voters and learners decode to the same bigints; small ids too', () => {
    const m: Message = {
      type: MessageType.MsgSnap, to: B, from: A, term: 7, logTerm: 6, index: 5, entries: [], commit: 4, reject: false, rejectHint: 0,
      snapshot: { data: Uint8Array.of(1), metadata: { index: 5, term: 6, confState: { voters: [C, A, B], learners: [TOP] } } },
    };
    const back = decodeBatch(encodeBatch([m, { ...m, type: MessageType.MsgApp, to: C, from: 2n, snapshot: undefined } as Message]), { maxMessages: 10 });
    expect(back[0]).toEqual(m);
    expect(back[1]?.to).toBe(1n);
    expect(back[1]?.from).toBe(2n);
    for (const id of [back[0]?.to, back[0]?.from, ...(back[0]?.snapshot?.metadata.confState.voters ?? [])]) expect(typeof id).toBe('bigint');
  });

  it('wire: an id another encoder wrote as a small integer decodes to a bigint, never a number', () => {
    const plain = new Packr({ useRecords: false });
    const tuple = [3, 2, 1, 1, 0, 0, 0, false, 0, [], null, null, null];
    const [m] = decodeBatch(plain.pack([1, [tuple]]), { maxMessages: 1 });
    expect(m?.to).toBe(2n);
    expect(m?.from).toBe(1n);
  });

  it('storage codec: HardState vote, ConfState and metadata keep all 64 bits; old numeric ids widen', () => {
    expect(decodeHardState(encodeHardState({ term: 3, vote: B, commit: 9 }))).toEqual({ term: 3, vote: B, commit: 9 });
    expect(decodeConfState(encodeConfState({ voters: [A, B, C], learners: [TOP] }))).toEqual({ voters: [A, B, C], learners: [TOP] });
    const meta = { formatVersion: FORMAT_VERSION, clusterId: B, memberId: A, name: 'm1', joined: true, joinedMembers: [{ id: A, peerURLs: ['http://a:1'] }, { id: C, peerURLs: ['http://c:1'] }] };
    expect(decodeMetadata(encodeMetadata(meta))).toEqual(meta);
    // A value written before ids were 64-bit: ids as msgpack numbers (here a float64 above 2^32).
    const old = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });
    const crcFramed = frame;
    const oldVote = legacyId(A);
    expect(Number.isSafeInteger(Number(oldVote))).toBe(true);
    expect(decodeHardState(crcFramed(old.pack([2, Number(oldVote), 5])))).toEqual({ term: 2, vote: oldVote, commit: 5 });
    expect(decodeConfState(crcFramed(old.pack([[Number(legacyId(B)), 2], []])))).toEqual({ voters: [legacyId(B), 2n], learners: [] });
  });

  it('a data dir written with the old 53-bit ids opens, keeping them (legacy identity); another member\'s does not', async () => {
    expect(isLegacyIdentity({ clusterId: legacyId(B), memberId: legacyId(A) }, { clusterId: B, memberId: A })).toBe(true);
    expect(isLegacyIdentity({ clusterId: B, memberId: A }, { clusterId: B, memberId: A })).toBe(false);
    expect(isLegacyIdentity({ clusterId: legacyId(B), memberId: legacyId(A) + 1n }, { clusterId: B, memberId: A })).toBe(false);
    const dataDir = await tempDir();
    const first = await RaftLogStore.open({ dataDir, clusterId: legacyId(B), memberId: legacyId(A), name: 'm1', initialConfState: { voters: [legacyId(A)], learners: [] } });
    await first.store.close();
    const again = await RaftLogStore.open({ dataDir, clusterId: B, memberId: A, name: 'm1' });
    expect(again.metadata.memberId).toBe(legacyId(A));
    expect(again.confState.voters).toEqual([legacyId(A)]);
    await again.store.close();
    await expect(RaftLogStore.open({ dataDir, clusterId: B, memberId: C, name: 'm1' })).rejects.toMatchObject({ code: 'cluster-id-mismatch' });
    await expect(RaftLogStore.open({ dataDir, clusterId: legacyId(B), memberId: C, name: 'm1' })).rejects.toMatchObject({ code: 'member-id-mismatch' });
  });

  it('raft log store: metadata, vote and ConfState survive a restart', async () => {
    const dataDir = await tempDir();
    const o = await RaftLogStore.open({ dataDir, clusterId: B, memberId: A, name: 'm1', initialConfState: { voters: [A, B, C], learners: [] } });
    await o.store.save({ hardState: { term: 2, vote: B, commit: 0 }, entries: [] });
    await o.store.close();
    const r = await RaftLogStore.open({ dataDir, clusterId: B, memberId: A, name: 'm1' });
    expect(r.metadata.memberId).toBe(A);
    expect(r.metadata.clusterId).toBe(B);
    expect(r.hardState.vote).toBe(B);
    expect(r.confState.voters).toEqual([A, B, C]);
    await r.store.close();
  });

  it('raft: a cluster of ids >= 2^63 elects, votes and orders its voters by numeric value', () => {
    const ids = [B, C, A];
    const r = newTestRaft(A, 10, 1, newTestStorage(ids));
    expect(r.tracker.voters).toEqual([C, A, B]);
    r.step(local(MessageType.MsgHup, A));
    const votes = readMessages(r).filter((m) => m.type === MessageType.MsgVote);
    expect(votes.map((m) => m.to).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual([C, B]);
    r.step({ type: MessageType.MsgVoteResp, from: B, to: A, term: r.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
    expect(r.lead).toBe(A);
    expect(r.vote).toBe(A);
  });

  it('entries and snapshots: member changes, attributes and the membership state keep all 64 bits', () => {
    expect(decodeMemberChange(encodeMemberChange({ change: 'add', memberId: B, peerURLs: ['http://b:1'] }))).toEqual({ change: 'add', memberId: B, peerURLs: ['http://b:1'] });
    expect(decodeEntryCommand(encodeEntryCommand({ kind: 'attrs', memberId: A, name: 'a', clientURLs: [], runId: 3 }))).toEqual({ kind: 'attrs', memberId: A, name: 'a', clientURLs: [], runId: 3 });
    const m = new Membership([{ name: 'a', id: A, peerURLs: ['http://a:1'] }, { name: 'c', id: C, peerURLs: ['http://c:1'] }]);
    m.remove(B);
    expect(m.list().map((x) => x.id)).toEqual(['1', '8e9e05c52164694d']);
    const state = Membership.checkState(m.state());
    expect(state.members.map((x) => x.id)).toEqual([C, A]);
    expect(state.removed).toEqual([B]);
    // A state written before 64-bit ids (numbers) still reads, widened.
    expect(Membership.checkState({ members: [{ id: 5, name: 'x', peerURLs: [], clientURLs: [], published: false }], clusterVersion: null, removed: [7] })).toEqual({
      members: [{ id: 5n, name: 'x', peerURLs: [], clientURLs: [], published: false }], clusterVersion: null, removed: [7n],
    });
  });
});

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ids64-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** The storage framing: u32be(crc32(payload)) ++ payload. */
function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, crc32(payload));
  out.set(payload, 4);
  return out;
}
