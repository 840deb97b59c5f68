// The sliding window of MsgApps in flight to one follower, as etcd-io/raft's tracker/inflights.go.
// Bounded in messages (capacity) and in bytes (maxBytes): the leader stops sending entries to a
// follower whose window is full until acknowledgements free it (flow control, "pipelining").
import { assert, panic } from './assert.js';

const EMPTY = new Float64Array(0);

export class Inflights {
  /** Ring buffer of the last entry index of each in-flight message, oldest first. Allocated on
   * first use and grown up to capacityMsgs: most Progress objects (followers') never use it. */
  private indexes: Float64Array = EMPTY;
  /** Payload bytes of each in-flight message, parallel to `indexes`. */
  private sizesBytes: Float64Array = EMPTY;
  private start = 0;
  private countMsgs = 0;
  private totalBytes = 0;

  constructor(
    readonly capacityMsgs: number,
    /** 0 = unlimited. */
    readonly maxBytes: number,
  ) {
    if (!(Number.isInteger(capacityMsgs) && capacityMsgs > 0)) panic(`inflights capacity ${capacityMsgs} must be a positive integer`);
  }

  /** Doubles the buffers (up to capacity), unrolling the ring so that it starts at 0. */
  private grow(): void {
    const size = Math.min(this.capacityMsgs, Math.max(8, this.indexes.length * 2));
    const indexes = new Float64Array(size);
    const sizes = new Float64Array(size);
    for (let i = 0, idx = this.start; i < this.countMsgs; i++) {
      indexes[i] = this.indexes[idx] as number;
      sizes[i] = this.sizesBytes[idx] as number;
      idx++;
      if (idx >= this.indexes.length) idx = 0;
    }
    this.indexes = indexes;
    this.sizesBytes = sizes;
    this.start = 0;
  }

  get count(): number {
    return this.countMsgs;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Records a message whose last entry is `index`. Indexes must be added in increasing order. */
  add(index: number, bytes: number): void {
    assert(!this.full(), 'cannot add into a full inflights window');
    if (this.countMsgs === this.indexes.length) this.grow();
    const size = this.indexes.length;
    let next = this.start + this.countMsgs;
    if (next >= size) next -= size;
    if (this.countMsgs > 0) {
      let last = next - 1;
      if (last < 0) last += size;
      if (!((this.indexes[last] as number) < index)) panic(`inflights must grow: ${this.indexes[last]} then ${index}`);
    }
    this.indexes[next] = index;
    this.sizesBytes[next] = bytes;
    this.countMsgs++;
    this.totalBytes += bytes;
  }

  /** Frees every message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: number): void {
    if (this.countMsgs === 0 || to < (this.indexes[this.start] as number)) return;
    let i = 0;
    let idx = this.start;
    let freedBytes = 0;
    for (; i < this.countMsgs; i++) {
      if (to < (this.indexes[idx] as number)) break;
      freedBytes += this.sizesBytes[idx] as number;
      idx++;
      if (idx >= this.indexes.length) idx -= this.indexes.length;
    }
    this.countMsgs -= i;
    this.totalBytes -= freedBytes;
    this.start = idx;
    if (this.countMsgs === 0) {
      // Restart at the front: keeps the window contiguous in the common idle case.
      this.start = 0;
      this.totalBytes = 0;
    }
  }

  full(): boolean {
    return this.countMsgs === this.capacityMsgs || (this.maxBytes !== 0 && this.totalBytes >= this.maxBytes);
  }

  reset(): void {
    this.start = 0;
    this.countMsgs = 0;
    this.totalBytes = 0;
  }
}
