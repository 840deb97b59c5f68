// Serialising the replicated state of the store (tree, index, history) and its stats, for raft
// snapshots. msgpackr, with the tree flattened in pre-order (each node names its parent's ordinal),
// so encoding and decoding are iterative and sibling order (unsorted listings) is preserved.
import type { V2Event } from './event.js';
import { EventHistory } from './history.js';
import { joinKey } from './keys.js';
import { packr } from './msgpack.js';
import { MAX_EXPIRATION_MS, StoreNode } from './node.js';
import { countedStats, zeroStats, type StatCounters } from './stats.js';
import { KeyTree } from './tree.js';

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

export function encodeSnapshot(input: SnapshotInput): Uint8Array {
  const nodes: FlatNode[] = [];
  const pending: { node: StoreNode; parentOrdinal: number }[] = [];
  const pushChildren = (dir: StoreNode, ordinal: number): void => {
    // Reversed onto the stack so that siblings pop (and are numbered) in insertion order.
    const children = [...dir.dirChildren().values()];
    for (let i = children.length - 1; i >= 0; i--) pending.push({ node: children[i]!, parentOrdinal: ordinal });
  };
  pushChildren(input.root, 0);
  while (pending.length > 0) {
    const { node, parentOrdinal } = pending.pop()!;
    nodes.push([parentOrdinal, node.name, node.createdIndex, node.modifiedIndex, node.expirationMs, node.isDir() ? null : node.value]);
    if (node.isDir()) pushChildren(node, nodes.length); // this node's ordinal: root is 0, nodes[i] is i + 1
  }
  const wire: SnapshotWire = {
    version: FORMAT_VERSION,
    index: input.index,
    historyCapacity: input.historyCapacity,
    nodes,
    history: input.history,
    stats: input.stats,
  };
  return packr.pack(wire);
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
