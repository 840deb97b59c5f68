// Rendering tree nodes as etcd's NodeExtern: the node of a get (with its listing), prevNode snapshots
// and the nodes of write events. Fields are added in etcd's JSON order; absent ones are never set.
import { remainingTtlSeconds, type NodeExtern } from './event.js';
import { compareKeys } from './keys.js';
import type { StoreNode } from './node.js';

function externOf(node: StoreNode, nowMs: number, nodes: NodeExtern[] | undefined, modifiedIndex: number): NodeExtern {
  const out: NodeExtern = {};
  // Only the root has no key and zero indexes; Go's omitempty drops them from the JSON.
  if (node.parent !== null) out.key = node.path;
  if (node.isDir()) out.dir = true;
  else out.value = node.value;
  if (!node.isPermanent()) {
    out.expiration = node.expirationText();
    const ttl = remainingTtlSeconds(node.expirationMs, nowMs);
    if (ttl !== 0) out.ttl = ttl; // Go's omitempty: a ttl of 0 is not printed
  }
  if (nodes !== undefined) out.nodes = nodes;
  if (modifiedIndex !== 0) out.modifiedIndex = modifiedIndex;
  if (node.createdIndex !== 0) out.createdIndex = node.createdIndex;
  return out;
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
  const out: NodeExtern = { key: node.path };
  if (node.isDir()) out.dir = true;
  out.modifiedIndex = modifiedIndex;
  out.createdIndex = node.createdIndex;
  return out;
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
