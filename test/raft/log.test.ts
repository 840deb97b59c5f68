// The building blocks: the raft log and its unstable tail, MemoryStorage bounds, the inflight
// window, progress transitions and majority arithmetic.
import { describe, expect, it } from 'vitest';
import { Inflights } from '../../src/raft/inflights.js';
import { MemoryStorage, ProgressState, RaftInvariantError, StorageError, entrySizeBytes, type Entry } from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/log.js';
import { UnstableLog } from '../../src/raft/log-unstable.js';
import { Progress } from '../../src/raft/progress.js';
import { committedIndex, voteResult, VoteResult } from '../../src/raft/quorum.js';
import { mulberry32 } from '../sim/prng.js';
import { entriesFrom, terms } from './helpers.js';

function logWith(stored: number[], unstable: number[] = []): RaftLog {
  const s = new MemoryStorage();
  s.append(entriesFrom(1, ...stored));
  const log = new RaftLog(s, Number.MAX_SAFE_INTEGER);
  log.append(entriesFrom(stored.length + 1, ...unstable));
  return log;
}

describe('RaftLog', () => {
  it('findConflictByTerm finds the last index <= i with term <= t (same answers as a linear scan)', () => {
    const rand = mulberry32(42);
    for (let trial = 0; trial < 200; trial++) {
      const termsList: number[] = [];
      let t = 1;
      const len = 1 + Math.floor(rand() * 30);
      for (let i = 0; i < len; i++) {
        if (rand() < 0.3) t += 1 + Math.floor(rand() * 2);
        termsList.push(t);
      }
      const split = Math.floor(rand() * len);
      const log = logWith(termsList.slice(0, split), termsList.slice(split));
      for (let index = 0; index <= len; index++) {
        for (let term = 0; term <= t + 1; term++) {
          let want = index;
          while (want > 0 && (termsList[want - 1] as number) > term) want--;
          const got = log.findConflictByTerm(index, term);
          expect(got, `log ${termsList} index ${index} term ${term}`).toEqual({ index: want, term: want === 0 ? 0 : termsList[want - 1] });
        }
      }
    }
  });

  it('findConflictByTerm answers "unknown" inside the compacted prefix', () => {
    const s = new MemoryStorage();
    s.append(entriesFrom(1, 1, 2, 3, 4, 5));
    s.compact(3);
    const log = new RaftLog(s, Number.MAX_SAFE_INTEGER);
    expect(log.findConflictByTerm(5, 2)).toEqual({ index: 2, term: 0 });
    expect(log.findConflictByTerm(5, 4)).toEqual({ index: 4, term: 4 });
    expect(log.findConflictByTerm(1, 4)).toEqual({ index: 1, term: 0 });
  });

  it('maybeAppend checks the previous entry, truncates a conflicting tail and commits up to the last new entry', () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(3, 2, 3, [])).toBeUndefined();
    expect(log.maybeAppend(1, 1, 10, entriesFrom(2, 4))).toBe(2);
    expect(terms(log.slice(1, log.lastIndex() + 1, 1e9))).toBe('1/1 4/2');
    expect(log.committed).toBe(2);
    expect(() => log.maybeAppend(0, 0, 0, entriesFrom(1, 9))).toThrow(RaftInvariantError); // below commit
  });

  it('a duplicate or stale append changes nothing', () => {
    const log = logWith([1, 1, 2]);
    expect(log.maybeAppend(0, 0, 0, entriesFrom(1, 1, 1))).toBe(2);
    expect(terms(log.slice(1, 4, 1e9))).toBe('1/1 1/2 2/3');
    expect(log.nextUnstableEnts()).toEqual([]);
  });

  it('slice reads across storage and the unstable tail, bounded in bytes, at least one entry', () => {
    const log = logWith([1, 1, 1], [2, 2, 2]);
    const one = entrySizeBytes(entriesFrom(1, 1)[0] as Entry);
    expect(terms(log.slice(2, 6, 1e9))).toBe('1/2 1/3 2/4 2/5');
    expect(log.slice(2, 7, one * 2).length).toBe(2);
    expect(log.slice(2, 7, one * 3).length).toBe(3); // crosses the boundary
    expect(log.slice(4, 7, 0).length).toBe(1);
    expect(() => log.slice(0, 2, 1e9)).toThrow(StorageError);
    expect(() => log.slice(1, 8, 1e9)).toThrow(RaftInvariantError);
  });

  it('commitTo never moves backwards nor past the last index', () => {
    const log = logWith([1, 1]);
    log.commitTo(2);
    log.commitTo(1);
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(3)).toThrow(/out of range/);
  });

  it('nextCommittedEnts is bounded by the applying budget and resumes after appliedTo', () => {
    const s = new MemoryStorage();
    s.append(entriesFrom(1, 1, 1, 1, 1));
    const one = entrySizeBytes(entriesFrom(1, 1)[0] as Entry);
    const log = new RaftLog(s, 2 * one);
    log.commitTo(4);
    const first = log.nextCommittedEnts();
    expect(first.length).toBe(2);
    log.acceptApplying(2, 2 * one);
    expect(log.nextCommittedEnts()).toEqual([]); // paused: budget used
    log.appliedTo(2, 2 * one);
    expect(terms(log.nextCommittedEnts())).toBe('1/3 1/4');
  });
});

describe('UnstableLog', () => {
  it('truncateAndAppend appends, replaces or truncates, keeping offsetInProgress consistent', () => {
    const u = new UnstableLog(5);
    u.truncateAndAppend(entriesFrom(5, 1, 1, 1));
    u.acceptInProgress();
    expect(u.offsetInProgress).toBe(8);
    u.truncateAndAppend(entriesFrom(7, 2));
    expect(terms(u.entries)).toBe('1/5 1/6 2/7');
    expect(u.offsetInProgress).toBe(7);
    u.truncateAndAppend(entriesFrom(4, 3));
    expect([u.offset, u.offsetInProgress, terms(u.entries)]).toEqual([4, 4, '3/4']);
    u.checkInvariants();
  });

  it('stableTo ignores an entry that was overwritten while it was being written', () => {
    const u = new UnstableLog(1);
    u.truncateAndAppend(entriesFrom(1, 1, 1));
    u.acceptInProgress();
    u.truncateAndAppend(entriesFrom(2, 2));
    u.stableTo(2, 1); // the write of 1/2 completed, but 2/2 replaced it
    expect(terms(u.entries)).toBe('1/1 2/2');
    u.stableTo(1, 1);
    expect([u.offset, terms(u.entries)]).toEqual([2, '2/2']);
  });
});

describe('MemoryStorage', () => {
  it('entries() copies only the requested byte budget', () => {
    const s = new MemoryStorage();
    const ents = entriesFrom(1, ...Array<number>(10_000).fill(1));
    s.append(ents);
    const one = entrySizeBytes(ents[0] as Entry);
    expect(s.entries(1, 10_001, one * 3).length).toBe(3);
    expect(s.entries(5, 10_001, 0).length).toBe(1);
  });

  it('append overwrites a conflicting suffix in place', () => {
    const s = new MemoryStorage();
    s.append(entriesFrom(1, 1, 1, 1, 1));
    s.append(entriesFrom(3, 2));
    expect(s.lastIndex()).toBe(3);
    expect(terms(s.entries(1, 4, 1e9))).toBe('1/1 1/2 2/3');
    expect(() => s.append(entriesFrom(6, 2))).toThrow(/missing log entry/);
  });
});

describe('Inflights', () => {
  it('bounds messages and bytes, frees in order, wraps around', () => {
    const inf = new Inflights(3, 0);
    for (let round = 0; round < 5; round++) {
      const base = round * 10;
      inf.add(base + 1, 10);
      inf.add(base + 2, 10);
      inf.add(base + 3, 10);
      expect(inf.full()).toBe(true);
      expect(() => inf.add(base + 4, 1)).toThrow(RaftInvariantError);
      inf.freeLE(base + 1);
      expect([inf.count, inf.bytes, inf.full()]).toEqual([2, 20, false]);
      inf.freeLE(base + 5);
      expect(inf.count).toBe(0);
    }
    const byBytes = new Inflights(10, 25);
    byBytes.add(1, 10);
    byBytes.add(2, 10);
    expect(byBytes.full()).toBe(false);
    byBytes.add(3, 10);
    expect(byBytes.full()).toBe(true);
  });
});

describe('Progress', () => {
  it('keeps match < next through probe, replicate and snapshot', () => {
    const pr = new Progress(5, 4, 0);
    expect(pr.state).toBe(ProgressState.Probe);
    expect(pr.maybeDecrTo(4, 2)).toBe(true);
    expect(pr.next).toBe(3);
    expect(pr.maybeDecrTo(4, 1)).toBe(false); // stale: not the outstanding probe
    expect(pr.maybeUpdate(3)).toBe(true);
    pr.becomeReplicate();
    expect([pr.match, pr.next]).toEqual([3, 4]);
    pr.sentEntries(2, 10);
    expect(pr.next).toBe(6);
    expect(pr.maybeDecrTo(2, 0)).toBe(false); // below match: stale
    expect(pr.maybeDecrTo(5, 0)).toBe(true);
    expect(pr.next).toBe(4);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});

describe('quorum', () => {
  it('committedIndex is the highest index acknowledged by a majority', () => {
    const acked = new Map([
      [1n, 5],
      [2n, 3],
      [3n, 9],
      [4n, 1],
      [5n, 3],
    ]);
    expect(committedIndex([1n, 2n, 3n, 4n, 5n], (id) => acked.get(id) ?? 0)).toBe(3);
    expect(committedIndex([1n, 2n, 3n], (id) => acked.get(id) ?? 0)).toBe(5);
    expect(committedIndex([3n], (id) => acked.get(id) ?? 0)).toBe(9);
  });

  it('voteResult: won, lost or pending', () => {
    const v = (entries: [bigint, boolean][]): VoteResult => voteResult([1n, 2n, 3n, 4n, 5n], new Map(entries));
    expect(v([[1n, true], [2n, true], [3n, true]])).toBe(VoteResult.Won);
    expect(v([[1n, false], [2n, false], [3n, false]])).toBe(VoteResult.Lost);
    expect(v([[1n, true], [2n, false], [3n, false]])).toBe(VoteResult.Pending);
  });
});
