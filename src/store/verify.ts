// A full O(n) consistency check of the tree and its TTL heap, for tests and debugging: every broken
// invariant throws. Not on any hot path.
import { joinKey } from './keys.js';
import type { KeyTree } from './tree.js';

export function verifyTree(tree: KeyTree, currentIndex: number): void {
  const fail = (why: string): never => {
    throw new Error(`store invariant violated: ${why}`);
  };
  let ttlNodes = 0;
  const stack = [tree.root];
  if (tree.root.parent !== null || tree.root.path !== '/' || !tree.root.isPermanent()) fail('bad root');
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node !== tree.root) {
      const parent = node.parent ?? fail(`${node.path} has no parent`);
      if (parent.children?.get(node.name) !== node) fail(`${node.path} is not its parent's child`);
      if (node.path !== joinKey(parent.path, node.name)) fail(`${node.path} does not match its name ${node.name}`);
      if (node.name === '' || node.name.includes('/')) fail(`bad name ${node.name}`);
      if (!(node.createdIndex >= 1 && node.createdIndex <= node.modifiedIndex && node.modifiedIndex <= currentIndex)) {
        fail(`${node.path} has indexes ${node.createdIndex}/${node.modifiedIndex} at store index ${currentIndex}`);
      }
      if (node.isDir() && node.value !== '') fail(`directory ${node.path} has a value`);
    }
    if (node.isPermanent()) {
      if (node.heapSlot !== -1) fail(`permanent ${node.path} is in the TTL heap`);
    } else {
      ttlNodes++;
      if (tree.ttlHeap.nodes()[node.heapSlot] !== node) fail(`${node.path} is missing from the TTL heap`);
    }
    if (node.children !== null) for (const child of node.children.values()) stack.push(child);
  }
  if (ttlNodes !== tree.ttlHeap.size()) fail(`TTL heap holds ${tree.ttlHeap.size()} nodes, the tree ${ttlNodes}`);
  const slots = tree.ttlHeap.nodes();
  for (let i = 1; i < slots.length; i++) {
    const parent = slots[(i - 1) >> 1]!;
    const child = slots[i]!;
    if (parent.expirationMs > child.expirationMs) fail(`TTL heap order broken at ${child.path}`);
  }
}
