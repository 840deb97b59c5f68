// TLS configuration as bin/etcd-ts takes it (issue 15): each bad configuration is refused at start
// with one stderr line naming the flag and the file, before a port is bound or the data dir made;
// --auto-tls / --peer-auto-tls make a self-signed certificate in <data-dir>/fixtures and keep it
// across restarts; --cipher-suites limits the TLS 1.2 suites a client can negotiate.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnLogged, type Spawned } from '../helpers/child-process.js';
import { freePorts } from '../helpers/ports.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { waitFor } from '../helpers/wait-for.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(repoRoot, 'bin/etcd-ts');

let certs: TestCerts;
let tmp: string;

beforeAll(async () => {
  certs = await makeTestCerts(['root']);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-tls-config-'));
}, 60_000);

afterAll(async () => {
  await certs?.remove();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** A one-member command line with https client and peer URLs on port 0 (nothing is bound when refused). */
function oneMember(dataDir: string, extra: string[]): string[] {
  return [
    '--name', 'tls1', '--data-dir', dataDir,
    '--listen-client-urls', 'https://127.0.0.1:0', '--advertise-client-urls', 'https://127.0.0.1:0',
    '--listen-peer-urls', 'https://127.0.0.1:0', '--initial-advertise-peer-urls', 'https://127.0.0.1:0',
    '--initial-cluster', 'tls1=https://127.0.0.1:0', ...extra,
  ];
}

function run(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let caseSeq = 0;

type BadCase = [what: string, flags: (c: TestCerts) => string[], exitCode: number, expected: (c: TestCerts) => string[], env?: (c: TestCerts) => Record<string, string>];

const peerOK = (c: TestCerts): string[] => ['--peer-cert-file', c.member.cert, '--peer-key-file', c.member.key];
const clientOK = (c: TestCerts): string[] => ['--cert-file', c.member.cert, '--key-file', c.member.key];

const badCases: BadCase[] = [
  ['an https client URL without a certificate', (c) => peerOK(c), 2, () => ['TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:0']],
  ['an https peer URL without a certificate', (c) => clientOK(c), 2, () => ['TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url https://127.0.0.1:0']],
  ['a certificate without its key', (c) => [...peerOK(c), '--cert-file', c.member.cert], 2, () => ['--cert-file is set but --key-file is not']],
  ['a missing certificate file', (c) => [...peerOK(c), '--cert-file', path.join(c.dir, 'absent.crt'), '--key-file', c.member.key], 1, (c) => [`--cert-file "${path.join(c.dir, 'absent.crt')}": cannot read the file (no such file)`]],
  ['a missing peer key file', (c) => [...clientOK(c), '--peer-cert-file', c.member.cert, '--peer-key-file', path.join(c.dir, 'absent.key')], 1, (c) => [`--peer-key-file "${path.join(c.dir, 'absent.key')}": cannot read the file (no such file)`]],
  ['a certificate file that is a directory', (c) => [...peerOK(c), '--cert-file', c.dir, '--key-file', c.member.key], 1, (c) => [`--cert-file "${c.dir}": not a regular file`]],
  ['a key that does not match its certificate', (c) => [...peerOK(c), '--cert-file', c.member.cert, '--key-file', c.otherMember.key], 1, (c) => [`--key-file "${c.otherMember.key}" does not match the certificate in --cert-file "${c.member.cert}"`]],
  ['an expired certificate', (c) => [...clientOK(c), '--peer-cert-file', c.expired.cert, '--peer-key-file', c.expired.key], 1, (c) => [`--peer-cert-file "${c.expired.cert}": the certificate expired on 2020-01-02T00:00:00.000Z`]],
  ['a certificate file with no certificate in it', (c) => [...peerOK(c), '--cert-file', c.notPem, '--key-file', c.member.key], 1, (c) => [`--cert-file "${c.notPem}": no PEM certificate in the file`]],
  ['a key file with no key in it', (c) => [...peerOK(c), '--cert-file', c.member.cert, '--key-file', c.notPem], 1, (c) => [`--key-file "${c.notPem}": not a PEM private key`]],
  ['a CA file with no certificate in it', (c) => [...peerOK(c), ...clientOK(c), '--trusted-ca-file', c.notPem, '--client-cert-auth'], 1, (c) => [`--trusted-ca-file "${c.notPem}": no PEM certificate in the file`]],
  ['a peer CA file with no certificate in it', (c) => [...peerOK(c), ...clientOK(c), '--peer-trusted-ca-file', c.notPem], 1, (c) => [`--peer-trusted-ca-file "${c.notPem}": no PEM certificate in the file`]],
  ['--client-cert-auth without a trusted CA', (c) => [...peerOK(c), ...clientOK(c), '--client-cert-auth'], 2, () => ['--client-cert-auth needs --trusted-ca-file']],
  ['an unknown cipher suite', (c) => [...peerOK(c), ...clientOK(c), '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_NOPE'], 2, () => ['unexpected TLS cipher suite "TLS_NOPE"']],
  ['a missing certificate file named by ETCD_CERT_FILE', (c) => peerOK(c), 1, (c) => [`--cert-file "${path.join(c.dir, 'env.crt')}": cannot read the file (no such file)`], (c) => ({ ETCD_CERT_FILE: path.join(c.dir, 'env.crt'), ETCD_KEY_FILE: c.member.key })],
];

describe('bad TLS configuration is refused at start, naming the flag and the file', () => {
  it.each(badCases)('%s', async (_what, flags, exitCode, expected, env) => {
    const dataDir = path.join(tmp, `bad-${caseSeq++}`);
    const r = run(oneMember(dataDir, flags(certs)), env?.(certs) ?? {});
    expect(r.code, r.stderr).toBe(exitCode);
    const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{'));
    expect(lines, r.stderr).toHaveLength(1);
    for (const text of expected(certs)) expect(lines[0]).toContain(text);
    // Refused before anything was made: no data dir.
    await expect(fs.access(dataDir)).rejects.toThrow();
  });
});

async function startMember(args: string[]): Promise<Spawned> {
  return spawnLogged(process.execPath, [bin, ...args, '--log-level', 'warn'], { cwd: repoRoot });
}

const insecure = new Agent({ connect: { rejectUnauthorized: false, timeout: 2000 } });
afterAll(() => insecure.destroy());

async function waitServing(url: string, member: Spawned): Promise<void> {
  await waitFor(
    async () => {
      if (member.hasExited()) throw new Error(`member exited: ${member.logTail().slice(-2000)}`);
      try {
        const res = await request(`${url}/health`, { dispatcher: insecure, signal: AbortSignal.timeout(1000) });
        return res.statusCode === 200 && (await res.body.text()).includes('true');
      } catch {
        return false;
      }
    },
    { what: `${url}/health`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** The certificate a TLS server presents (no verification: it is self-signed). */
function presented(url: string, options: tls.ConnectionOptions = {}): Promise<{ cert: crypto.X509Certificate; cipher: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), rejectUnauthorized: false, timeout: 3000, ...options }, () => {
      const raw = socket.getPeerCertificate().raw;
      const cipher = socket.getCipher().name;
      socket.end();
      resolve({ cert: new crypto.X509Certificate(raw), cipher });
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
  });
}

describe('--auto-tls and --peer-auto-tls', () => {
  it('serve https with a self-signed certificate kept in <data-dir>/fixtures, the same one after a restart', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const clientURL = `https://127.0.0.1:${clientPort}`;
    const peerURL = `https://127.0.0.1:${peerPort}`;
    const dataDir = path.join(tmp, 'auto');
    const args = [
      '--name', 'auto', '--data-dir', dataDir, '--listen-client-urls', clientURL, '--advertise-client-urls', clientURL,
      '--listen-peer-urls', peerURL, '--initial-advertise-peer-urls', peerURL, '--initial-cluster', `auto=${peerURL}`,
      '--auto-tls', '--peer-auto-tls',
    ];
    let member = await startMember(args);
    try {
      await waitServing(clientURL, member);
      const onDisk = new crypto.X509Certificate(await fs.readFile(path.join(dataDir, 'fixtures', 'client', 'cert.pem')));
      expect(onDisk.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(onDisk.checkPrivateKey(crypto.createPrivateKey(await fs.readFile(path.join(dataDir, 'fixtures', 'client', 'key.pem'))))).toBe(true);
      expect((await fs.stat(path.join(dataDir, 'fixtures', 'client', 'key.pem'))).mode & 0o077).toBe(0);
      const client = await presented(clientURL);
      expect(client.cert.fingerprint256).toBe(onDisk.fingerprint256);
      const peer = await presented(peerURL);
      expect(peer.cert.fingerprint256).toBe(new crypto.X509Certificate(await fs.readFile(path.join(dataDir, 'fixtures', 'peer', 'cert.pem'))).fingerprint256);
      const put = await request(`${clientURL}/v2/keys/auto`, { method: 'PUT', body: 'value=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, dispatcher: insecure });
      expect(put.statusCode).toBe(201);
      await put.body.text();

      await member.stop();
      member = await startMember(args);
      await waitServing(clientURL, member);
      expect((await presented(clientURL)).cert.fingerprint256).toBe(onDisk.fingerprint256);
    } finally {
      await member.stop();
    }
  }, 60_000);
});

describe('--cipher-suites', () => {
  it('a TLS 1.2 client gets the listed suite, and one offering only other suites is refused', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const clientURL = `https://127.0.0.1:${clientPort}`;
    const peerURL = `http://127.0.0.1:${peerPort}`;
    const args = [
      '--name', 'ciphers', '--data-dir', path.join(tmp, 'ciphers'), '--listen-client-urls', clientURL, '--advertise-client-urls', clientURL,
      '--listen-peer-urls', peerURL, '--initial-advertise-peer-urls', peerURL, '--initial-cluster', `ciphers=${peerURL}`,
      '--cert-file', certs.member.cert, '--key-file', certs.member.key, '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
    ];
    const member = await startMember(args);
    try {
      await waitServing(clientURL, member);
      const ok = await presented(clientURL, { maxVersion: 'TLSv1.2' });
      expect(ok.cipher).toBe('ECDHE-ECDSA-CHACHA20-POLY1305');
      await expect(presented(clientURL, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).rejects.toThrow();
      // TLS 1.3 keeps its own suites, as Go does.
      expect((await presented(clientURL)).cipher).toMatch(/^TLS_/);
    } finally {
      await member.stop();
    }
  }, 60_000);
});

describe('--peer-auto-tls in a three-member cluster', () => {
  it('the members elect a leader and replicate over https peer URLs with their self-signed certificates', async () => {
    const ports = await freePorts(6);
    const names = ['p1', 'p2', 'p3'];
    const peerURL = (i: number): string => `https://127.0.0.1:${ports[3 + i]}`;
    const clientURL = (i: number): string => `http://127.0.0.1:${ports[i]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerURL(i)}`).join(',');
    const members = names.map((name, i) =>
      spawnLogged(process.execPath, [
        bin, '--name', name, '--data-dir', path.join(tmp, `peer-auto-${name}`),
        '--listen-client-urls', clientURL(i), '--advertise-client-urls', clientURL(i),
        '--listen-peer-urls', peerURL(i), '--initial-advertise-peer-urls', peerURL(i),
        '--initial-cluster', initialCluster, '--initial-cluster-token', `peer-auto-${process.pid}`, '--peer-auto-tls', '--log-level', 'warn',
      ], { cwd: repoRoot }),
    );
    try {
      for (const [i, m] of members.entries()) await waitServing(clientURL(i), m);
      const put = await request(`${clientURL(1)}/v2/keys/peer-auto?x=1`, { method: 'PUT', body: 'value=v', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      await put.body.text();
      // undici's request() does not follow redirects: a follower's 307 is followed once by hand.
      let status = put.statusCode;
      if (status === 307) {
        const again = await request(String(put.headers['location']), { method: 'PUT', body: 'value=v', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        await again.body.text();
        status = again.statusCode;
      }
      expect(status).toBe(201);
      const read = await request(`${clientURL(2)}/v2/keys/peer-auto?quorum=true`);
      expect(JSON.parse(await read.body.text())).toMatchObject({ node: { value: 'v' } });
      for (const name of names) await fs.access(path.join(tmp, `peer-auto-${name}`, 'fixtures', 'peer', 'cert.pem'));
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  }, 60_000);
});
