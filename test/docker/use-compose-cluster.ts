// Vitest wiring for the docker tests: each file runs its own cluster from docker-compose.yml (see
// test/helpers/compose-cluster.ts), started in beforeAll and removed with everything it created in
// afterAll. Without a Docker engine the suites are skipped with a message saying so; under CI=true a
// missing engine is a failure instead.
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { startComposeCluster, type ComposeCluster, type ComposeClusterOptions } from '../helpers/compose-cluster.js';
import { dockerAvailability } from '../helpers/docker-engine.js';
import type { MemberCheck } from '../helpers/ledger-check.js';
import type { QuorumReader } from '../helpers/quorum-reader.js';
import type { WriteLoad, WriteRecord } from '../helpers/write-load.js';

export const docker = await dockerAvailability();

const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** `describe`, or a clearly reported skip (a failure under CI=true) when no Docker engine answers. */
export function describeDocker(name: string, fn: () => void): void {
  if (docker.ok) {
    describe(name, fn);
    return;
  }
  if (inCI) {
    describe(name, () => {
      it('needs a Docker engine (CI=true: a missing engine fails the docker tests)', () => {
        throw new Error(`${docker.reason}. Run cluster/docker-offline-setup.sh (or install Docker) first.`);
      });
    });
    return;
  }
  console.warn(`[test/docker] SKIPPED "${name}": ${docker.reason}. Install Docker (or run cluster/docker-offline-setup.sh) to run it; under CI=true this is a failure.`);
  describe.skip(`${name} [skipped: no Docker engine]`, fn);
}

/** Starts a compose cluster for the file; prints the containers' output when a test fails. */
export function useComposeCluster(label: string, opts: Omit<ComposeClusterOptions, 'label'> = {}): () => ComposeCluster {
  let cluster: ComposeCluster | undefined;
  beforeAll(async () => {
    cluster = await startComposeCluster({ ...opts, label });
    const i = cluster.image;
    console.info(
      `[docker ${label}] ${cluster.project}: compose ${cluster.compose} (${docker.versions}); image ${i.tag} on ${i.baseImage}, ${(i.sizeBytes / 1e6).toFixed(0)} MB, ${i.built ? `built in ${(i.buildMs / 1000).toFixed(1)} s` : 'reused'}; members ${cluster.members.map((m) => `${m.name}=${m.clientURL}`).join(' ')}`,
    );
  }, 20 * 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);
  beforeEach((ctx) => {
    ctx.onTestFailed(async () => {
      if (!cluster) return;
      console.error(`===== container output of ${cluster.label} (test "${ctx.task.name}" failed)\n${await cluster.allLogs(80).catch((e: Error) => e.message)}`);
    });
  });
  return () => {
    if (!cluster) throw new Error('the compose cluster did not start (see the beforeAll error)');
    return cluster;
  };
}

export interface FaultReport {
  fault: string;
  /** From the fault until 2 of 3 members named a new leader; -1 when not measured. */
  newLeaderMs: number;
  load: WriteLoad;
  checks: readonly MemberCheck[];
  /** Writes sent by the test itself (outside the load), e.g. to a cut-off member. */
  extra?: readonly WriteRecord[];
  reads?: QuorumReader;
  notes?: string[];
}

/** One line per fault: time to a new leader, write outcomes, acknowledged writes checked on each member. */
export function printFaultReport(r: FaultReport): void {
  const acked = r.load.count('acknowledged') + (r.extra ?? []).filter((x) => x.outcome === 'acknowledged').length;
  const line = [
    `[docker fault] ${r.fault}: new leader after ${r.newLeaderMs} ms`,
    `load writes ${r.load.summary()}`,
    ...(r.reads ? [r.reads.summary()] : []),
    `${acked} acknowledged writes checked on ${r.checks.map((c) => `${c.member} (${c.keys} keys)`).join(', ')}`,
    ...(r.notes ?? []),
  ].join('; ');
  console.info(line);
}
