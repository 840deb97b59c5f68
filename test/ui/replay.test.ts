// Replaying recorded runs (src/ui/replay.ts) and recording them (test/sim/member/trace-recorder.ts):
// a whole-member simulator run recorded through each member's real event hub, parsed back, and
// seeked with checkpoints to the same state a straight reduce gives.
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_EVERY, Replay, parseTrace } from '../../src/ui/replay.js';
import { currentLeader, displayRole, emptyState, reduce, type MemberView, type ViewEvent } from '../../src/ui/view-state.js';
import { runMemberSchedule } from '../sim/member/member-schedule.js';
import { STATUS_EVERY_MS, TraceRecorder, parseFrame } from '../sim/member/trace-recorder.js';

describe('parseTrace', () => {
  it('reads NDJSON events, skipping blank lines', () => {
    const text = '{"kind":"members","at":0,"members":[]}\n\n{"kind":"write","at":5,"member":"","text":"x"}\n';
    expect(parseTrace(text).map((e) => e.kind)).toEqual(['members', 'write']);
  });

  it.each([
    ['not json', /line 1: not JSON/],
    ['{"kind":"nope","at":1}', /line 1: not a live view event/],
    ['{"kind":"write"}', /line 1: not a live view event/],
    ['{"kind":"write","at":5,"member":"","text":""}\n{"kind":"write","at":4,"member":"","text":""}', /line 2: time goes back/],
  ])('refuses %s', (text, err) => {
    expect(() => parseTrace(text)).toThrow(err);
  });
});

describe('parseFrame', () => {
  it('reads the hub frames and skips retry and ping', () => {
    expect(parseFrame('id: 3\nevent: commit\ndata: {"index":4}\n\n')).toEqual({ event: 'commit', data: { index: 4 } });
    expect(parseFrame('retry: 1000\n\n')).toBeNull();
    expect(parseFrame(': ping\n\n')).toBeNull();
  });
});

describe('a recorded simulator run', () => {
  let events: ViewEvent[];
  let finalCommit: number;
  beforeAll(async () => {
    let rec: TraceRecorder | undefined;
    const r = await runMemberSchedule(12, { members: 3, faultMs: 4000, faults: ['crash', 'partition'], record: (now) => (rec = new TraceRecorder(now)) });
    expect(r.ok).toBe(true);
    finalCommit = r.stats.maxApplied;
    events = parseTrace((rec as TraceRecorder).text());
  }, 60_000);

  it('holds the members, their processes, streams and raft events, in time order', () => {
    const kinds = new Set(events.map((e) => e.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['connection', 'members', 'process', 'raft', 'status']));
    const raftKinds = new Set(events.flatMap((e) => (e.kind === 'raft' ? [e.event.event] : [])));
    expect([...raftKinds]).toEqual(expect.arrayContaining(['role', 'vote', 'append', 'commit', 'apply', 'send']));
    expect(events.length).toBeGreaterThan(CHECKPOINT_EVERY);
  });

  it('carries periodic status snapshots (bounded): timers for followers, match/next for the leader', () => {
    const statuses = events.filter((e): e is Extract<ViewEvent, { kind: 'status' }> => e.kind === 'status');
    const span = (events[events.length - 1]?.at ?? 0) - (events[0]?.at ?? 0);
    expect(statuses.length).toBeGreaterThan(0);
    // at most one per member per STATUS_EVERY_MS
    expect(statuses.length).toBeLessThanOrEqual(3 * (Math.floor(span / STATUS_EVERY_MS) + 1));
    expect(statuses.some((e) => e.status.raftState === 'StateFollower' && e.status.electionTimeoutRemainingMs !== null)).toBe(true);
    const r = new Replay(events);
    const { state } = r.stateAt(r.endMs);
    const leader = currentLeader(state) as MemberView;
    const followers = state.order.filter((id) => id !== leader.id);
    // the leader's progress: a match and next for each follower, as the log matrix marks them
    for (const id of followers) expect(leader.progress[id]?.next).toBeGreaterThan(0);
    expect(followers.some((id) => (state.members[id] as MemberView).electionRemainingMs !== null)).toBe(true);
  });

  it('replayed to the end: one current leader, and the commits the members reached', () => {
    const r = new Replay(events);
    const { state } = r.stateAt(r.endMs);
    const leader = currentLeader(state);
    expect(leader).toBeDefined();
    expect(leader?.term).toBe(state.highestTerm);
    expect(state.order.map((id) => displayRole(state.members[id] as MemberView)).filter((x) => x === 'leader').length).toBe(1);
    expect(Math.max(...state.order.map((id) => (state.members[id] as MemberView).applied))).toBe(finalCommit);
  });

  it('seeking with checkpoints gives the state a straight reduce gives, at any time', () => {
    const r = new Replay(events);
    const times = [r.startMs, r.startMs + 1, (r.startMs + r.endMs) / 2, events[CHECKPOINT_EVERY]?.at ?? 0, events[CHECKPOINT_EVERY - 1]?.at ?? 0, r.endMs - 1, r.endMs];
    for (const t of times) {
      let s = emptyState();
      for (const e of events) if (e.at <= t) s = reduce(s, e);
      const got = r.stateAt(t).state;
      expect(JSON.stringify({ ...got, now: 0 })).toBe(JSON.stringify({ ...s, now: 0 }));
    }
  });
});
