// Rendering tree nodes as etcd's NodeExtern: the node of a get (with its listing), prevNode snapshots
// and the nodes of write events. Fields are added in etcd's JSON order; absent ones are never set.
import { remainingTtlSeconds, type NodeExtern } from './event.js';
import { compareKeys } from './keys.js';
import type { StoreNode } from './node.js';

interface ExternFields {
  key: string | undefined;
  value: string | undefined;
  dir: boolean;
  /** PERMANENT (0) = no expiration. */
  expirationMs: number;
  expirationText: string;
  nowMs: number;
  nodes: NodeExtern[] | undefined;
  modifiedIndex: number;
  createdIndex: number;
}

function build(f: ExternFields): NodeExtern {
  const out: NodeExtern = {};
  if (f.key !== undefined) out.key = f.key;
  if (f.value !== undefined) out.value = f.value;
  if (f.dir) out.dir = true;
  if (f.expirationMs !== 0) {
    out.expiration = f.expirationText;
    const ttl = remainingTtlSeconds(f.expirationMs, f.nowMs);
    if (ttl !== 0) out.ttl = ttl; // Go's omitempty: a ttl of 0 is not printed
  }
  if (f.nodes !== undefined) out.nodes = f.nodes;
  // Only the root has zero indexes; Go's omitempty drops them (and its key) from the JSON.
  if (f.modifiedIndex !== 0) out.modifiedIndex = f.modifiedIndex;
  if (f.createdIndex !== 0) out.createdIndex = f.createdIndex;
  return out;
}

function externOf(node: StoreNode, nowMs: number, nodes: NodeExtern[] | undefined, modifiedIndex: number): NodeExtern {
  return build({
    key: node.parent === null ? undefined : node.path,
    value: node.isDir() ? undefined : node.value,
    dir: node.isDir(),
    expirationMs: node.expirationMs,
    expirationText: node.isPermanent() ? '' : node.expirationText(),
    nowMs,
    nodes,
    modifiedIndex,
    createdIndex: node.createdIndex,
  });
}

/** The node alone, as prevNode and non-recursive listings show it: never `nodes`. */
export function nodeSnapshot(node: StoreNode, nowMs: number): NodeExtern {
  return externOf(node, nowMs, undefined, node.modifiedIndex);
}

/** A write event's node for a node whose stored modifiedIndex may lag (etcd's dir update quirk). */
export function nodeSnapshotAt(node: StoreNode, nowMs: number, modifiedIndex: number): NodeExtern {
  return externOf(node, nowMs, undefined, modifiedIndex);
}

/** The node of a delete, compareAndDelete or expire event: key, dir, indexes; no value, no TTL. */
export function removalNode(node: StoreNode, modifiedIndex: number): NodeExtern {
  return build({
    key: node.path,
    value: undefined,
    dir: node.isDir(),
    expirationMs: 0,
    expirationText: '',
    nowMs: 0,
    nodes: undefined,
    modifiedIndex,
    createdIndex: node.createdIndex,
  });
}

/**
 * The node of a get (etcd's loadInternalNode): a directory lists its visible children; with
 * `recursive` every level below too, otherwise child directories appear without `nodes`. Hidden
 * names are omitted at every depth; `nodes` is omitted where nothing is visible. `sorted` orders every
 * level byte-wise by key. Iterative, so a deep tree cannot overflow the stack.
 */
export function listing(top: StoreNode, recursive: boolean, sorted: boolean, nowMs: number): NodeExtern {
  const topNodes = top.hasVisibleChild() ? [] : undefined;
  const out = externOf(top, nowMs, topNodes, top.modifiedIndex);
  if (topNodes === undefined) return out;
  const pending: { dir: StoreNode; into: NodeExtern[] }[] = [{ dir: top, into: topNodes }];
  while (pending.length > 0) {
    const { dir, into } = pending.pop()!;
    for (const child of dir.dirChildren().values()) {
      if (child.isHidden()) continue;
      const childNodes = recursive && child.hasVisibleChild() ? [] : undefined;
      into.push(externOf(child, nowMs, childNodes, child.modifiedIndex));
      if (childNodes !== undefined) pending.push({ dir: child, into: childNodes });
    }
    if (sorted) sortByKey(into);
  }
  return out;
}

/** Sorts siblings by key, byte-wise as UTF-8. */
function sortByKey(nodes: NodeExtern[]): void {
  // Without surrogates, UTF-16 code unit order (the engine's own comparison) is UTF-8 byte order.
  const plain = nodes.every((n) => !surrogate.test(n.key ?? ''));
  nodes.sort(plain ? byKeyNative : byKeyUtf8);
}

const surrogate = /[\uD800-\uDFFF]/;

function byKeyNative(a: NodeExtern, b: NodeExtern): number {
  const ka = a.key ?? '';
  const kb = b.key ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function byKeyUtf8(a: NodeExtern, b: NodeExtern): number {
  return compareKeys(a.key ?? '', b.key ?? '');
}
