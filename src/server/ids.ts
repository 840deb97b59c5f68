// Member and cluster ids exactly as etcd 3.4 computes them (membership.NewMember,
// RaftCluster.genID): unsigned 64-bit integers, held as bigint, written as etcd writes them
// (types.ID.String(): lower-case hex without leading zeros, e.g. `8e9e05c52164694d`).
import { createHash } from 'node:crypto';

/** etcd's types.ID.String(): lowercase hex without zero padding (one definition, shared with the peer protocol). */
export { formatId } from '../transport/protocol.js';

function sha1First8(data: Buffer): bigint {
  return createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

/** 0 means "none" in raft: an id is never 0 (etcd would not start either: a 1 in 2^64 chance). */
function nonZero(id: bigint): bigint {
  if (id === 0n) throw new Error('ids: a member id computed to 0; change --initial-cluster-token');
  return id;
}

/** etcd's member id: sha1(sorted peer URLs joined with "" ++ cluster token), first 8 bytes, big-endian. */
export function computeMemberId(peerURLs: readonly string[], clusterToken: string): bigint {
  const sorted = [...peerURLs].sort();
  return nonZero(sha1First8(Buffer.from(sorted.join('') + clusterToken, 'utf8')));
}

/**
 * The id of a member added to a running cluster (etcd's NewMember with the time: sha1 of the sorted
 * peer URLs, the cluster token and the Unix time in seconds), so that a member removed and added
 * again with the same peer URLs gets a new id (a removed id never comes back).
 */
export function computeAddedMemberId(peerURLs: readonly string[], clusterToken: string, nowMs: number): bigint {
  const sorted = [...peerURLs].sort();
  return nonZero(sha1First8(Buffer.from(sorted.join('') + clusterToken + String(Math.floor(nowMs / 1000)), 'utf8')));
}

/** etcd's cluster id: sha1 over the members' ids, sorted ascending, each 8 bytes big-endian; first 8 bytes. */
export function computeClusterId(members: readonly { peerURLs: readonly string[] }[], clusterToken: string): bigint {
  const ids = members.map((m) => computeMemberId(m.peerURLs, clusterToken)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return nonZero(sha1First8(buf));
}

/**
 * A member id as a client or peer writes it in a path or body (`/v2/members/<id>`, a publish
 * request): lower-case hex, 1 to 16 digits, not zero (etcd's types.IDFromString parses base 16
 * into a uint64); undefined otherwise.
 */
export function parseMemberId(text: string): bigint | undefined {
  if (!/^[0-9a-f]{1,16}$/.test(text)) return undefined;
  const id = BigInt(`0x${text}`);
  return id === 0n ? undefined : id;
}
