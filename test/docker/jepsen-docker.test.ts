// `npm run jepsen -- --target docker` in the suite: runJepsen starts the docker-compose cluster itself
// (a project of its own, free 127.0.0.1 ports, the image of the current sources), 30 s of 4 clients on
// 4 keys while the nemesis kills (docker kill -s KILL / docker start), pauses (docker pause / unpause)
// and partitions (docker network disconnect / connect of the peer network) a member, each kind at least
// once (seed 121 draws short gaps: its third fault starts near 14 s of the 26 s the nemesis has, so a
// loaded machine's slower docker commands still leave room). The history must be linearizable, the
// members must converge (watches included), every fault must have been injected and healed without
// error, and the cluster the run started must be gone afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJepsen } from '../../tools/jepsen/run.js';
import { ensureImage, run } from '../helpers/docker-engine.js';
import { freePorts } from '../helpers/ports.js';
import { describeDocker } from './use-compose-cluster.js';

async function projectLeftovers(project: string): Promise<string[]> {
  const label = `label=com.docker.compose.project=${project}`;
  const out: string[] = [];
  for (const args of [['ps', '-a', '-q', '--filter', label], ['network', 'ls', '-q', '--filter', label], ['volume', 'ls', '-q', '--filter', label]]) {
    const res = await run('docker', args, { timeoutMs: 30_000 });
    out.push(...res.stdout.split('\n').filter(Boolean).map((id) => `${args[0]} ${id}`));
  }
  return out;
}

describeDocker('jepsen --target docker', () => {
  it('is linearizable under docker kill, pause and network partitions; the cluster it started is removed', async () => {
    const image = await ensureImage();
    const ports = await freePorts(3);
    const project = `etcdts-jepsen-${process.pid}-${Date.now().toString(36)}`;
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepsen-docker-'));
    const lines: string[] = [];
    try {
      const result = await runJepsen({
        target: 'docker',
        docker: {
          project,
          env: {
            ETCD_TS_IMAGE: image.tag,
            BASE_IMAGE: image.baseImage,
            ETCD_TS_INFRA1_PORT: String(ports[0]),
            ETCD_TS_INFRA2_PORT: String(ports[1]),
            ETCD_TS_INFRA3_PORT: String(ports[2]),
          },
        },
        nemesis: ['kill', 'pause', 'partition'],
        timeS: 30,
        clients: 4,
        keys: 4,
        seed: 121,
        outDir,
        checkTimeBudgetMs: 90_000,
        log: (l) => lines.push(l),
      });
      const context = `${result.summary}\n${lines.join('\n')}\n${JSON.stringify(result.faults, null, 1)}`;
      console.info(`[jepsen docker] ${lines.filter((l) => / s (kill|pause|partition|healed) /.test(l)).join('\n')}\n${result.summary}`);
      expect(lines.some((l) => l.includes(`attached to docker-compose project ${project}`)), context).toBe(true);
      expect(result.verdict, context).toBe('linearizable');
      expect(result.clusterChecksPassed, `${JSON.stringify(result.converged)} ${result.finalRecoveryMs}`).toBe(true);
      expect(result.faults.filter((f) => f.error !== undefined), context).toEqual([]);
      for (const kind of ['kill', 'pause', 'partition'] as const) {
        expect(result.faults.filter((f) => f.kind === kind && f.endMs !== null).length, `${kind} faults: ${context}`).toBeGreaterThan(0);
      }
      expect(result.ops).toBeGreaterThan(50);
      expect(fs.readFileSync(path.join(outDir, 'cluster.log'), 'utf8')).toContain('----- infra1');
      expect(await projectLeftovers(project), 'what the run left of the compose project it started').toEqual([]);
    } finally {
      for (const left of await projectLeftovers(project)) {
        const [kind, id] = left.split(' ');
        await run('docker', kind === 'ps' ? ['rm', '-f', '-v', id!] : [kind!, 'rm', id!], { timeoutMs: 60_000 });
      }
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }, 20 * 60_000);
});
