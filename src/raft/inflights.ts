// The sliding window of MsgApps in flight to one follower, as etcd-io/raft's tracker/inflights.go.
// Bounded in messages (capacity) and in bytes (maxBytes): the leader stops sending entries to a
// follower whose window is full until acknowledgements free it (flow control, "pipelining").
import { assert, panic } from './assert.js';

export class Inflights {
  /** Ring buffer of the last entry index of each in-flight message, oldest first. */
  private readonly indexes: Float64Array;
  /** Payload bytes of each in-flight message, parallel to `indexes`. */
  private readonly sizesBytes: Float64Array;
  private start = 0;
  private countMsgs = 0;
  private totalBytes = 0;

  constructor(
    readonly capacityMsgs: number,
    /** 0 = unlimited. */
    readonly maxBytes: number,
  ) {
    if (!(Number.isInteger(capacityMsgs) && capacityMsgs > 0)) panic(`inflights capacity ${capacityMsgs} must be a positive integer`);
    this.indexes = new Float64Array(capacityMsgs);
    this.sizesBytes = new Float64Array(capacityMsgs);
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
    let next = this.start + this.countMsgs;
    if (next >= this.capacityMsgs) next -= this.capacityMsgs;
    if (this.countMsgs > 0) {
      let last = next - 1;
      if (last < 0) last += this.capacityMsgs;
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
      if (idx >= this.capacityMsgs) idx -= this.capacityMsgs;
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
