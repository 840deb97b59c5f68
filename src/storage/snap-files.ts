// Durable snapshot files, as etcd's member/snap directory: one <term>-<index>.snap file per raft
// snapshot of the member's state machine (etcd's name, "%016x-%016x.snap"), newest kept, older ones
// purged beyond --max-snapshots.
//
// A save is atomic and durable: the file is written under a temporary name, fsynced, renamed to its
// final name and the directory fsynced, so a crash leaves the whole file or none (a leftover *.tmp
// is removed at the next open). A load takes the newest file the caller accepts that reads back
// whole; a damaged one is renamed to <name>.broken, as etcd does, and the next older one is tried.
//
// File format (ours, not etcd's protobuf), integers big-endian:
//   magic "ETCDTSNP" (8) | version u32 = 1 | term u64 | index u64 | data length u64 | crc u32 | data
// where crc is the CRC-32 of the 36 header bytes before it followed by the data.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32, crc32Pieces } from './crc32.js';
import { DataDirError } from './errors.js';

export interface SnapshotFileInfo {
  term: number;
  index: number;
  /** The file's name in the directory, e.g. '0000000000000002-0000000000004e21.snap'. */
  name: string;
}

export interface LoadedSnapshotFile extends SnapshotFileInfo {
  data: Uint8Array;
}

export interface SnapshotLoad {
  loaded: LoadedSnapshotFile | null;
  /** Files passed over, newest first: declined by accept(), or damaged (renamed to <name>.broken). */
  skipped: { name: string; reason: string }[];
}

export interface SnapshotFiles {
  readonly dir: string;
  /**
   * Writes <term>-<index>.snap durably: to a temporary name, fsynced, renamed, directory fsynced;
   * then removes the oldest .snap files beyond maxSnapshots. A file with the same name is replaced
   * atomically. Rejects with DataDirError('io-error') when the disk refuses.
   */
  save(term: number, index: number, data: SnapshotFileData, options?: SaveOptions): Promise<void>;
  /** Snapshot files newest first (by index, then term); ignores names that are not <16 hex>-<16 hex>.snap. */
  list(): Promise<SnapshotFileInfo[]>;
  /**
   * Newest first: the first file that `accept` takes and that reads back whole and checksum-valid.
   * A damaged file (bad magic, truncated, checksum or length mismatch, name not matching the
   * header's term/index) is renamed to <name>.broken and reported in skipped with the reason; files
   * accept() declines are reported as skipped too but left alone. Never throws for a damaged file;
   * rejects with DataDirError('io-error') when a file cannot be read at all (e.g. EACCES, EIO).
   */
  load(accept: (info: SnapshotFileInfo) => boolean): Promise<SnapshotLoad>;
}

/** A file's data: one buffer, or pieces written one after the other (never copied into one). */
export type SnapshotFileData = Uint8Array | readonly Uint8Array[];

export interface SaveOptions {
  /**
   * Awaited between slices of the checksum (crc32Pieces), so that a large file does not hold the
   * event loop; the member passes its own (virtual in the simulator).
   */
  pause?: () => Promise<void>;
}

export interface SnapshotFilesOptions {
  /** How many .snap files to keep (etcd's --max-snapshots, default 5); 0 keeps all. */
  maxSnapshots?: number;
}

export const DEFAULT_MAX_SNAPSHOTS = 5;

const MAGIC = new TextEncoder().encode('ETCDTSNP');
const FORMAT_VERSION = 1;
/** Bytes before the data: magic, version, term, index, length, crc. */
export const SNAPSHOT_HEADER_BYTES = 8 + 4 + 8 + 8 + 8 + 4;
const CRC_OFFSET = SNAPSHOT_HEADER_BYTES - 4;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TMP_SUFFIX = '.tmp';
const BROKEN_SUFFIX = '.broken';

/** <dataDir>/member/snap, as etcd. */
export function snapDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'snap');
}

function assertU53(what: string, v: number): void {
  assert.ok(Number.isSafeInteger(v) && v >= 0, `snapshot files: ${what} must be a non-negative safe integer, got ${v}`);
}

function hex16(v: number): string {
  return v.toString(16).padStart(16, '0');
}

/** etcd's "%016x-%016x.snap". */
export function snapFileName(term: number, index: number): string {
  assertU53('term', term);
  assertU53('index', index);
  return `${hex16(term)}-${hex16(index)}.snap`;
}

/** The term and index a snapshot file's name stands for; null for any other name (or one beyond 2^53-1). */
export function parseSnapFileName(name: string): SnapshotFileInfo | null {
  const m = NAME_RE.exec(name);
  if (m === null) return null;
  const term = BigInt(`0x${m[1] as string}`);
  const index = BigInt(`0x${m[2] as string}`);
  if (term > MAX_SAFE || index > MAX_SAFE) return null;
  return { term: Number(term), index: Number(index), name };
}

/** The snapshot files among `names`, newest first (by index, then term). */
export function snapshotFilesIn(names: Iterable<string>): SnapshotFileInfo[] {
  const out: SnapshotFileInfo[] = [];
  for (const name of names) {
    const info = parseSnapFileName(name);
    if (info !== null) out.push(info);
  }
  return out.sort((a, b) => b.index - a.index || b.term - a.term);
}

export function encodeSnapshotFile(term: number, index: number, data: SnapshotFileData): Uint8Array {
  const pieces = data instanceof Uint8Array ? [data] : data;
  const length = pieces.reduce((n, p) => n + p.length, 0);
  const header = snapshotFileHeader(term, index, length);
  let crc = crc32(header.subarray(0, CRC_OFFSET));
  for (const p of pieces) crc = crc32(p, crc);
  new DataView(header.buffer).setUint32(CRC_OFFSET, crc);
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES + length);
  out.set(header, 0);
  let offset = SNAPSHOT_HEADER_BYTES;
  for (const p of pieces) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** The header of a file of `length` data bytes, its CRC not yet set (0). */
function snapshotFileHeader(term: number, index: number, length: number): Uint8Array {
  assertU53('term', term);
  assertU53('index', index);
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION);
  view.setBigUint64(12, BigInt(term));
  view.setBigUint64(20, BigInt(index));
  view.setBigUint64(28, BigInt(length));
  return header;
}

/** A file's header and data as pieces, the data not copied; the CRC computed in slices (crc32Pieces). */
async function snapshotFilePieces(term: number, index: number, data: SnapshotFileData, pause?: () => Promise<void>): Promise<Uint8Array[]> {
  const pieces = data instanceof Uint8Array ? [data] : [...data];
  const header = snapshotFileHeader(term, index, pieces.reduce((n, p) => n + p.length, 0));
  const crc = await crc32Pieces(pieces, crc32(header.subarray(0, CRC_OFFSET)), pause);
  new DataView(header.buffer).setUint32(CRC_OFFSET, crc);
  return [header, ...pieces];
}

function safeU64(view: DataView, offset: number, what: string): number {
  const v = view.getBigUint64(offset);
  if (v > MAX_SAFE) throw new Error(`${what} ${v} in the header is beyond Number.MAX_SAFE_INTEGER`);
  return Number(v);
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Checks a snapshot file's bytes completely. Throws an Error whose message names what is wrong:
 * "not a snapshot file (bad magic)", "truncated: N of M bytes", "length mismatch: ...",
 * "checksum mismatch ...", "unsupported format version ...". The data is a view into `bytes`.
 */
export function decodeSnapshotFile(bytes: Uint8Array): { term: number; index: number; data: Uint8Array } {
  for (let i = 0; i < Math.min(bytes.length, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error('not a snapshot file (bad magic)');
  }
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw new Error(`truncated: ${bytes.length} of ${SNAPSHOT_HEADER_BYTES} header bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8);
  if (version !== FORMAT_VERSION) throw new Error(`unsupported format version ${version} (this build reads version ${FORMAT_VERSION})`);
  const term = safeU64(view, 12, 'term');
  const index = safeU64(view, 20, 'index');
  const length = safeU64(view, 28, 'data length');
  const total = SNAPSHOT_HEADER_BYTES + length;
  if (bytes.length < total) throw new Error(`truncated: ${bytes.length} of ${total} bytes`);
  if (bytes.length > total) throw new Error(`length mismatch: the file has ${bytes.length} bytes, its header says ${total} (${SNAPSHOT_HEADER_BYTES} + ${length} of data)`);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + SNAPSHOT_HEADER_BYTES, length);
  const stored = view.getUint32(CRC_OFFSET);
  const computed = crc32(data, crc32(bytes.subarray(0, CRC_OFFSET)));
  if (stored !== computed) throw new Error(`checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
  return { term, index, data };
}

/** Decodes the file `info` names and checks that its header agrees with the name; throws as decodeSnapshotFile. */
export function checkSnapshotFile(info: SnapshotFileInfo, bytes: Uint8Array): LoadedSnapshotFile {
  const decoded = decodeSnapshotFile(bytes);
  if (decoded.term !== info.term || decoded.index !== info.index) {
    throw new Error(`header/name mismatch: the header says term ${decoded.term} index ${decoded.index}, the name says term ${info.term} index ${info.index}`);
  }
  return { term: info.term, index: info.index, name: info.name, data: decoded.data };
}

const errorCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const detailOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function ioError(dir: string, what: string, err: unknown): DataDirError {
  return new DataDirError('io-error', `snapshot files: ${what} in ${dir} failed (${detailOf(err)})`, { cause: err });
}

/** Writes the pieces one after the other from the start of the file (a short write is continued). */
async function writePieces(handle: fs.FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let position = 0;
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; ) {
      const { bytesWritten } = await handle.write(piece, at, Math.min(piece.length - at, WRITE_CHUNK_BYTES), position);
      if (bytesWritten <= 0) throw new Error(`short write at byte ${position}`);
      at += bytesWritten;
      position += bytesWritten;
    }
  }
}

/** The most one write() call hands the kernel (a 2 GiB buffer is beyond what one write takes). */
const WRITE_CHUNK_BYTES = 64 << 20;

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

class FsSnapshotFiles implements SnapshotFiles {
  /** save() and load() run one at a time, so a purge never removes a file a load is reading. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly maxSnapshots: number,
  ) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async save(term: number, index: number, data: SnapshotFileData, options: SaveOptions = {}): Promise<void> {
    // The caller's bytes are written as they are (no copy): it must not change them until save() resolves.
    const name = snapFileName(term, index);
    const pieces = await snapshotFilePieces(term, index, data, options.pause);
    return this.exclusive(async () => {
      const final = path.join(this.dir, name);
      const tmp = final + TMP_SUFFIX;
      try {
        const handle = await fs.open(tmp, 'w');
        try {
          await writePieces(handle, pieces);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, final);
        await fsyncDir(this.dir);
      } catch (err) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw ioError(this.dir, `saving ${name}`, err);
      }
      await this.purge(name);
    });
  }

  /** Removes the oldest .snap files beyond maxSnapshots (etcd fails hard when a purge fails, so do we). */
  private async purge(saved: string): Promise<void> {
    if (this.maxSnapshots === 0) return;
    try {
      for (const old of (await this.readList()).slice(this.maxSnapshots)) {
        await fs.rm(path.join(this.dir, old.name), { force: true });
      }
    } catch (err) {
      throw ioError(this.dir, `removing old snapshot files after ${saved} was saved`, err);
    }
  }

  private async readList(): Promise<SnapshotFileInfo[]> {
    return snapshotFilesIn(await fs.readdir(this.dir));
  }

  async list(): Promise<SnapshotFileInfo[]> {
    try {
      return await this.readList();
    } catch (err) {
      throw ioError(this.dir, 'listing', err);
    }
  }

  load(accept: (info: SnapshotFileInfo) => boolean): Promise<SnapshotLoad> {
    return this.exclusive(async () => {
      const skipped: SnapshotLoad['skipped'] = [];
      for (const info of await this.list()) {
        if (!accept(info)) {
          skipped.push({ name: info.name, reason: 'declined by accept()' });
          continue;
        }
        const file = path.join(this.dir, info.name);
        let bytes: Uint8Array;
        try {
          bytes = await fs.readFile(file);
        } catch (err) {
          if (errorCode(err) === 'ENOENT') {
            skipped.push({ name: info.name, reason: 'removed before it could be read' });
            continue;
          }
          throw ioError(this.dir, `reading ${info.name}`, err);
        }
        try {
          return { loaded: checkSnapshotFile(info, bytes), skipped };
        } catch (err) {
          let reason = detailOf(err);
          try {
            await fs.rename(file, file + BROKEN_SUFFIX);
          } catch (renameErr) {
            reason += ` (could not rename it to ${info.name}${BROKEN_SUFFIX}: ${detailOf(renameErr)})`;
          }
          skipped.push({ name: info.name, reason });
        }
      }
      return { loaded: null, skipped };
    });
  }
}

/**
 * Opens (creating if needed, durably) the snapshot directory `dir` (snapDir(dataDir) for a member)
 * and removes the *.tmp files an interrupted save left. Rejects with DataDirError('io-error').
 */
export async function openSnapshotFiles(dir: string, options: SnapshotFilesOptions = {}): Promise<SnapshotFiles> {
  const maxSnapshots = options.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS;
  assert.ok(Number.isSafeInteger(maxSnapshots) && maxSnapshots >= 0, `snapshot files: maxSnapshots must be a non-negative integer, got ${maxSnapshots}`);
  try {
    const created = await fs.mkdir(dir, { recursive: true });
    if (created !== undefined) {
      // A new directory is durable once its entry in its parent is: fsync the parent of each one created.
      for (let d = path.resolve(dir); ; d = path.dirname(d)) {
        await fsyncDir(path.dirname(d));
        if (d === path.resolve(created)) break;
      }
    }
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(TMP_SUFFIX)) await fs.rm(path.join(dir, entry.name), { force: true });
    }
  } catch (err) {
    throw ioError(dir, 'opening', err);
  }
  return new FsSnapshotFiles(dir, maxSnapshots);
}
