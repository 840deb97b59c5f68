// The "no acknowledged write lost" oracle can fail: each kind of violation it is meant to catch is
// reported, on synthetic member contents (no processes).
import { describe, expect, it } from 'vitest';
import { ackIndexCollisions, checkContent, problemsOf, type Tree } from '../helpers/ledger-check.js';
import type { WriteRecord } from '../helpers/write-load.js';

function rec(key: string, value: string, outcome: WriteRecord['outcome'], index?: number): WriteRecord {
  return { key, value, outcome, via: 'http://m', startedAt: 0, endedAt: 0, ...(index === undefined ? {} : { index }) };
}

function tree(entries: Array<[string, string, number]>): Tree {
  return { values: new Map(entries.map(([k, v]) => [k, v])), indexes: new Map(entries.map(([k, , i]) => [k, i])) };
}

const records = [rec('/p/a', 'va', 'acknowledged', 10), rec('/p/b', 'vb', 'indeterminate'), rec('/p/c', 'vc', 'failed')];

describe('ledger check', () => {
  it('accepts a member holding every acknowledged write, with or without the indeterminate ones', () => {
    expect(problemsOf([checkContent('m1', tree([['/p/a', 'va', 10]]), records)])).toEqual([]);
    expect(problemsOf([checkContent('m1', tree([['/p/a', 'va', 10], ['/p/b', 'vb', 11]]), records)])).toEqual([]);
  });

  it('reports an acknowledged write that is missing, has another value, or sits at another index', () => {
    expect(checkContent('m1', tree([]), records).lost).toHaveLength(1);
    expect(checkContent('m1', tree([['/p/a', 'other', 10]]), records).lost).toHaveLength(1);
    expect(checkContent('m1', tree([['/p/a', 'va', 12]]), records).lost).toHaveLength(1);
  });

  it('reports keys and values never written, and writes that certainly failed but are present', () => {
    const c = checkContent('m1', tree([['/p/a', 'va', 10], ['/p/zz', 'x', 11], ['/p/b', 'not-vb', 12], ['/p/c', 'vc', 13]]), records);
    expect(c.neverWritten).toHaveLength(2);
    expect(c.failedButPresent).toHaveLength(1);
  });

  it('reports members that disagree about an indeterminate write or an index', () => {
    const a = checkContent('m1', tree([['/p/a', 'va', 10], ['/p/b', 'vb', 11]]), records);
    const b = checkContent('m2', tree([['/p/a', 'va', 10]]), records);
    expect(problemsOf([a, b])).toEqual([expect.stringContaining('m1 and m2 differ on 1 keys')]);
  });

  it('reports two acknowledgements at the same index', () => {
    expect(ackIndexCollisions([rec('/p/a', 'va', 'acknowledged', 10), rec('/p/x', 'vx', 'acknowledged', 10)])).toHaveLength(1);
    expect(ackIndexCollisions(records)).toEqual([]);
  });
});
