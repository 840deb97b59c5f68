// Member and cluster ids computed as etcd computes them (membership.NewMember, RaftCluster.genID),
// then truncated to their low 53 bits so that they are exact JS numbers (raft node ids are numbers).
// So our id is always etcd's id with the top 11 bits cleared: `8e9e05c52164694d` -> `1e05c52164694d`.
import { createHash } from 'node:crypto';

/** etcd's types.ID.String(): lowercase hex without zero padding (one definition, shared with the peer protocol). */
export { formatId } from '../transport/protocol.js';

const ID_MASK_53 = (1n << 53n) - 1n;

function sha1First8(data: Buffer): bigint {
  return createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

/** etcd's 64-bit member id: sha1(sorted peer URLs ++ cluster token), first 8 bytes. */
function etcdMemberId64(peerURLs: readonly string[], clusterToken: string): bigint {
  const sorted = [...peerURLs].sort();
  return sha1First8(Buffer.from(sorted.join('') + clusterToken, 'utf8'));
}

/** Truncates to 53 bits; 0 means "none" in raft, so it is never returned. */
function truncate53(id64: bigint): number {
  const id = Number(id64 & ID_MASK_53);
  if (id === 0) throw new Error('ids: a member id truncated to 0; change --initial-cluster-token');
  return id;
}

export function computeMemberId(peerURLs: readonly string[], clusterToken: string): number {
  return truncate53(etcdMemberId64(peerURLs, clusterToken));
}

/**
 * The id of a member added to a running cluster (etcd's NewMember with the time: sha1 of the sorted
 * peer URLs, the cluster token and the Unix time in seconds), so that a member removed and added
 * again with the same peer URLs gets a new id (a removed id never comes back).
 */
export function computeAddedMemberId(peerURLs: readonly string[], clusterToken: string, nowMs: number): number {
  const sorted = [...peerURLs].sort();
  return truncate53(sha1First8(Buffer.from(sorted.join('') + clusterToken + String(Math.floor(nowMs / 1000)), 'utf8')));
}

/**
 * etcd's cluster id: sha1 over the members' 64-bit ids, sorted, big-endian; computed from etcd's
 * full ids (so it equals etcd's cluster id truncated), then truncated.
 */
export function computeClusterId(members: readonly { peerURLs: readonly string[] }[], clusterToken: string): number {
  const ids = members.map((m) => etcdMemberId64(m.peerURLs, clusterToken)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return truncate53(sha1First8(buf));
}

/**
 * A member id as a client or peer writes it in a path or body (`/v2/members/<id>`, a publish
 * request): formatId's form only (lowercase hex, at most 14 digits); undefined otherwise.
 */
export function parseMemberId(text: string): number | undefined {
  return /^[0-9a-f]{1,14}$/.test(text) ? parseInt(text, 16) : undefined;
}
