// Serialising the replicated state of the store (tree, index, history) and its stats, for raft
// snapshots. msgpackr, with the tree flattened in pre-order (each node names its parent's ordinal),
// so encoding and decoding are iterative and sibling order (unsorted listings) is preserved.
import type { V2Event } from './event.js';
import { joinKey } from './keys.js';
import { packr } from './msgpack.js';
import { StoreNode } from './node.js';
import { countedStats, zeroStats, type StatCounters } from './stats.js';
import type { KeyTree } from './tree.js';

const FORMAT_VERSION = 1;

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

export interface DecodedSnapshot {
  index: number;
  historyCapacity: number;
  history: V2Event[];
  stats: StatCounters;
  /** Rebuilds the saved nodes (and their TTL heap) into an empty tree. */
  buildTree(tree: KeyTree): void;
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

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const wire = packr.unpack(data) as Partial<SnapshotWire> | null;
  if (typeof wire !== 'object' || wire === null || wire.version !== FORMAT_VERSION) {
    throw new Error('decodeSnapshot: not a v2 store snapshot of a known version');
  }
  const { index, historyCapacity, nodes, history, stats } = wire;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(historyCapacity) || !Array.isArray(nodes) || !Array.isArray(history)) {
    throw new Error('decodeSnapshot: malformed snapshot');
  }
  const counters = zeroStats();
  for (const name of countedStats) {
    const value = stats?.[name];
    if (typeof value === 'number') counters[name] = value;
  }
  return {
    index: index!,
    historyCapacity: historyCapacity!,
    history,
    stats: counters,
    buildTree(tree: KeyTree): void {
      if (tree.root.dirChildren().size !== 0) throw new Error('decodeSnapshot: tree is not empty');
      const byOrdinal: StoreNode[] = [tree.root];
      for (const [parentOrdinal, name, createdIndex, modifiedIndex, expirationMs, value] of nodes) {
        const parent = byOrdinal[parentOrdinal];
        if (parent === undefined || !parent.isDir()) throw new Error(`decodeSnapshot: bad parent of ${name}`);
        const path = joinKey(parent.path, name);
        const node =
          value === null
            ? StoreNode.dir(path, name, parent, createdIndex, expirationMs)
            : StoreNode.file(path, name, parent, createdIndex, value, expirationMs);
        node.modifiedIndex = modifiedIndex;
        tree.attach(node);
        byOrdinal.push(node);
      }
    },
  };
}
