// A three-member cluster as a conformance Target (test/helpers/target.ts): the suite talks to the
// leader's client URL, because its scripts write and an etcd-ts follower would answer writes with a
// 307 that the conformance exchange does not follow. stop() kills the members and removes the dirs.
import { startCluster } from './cluster.js';
import type { ClusterTargetKind } from './cluster-binary.js';
import type { Target, TargetFactory } from './target.js';

const maxStarts = 3;

/**
 * Starts a cluster whose leader is n1 (the lowest client and peer ports), so that what the scripts
 * see of "their" member (its name, its place in sorted URL lists, StateLeader) is the same on both
 * sides; member ids are made to ascend in name order, so /v2/members lists n1, n2, n3 on both
 * sides. The first election is steered towards n1; a cluster that elected another member anyway is
 * replaced (at most three starts; after that the run goes on with whoever leads, and says so).
 */
export interface ClusterTargetOptions {
  /**
   * Talk to a follower instead (n2, with n1 leading): for etcd-ts with `--follower-writes forward`,
   * which takes writes on a follower as etcd does.
   */
  viaFollower?: boolean;
  /** More flags for every member. */
  extraFlags?: string[];
}

export async function startClusterTarget(target: ClusterTargetKind, size: 3 | 5 = 3, o: ClusterTargetOptions = {}): Promise<Target> {
  const start = () => startCluster({ size, target, label: 'conformance', preferredLeader: 'n1', idsInNameOrder: true, ...(o.extraFlags ? { extraFlags: o.extraFlags } : {}) });
  let cluster = await start();
  for (let n = 1; n < maxStarts && (await cluster.waitLeader({ timeoutMs: 20_000 }).catch(() => null))?.name !== 'n1'; n++) {
    await cluster.stopAll();
    cluster = await start();
  }
  try {
    const leader = await cluster.waitLeader({ timeoutMs: 20_000 });
    if (leader.name !== 'n1') console.warn(`${cluster.label}: ${leader.name} leads, not n1, after ${maxStarts} starts; member names and URL order may differ from the other side`);
    const member = o.viaFollower ? cluster.members.find((m) => m.name === (leader.name === 'n2' ? 'n1' : 'n2')) : leader;
    if (member === undefined) throw new Error('cluster target: no such member');
    return {
      label: `${target}x${size}${o.viaFollower ? ' (follower)' : ''}`,
      clientURL: member.clientURL,
      clientURLs: cluster.members.map((m) => m.clientURL),
      peerURLs: cluster.members.map((m) => m.peerURL),
      logs: () => cluster.logs(4000),
      stop: () => cluster.stopAll(),
    };
  } catch (err) {
    await cluster.stopAll();
    throw err;
  }
}

/** A TargetFactory for the conformance lanes: each call starts a fresh cluster. */
export function clusterTargetFactory(target: ClusterTargetKind, size: 3 | 5 = 3, o: ClusterTargetOptions = {}): TargetFactory {
  return () => startClusterTarget(target, size, o);
}
