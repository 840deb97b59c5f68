// The LevelDB key layout. Entry keys are fixed-width big-endian so that LevelDB's byte order is
// log order: 'e' + u64be(index). Single-byte keys hold the singletons.
import { DataDirError } from './errors.js';

const ENTRY_PREFIX = 0x65; // 'e'
const ENTRY_KEY_BYTES = 9;
const TWO_POW_32 = 0x1_0000_0000;

/** Member metadata: cluster id, member id, name, format version. */
export const METADATA_KEY: Uint8Array = Uint8Array.of(0x6d); // 'm'
/** The last persisted HardState. */
export const HARD_STATE_KEY: Uint8Array = Uint8Array.of(0x68); // 'h'
/** The last persisted snapshot (metadata and data). */
export const SNAPSHOT_KEY: Uint8Array = Uint8Array.of(0x73); // 's'
/** The ConfState set at bootstrap, before any snapshot carries one. */
export const CONF_STATE_KEY: Uint8Array = Uint8Array.of(0x63); // 'c'
/**
 * Present only in a data dir written by `etcd-ts backup` (src/storage/backup.ts): where it came
 * from and whether the copy finished. Such a dir starts only with --force-new-cluster, which
 * removes the key.
 */
export const BACKUP_KEY: Uint8Array = Uint8Array.of(0x62); // 'b'

/** Bounds covering every key of the layout (all of them start with a byte in 0x01..0xfe). */
export const ALL_KEYS_RANGE = Object.freeze({
  gte: Uint8Array.of(0x00),
  lt: Uint8Array.of(0xff),
});

export function entryKey(index: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`entryKey: invalid index ${index}`);
  // Byte by byte: a DataView over a 9-byte array moves its bytes off V8's heap first (a tenth of
  // the cost, and this runs for every entry written).
  const key = new Uint8Array(ENTRY_KEY_BYTES);
  const hi = Math.floor(index / TWO_POW_32);
  const lo = index % TWO_POW_32;
  key[0] = ENTRY_PREFIX;
  key[1] = hi >>> 24;
  key[2] = (hi >>> 16) & 0xff;
  key[3] = (hi >>> 8) & 0xff;
  key[4] = hi & 0xff;
  key[5] = lo >>> 24;
  key[6] = (lo >>> 16) & 0xff;
  key[7] = (lo >>> 8) & 0xff;
  key[8] = lo & 0xff;
  return key;
}

/** The index encoded in an entry key; a key of another shape under the prefix is corruption. */
export function entryIndexOfKey(key: Uint8Array): number {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== ENTRY_PREFIX) {
    throw new DataDirError('corrupt-key', `raft log: malformed entry key ${Buffer.from(key).toString('hex')}`);
  }
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const index = view.getUint32(1) * TWO_POW_32 + view.getUint32(5);
  if (!Number.isSafeInteger(index)) {
    throw new DataDirError('corrupt-key', `raft log: entry key index beyond 2^53: ${Buffer.from(key).toString('hex')}`);
  }
  return index;
}

/** Bounds covering every key with the entry prefix (including malformed ones, which open rejects). */
export const ENTRY_RANGE = Object.freeze({
  gte: Uint8Array.of(ENTRY_PREFIX),
  lt: Uint8Array.of(ENTRY_PREFIX + 1),
});
