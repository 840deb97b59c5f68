// Member ids as etcd derives them for an initial cluster (membership.NewMember: the first 8 bytes of
// sha1(sorted peer URLs ++ cluster token)), so a test can pick a cluster token under which the ids
// sort in member-name order. /v2/members is ordered by id; with such a token the listing has the
// same order (n1, n2, n3) on two independently started clusters, which a differential comparison
// needs. etcd-ts uses the same 64-bit ids (before, their low 53 bits: both orders are still
// required to ascend, so that tokens picked earlier keep working).
import { createHash } from 'node:crypto';

export function etcdMemberId(peerURLs: readonly string[], token: string): bigint {
  const data = [...peerURLs].sort().join('') + token;
  return createHash('sha1').update(data, 'utf8').digest().readBigUInt64BE(0);
}

const mask53 = (1n << 53n) - 1n;

function ascending(ids: readonly bigint[]): boolean {
  return ids.every((id, i) => i === 0 || (ids[i - 1] as bigint) < id);
}

/** A token (`base` + a suffix) under which the members' ids, full and 53-bit, ascend in the given order. */
export function tokenWithOrderedIds(peerURLsInOrder: readonly string[], base: string, maxTries = 20_000): string {
  for (let i = 0; i < maxTries; i++) {
    const token = `${base}-${i}`;
    const ids = peerURLsInOrder.map((u) => etcdMemberId([u], token));
    if (ascending(ids) && ascending(ids.map((id) => id & mask53))) return token;
  }
  throw new Error(`no cluster token with ordered member ids in ${maxTries} tries`);
}
