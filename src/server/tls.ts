// TLS for the client and peer sides (etcd's transport.TLSInfo): reads and checks the files the flags
// name when the member starts, makes the --auto-tls / --peer-auto-tls certificates, and turns it all
// into the options Node's https server and undici's connector take. Every problem is refused here,
// before a port is bound, with the flag and the file named: a member never starts half-configured.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MemberConfig, TLSFiles } from '../config.js';
import { makeSelfSignedCert } from './self-signed.js';

export class TLSConfigError extends Error {
  readonly code = 'TLS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TLSConfigError';
  }
}

/** What an https listener is built with (a subset of tls.TlsOptions). */
export interface ServerTLSOptions {
  cert: string;
  key: string;
  /** The trusted CA certificates (PEM), when a file was given. */
  ca?: string;
  /** Client certificates are asked for and checked during the handshake. */
  requestCert: boolean;
  rejectUnauthorized: boolean;
  ciphers?: string;
  minVersion: 'TLSv1.2';
}

/** What the peer client connects with (undici's `connect` options). */
export interface ClientTLSOptions {
  cert?: string;
  key?: string;
  ca?: string;
  /** false with --peer-auto-tls: self-signed peers cannot be verified (etcd skips it too). */
  rejectUnauthorized: boolean;
  ciphers?: string;
  minVersion: 'TLSv1.2';
}

export interface MemberTLS {
  /** For https:// client listeners (absent when no client TLS is configured). */
  client?: ServerTLSOptions;
  /** For https:// peer listeners. */
  peerServer?: ServerTLSOptions;
  /** How this member connects to its peers' https:// URLs (absent: http only). */
  peerClient?: ClientTLSOptions;
  /** --client-cert-auth: v2 auth may take the user from the certificate's common name. */
  clientCertAuth: boolean;
}

/** Go's names of the TLS 1.2 suites etcd's --cipher-suites accepts, with OpenSSL's names. */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/**
 * Go applies a cipher suite list to TLS 1.2 only; TLS 1.3's suites stay as they are. Node's
 * `ciphers` sets both, so the TLS 1.3 defaults go along.
 */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** The flag names of one side, for messages. */
function flagNames(side: 'client' | 'peer'): { cert: string; key: string; ca: string; auth: string; auto: string } {
  const p = side === 'peer' ? 'peer-' : '';
  return { cert: `--${p}cert-file`, key: `--${p}key-file`, ca: `--${p}trusted-ca-file`, auth: `--${p}client-cert-auth`, auto: `--${p}auto-tls` };
}

/** The hosts an auto-tls certificate names: those of the side's listen URLs (etcd's SelfCert). */
function autoHosts(config: MemberConfig, side: 'client' | 'peer'): string[] {
  const urls = side === 'client' ? config.listenClientURLs : config.listenPeerURLs;
  const hosts = new Set<string>(urls.map((u) => u.host));
  // Advertised URLs are what peers and clients dial: name them too.
  const advertised = side === 'client' ? config.advertiseClientURLs : config.initialAdvertisePeerURLs;
  for (const text of advertised) {
    try {
      hosts.add(new URL(text).hostname.replace(/^\[|\]$/g, ''));
    } catch {
      // already validated by the command line
    }
  }
  return [...hosts];
}

/** Reads, checks and prepares both sides. `nowMs` decides what is expired (default: now). */
export async function loadMemberTLS(config: MemberConfig, nowMs: number = Date.now()): Promise<MemberTLS> {
  const ciphers = config.cipherSuites === undefined ? undefined : cipherString(config.cipherSuites);
  const client = config.clientTLS === undefined ? undefined : await loadSide(config, 'client', config.clientTLS, nowMs);
  const peer = config.peerTLS === undefined ? undefined : await loadSide(config, 'peer', config.peerTLS, nowMs);
  const out: MemberTLS = { clientCertAuth: client?.files.clientCertAuth === true };
  if (client !== undefined) out.client = serverOptions(client, ciphers);
  if (peer !== undefined) {
    out.peerServer = serverOptions(peer, ciphers);
    out.peerClient = {
      cert: peer.cert,
      key: peer.key,
      ...(peer.ca !== undefined ? { ca: peer.ca } : {}),
      rejectUnauthorized: !peer.selfSigned,
      ...(ciphers !== undefined ? { ciphers } : {}),
      minVersion: 'TLSv1.2',
    };
  }
  return out;
}

export function cipherString(goNames: readonly string[]): string {
  const names = goNames.map((n) => {
    const openssl = CIPHER_SUITES[n];
    if (openssl === undefined) throw new TLSConfigError(`unexpected TLS cipher suite "${n}" (flag --cipher-suites)`);
    return openssl;
  });
  return `${TLS13_SUITES}:${names.join(':')}`;
}

interface LoadedSide {
  files: TLSFiles;
  cert: string;
  key: string;
  ca?: string;
  /** Made by --auto-tls: nothing can verify it. */
  selfSigned: boolean;
}

function serverOptions(side: LoadedSide, ciphers: string | undefined): ServerTLSOptions {
  const auth = side.files.clientCertAuth;
  return {
    cert: side.cert,
    key: side.key,
    ...(side.ca !== undefined ? { ca: side.ca } : {}),
    requestCert: auth,
    rejectUnauthorized: auth,
    ...(ciphers !== undefined ? { ciphers } : {}),
    minVersion: 'TLSv1.2',
  };
}

async function loadSide(config: MemberConfig, side: 'client' | 'peer', files: TLSFiles, nowMs: number): Promise<LoadedSide> {
  const flag = flagNames(side);
  let certFile = files.certFile;
  let keyFile = files.keyFile;
  let selfSigned = false;
  if (certFile === '' && files.autoTLS) {
    ({ certFile, keyFile } = await ensureSelfSigned(config, side, nowMs));
    selfSigned = true;
  }
  const ca = files.trustedCAFile === '' ? undefined : await readCAFile(flag.ca, files.trustedCAFile);
  if (certFile === '') {
    // Only a CA (to check peers' certificates) without a certificate of its own: a peer client
    // that verifies https peers but presents nothing; no https listener can be built from it.
    if (files.clientCertAuth) throw new TLSConfigError(`${flag.auth} needs ${flag.cert} and ${flag.key} (or ${flag.auto})`);
    return { files, cert: '', key: '', ...(ca !== undefined ? { ca } : {}), selfSigned };
  }
  const certWhere = selfSigned ? `the ${flag.auto} certificate "${certFile}"` : `${flag.cert} "${certFile}"`;
  const keyWhere = selfSigned ? `the ${flag.auto} key "${keyFile}"` : `${flag.key} "${keyFile}"`;
  const cert = await readText(certWhere, certFile);
  const blocks = pemBlocks(cert, 'CERTIFICATE');
  if (blocks.length === 0) throw new TLSConfigError(`${certWhere}: no PEM certificate in the file`);
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(blocks[0] as string);
  } catch (err) {
    throw new TLSConfigError(`${certWhere}: not a valid certificate (${(err as Error).message})`);
  }
  checkValidity(certWhere, leaf, nowMs);
  const key = await readText(keyWhere, keyFile);
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    throw new TLSConfigError(`${keyWhere}: not a PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TLSConfigError(`${keyWhere} does not match the certificate in ${certWhere}`);
  return { files, cert, key, ...(ca !== undefined ? { ca } : {}), selfSigned };
}

function checkValidity(where: string, cert: crypto.X509Certificate, nowMs: number): void {
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  if (Number.isFinite(notAfter) && notAfter < nowMs) throw new TLSConfigError(`${where}: the certificate expired on ${new Date(notAfter).toISOString()}`);
  if (Number.isFinite(notBefore) && notBefore > nowMs) throw new TLSConfigError(`${where}: the certificate is not valid before ${new Date(notBefore).toISOString()}`);
}

async function readCAFile(flag: string, file: string): Promise<string> {
  const where = `${flag} "${file}"`;
  const text = await readText(where, file);
  const blocks = pemBlocks(text, 'CERTIFICATE');
  if (blocks.length === 0) throw new TLSConfigError(`${where}: no PEM certificate in the file`);
  for (const [i, block] of blocks.entries()) {
    try {
      new crypto.X509Certificate(block);
    } catch (err) {
      throw new TLSConfigError(`${where}: certificate ${i + 1} is not valid (${(err as Error).message})`);
    }
  }
  return blocks.join('\n');
}

/** Files are bounded: a certificate or key file of more than 1 MiB is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024;

async function readText(where: string, file: string): Promise<string> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TLSConfigError(`${where}: not a regular file`);
    if (stat.size > MAX_FILE_BYTES) throw new TLSConfigError(`${where}: ${stat.size} bytes, more than a certificate or key file holds (${MAX_FILE_BYTES})`);
    return await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof TLSConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'a directory' : (e.code ?? e.message);
    throw new TLSConfigError(`${where}: cannot read the file (${why})`);
  } finally {
    await handle?.close();
  }
}

function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return text.match(re) ?? [];
}

/**
 * <data-dir>/fixtures/{client,peer}/{cert,key}.pem, as etcd keeps them: made at the first start,
 * reused afterwards while still valid (a restart keeps the identity its peers saw); an expired or
 * broken pair is replaced.
 */
async function ensureSelfSigned(config: MemberConfig, side: 'client' | 'peer', nowMs: number): Promise<{ certFile: string; keyFile: string }> {
  const dir = path.join(config.dataDir, 'fixtures', side);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')]);
    const x = new crypto.X509Certificate(cert);
    if (Date.parse(x.validTo) > nowMs && x.checkPrivateKey(crypto.createPrivateKey(key))) return { certFile, keyFile };
  } catch {
    // absent or unusable: make a new pair
  }
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const made = makeSelfSignedCert({ hosts: autoHosts(config, side), commonName: `${config.name}-${side}`, nowMs });
    await fs.writeFile(`${keyFile}.tmp`, made.keyPem, { mode: 0o600 });
    await fs.rename(`${keyFile}.tmp`, keyFile);
    await fs.writeFile(`${certFile}.tmp`, made.certPem, { mode: 0o644 });
    await fs.rename(`${certFile}.tmp`, certFile);
  } catch (err) {
    throw new TLSConfigError(`${flagNames(side).auto}: cannot write the self-signed certificate in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return { certFile, keyFile };
}
