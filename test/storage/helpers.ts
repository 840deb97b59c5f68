// Shared fixtures for the storage tests: temp data dirs and small raft values.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../../src/raft/messages.js';
import { EntryType } from '../../src/raft/messages.js';

export const CLUSTER_ID = 0x7e27_1ab3n;
export const MEMBER_ID = 0x3c1n;

export async function makeTempDir(prefix = 'etcd-ts-storage-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Entries [from, to] with the given term and a payload that encodes the index. */
export function entries(from: number, to: number, term: number, payloadBytes = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    const data = new Uint8Array(payloadBytes);
    new DataView(data.buffer).setUint32(0, i);
    data[payloadBytes - 1] = term & 0xff;
    out.push({ term, index: i, type: EntryType.Normal, data });
  }
  return out;
}

/**
 * A compact, exact description of entries for equality checks: vitest's deep equality walks typed
 * arrays element by element, which is slow for megabytes of payload.
 */
export function describeEntries(ents: readonly Entry[]): string[] {
  return ents.map((e) => `${e.index}/${e.term}/${e.type}/${e.data.constructor.name}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('hex')}`);
}
