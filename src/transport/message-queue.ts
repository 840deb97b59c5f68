// A FIFO of messages bounded by count and bytes. Amortized O(1) shift: a head index over an array,
// compacted when the consumed prefix dominates.
import type { Message } from '../raft/messages.js';

export interface QueuedMessage {
  message: Message;
  sizeBytes: number;
  /** message.entries.length, kept beside the size for the batch bound. */
  entries: number;
}

export class MessageQueue {
  private items: QueuedMessage[] = [];
  private head = 0;
  private bytes = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;

  constructor(limits: { maxMessages: number; maxBytes: number }) {
    this.maxMessages = limits.maxMessages;
    this.maxBytes = limits.maxBytes;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Appends unless a bound would be exceeded; returns whether the message was queued. */
  push(item: QueuedMessage): boolean {
    if (this.length >= this.maxMessages) return false;
    if (this.length > 0 && this.bytes + item.sizeBytes > this.maxBytes) return false;
    this.items.push(item);
    this.bytes += item.sizeBytes;
    return true;
  }

  /**
   * Removes and returns the longest prefix within the batch bounds (at least one message: the
   * caller queues no message with more than maxEntries entries, so only maxBytes can be exceeded,
   * by a single large message).
   */
  takeBatch(maxMessages: number, maxBytes: number, maxEntries: number): QueuedMessage[] {
    const batch: QueuedMessage[] = [];
    let bytes = 0;
    let entries = 0;
    while (this.head < this.items.length && batch.length < maxMessages) {
      const next = this.items[this.head] as QueuedMessage;
      if (batch.length > 0 && (bytes + next.sizeBytes > maxBytes || entries + next.entries > maxEntries)) break;
      batch.push(next);
      bytes += next.sizeBytes;
      entries += next.entries;
      this.head++;
    }
    this.bytes -= bytes;
    this.compact();
    return batch;
  }

  /** Empties the queue; returns how many messages were discarded. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
