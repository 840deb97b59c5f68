// bin/etcd-ts as a user runs it (the compiled dist/, built by the test run's global setup):
// --help/--version, bad flags (exit 2, one line naming the flag), and a real member on free ports.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnLogged } from '../helpers/child-process.js';
import { waitHealthy } from '../helpers/health.js';
import { freePorts } from '../helpers/ports.js';
import { put, request } from '../http/harness.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(repoRoot, 'bin/etcd-ts');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/etcd-ts', () => {
  it('prints the help on stdout and exits 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--listen-client-urls');
    expect(r.stdout).toContain('--max-request-bytes');
  });

  it('prints its version and the etcd API version it speaks', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^etcd-ts Version: \S+\netcd API Version: 3\.4\.23 \(v2 keys API\)\n/);
  });

  it.each([
    [['--foo'], '--foo'],
    [['--election-timeout', '100'], '--election-timeout'],
    [['--listen-client-urls', 'http://127.0.0.1:1'], '--advertise-client-urls'],
    [['--initial-cluster-state=maybe'], '--initial-cluster-state'],
  ])('refuses %j with exit code 2 and one stderr line naming %s', (args, flag) => {
    const r = run(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(lines[0]).toContain("etcd-ts --help");
    expect(r.stdout).toBe('');
  });

  it('says how to build when dist/ is missing', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-nodist-'));
    try {
      await fs.mkdir(path.join(dir, 'bin'));
      await fs.copyFile(bin, path.join(dir, 'bin/etcd-ts'));
      await fs.writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/etcd-ts')], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('npm install');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('starts a member that serves the v2 API and stops cleanly on SIGTERM', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const clientURL = `http://127.0.0.1:${clientPort}`;
    const peerURL = `http://127.0.0.1:${peerPort}`;
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-bin-'));
    const member = spawnLogged(process.execPath, [
      bin,
      '--name', 'solo',
      '--data-dir', dataDir,
      '--listen-client-urls', clientURL,
      '--advertise-client-urls', clientURL,
      '--listen-peer-urls', peerURL,
      '--initial-advertise-peer-urls', peerURL,
      '--initial-cluster', `solo=${peerURL}`,
    ], { cwd: repoRoot });
    try {
      await waitHealthy(clientURL, [member], 15_000);
      expect((await put(clientURL, '/v2/keys/hello', 'value=world')).status).toBe(201);
      expect((await request(clientURL, '/v2/keys/hello')).json).toMatchObject({ node: { key: '/hello', value: 'world' } });
      const members = await request(clientURL, '/v2/members');
      expect(members.json).toMatchObject({ members: [{ name: 'solo', peerURLs: [peerURL], clientURLs: [clientURL] }] });
      // logs are JSON lines tagged with the member name
      const firstLog = member.logTail().split('\n')[0]!;
      expect(JSON.parse(firstLog)).toMatchObject({ member: 'solo' });
      member.child.kill('SIGTERM');
      expect(await member.exited).toBe('0');
      // the write is durable in the data dir: LevelDB files of the raft log exist
      expect((await fs.readdir(path.join(dataDir, 'member', 'raft'))).some((f) => f.endsWith('.log') || f.endsWith('.ldb'))).toBe(true);
    } finally {
      await member.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs through npm start -- <flags>', () => {
    const r = spawnSync('npm', ['start', '--silent', '--', '--version'], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('etcd-ts Version:');
  });
});
