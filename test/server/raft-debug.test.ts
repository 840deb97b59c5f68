// /debug/raft/status's JSON: etcd-io/raft's Status.MarshalJSON byte for byte (hex ids, %q states,
// progress only on a leader), then etcd-ts's extras.
import { describe, expect, it } from 'vitest';
import { ProgressState } from '../../src/raft/progress.js';
import { Role } from '../../src/raft/role.js';
import type { ProgressStatus, Status } from '../../src/raft/status.js';
import http from 'node:http';
import { raftLogRoute, raftStatusJSON } from '../../src/server/raft-debug.js';

const peer = (id: bigint, match: number, next: number, state: ProgressState): ProgressStatus => ({
  id, match, next, state, recentActive: true, paused: false, inflightMsgs: 0, inflightBytes: 0, pendingSnapshot: 0, isLearner: false,
});

describe('raftStatusJSON', () => {
  it('prints a leader as etcd does, peers by id, then the extras', () => {
    const s: Status = {
      id: 0xabn, term: 7, vote: 0xabn, commit: 41, applied: 40, lastIndex: 42, lead: 0xabn, role: Role.Leader, leadTransferee: 0n,
      progress: [peer(0xcdn, 40, 41, ProgressState.Probe), peer(0xabn, 42, 43, ProgressState.Replicate), peer(0xefn, 12, 13, ProgressState.Snapshot)],
    };
    expect(raftStatusJSON(s, { lastTerm: 7, snapshotIndex: 0, electionTimeoutRemainingMs: null })).toBe(
      '{"id":"ab","term":7,"vote":"ab","commit":41,"lead":"ab","raftState":"StateLeader","applied":40,' +
        '"progress":{"ab":{"match":42,"next":43,"state":"StateReplicate"},"cd":{"match":40,"next":41,"state":"StateProbe"},"ef":{"match":12,"next":13,"state":"StateSnapshot"}},' +
        '"leadtransferee":"0","lastIndex":42,"lastTerm":7,"snapshotIndex":0,"electionTimeoutRemainingMs":null}',
    );
  });

  it('prints a follower with an empty progress, no vote as "0", and parses as JSON', () => {
    const s: Status = { id: 0x1e05c52164694dn, term: 3, vote: 0n, commit: 9, applied: 9, lastIndex: 10, lead: 0x2an, role: Role.Follower, leadTransferee: 0n, progress: [] };
    const text = raftStatusJSON(s, { lastTerm: 3, snapshotIndex: 0, electionTimeoutRemainingMs: 700 });
    expect(text).toBe(
      '{"id":"1e05c52164694d","term":3,"vote":"0","commit":9,"lead":"2a","raftState":"StateFollower","applied":9,"progress":{},"leadtransferee":"0",' +
        '"lastIndex":10,"lastTerm":3,"snapshotIndex":0,"electionTimeoutRemainingMs":700}',
    );
    expect(JSON.parse(text)).toMatchObject({ raftState: 'StateFollower', progress: {} });
  });
});

describe('CORS on the debug routes (the live view on one member reads them all)', () => {
  it('answers any origin for GET, and a preflight (Last-Event-ID) with 204 and GET/HEAD only', async () => {
    const log = { firstIndex: () => 1, lastIndex: () => 0, committed: 0, applied: 0, slice: () => [] };
    const route = raftLogRoute({ raftLog: () => log, events: { lastId: 777 } });
    const server = http.createServer(route);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/debug/raft/log`;
    try {
      const get = await fetch(url, { headers: { Origin: 'http://127.0.0.1:2379' } });
      expect(get.status).toBe(200);
      expect(get.headers.get('access-control-allow-origin')).toBe('*');
      // the newest event id, readable by a page of another origin
      expect(get.headers.get('x-raft-event-id')).toBe('777');
      expect(get.headers.get('access-control-expose-headers')).toBe('X-Raft-Event-Id');
      const pre = await fetch(url, { method: 'OPTIONS', headers: { Origin: 'http://127.0.0.1:2379', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id' } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
      expect(pre.headers.get('access-control-allow-headers')).toContain('last-event-id');
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
