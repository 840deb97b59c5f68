#!/usr/bin/env node
// Makes what a TLS cluster needs with openssl, in one directory (kept if already there):
//   ca.crt / ca.key          a CA for this cluster (10 years)
//   member.crt / member.key  the members' certificate (server and client use) for the hosts given
//   client.crt / client.key  a client certificate with CN=root (etcd 3.4 takes the CN as the v2 user)
// Used by `npm run cluster -- --tls`, the TLS docker-compose file and the https benchmark.
//
//   node cluster/make-certs.mjs DIR [--keys-readable] [HOST...]   (default hosts: 127.0.0.1 ::1 localhost)
// --keys-readable writes the keys 0644 instead of 0600, for containers whose user is not the owner.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed (is openssl installed?): ${err.stderr?.toString() ?? err.message}`);
  }
}

function sign(dir, name, cn, ext) {
  openssl(['req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=etcd-ts/CN=${cn}`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '3650', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  fs.rmSync(path.join(dir, `${name}.csr`));
  fs.rmSync(path.join(dir, `${name}.ext`));
}

/** Makes the certificates in `dir` unless they are there; returns their paths. */
export function makeClusterCerts(dir, hosts = ['127.0.0.1', '::1', 'localhost'], keyMode = 0o600) {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    ca: path.join(dir, 'ca.crt'),
    memberCert: path.join(dir, 'member.crt'),
    memberKey: path.join(dir, 'member.key'),
    clientCert: path.join(dir, 'client.crt'),
    clientKey: path.join(dir, 'client.key'),
  };
  if (Object.values(files).every((f) => fs.existsSync(f))) {
    for (const f of [files.memberKey, files.clientKey]) fs.chmodSync(f, keyMode);
    return files;
  }
  openssl(['req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/O=etcd-ts/CN=etcd-ts cluster CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  sign(dir, 'member', 'etcd-ts member', `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  sign(dir, 'client', 'root', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  fs.chmodSync(path.join(dir, 'ca.key'), 0o600);
  for (const f of [files.memberKey, files.clientKey]) fs.chmodSync(f, keyMode);
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const readable = args.includes('--keys-readable');
  const [dir, ...hosts] = args.filter((a) => a !== '--keys-readable');
  if (dir === undefined || dir.startsWith('-')) {
    console.error('usage: node cluster/make-certs.mjs DIR [--keys-readable] [HOST...]');
    process.exit(2);
  }
  const files = makeClusterCerts(path.resolve(dir), hosts.length > 0 ? hosts : undefined, readable ? 0o644 : 0o600);
  console.log(JSON.stringify(files, null, 2));
}
