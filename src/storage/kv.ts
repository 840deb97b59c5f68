// The few operations the raft log needs from an ordered key-value store, so that the same
// RaftLogStore runs on LevelDB in the binary and on the simulated disk of the whole-member
// simulator (test/sim/member/sim-disk.ts), which loses unsynced writes at a crash.
//
// Contract (LevelDB's, which the simulated disk keeps too):
//   - batch() is atomic: after a crash a batch is there whole or not at all;
//   - batches become durable in order: a synced batch makes every earlier batch durable too;
//   - a batch with sync: false may be lost at a crash even after its promise resolved.
import fs from 'node:fs/promises';
import { Level } from 'level';

export type KvOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export interface KvRange {
  gte: Uint8Array;
  lt: Uint8Array;
}

export interface KvStore {
  /** Where the store lives (for error messages). */
  readonly location: string;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  batch(ops: KvOp[], options: { sync: boolean }): Promise<void>;
  /** The pairs with gte <= key < lt in key order, in chunks of at most chunkSize. */
  range(bounds: KvRange, chunkSize: number): AsyncIterable<[Uint8Array, Uint8Array][]>;
  /** Whether the store holds no key at all. */
  isEmpty(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens (creating if needed) the store at `location`. Errors are the store's own (mapped by the caller). */
export type KvOpener = (location: string) => Promise<KvStore>;

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const;

/** LevelDB (classic-level through `level`), keys and values as bytes. */
export const openLevelKv: KvOpener = async (location) => {
  await fs.mkdir(location, { recursive: true });
  const db = new Level<Uint8Array, Uint8Array>(location, VIEW);
  await db.open();
  return {
    location,
    get: (key) => db.get(key, VIEW),
    // A chained batch, not db.batch(ops): the same one atomic LevelDB WriteBatch, but the array
    // form copies and re-validates every operation in JS first, which cost twice the CPU per entry
    // (18 against 7 µs for batches of 8 entries of 256 bytes, `npx tsx bench/storage-bench.ts --batch-forms`).
    batch: (ops, options) => {
      const batch = db.batch();
      try {
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
      } catch (err) {
        void batch.close();
        throw err;
      }
      return batch.write({ sync: options.sync });
    },
    async *range(bounds, chunkSize) {
      const it = db.iterator({ gte: bounds.gte, lt: bounds.lt, ...VIEW });
      try {
        for (;;) {
          const chunk = await it.nextv(chunkSize);
          if (chunk.length === 0) return;
          yield chunk;
        }
      } finally {
        await it.close();
      }
    },
    async isEmpty() {
      const keys = await db.keys({ limit: 1, keyEncoding: 'view' }).all();
      return keys.length === 0;
    },
    close: () => db.close(),
  };
};
