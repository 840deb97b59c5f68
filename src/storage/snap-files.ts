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
  /**
   * Opens <term>-<index>.snap for sending, as it is on disk: its size, and its bytes in chunks of
   * at most READ_CHUNK_BYTES. The file stays readable until close(), even if a purge removes its
   * name meanwhile. Rejects with DataDirError('snapshot-missing') when there is no such file.
   */
  openRead(term: number, index: number): Promise<SnapshotFileReader>;
  /**
   * Writes a snapshot file a peer sends (openRead's bytes on its side) to <name>.recv.tmp, checking
   * as it goes that it is the file of this term and index, of `bytes` bytes, with a valid checksum;
   * fsynced. At most RECEIVE_BUFFER_BYTES are held at a time. Bad input rejects with
   * SnapshotReceiveError (the file is removed); the disk refusing rejects with DataDirError.
   */
  receive(term: number, index: number, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Makes a received file (receive()) the snapshot file <term>-<index>.snap: renamed, directory
   * fsynced, older received files and the oldest .snap files beyond maxSnapshots removed.
   */
  adoptReceived(term: number, index: number): Promise<void>;
  /** The data of a received file (receive()), checked whole: the encoded raft snapshot it holds. */
  readReceived(term: number, index: number): Promise<Uint8Array>;
}

/** A snapshot file opened for reading (SnapshotFiles.openRead). */
export interface SnapshotFileReader {
  /** The file's size: header and data. */
  readonly bytes: number;
  /** The file's bytes from the start, in order; once. */
  chunks(): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** A peer's snapshot file is not what it claims to be (SnapshotFiles.receive): the peer is answered 400. */
export class SnapshotReceiveError extends Error {}

/** The pieces a snapshot file is read in to be sent. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** The most a receive() holds before writing. */
export const RECEIVE_BUFFER_BYTES = 1024 * 1024;

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
/** A file received from a peer and not yet adopted (ends in TMP_SUFFIX: an open removes it). */
const RECEIVED_SUFFIX = '.recv.tmp';
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

/** Throws unless `bytes` starts with the magic (as far as it goes). */
function checkMagic(bytes: Uint8Array): void {
  for (let i = 0; i < Math.min(bytes.length, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error('not a snapshot file (bad magic)');
  }
}

/**
 * The header at the start of `bytes` (at least SNAPSHOT_HEADER_BYTES): magic, format version,
 * term, index, data length and stored CRC. Throws an Error naming what is wrong, as
 * decodeSnapshotFile; the data and the CRC are not checked here.
 */
function readSnapshotHeader(bytes: Uint8Array): { term: number; index: number; length: number; crc: number } {
  checkMagic(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SNAPSHOT_HEADER_BYTES);
  const version = view.getUint32(8);
  if (version !== FORMAT_VERSION) throw new Error(`unsupported format version ${version} (this build reads version ${FORMAT_VERSION})`);
  return { term: safeU64(view, 12, 'term'), index: safeU64(view, 20, 'index'), length: safeU64(view, 28, 'data length'), crc: view.getUint32(CRC_OFFSET) };
}

/**
 * Checks a snapshot file's bytes completely. Throws an Error whose message names what is wrong:
 * "not a snapshot file (bad magic)", "truncated: N of M bytes", "length mismatch: ...",
 * "checksum mismatch ...", "unsupported format version ...". The data is a view into `bytes`.
 */
export function decodeSnapshotFile(bytes: Uint8Array): { term: number; index: number; data: Uint8Array } {
  checkMagic(bytes); // (before the length: a short file of something else is "bad magic", not "truncated")
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw new Error(`truncated: ${bytes.length} of ${SNAPSHOT_HEADER_BYTES} header bytes`);
  const { term, index, length, crc: stored } = readSnapshotHeader(bytes);
  const total = SNAPSHOT_HEADER_BYTES + length;
  if (bytes.length < total) throw new Error(`truncated: ${bytes.length} of ${total} bytes`);
  if (bytes.length > total) throw new Error(`length mismatch: the file has ${bytes.length} bytes, its header says ${total} (${SNAPSHOT_HEADER_BYTES} + ${length} of data)`);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + SNAPSHOT_HEADER_BYTES, length);
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
async function writePieces(handle: fs.FileHandle, pieces: readonly Uint8Array[], start = 0): Promise<void> {
  let position = start;
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
  /** Received files written so far (each under a name of its own until it is whole). */
  private receiving = 0;

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

  async openRead(term: number, index: number): Promise<SnapshotFileReader> {
    const name = snapFileName(term, index);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path.join(this.dir, name), 'r');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw new DataDirError('snapshot-missing', `snapshot files: ${name} is not in ${this.dir}`, { cause: err });
      throw ioError(this.dir, `opening ${name}`, err);
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw ioError(this.dir, `reading ${name}`, err);
    }
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => undefined);
    };
    const dir = this.dir;
    return {
      bytes: size,
      close,
      async *chunks() {
        try {
          for (let position = 0; position < size; ) {
            const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - position));
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
            if (bytesRead <= 0) throw ioError(dir, `reading ${name}`, new Error(`short read at byte ${position} of ${size}`));
            position += bytesRead;
            yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
          }
        } finally {
          await close();
        }
      },
    };
  }

  async receive(term: number, index: number, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const name = snapFileName(term, index);
    // Written under a name of its own, renamed once whole: the same snapshot received twice (a
    // sender that did not hear the first answer) never writes into a file raft may be taking.
    const file = path.join(this.dir, `${name}.${++this.receiving}${TMP_SUFFIX}`);
    const check = new ReceivedFileCheck(term, index, bytes);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'w');
    } catch (err) {
      throw ioError(this.dir, `creating ${name}${RECEIVED_SUFFIX}`, err);
    }
    let ok = false;
    try {
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      let position = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const piece = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        try {
          await writePieces(handle, [piece], position);
        } catch (err) {
          throw ioError(this.dir, `writing ${name}${RECEIVED_SUFFIX}`, err);
        }
        position += piece.length;
      };
      for await (const chunk of chunks) {
        check.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= RECEIVE_BUFFER_BYTES) await flush();
      }
      await flush();
      check.finish();
      try {
        await handle.sync();
      } catch (err) {
        throw ioError(this.dir, `syncing ${name}${RECEIVED_SUFFIX}`, err);
      }
      ok = true;
    } finally {
      await handle.close().catch(() => undefined);
      if (!ok) await fs.rm(file, { force: true }).catch(() => undefined);
    }
    try {
      await fs.rename(file, path.join(this.dir, name + RECEIVED_SUFFIX));
    } catch (err) {
      await fs.rm(file, { force: true }).catch(() => undefined);
      throw ioError(this.dir, `renaming the received ${name}`, err);
    }
  }

  async readReceived(term: number, index: number): Promise<Uint8Array> {
    const name = snapFileName(term, index);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(path.join(this.dir, name + RECEIVED_SUFFIX));
    } catch (err) {
      throw ioError(this.dir, `reading the received ${name}`, err);
    }
    try {
      return checkSnapshotFile({ term, index, name }, bytes).data;
    } catch (err) {
      throw new SnapshotReceiveError(`the received ${name}: ${detailOf(err)}`);
    }
  }

  adoptReceived(term: number, index: number): Promise<void> {
    const name = snapFileName(term, index);
    return this.exclusive(async () => {
      try {
        await fs.rename(path.join(this.dir, name + RECEIVED_SUFFIX), path.join(this.dir, name));
        await fsyncDir(this.dir);
      } catch (err) {
        throw ioError(this.dir, `adopting the received ${name}`, err);
      }
      // Files received before it (snapshots raft took a newer one than, or declined) are of no use.
      try {
        for (const entry of await fs.readdir(this.dir)) {
          if (!entry.endsWith(RECEIVED_SUFFIX)) continue;
          const info = parseSnapFileName(entry.slice(0, -RECEIVED_SUFFIX.length));
          if (info !== null && info.index <= index) await fs.rm(path.join(this.dir, entry), { force: true });
        }
      } catch (err) {
        throw ioError(this.dir, `removing received files older than ${name}`, err);
      }
      await this.purge(name);
    });
  }
}

/**
 * Checks a snapshot file as its bytes arrive (SnapshotFiles.receive): the header once its 36 bytes
 * are in (magic, version, the expected term and index, a data length that makes up the announced
 * size), the checksum over the header and data as they pass, and the size at the end.
 */
class ReceivedFileCheck {
  private readonly header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  private seen = 0;
  private crc = 0;
  private storedCrc = 0;

  constructor(
    private readonly term: number,
    private readonly index: number,
    private readonly bytes: number,
  ) {
    if (bytes < SNAPSHOT_HEADER_BYTES) throw new SnapshotReceiveError(`a snapshot file of ${bytes} bytes is shorter than its header`);
  }

  update(chunk: Uint8Array): void {
    if (this.seen + chunk.length > this.bytes) throw new SnapshotReceiveError(`the snapshot file is longer than the ${this.bytes} bytes announced`);
    let data = chunk;
    if (this.seen < SNAPSHOT_HEADER_BYTES) {
      const take = Math.min(SNAPSHOT_HEADER_BYTES - this.seen, chunk.length);
      this.header.set(chunk.subarray(0, take), this.seen);
      data = chunk.subarray(take);
      this.seen += take;
      if (this.seen === SNAPSHOT_HEADER_BYTES) this.checkHeader();
    }
    if (data.length > 0) {
      this.crc = crc32(data, this.crc);
      this.seen += data.length;
    }
  }

  private checkHeader(): void {
    let header: ReturnType<typeof readSnapshotHeader>;
    try {
      header = readSnapshotHeader(this.header);
    } catch (err) {
      throw new SnapshotReceiveError(detailOf(err));
    }
    const { term, index, length } = header;
    if (term !== this.term || index !== this.index) throw new SnapshotReceiveError(`the file holds the snapshot at index ${index} (term ${term}), the message says index ${this.index} (term ${this.term})`);
    if (SNAPSHOT_HEADER_BYTES + length !== this.bytes) throw new SnapshotReceiveError(`the file's header says ${SNAPSHOT_HEADER_BYTES + length} bytes, ${this.bytes} were announced`);
    this.storedCrc = header.crc;
    this.crc = crc32(this.header.subarray(0, CRC_OFFSET));
  }

  finish(): void {
    if (this.seen !== this.bytes) throw new SnapshotReceiveError(`truncated: ${this.seen} of ${this.bytes} bytes of the snapshot file arrived`);
    if (this.crc !== this.storedCrc) throw new SnapshotReceiveError(`checksum mismatch (stored ${hex32(this.storedCrc)}, computed ${hex32(this.crc)})`);
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
