// Serialising the replicated state of the store (tree, index, history) and its stats, for raft
// snapshots. msgpackr, with the tree flattened in pre-order (each node names its parent's ordinal),
// so encoding and decoding are iterative and sibling order (unsorted listings) is preserved.
// SnapshotEncoder writes it in steps of bounded work from a TreeFreeze (the tree as it was at the
// snapshot's index, whatever is applied meanwhile); `nodes` and `history` are written as array 32
// and the nodes packed in batches of a fixed size, so the bytes depend only on the state.
import type { V2Event } from './event.js';
import { EventHistory } from './history.js';
import { joinKey } from './keys.js';
import { packr } from './msgpack.js';
import { MAX_EXPIRATION_MS, StoreNode } from './node.js';
import { countedStats, zeroStats, type StatCounters } from './stats.js';
import { KeyTree, type TreeFreeze } from './tree.js';

const FORMAT_VERSION = 1;
/** A history longer than any configuration keeps: a saved capacity above it is not this code's. */
const MAX_HISTORY_CAPACITY = 1 << 20;

/** [parentOrdinal, name, createdIndex, modifiedIndex, expirationMs, value (null for a directory)] */
type FlatNode = [number, string, number, number, number, string | null];

interface SnapshotWire {
  version: number;
  index: number;
  historyCapacity: number;
  /** The root's children and everything below, pre-order; ordinal 0 is the root. */
  nodes: FlatNode[];
  history: V2Event[];
  stats: StatCounters;
}

export interface SnapshotInput {
  index: number;
  historyCapacity: number;
  root: StoreNode;
  history: V2Event[];
  stats: StatCounters;
}

/**
 * A store snapshot decoded and checked in full, its tree (with the TTL heap) and its history built
 * in objects of their own: Store.restoreFrom only swaps them in, so it cannot fail half-way. They
 * are handed over once (take()): they become that store's own.
 */
export class DecodedSnapshot {
  private parts: { tree: KeyTree; history: EventHistory } | null;

  constructor(
    readonly index: number,
    readonly stats: StatCounters,
    tree: KeyTree,
    history: EventHistory,
  ) {
    this.parts = { tree, history };
  }

  take(): { tree: KeyTree; history: EventHistory } {
    const parts = this.parts;
    if (parts === null) throw new Error('store snapshot: already restored into a store');
    this.parts = null;
    return parts;
  }
}

/** A slice's work: at most this many nodes or events, or about this many bytes of them. */
export interface SliceBudget {
  items: number;
  bytes: number;
}

/** A budget no store reaches: encodes everything in one step. */
export const UNBOUNDED: SliceBudget = { items: Infinity, bytes: Infinity };

export function encodeSnapshot(input: SnapshotInput): Uint8Array {
  const encoder = new SnapshotEncoder(input, null);
  while (!encoder.step(UNBOUNDED));
  return concatPieces(encoder.pieces());
}

/**
 * Encodes a store in steps of bounded work (step()), into pieces whose concatenation is the saved
 * store (msgpack, as decodeSnapshot reads it). With a TreeFreeze, what it encodes is the tree as
 * it was frozen, whatever is applied to the live tree between the steps; without one the tree
 * must not change until it is done. The history and stats of `input` are the caller's copies.
 * The bytes are the same whatever the budget (nodes are packed in batches of a fixed size).
 *
 * Layout: the map of SnapshotWire with `nodes` and `history` as array 32 (their lengths patched
 * in once known), each batch of items packed as packr packs them.
 */
export class SnapshotEncoder {
  private readonly out: Uint8Array[] = [];
  /** Directories whose children are being visited, innermost last (an iterative pre-order walk). */
  private readonly stack: WalkFrame[] = [];
  private batch: FlatNode[] = [];
  private nodeCount = 0;
  private readonly nodesHeader = arrayHeader32();
  private historyNext = 0;
  private phase: 'nodes' | 'history' | 'done' = 'nodes';

  constructor(
    private readonly input: SnapshotInput,
    private readonly freeze: TreeFreeze | null,
  ) {
    if (freeze !== null && freeze.root !== input.root) throw new Error('store snapshot: the freeze is not of this tree');
    this.out.push(Uint8Array.of(0x86)); // fixmap of the 6 SnapshotWire fields, in their order
    this.out.push(packr.pack('version'), packr.pack(FORMAT_VERSION));
    this.out.push(packr.pack('index'), packr.pack(input.index));
    this.out.push(packr.pack('historyCapacity'), packr.pack(input.historyCapacity));
    this.out.push(packr.pack('nodes'), this.nodesHeader);
    this.stack.push(this.frame(input.root, 0));
  }

  /** Encodes about one budget's worth; true once everything is encoded. */
  step(budget: SliceBudget): boolean {
    let items = 0;
    let bytes = 0;
    while (this.phase === 'nodes' && items < budget.items && bytes < budget.bytes) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) {
        this.flushNodes();
        this.nodesHeader.set(u32(this.nodeCount), 1);
        this.out.push(packr.pack('history'), arrayHeader32(this.input.history.length));
        this.phase = 'history';
        break;
      }
      const child = this.nextChild(top);
      if (child === undefined) {
        this.stack.pop();
        continue;
      }
      const kept = this.freeze?.fields(child);
      const value = child.isDir() ? null : (kept?.value ?? child.value);
      this.batch.push([top.ordinal, child.name, child.createdIndex, kept?.modifiedIndex ?? child.modifiedIndex, kept?.expirationMs ?? child.expirationMs, value]);
      this.nodeCount++;
      if (child.isDir()) this.stack.push(this.frame(child, this.nodeCount)); // its ordinal: root is 0, the i-th node is i
      if (this.batch.length === NODES_PER_BATCH) this.flushNodes();
      items++;
      bytes += NODE_OVERHEAD_BYTES + child.name.length + (value?.length ?? 0);
    }
    const history = this.input.history;
    while (this.phase === 'history' && items < budget.items && bytes < budget.bytes) {
      if (this.historyNext === history.length) {
        this.out.push(packr.pack('stats'), packr.pack(this.input.stats));
        this.phase = 'done';
        break;
      }
      const end = Math.min(history.length, this.historyNext + EVENTS_PER_BATCH);
      this.out.push(packItems(history.slice(this.historyNext, end)));
      items += end - this.historyNext;
      bytes += (end - this.historyNext) * EVENT_ESTIMATE_BYTES;
      this.historyNext = end;
    }
    return this.phase === 'done';
  }

  /** Releases the freeze it reads through (idempotent): once done, or when dropped. */
  release(): void {
    this.freeze?.release();
  }

  /** The encoded store as pieces to concatenate (complete once step() returned true). */
  pieces(): readonly Uint8Array[] {
    if (this.phase !== 'done') throw new Error('store snapshot: not fully encoded yet');
    return this.out;
  }

  private flushNodes(): void {
    if (this.batch.length === 0) return;
    this.out.push(packItems(this.batch));
    this.batch = [];
  }

  private frame(dir: StoreNode, ordinal: number): WalkFrame {
    return { dir, ordinal, live: null, next: 0 };
  }

  /**
   * The directory's next child as of the freeze: from its kept children once it changed, else
   * from the live map (unchanged so far, so its order up to `next` is the frozen one).
   */
  private nextChild(frame: WalkFrame): StoreNode | undefined {
    const kept = this.freeze?.fields(frame.dir);
    if (kept !== undefined) return (kept.children as readonly StoreNode[])[frame.next++];
    frame.live ??= frame.dir.dirChildren().values();
    const r = frame.live.next();
    if (r.done === true) return undefined;
    frame.next++;
    return r.value;
  }
}

interface WalkFrame {
  dir: StoreNode;
  ordinal: number;
  /** An iterator of the live children, used only while the directory is unchanged since the freeze. */
  live: Iterator<StoreNode> | null;
  /** How many children were visited. */
  next: number;
}

/** Nodes per packed batch: a fixed size, so that the bytes do not depend on the slice budget. */
const NODES_PER_BATCH = 1024;
const EVENTS_PER_BATCH = 256;
/** What a node costs beyond its name and value, for the byte budget (a rough figure). */
const NODE_OVERHEAD_BYTES = 32;
const EVENT_ESTIMATE_BYTES = 200;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function arrayHeader32(length = 0): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = 0xdd; // array 32
  b.set(u32(length), 1);
  return b;
}

/** The msgpack of the items one after the other: packr's packing of the array without its header. */
function packItems(items: readonly unknown[]): Uint8Array {
  const packed = packr.pack(items);
  const n = items.length;
  const header = n < 16 ? 1 : n < 0x10000 ? 3 : 5;
  const expected = n < 16 ? 0x90 | n : n < 0x10000 ? 0xdc : 0xdd;
  if (packed[0] !== expected) throw new Error(`store snapshot: unexpected msgpack array header 0x${packed[0]?.toString(16)}`);
  return packed.subarray(header);
}

/** One buffer with the pieces one after the other. */
export function concatPieces(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/**
 * Decodes and checks a saved store: every field's type, the tree's structure and indexes (what
 * verify.ts checks), the history's consecutive indexes. Throws an Error naming the problem on anything this code did
 * not write; builds nothing that a caller already holds.
 */
export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  let wire: Partial<SnapshotWire> | null;
  try {
    wire = packr.unpack(data) as Partial<SnapshotWire> | null;
  } catch (err: unknown) {
    throw new Error(`store snapshot: not msgpack (${(err as Error).message})`);
  }
  if (typeof wire !== 'object' || wire === null || wire.version !== FORMAT_VERSION) {
    throw new Error('store snapshot: not a v2 store snapshot of a known version');
  }
  const { index, historyCapacity, nodes, history, stats } = wire;
  const malformed = (why: string): never => {
    throw new Error(`store snapshot: malformed (${why})`);
  };
  if (!isCount(index)) malformed('index');
  if (!isCount(historyCapacity) || historyCapacity < 1 || historyCapacity > MAX_HISTORY_CAPACITY) malformed('history capacity');
  if (!Array.isArray(nodes)) malformed('nodes');
  if (!Array.isArray(history) || history.length > historyCapacity!) malformed('history');
  if (typeof stats !== 'object' || stats === null) malformed('stats');
  const counters = zeroStats();
  for (const name of countedStats) {
    const value = (stats as Record<string, unknown>)[name];
    if (!isCount(value)) malformed(`stats.${name}`);
    counters[name] = value as number;
  }

  const tree = new KeyTree();
  try {
    buildTree(tree, nodes!, index!);
  } catch (err: unknown) {
    malformed((err as Error).message);
  }
  const events = new EventHistory(historyCapacity!);
  for (const ev of history!) {
    if (!isEvent(ev)) malformed('history event');
    try {
      events.add(ev);
    } catch (err: unknown) {
      malformed((err as Error).message);
    }
  }
  if (events.newestIndex() > index!) malformed('the history runs past the index');
  return new DecodedSnapshot(index!, counters, tree, events);
}

/**
 * Rebuilds the saved nodes (and their TTL heap) into an empty tree; throws on a node this code
 * could not have saved. Each node is checked as it is built (O(1) each: a name that is a path
 * segment, under a directory already built, indexes within the store's), which gives every
 * invariant verify.ts checks by construction; verify.ts itself compares every path with its
 * parent's, which flattens the paths of a deep tree (quadratic in its depth).
 */
function buildTree(tree: KeyTree, nodes: unknown[], index: number): void {
  const byOrdinal: StoreNode[] = [tree.root];
  for (const flat of nodes) {
    const at = byOrdinal.length;
    if (!isFlatNode(flat)) throw new Error(`node ${at} is not [parent, name, created, modified, expiration, value]`);
    const [parentOrdinal, name, createdIndex, modifiedIndex, expirationMs, value] = flat;
    const parent = byOrdinal[parentOrdinal];
    if (parent === undefined || !parent.isDir()) throw new Error(`node ${at}: its parent is not a directory saved before it`);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`node ${at}: bad name ${JSON.stringify(name)}`);
    if (!(createdIndex >= 1 && createdIndex <= modifiedIndex && modifiedIndex <= index)) {
      throw new Error(`node ${at}: indexes ${createdIndex}/${modifiedIndex} at store index ${index}`);
    }
    const path = joinKey(parent.path, name);
    const node =
      value === null
        ? StoreNode.dir(path, name, parent, createdIndex, expirationMs)
        : StoreNode.file(path, name, parent, createdIndex, value, expirationMs);
    node.modifiedIndex = modifiedIndex;
    if (parent.dirChildren().has(name)) throw new Error(`node ${at}: a second ${JSON.stringify(name)} in one directory`);
    tree.attach(node);
    byOrdinal.push(node);
  }
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isFlatNode(v: unknown): v is FlatNode {
  if (!Array.isArray(v) || v.length !== 6) return false;
  const [parentOrdinal, name, createdIndex, modifiedIndex, expirationMs, value] = v as unknown[];
  return (
    isCount(parentOrdinal) &&
    typeof name === 'string' &&
    isCount(createdIndex) &&
    isCount(modifiedIndex) &&
    typeof expirationMs === 'number' &&
    expirationMs >= 0 &&
    expirationMs <= MAX_EXPIRATION_MS &&
    (value === null || typeof value === 'string')
  );
}

const ACTIONS: ReadonlySet<unknown> = new Set(['set', 'create', 'update', 'compareAndSwap', 'delete', 'compareAndDelete', 'expire']);

/** The shape the history and the watchers rely on (the fields they read); the rest is rendered as saved. */
function isEvent(v: unknown): v is V2Event {
  if (typeof v !== 'object' || v === null) return false;
  const ev = v as Partial<Record<keyof V2Event, unknown>>;
  if (!ACTIONS.has(ev.action) || !isCount(ev.index) || typeof ev.node !== 'object' || ev.node === null) return false;
  const key = (ev.node as { key?: unknown }).key;
  if (key !== undefined && typeof key !== 'string') return false;
  if (ev.prevNode !== undefined && (typeof ev.prevNode !== 'object' || ev.prevNode === null)) return false;
  return ev.refresh === undefined || typeof ev.refresh === 'boolean';
}
