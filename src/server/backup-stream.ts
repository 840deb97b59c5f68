// The body of GET /members/backup (a running member's copy of its data dir, for `etcd-ts backup`):
//   record = u32be(key length, 1..MAX_KEY_BYTES) u32be(value length) key value
//   end    = u32be(0) u32be(number of records)
// The values are the data dir's own (each carries its CRC-32); the end frame with the count tells
// a complete copy from a connection that broke. The decoder keeps at most one record in memory
// beyond what it hands out.

export const BACKUP_PATH = '/members/backup';
export const HEADER_BACKUP_INDEX = 'x-etcd-ts-backup-index';
export const HEADER_BACKUP_QUORUM = 'x-etcd-ts-backup-quorum';
export const HEADER_BACKUP_MEMBER = 'x-etcd-ts-backup-member';
export const HEADER_BACKUP_DATA_DIR = 'x-etcd-ts-backup-data-dir';

const MAX_KEY_BYTES = 1024;
/** A value beyond this is not one a member wrote (entries are bounded by --max-request-bytes, 1 GiB at most). */
const MAX_VALUE_BYTES = 1024 * 1024 * 1024 + 1024;

export function encodeRecord(key: Uint8Array, value: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(key.length, 0);
  head.writeUInt32BE(value.length, 4);
  return Buffer.concat([head, key, value]);
}

export function encodeEnd(count: number): Buffer {
  const end = Buffer.alloc(8);
  end.writeUInt32BE(0, 0);
  end.writeUInt32BE(count, 4);
  return end;
}

export class BackupStreamError extends Error {}

/**
 * Decodes a backup stream into chunks of at most chunkRecords records. Throws BackupStreamError
 * on a malformed or truncated stream (no end frame, or a count that does not match).
 */
export async function* decodeBackupStream(body: AsyncIterable<Uint8Array>, chunkRecords: number): AsyncGenerator<[Uint8Array, Uint8Array][]> {
  let buf = Buffer.alloc(0);
  let count = 0;
  let ended = false;
  let out: [Uint8Array, Uint8Array][] = [];
  for await (const piece of body) {
    if (ended) {
      if (piece.length > 0) throw new BackupStreamError('backup stream: data after the end frame');
      continue;
    }
    buf = buf.length === 0 ? Buffer.from(piece) : Buffer.concat([buf, piece]);
    for (;;) {
      if (buf.length < 8) break;
      const keyLen = buf.readUInt32BE(0);
      const valueLen = buf.readUInt32BE(4);
      if (keyLen === 0) {
        if (valueLen !== count) throw new BackupStreamError(`backup stream: the member sent ${valueLen} records, ${count} arrived`);
        ended = true;
        if (buf.length > 8) throw new BackupStreamError('backup stream: data after the end frame');
        buf = Buffer.alloc(0);
        break;
      }
      if (keyLen > MAX_KEY_BYTES || valueLen > MAX_VALUE_BYTES) throw new BackupStreamError(`backup stream: implausible record (key ${keyLen} bytes, value ${valueLen} bytes)`);
      if (buf.length < 8 + keyLen + valueLen) break;
      const key = new Uint8Array(buf.subarray(8, 8 + keyLen));
      const value = new Uint8Array(buf.subarray(8 + keyLen, 8 + keyLen + valueLen));
      buf = buf.subarray(8 + keyLen + valueLen);
      count++;
      out.push([key, value]);
      if (out.length >= chunkRecords) {
        yield out;
        out = [];
      }
    }
  }
  if (!ended) throw new BackupStreamError(`backup stream: the connection ended after ${count} records, before the end frame (the member stopped?)`);
  if (out.length > 0) yield out;
}

/**
 * The backup endpoint answers only a caller that can read the member's data dir: at every start the
 * member writes a random token to <data-dir>/member/backup-token (mode 0600), and the command sends
 * it back in this header. A stranger on the peer port, who knows only the cluster id, gets a 403.
 */
export const HEADER_BACKUP_TOKEN = 'x-etcd-ts-backup-token';
export const BACKUP_TOKEN_FILE = ['member', 'backup-token'] as const;
