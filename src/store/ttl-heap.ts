// Min-heap of the nodes that have a TTL, ordered by expiration, as etcd's ttlKeyHeap: the leader
// reads the top to know when a SYNC is due, and SYNC pops what is due. Ties are broken by key so every
// member expires simultaneous nodes in the same order (and a directory before what it contains).
import type { StoreNode } from './node.js';

export class TtlHeap {
  private readonly slots: StoreNode[] = [];

  size(): number {
    return this.slots.length;
  }

  top(): StoreNode | null {
    return this.slots[0] ?? null;
  }

  push(node: StoreNode): void {
    if (node.heapSlot !== -1) throw new Error(`TtlHeap: ${node.path} is already in the heap`);
    if (node.isPermanent()) throw new Error(`TtlHeap: ${node.path} is permanent`);
    node.heapSlot = this.slots.length;
    this.slots.push(node);
    this.siftUp(node.heapSlot);
  }

  /** Removes the node if it is in the heap (etcd's remove is a no-op for absent nodes). */
  remove(node: StoreNode): void {
    const slot = node.heapSlot;
    if (slot === -1) return;
    if (this.slots[slot] !== node) throw new Error(`TtlHeap: slot of ${node.path} is stale`);
    const last = this.slots.pop()!;
    node.heapSlot = -1;
    if (last === node) return;
    this.slots[slot] = last;
    last.heapSlot = slot;
    this.siftDown(slot);
    this.siftUp(last.heapSlot);
  }

  /** Re-positions a node whose expiration changed (it must be in the heap). */
  update(node: StoreNode): void {
    if (node.heapSlot === -1) throw new Error(`TtlHeap: ${node.path} is not in the heap`);
    this.siftDown(node.heapSlot);
    this.siftUp(node.heapSlot);
  }

  /** Every node in heap-array order: for snapshots and invariant checks only. */
  nodes(): readonly StoreNode[] {
    return this.slots;
  }

  private less(a: StoreNode, b: StoreNode): boolean {
    if (a.expirationMs !== b.expirationMs) return a.expirationMs < b.expirationMs;
    return a.path < b.path;
  }

  private siftUp(slot: number): void {
    let child = slot;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.less(this.slots[child]!, this.slots[parent]!)) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(slot: number): void {
    let parent = slot;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= this.slots.length) return;
      const right = left + 1;
      let smallest = left;
      if (right < this.slots.length && this.less(this.slots[right]!, this.slots[left]!)) smallest = right;
      if (!this.less(this.slots[smallest]!, this.slots[parent]!)) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.slots[i]!;
    const b = this.slots[j]!;
    this.slots[i] = b;
    this.slots[j] = a;
    a.heapSlot = j;
    b.heapSlot = i;
  }
}
