// Vitest wiring for a file's own cluster: started in beforeAll, every process killed and the temp
// dirs removed in afterAll, and the members' output printed when a test fails (with
// ETCD_TS_CLUSTER_KEEP_LOGS=1 their complete log files are kept, and the path printed).
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startCluster, type Cluster, type ClusterOptions } from '../helpers/cluster.js';

export const clusterStartTimeoutMs = 60_000;

export function useCluster(opts: ClusterOptions = {}): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ startTimeoutMs: 40_000, ...opts });
  }, clusterStartTimeoutMs);
  afterAll(async () => {
    await cluster?.stopAll();
  }, 30_000);
  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      if (!cluster) return;
      cluster.markFailed();
      console.error(`===== member output of ${cluster.label} (test "${ctx.task.name}" failed)\n${cluster.logs()}`);
    });
  });
  return () => {
    if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
    return cluster;
  };
}
