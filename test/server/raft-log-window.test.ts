// /debug/raft/log's window over raft's real in-memory log (MemoryStorage + RaftLog, compacted).
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/raft/log.js';
import { EntryType, type Entry } from '../../src/raft/messages.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { raftLogWindow, type RaftLogView } from '../../src/server/raft-debug.js';

/** Entries 1..2500 (every 10th a conf change, index i carries i % 7 bytes), compacted below 301. */
function log(): RaftLogView {
  const storage = new MemoryStorage();
  const ents: Entry[] = [];
  for (let i = 1; i <= 2500; i++) ents.push({ index: i, term: i <= 1000 ? 1 : 2, type: i % 10 === 0 ? EntryType.ConfChange : EntryType.Normal, data: new Uint8Array(i % 7) });
  storage.append(ents);
  storage.compact(300);
  const l = new RaftLog(storage, 1 << 20);
  l.commitTo(2400);
  l.appliedTo(2300, 0);
  return l;
}

type Window = { firstIndex: number; lastIndex: number; committed: number; applied: number; compactedBefore?: number; entries: { index: number; term: number; type: string; size: number }[] };

function get(query: string): Window {
  const w = raftLogWindow(log(), query);
  if (w.status !== 200) throw new Error(w.message);
  return JSON.parse(w.body) as Window;
}

describe('raftLogWindow', () => {
  it('defaults to the last 100 entries, metadata only', () => {
    const w = get('');
    expect(Object.keys(w)).toEqual(['firstIndex', 'lastIndex', 'committed', 'applied', 'entries']);
    expect([w.firstIndex, w.lastIndex, w.committed, w.applied]).toEqual([301, 2500, 2400, 2300]);
    expect(w.entries.map((e) => e.index)).toEqual(Array.from({ length: 100 }, (_, i) => 2401 + i));
    expect(w.entries.at(-1)).toEqual({ index: 2500, term: 2, type: 'EntryConfChange', size: 2500 % 7 });
    expect(w.entries[0]).toEqual({ index: 2401, term: 2, type: 'EntryNormal', size: 2401 % 7 });
  });

  it('shows a range, clamps it to 1000 entries and to the last index', () => {
    expect(get('from=500&to=510').entries.map((e) => e.index)).toEqual(Array.from({ length: 11 }, (_, i) => 500 + i));
    const wide = get('from=400&to=2500');
    expect(wide.entries).toHaveLength(1000);
    expect(wide.entries[0]?.index).toBe(400);
    expect(wide.entries.at(-1)?.index).toBe(1399);
    expect(get('from=2450&to=9999').entries.map((e) => e.index).at(-1)).toBe(2500);
    expect(get('from=2450').entries).toHaveLength(51);
    expect(get('to=1000').entries.map((e) => e.index)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
    expect(get('from=3000').entries).toEqual([]);
  });

  it('starts a compacted range at the first index and says so', () => {
    const w = get('from=5&to=320');
    expect(w.compactedBefore).toBe(301);
    expect(w.entries.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => 301 + i));
    expect(get('from=301&to=302').compactedBefore).toBeUndefined();
  });

  it('answers 400 to bad parameters', () => {
    for (const q of ['from=abc', 'to=-1', 'from=1.5', 'from=20&to=10', 'to=1e3']) {
      const w = raftLogWindow(log(), q);
      expect(w.status, q).toBe(400);
    }
  });
});
