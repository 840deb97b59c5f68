// Certificates for the TLS tests, made at test time with openssl (Debian's) in a temp dir: a CA, a
// member certificate for 127.0.0.1 / ::1 / localhost usable to serve and to connect (as etcd's
// fixtures are), client certificates with chosen common names, and for the refusals a second CA
// with its own member and client certificates, an expired certificate and a file with no PEM in it.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const opensslBinary = process.env['OPENSSL_BIN'] ?? 'openssl';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** The trusted CA (PEM file). */
  ca: string;
  /** A member's certificate and key, signed by `ca`, for 127.0.0.1, ::1 and localhost (server and client use). */
  member: CertPair;
  /** Client certificates signed by `ca`, by common name. */
  clients: Record<string, CertPair>;
  /** A second CA, and a member certificate and a client certificate it signed. */
  otherCA: string;
  otherMember: CertPair;
  otherClient: CertPair;
  /** Signed by `ca`, valid only in January 2020. */
  expired: CertPair;
  /** A file that holds text and no PEM block. */
  notPem: string;
  remove(): Promise<void>;
}

function run(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(opensslBinary, args, { cwd, timeout: 20_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function makeCA(dir: string, name: string): Promise<void> {
  await run(
    ['req', '-x509', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3', '-subj', `/O=etcd-ts tests/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
}

let serial = 100;

async function makeSigned(dir: string, ca: string, name: string, cn: string, ext: string): Promise<CertPair> {
  await run(['req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=etcd-ts tests/CN=${cn}`], dir);
  await fs.writeFile(path.join(dir, `${name}.ext`), ext);
  await run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(serial++), '-days', '3', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

const memberExt = 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
const clientExt = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n';

/** An expired certificate: `openssl ca` is the one openssl 3.0 command that takes explicit dates. */
async function makeExpired(dir: string): Promise<CertPair> {
  await run(['req', ...ecKey, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=expired'], dir);
  await fs.writeFile(path.join(dir, 'index.txt'), '');
  await fs.writeFile(path.join(dir, 'serial'), '1000\n');
  await fs.mkdir(path.join(dir, 'issued'));
  const config = [
    '[ ca ]', 'default_ca = test_ca', '[ test_ca ]', `database = ${path.join(dir, 'index.txt')}`, `new_certs_dir = ${path.join(dir, 'issued')}`,
    `serial = ${path.join(dir, 'serial')}`, 'default_md = sha256', 'policy = any', 'copy_extensions = none', 'unique_subject = no',
    '[ any ]', 'commonName = supplied', '',
  ].join('\n');
  await fs.writeFile(path.join(dir, 'ca.cnf'), config);
  await run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-in', 'expired.csr', '-out', 'expired.crt', '-notext'], dir);
  return { cert: path.join(dir, 'expired.crt'), key: path.join(dir, 'expired.key') };
}

export async function makeTestCerts(clientNames: readonly string[] = ['root', 'alice']): Promise<TestCerts> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-ts-tls-'));
  try {
    await Promise.all([makeCA(dir, 'ca'), makeCA(dir, 'other-ca')]);
    const member = await makeSigned(dir, 'ca', 'member', 'etcd-ts member', memberExt);
    const clients: Record<string, CertPair> = {};
    for (const cn of clientNames) clients[cn] = await makeSigned(dir, 'ca', `client-${cn}`, cn, clientExt);
    const otherMember = await makeSigned(dir, 'other-ca', 'other-member', 'intruder member', memberExt);
    const otherClient = await makeSigned(dir, 'other-ca', 'other-client', 'root', clientExt);
    const expired = await makeExpired(dir);
    const notPem = path.join(dir, 'not-pem.txt');
    await fs.writeFile(notPem, 'this is not a certificate\n');
    return {
      dir,
      ca: path.join(dir, 'ca.crt'),
      member,
      clients,
      otherCA: path.join(dir, 'other-ca.crt'),
      otherMember,
      otherClient,
      expired,
      notPem,
      remove: () => fs.rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The flags of a member serving TLS on both sides with client-certificate authentication. */
export function memberTLSFlags(certs: TestCerts): string[] {
  return [
    '--cert-file', certs.member.cert, '--key-file', certs.member.key, '--trusted-ca-file', certs.ca, '--client-cert-auth',
    '--peer-cert-file', certs.member.cert, '--peer-key-file', certs.member.key, '--peer-trusted-ca-file', certs.ca, '--peer-client-cert-auth',
  ];
}
