// A simulated disk under RaftLogStore (src/storage/kv.ts's KvStore contract, as LevelDB keeps it):
// batches are atomic and ordered; a batch completes after a simulated latency; one with
// sync: false is only in the OS's cache until a later synced batch flushes it. At a crash the disk
// keeps what was synced plus a random prefix of the rest (nothing of it after a power loss,
// everything after a plain kill -9), and the batch being written when the crash came is torn: its
// record is either whole or discarded, as LevelDB's log reader discards a torn record.
import type { KvOp, KvRange, KvStore } from '../../../src/storage/kv.js';
import type { Rng } from '../prng.js';
import type { Owner, World } from './world.js';

function keyString(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i] as number);
  return s;
}

function keyBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

type Undo = [string, Uint8Array | undefined][];

/** Applies a batch; returns how to take it back (the previous value of every key it touched). */
function applyOps(map: Map<string, Uint8Array>, ops: readonly KvOp[]): Undo {
  const undo: Undo = [];
  for (const op of ops) {
    const k = keyString(op.key);
    undo.push([k, map.get(k)]);
    if (op.type === 'put') map.set(k, op.value);
    else map.delete(k);
  }
  return undo;
}

function rollBack(map: Map<string, Uint8Array>, undo: Undo): void {
  for (let i = undo.length - 1; i >= 0; i--) {
    const [k, prev] = undo[i] as [string, Uint8Array | undefined];
    if (prev === undefined) map.delete(k);
    else map.set(k, prev);
  }
}

export interface DiskStats {
  batches: number;
  syncedBatches: number;
  crashes: number;
  lostBatches: number;
  tornBatches: number;
}

export class SimDisk {
  /** Completed batches not yet synced, oldest first, with how to take each back. */
  private unsynced: Undo[] = [];
  /** What reads see: the synced state plus the unsynced batches (rolled back at a crash). */
  private current = new Map<string, Uint8Array>();
  /** The batch being written (issued, not completed). */
  private writing: KvOp[] | null = null;
  private openHandle: { closed: boolean } | null = null;
  readonly stats: DiskStats = { batches: 0, syncedBatches: 0, crashes: 0, lostBatches: 0, tornBatches: 0 };
  /** Called after every completed batch with what reads now see (the simulator's checks). */
  onBatch: ((view: ReadonlyMap<string, Uint8Array>) => void) | undefined;

  constructor(
    readonly name: string,
    private readonly world: World,
    private readonly rng: Rng,
    /** Upper bound of one batch's latency in virtual ms (a synced batch takes longer). */
    private readonly maxLatencyMs: number,
  ) {}

  /** Opens the disk for one member incarnation; its pending completions die with `owner`. */
  open(owner: Owner, location: string): KvStore {
    if (this.openHandle !== null && !this.openHandle.closed) throw new Error(`sim disk ${this.name}: opened twice (a LevelDB lock would refuse this)`);
    const handle = { closed: false };
    this.openHandle = handle;
    const check = (what: string): void => {
      if (handle.closed) throw new Error(`sim disk ${this.name}: ${what} after close`);
    };
    return {
      location,
      get: async (key) => {
        check('get');
        return this.current.get(keyString(key));
      },
      batch: (ops, options) => {
        check('batch');
        if (this.writing !== null) throw new Error(`sim disk ${this.name}: overlapping batches`);
        const copy = ops.map((op): KvOp => (op.type === 'put' ? { type: 'put', key: op.key.slice(), value: op.value.slice() } : { type: 'del', key: op.key.slice() }));
        this.writing = copy;
        const latency = this.rng.int(0, options.sync ? this.maxLatencyMs : Math.min(1, this.maxLatencyMs));
        return new Promise<void>((resolve) => {
          this.world.after(
            latency,
            () => {
              if (this.writing !== copy) return; // torn by a crash
              this.writing = null;
              const undo = applyOps(this.current, copy);
              this.stats.batches++;
              if (options.sync) {
                this.unsynced = []; // a synced batch makes every earlier one durable too
                this.stats.syncedBatches++;
              } else {
                this.unsynced.push(undo);
              }
              this.onBatch?.(this.current);
              resolve();
            },
            owner,
          );
        });
      },
      range: (bounds: KvRange, chunkSize: number) => this.range(bounds, chunkSize, check),
      isEmpty: async () => {
        check('isEmpty');
        return this.current.size === 0;
      },
      close: async () => {
        handle.closed = true;
      },
    };
  }

  private async *range(bounds: KvRange, chunkSize: number, check: (what: string) => void): AsyncIterable<[Uint8Array, Uint8Array][]> {
    check('range');
    const lo = keyString(bounds.gte);
    const hi = keyString(bounds.lt);
    const keys = [...this.current.keys()].filter((k) => k >= lo && k < hi).sort();
    for (let i = 0; i < keys.length; i += chunkSize) {
      check('range');
      yield keys.slice(i, i + chunkSize).map((k) => [keyBytes(k), this.current.get(k) as Uint8Array]);
    }
  }

  /**
   * The process (or machine) died: keep the synced state plus a random prefix of the later
   * batches; the batch in progress is part of that prefix only if its record was written whole.
   */
  crash(mode?: 'power-loss' | 'kill'): void {
    this.stats.crashes++;
    if (this.openHandle !== null) this.openHandle.closed = true;
    const completed = this.unsynced.length;
    const pending = completed + (this.writing !== null ? 1 : 0);
    // Weighted towards the two real extremes: a power loss (keep nothing unsynced) and a kill -9
    // (the OS has every completed write; the record being written may be torn).
    const roll = mode === 'power-loss' ? 0 : mode === 'kill' ? 0.5 : this.rng.next();
    let keep: number;
    if (roll < 0.4) keep = 0;
    else if (roll < 0.8) keep = completed + (this.writing !== null && this.rng.chance(0.5) ? 1 : 0);
    else keep = this.rng.int(0, pending);
    if (this.writing !== null && keep < pending) this.stats.tornBatches++;
    this.stats.lostBatches += pending - keep;
    for (let i = completed - 1; i >= keep; i--) rollBack(this.current, this.unsynced[i] as Undo);
    if (this.writing !== null && keep === pending) applyOps(this.current, this.writing);
    this.unsynced = [];
    this.writing = null;
  }

  /** The volume is gone (not mounted, a mistyped --data-dir): the member finds an empty dir. */
  wipe(): void {
    this.crash();
    this.current = new Map();
  }

  /** Everything reads see now (for checks). */
  view(): ReadonlyMap<string, Uint8Array> {
    return this.current;
  }
}

export { keyBytes as simKeyBytes, keyString as simKeyString };
