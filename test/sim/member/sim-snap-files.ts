// Simulated snapshot files (src/storage/snap-files.ts's SnapshotFiles contract) for the whole-member
// simulator. Files hold the real encoded bytes, so load() checks them with the real decoder. A save
// completes after a simulated latency, one at a time, and is durable once its promise resolves (the
// real save fsyncs the file and the directory first). At a crash the save being written is either
// not there at all or there whole, as the rng says (the real one writes a temporary file and renames
// it, and a rename is atomic); the saves queued behind it never started. corrupt() flips a byte of a
// file, as a bad disk would, so that load() must pass it over and rename it to <name>.broken.
import { DataDirError } from '../../../src/storage/errors.js';
import {
  checkSnapshotFile,
  DEFAULT_MAX_SNAPSHOTS,
  encodeSnapshotFile,
  parseSnapFileName,
  snapFileName,
  snapshotFilesIn,
  SnapshotReceiveError,
  type SnapshotFileReader,
  type SnapshotFileData,
  type SnapshotFileInfo,
  type SnapshotFiles,
  type SnapshotLoad,
} from '../../../src/storage/snap-files.js';
import type { Rng } from '../prng.js';
import type { Owner, World } from './world.js';

interface QueuedSave {
  kind: 'save';
  name: string;
  bytes: Uint8Array;
  owner: Owner;
  resolve: () => void;
}

/** A load waits for the saves issued before it, as the real one does. */
interface QueuedLoad {
  kind: 'load';
  run: () => void;
}

export interface SnapFilesStats {
  saves: number;
  crashes: number;
  /** Saves in flight at a crash that left the complete file. */
  keptInFlight: number;
  /** Saves in flight at a crash that left nothing. */
  lostInFlight: number;
  /** Saves queued behind the one in flight at a crash (never started). */
  droppedQueued: number;
  purged: number;
  broken: number;
  /** Snapshot files received from a peer (receive()), and those adopted as this member's snapshot file. */
  received: number;
  adopted: number;
}

/** The pieces openRead() hands out. */
const SIM_CHUNK_BYTES = 64 * 1024;

/**
 * The whole SnapshotFiles contract; `streaming: false` leaves out openRead, receive, readReceived
 * and adoptReceived, as a store that cannot stream (the member then sends snapshots with their data).
 */
export type SimSnapshotFileStore = Pick<SnapshotFiles, 'dir' | 'save' | 'list' | 'load'> & Partial<SnapshotFiles>;

export class SimSnapshotFiles implements SnapshotFiles {
  readonly dir: string;
  private readonly maxSnapshots: number;
  /** What is on disk, by file name (.snap and .broken files), as the real files' bytes. */
  private files = new Map<string, Uint8Array>();
  /**
   * Files received from a peer and not adopted yet (<name>.recv.tmp), by snapshot file name: gone at
   * a crash (the real ones end in .tmp, which an open removes).
   */
  private received = new Map<string, Uint8Array>();
  /** The incarnation using the files; null after a crash until the next open(). */
  private owner: Owner | null = null;
  /** The save being written (issued, not completed). */
  private writing: QueuedSave | null = null;
  private queue: (QueuedSave | QueuedLoad)[] = [];
  readonly stats: SnapFilesStats = { saves: 0, crashes: 0, keptInFlight: 0, lostInFlight: 0, droppedQueued: 0, purged: 0, broken: 0, received: 0, adopted: 0 };

  constructor(
    readonly name: string,
    private readonly world: World,
    private readonly rng: Rng,
    /** Upper bound of one save's latency in virtual ms (write, fsync, rename, directory fsync). */
    private readonly maxLatencyMs: number,
    options: { dir?: string; maxSnapshots?: number } = {},
  ) {
    this.dir = options.dir ?? `sim:${name}/member/snap`;
    this.maxSnapshots = options.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS;
  }

  /**
   * A member incarnation starts using the files; its saves complete only while `owner` lives.
   * A save the previous incarnation left in flight (it exited without crash()) is settled first.
   */
  open(owner: Owner, options: { streaming?: boolean } = {}): SimSnapshotFileStore {
    if (this.owner !== null && !this.owner.dead) throw new Error(`sim snap files ${this.name}: opened while ${this.owner.name} still uses them`);
    this.interrupt();
    this.owner = owner;
    if (options.streaming === false) {
      return { dir: this.dir, save: (t, i, d) => this.save(t, i, d), list: () => this.list(), load: (a) => this.load(a) };
    }
    return this;
  }

  async openRead(term: number, index: number): Promise<SnapshotFileReader> {
    this.live('openRead');
    const name = snapFileName(term, index);
    const bytes = this.files.get(name);
    if (bytes === undefined) throw new DataDirError('snapshot-missing', `snapshot files: ${name} is not in ${this.dir}`);
    // an open file stays readable whatever happens to its name
    return {
      bytes: bytes.length,
      close: async () => undefined,
      async *chunks() {
        for (let at = 0; at < bytes.length; at += SIM_CHUNK_BYTES) yield bytes.subarray(at, Math.min(bytes.length, at + SIM_CHUNK_BYTES));
      },
    };
  }

  async receive(term: number, index: number, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const owner = this.live('receive');
    const name = snapFileName(term, index);
    const parts: Uint8Array[] = [];
    let length = 0;
    for await (const c of chunks) {
      length += c.length;
      if (length > bytes) throw new SnapshotReceiveError(`the snapshot file is longer than the ${bytes} bytes announced`);
      parts.push(c);
    }
    const file = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      file.set(p, at);
      at += p.length;
    }
    if (length !== bytes) throw new SnapshotReceiveError(`truncated: ${length} of ${bytes} bytes of the snapshot file arrived`);
    try {
      checkSnapshotFile({ term, index, name }, file);
    } catch (err) {
      throw new SnapshotReceiveError((err as Error).message);
    }
    if (owner.dead || this.owner !== owner) throw new Error(`sim snap files ${this.name}: the member died while receiving ${name}`);
    this.received.set(name, file);
    this.stats.received++;
  }

  async readReceived(term: number, index: number): Promise<Uint8Array> {
    this.live('readReceived');
    const name = snapFileName(term, index);
    const file = this.received.get(name);
    if (file === undefined) throw new DataDirError('io-error', `snapshot files: no received ${name} in ${this.dir}`);
    return checkSnapshotFile({ term, index, name }, file).data.slice();
  }

  /** As a save of the received bytes under the final name (atomic, after a latency), then older received files go. */
  async adoptReceived(term: number, index: number): Promise<void> {
    const owner = this.live('adoptReceived');
    const name = snapFileName(term, index);
    const bytes = this.received.get(name);
    if (bytes === undefined) throw new DataDirError('io-error', `snapshot files: adopting the received ${name} in ${this.dir} failed (no such file)`);
    for (const other of [...this.received.keys()]) {
      const info = parseSnapFileName(other);
      if (info !== null && info.index <= index) this.received.delete(other);
    }
    this.stats.adopted++;
    return new Promise<void>((resolve) => {
      this.queue.push({ kind: 'save', name, bytes, owner, resolve });
      this.pump();
    });
  }

  private live(what: string): Owner {
    if (this.owner === null || this.owner.dead) throw new Error(`sim snap files ${this.name}: ${what} with no live member (after a crash, before open())`);
    return this.owner;
  }

  async save(term: number, index: number, data: SnapshotFileData): Promise<void> {
    const owner = this.live('save');
    const name = snapFileName(term, index);
    const bytes = encodeSnapshotFile(term, index, data);
    return new Promise<void>((resolve) => {
      this.queue.push({ kind: 'save', name, bytes, owner, resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.writing === null && this.queue.length > 0) {
      const next = this.queue.shift() as QueuedSave | QueuedLoad;
      if (next.kind === 'load') {
        next.run();
        continue;
      }
      this.writing = next;
      this.world.after(
        this.rng.int(0, this.maxLatencyMs),
        () => {
          if (this.writing !== next) return; // settled by a crash
          this.writing = null;
          this.files.set(next.name, next.bytes);
          this.stats.saves++;
          this.purge();
          next.resolve();
          this.pump();
        },
        next.owner,
      );
    }
  }

  private purge(): void {
    if (this.maxSnapshots === 0) return;
    for (const old of snapshotFilesIn(this.files.keys()).slice(this.maxSnapshots)) {
      this.files.delete(old.name);
      this.stats.purged++;
    }
  }

  async list(): Promise<SnapshotFileInfo[]> {
    this.live('list');
    return snapshotFilesIn(this.files.keys());
  }

  async load(accept: (info: SnapshotFileInfo) => boolean): Promise<SnapshotLoad> {
    this.live('load');
    return new Promise<SnapshotLoad>((resolve, reject) => {
      this.queue.push({
        kind: 'load',
        run: () => {
          try {
            resolve(this.loadNow(accept));
          } catch (err) {
            reject(err);
          }
        },
      });
      this.pump();
    });
  }

  private loadNow(accept: (info: SnapshotFileInfo) => boolean): SnapshotLoad {
    const skipped: SnapshotLoad['skipped'] = [];
    for (const info of snapshotFilesIn(this.files.keys())) {
      if (!accept(info)) {
        skipped.push({ name: info.name, reason: 'declined by accept()' });
        continue;
      }
      const bytes = this.files.get(info.name) as Uint8Array;
      try {
        const loaded = checkSnapshotFile(info, bytes);
        return { loaded: { ...loaded, data: loaded.data.slice() }, skipped };
      } catch (err) {
        this.files.delete(info.name);
        this.files.set(`${info.name}.broken`, bytes);
        this.stats.broken++;
        skipped.push({ name: info.name, reason: (err as Error).message });
      }
    }
    return { loaded: null, skipped };
  }

  /** The save in flight leaves its whole file or nothing; the ones queued behind it never started. */
  private interrupt(): void {
    if (this.writing !== null) {
      if (this.rng.chance(0.5)) {
        // Renamed before the crash; the purge that follows a save did not run.
        this.files.set(this.writing.name, this.writing.bytes);
        this.stats.keptInFlight++;
      } else {
        this.stats.lostInFlight++;
      }
      this.writing = null;
    }
    this.stats.droppedQueued += this.queue.filter((q) => q.kind === 'save').length;
    this.queue = [];
    this.received.clear();
  }

  /** The process (or machine) died: every save that resolved stays; the one in flight is all or nothing. */
  crash(): void {
    this.stats.crashes++;
    this.interrupt();
    this.owner = null;
  }

  /** The volume is gone (not mounted, a mistyped --data-dir): the member finds no snapshot. */
  wipe(): void {
    this.crash();
    this.files = new Map();
  }

  /** Test hook: flips one byte of `name` (at `offset`, else at a random one), as a bad disk would. */
  corrupt(name: string, offset?: number): void {
    const bytes = this.files.get(name);
    if (bytes === undefined) throw new Error(`sim snap files ${this.name}: no file ${name} to corrupt`);
    const at = offset ?? this.rng.int(0, bytes.length - 1);
    if (!Number.isInteger(at) || at < 0 || at >= bytes.length) throw new Error(`sim snap files ${this.name}: offset ${at} is outside ${name} (${bytes.length} bytes)`);
    const copy = bytes.slice();
    copy[at] = (copy[at] as number) ^ 0xff;
    this.files.set(name, copy);
  }

  /** Every file in the directory (.snap and .broken), sorted by name (for checks). */
  fileNames(): string[] {
    return [...this.files.keys()].sort();
  }

  /** A file's bytes as on disk (for checks). */
  fileBytes(name: string): Uint8Array | undefined {
    return this.files.get(name);
  }
}
