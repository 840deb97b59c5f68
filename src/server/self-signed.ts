// A self-signed certificate for --auto-tls and --peer-auto-tls, as etcd's transport.SelfCert makes
// one: an ECDSA P-256 key, a certificate valid for a year (from a minute ago, for clock skew) naming
// the listen URLs' hosts in its subjectAltName, usable to serve and to connect (serverAuth and
// clientAuth). Node's crypto makes the key and the signature but has no certificate builder, so the
// certificate is written here in DER (X.509 v3, RFC 5280 §4.1), from a handful of ASN.1 types.
import crypto from 'node:crypto';
import net from 'node:net';

export interface SelfSignedOptions {
  /** Host names and IP addresses the certificate is for (subjectAltName). */
  hosts: readonly string[];
  /** Subject common name. */
  commonName: string;
  /** Default: one year. */
  validityMs?: number;
  /** Default: now. */
  nowMs?: number;
}

export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

export function makeSelfSignedCert(options: SelfSignedOptions): SelfSigned {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const nowMs = options.nowMs ?? Date.now();
  const notBefore = new Date(nowMs - 60_000);
  const notAfter = new Date(nowMs + (options.validityMs ?? YEAR_MS));
  const ecdsaWithSHA256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.10'), utf8('etcd-ts'))), set(seq(oid('2.5.4.3'), utf8(options.commonName)))).bytes;
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f; // a positive INTEGER
  const altNames = options.hosts.map((h) => {
    const ip = ipBytes(h);
    return ip === null ? tlv(0x82, Buffer.from(h, 'ascii')) : tlv(0x87, ip);
  });
  const extensions = [
    // keyUsage (critical): digitalSignature, keyEncipherment
    seq(oid('2.5.29.15'), boolTrue(), octets(tlv(0x03, Buffer.from([0x05, 0xa0])).bytes)),
    // extKeyUsage: serverAuth, clientAuth
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')).bytes)),
    // basicConstraints (critical): not a CA
    seq(oid('2.5.29.19'), boolTrue(), octets(seq().bytes)),
    ...(altNames.length > 0 ? [seq(oid('2.5.29.17'), octets(seq(...altNames).bytes))] : []),
  ];
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2])).bytes), // version v3
    tlv(0x02, serial),
    ecdsaWithSHA256,
    raw(name),
    seq(time(notBefore), time(notAfter)),
    raw(name),
    raw(publicKey.export({ type: 'spki', format: 'der' })),
    tlv(0xa3, seq(...extensions).bytes),
  ).bytes;
  const signature = crypto.sign('sha256', tbs, privateKey);
  const cert = seq(raw(tbs), ecdsaWithSHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))).bytes;
  return {
    certPem: pem('CERTIFICATE', cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

interface Der {
  bytes: Buffer;
}

function raw(bytes: Buffer): Der {
  return { bytes };
}

function tlv(tag: number, content: Buffer): Der {
  const n = content.length;
  let head: Buffer;
  if (n < 0x80) head = Buffer.from([tag, n]);
  else if (n < 0x100) head = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) head = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else head = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return { bytes: Buffer.concat([head, content]) };
}

function seq(...items: Der[]): Der {
  return tlv(0x30, Buffer.concat(items.map((i) => i.bytes)));
}

function set(...items: Der[]): Der {
  return tlv(0x31, Buffer.concat(items.map((i) => i.bytes)));
}

function octets(content: Buffer): Der {
  return tlv(0x04, content);
}

function boolTrue(): Der {
  return tlv(0x01, Buffer.from([0xff]));
}

function utf8(text: string): Der {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

function oid(dotted: string): Der {
  const parts = dotted.split('.').map(Number);
  const out = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const base128 = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Der {
  const iso = d.toISOString(); // 2026-12-05T16:22:32.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // 20261205162232Z
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

function ipBytes(host: string): Buffer | null {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  const kind = net.isIP(h);
  if (kind === 4) return Buffer.from(h.split('.').map(Number));
  if (kind !== 6) return null;
  // expand '::' and write the eight 16-bit groups
  const [head = '', tail] = h.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}
