// The live view's reducer (src/ui/view-state.ts): events in, what the page shows out. The page, a
// trace replay and these tests run the same function.
import { describe, expect, it } from 'vitest';
import {
  LOG_WINDOW_ENTRIES,
  MAX_MESSAGES,
  MAX_TIMELINE,
  MESSAGE_FLIGHT_MS,
  currentLeader,
  displayRole,
  emptyState,
  heartbeatPulse,
  heartbeatPulseMs,
  heartbeatRate,
  HEARTBEAT_PULSE_MS,
  isCut,
  logWindow,
  partitionGroup,
  memberAttributes,
  reduce,
  type MemberView,
  type RaftStatusJSON,
  type ViewEvent,
  type ViewState,
} from '../../src/ui/view-state.js';

const members: ViewEvent = {
  kind: 'members',
  at: 1,
  members: [
    { id: 'b2', name: 'infra2', clientURLs: ['http://127.0.0.1:22379'] },
    { id: 'a1', name: 'infra1', clientURLs: ['http://127.0.0.1:2379'] },
    { id: 'c3', name: 'infra3', clientURLs: ['http://127.0.0.1:32379'] },
  ],
};

const raft = (member: string, at: number, event: string, data: Record<string, unknown>): ViewEvent => ({ kind: 'raft', at, member, event: { event, data } });
const run = (events: ViewEvent[], from: ViewState = emptyState()): ViewState => events.reduce(reduce, from);
const m = (s: ViewState, id: string): MemberView => s.members[id] as MemberView;

function status(over: Partial<RaftStatusJSON>): RaftStatusJSON {
  return { id: 'a1', term: 1, vote: '0', commit: 0, lead: '0', raftState: 'StateFollower', applied: 0, progress: {}, lastIndex: 0, lastTerm: 0, snapshotIndex: 0, electionTimeoutRemainingMs: 500, ...over };
}

/** An election in term 2 won by infra1, seen through the three streams. */
const election: ViewEvent[] = [
  members,
  raft('a1', 10, 'role', { role: 'StateFollower', term: 1, lead: '0', commit: 0, applied: 0, initial: true }),
  raft('b2', 10, 'role', { role: 'StateFollower', term: 1, lead: '0', commit: 0, applied: 0, initial: true }),
  raft('c3', 10, 'role', { role: 'StateFollower', term: 1, lead: '0', commit: 0, applied: 0, initial: true }),
  raft('a1', 100, 'role', { role: 'StateCandidate', term: 2, lead: '0' }),
  raft('a1', 100, 'vote', { term: 2, to: 'a1' }),
  raft('a1', 101, 'send', { type: 'MsgVote', peer: 'b2', term: 2, index: 0, commit: 0, entries: 0, reject: false }),
  raft('b2', 102, 'vote', { term: 2, to: 'a1' }),
  raft('a1', 103, 'role', { role: 'StateLeader', term: 2, lead: 'a1' }),
  raft('b2', 104, 'role', { role: 'StateFollower', term: 2, lead: 'a1' }),
  raft('c3', 104, 'role', { role: 'StateFollower', term: 2, lead: 'a1' }),
];

describe('reduce', () => {
  it('orders members by name and takes their first client URL', () => {
    const s = run([members]);
    expect(s.order.map((id) => m(s, id).name)).toEqual(['infra1', 'infra2', 'infra3']);
    expect(m(s, 'c3').clientURL).toBe('http://127.0.0.1:32379');
    // nothing heard yet: no stream open, so nobody is shown as running raft
    expect(s.order.map((id) => displayRole(m(s, id)))).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('follows an election: candidate, votes, one leader in the new term, on the timeline', () => {
    const s = run(election);
    expect(s.order.map((id) => displayRole(m(s, id)))).toEqual(['leader', 'follower', 'follower']);
    expect(currentLeader(s)?.name).toBe('infra1');
    expect(m(s, 'b2')).toMatchObject({ term: 2, vote: 'a1', lead: 'a1' });
    expect(s.highestTerm).toBe(2);
    expect(s.timeline.map((t) => [t.kind, t.text])).toEqual([
      ['term', 'term 2 (infra1)'],
      ['leader', 'infra1 leads term 2'],
    ]);
    expect(memberAttributes(m(s, 'a1'))).toMatchObject({ 'data-member': 'infra1', 'data-role': 'leader', 'data-term': '2' });
    const candidate = run(election.slice(0, 5));
    expect(displayRole(m(candidate, 'a1'))).toBe('candidate');
  });

  it('never mutates the state it is given', () => {
    const before = run(election);
    const snapshot = JSON.stringify(before);
    run([raft('a1', 200, 'commit', { index: 5 }), { kind: 'process', at: 201, member: 'b2', state: 'stopped', action: 'kill' }], before);
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('a killed leader is shown stopped, and the next leader in a higher term becomes current', () => {
    let s = run(election);
    s = run([{ kind: 'process', at: 300, member: 'a1', state: 'stopped', action: 'kill' }, { kind: 'connection', at: 301, member: 'a1', connected: false }], s);
    expect(displayRole(m(s, 'a1'))).toBe('stopped');
    expect(currentLeader(s)).toBeUndefined();
    s = run([raft('b2', 900, 'role', { role: 'StateCandidate', term: 3, lead: '0' }), raft('b2', 910, 'role', { role: 'StateLeader', term: 3, lead: 'b2' })], s);
    expect(currentLeader(s)?.name).toBe('infra2');
    expect(s.timeline.filter((t) => t.kind === 'fault').map((t) => t.text)).toEqual(['infra1: kill', 'infra1: stream closed']);
    expect(s.timeline.at(-1)?.text).toBe('infra2 leads term 3');
  });

  it('a paused member keeps its last raft state but is shown paused; a stale leader in a lower term is not current', () => {
    let s = run(election);
    s = reduce(s, { kind: 'process', at: 300, member: 'a1', state: 'paused', action: 'pause' });
    expect(displayRole(m(s, 'a1'))).toBe('paused');
    expect(m(s, 'a1').raftState).toBe('StateLeader');
    s = run([{ kind: 'process', at: 400, member: 'a1', state: 'running', action: 'resume' }, raft('c3', 401, 'role', { role: 'StateLeader', term: 3, lead: 'c3' })], s);
    // infra1 resumed still believing it leads term 2 until it hears term 3: both are leaders, term 3 is current
    expect(s.order.filter((id) => displayRole(m(s, id)) === 'leader').length).toBe(2);
    expect(currentLeader(s)?.name).toBe('infra3');
  });

  it('an event on a stream whose process was stopped means it runs again', () => {
    let s = run(election);
    s = reduce(s, { kind: 'process', at: 300, member: 'c3', state: 'stopped' });
    s = reduce(s, raft('c3', 400, 'role', { role: 'StateFollower', term: 2, lead: 'a1', commit: 9, applied: 9, initial: true }));
    expect(displayRole(m(s, 'c3'))).toBe('follower');
    expect(m(s, 'c3').commit).toBe(9);
  });

  it('appends fill the log window with terms, commit and apply move the markers', () => {
    let s = run(election);
    s = run(
      [
        raft('a1', 200, 'append', { from: 1, to: 3, fromTerm: 2, toTerm: 2, count: 3, bytes: 30 }),
        raft('a1', 210, 'commit', { index: 2 }),
        raft('a1', 211, 'apply', { index: 1 }),
      ],
      s,
    );
    expect(m(s, 'a1')).toMatchObject({ lastIndex: 3, lastTerm: 2, commit: 2, applied: 1, log: { 1: 2, 2: 2, 3: 2 } });
    // a range across terms: only its last entry's term is known until the log window says
    s = reduce(s, raft('b2', 220, 'append', { from: 1, to: 4, fromTerm: 1, toTerm: 2, count: 4, bytes: 40 }));
    expect(m(s, 'b2').log).toEqual({ 4: 2 });
    s = reduce(s, { kind: 'log', at: 230, member: 'b2', log: { firstIndex: 1, lastIndex: 4, committed: 3, applied: 3, entries: [1, 2, 3, 4].map((index) => ({ index, term: index < 3 ? 1 : 2 })) } });
    expect(m(s, 'b2')).toMatchObject({ log: { 1: 1, 2: 1, 3: 2, 4: 2 }, commit: 3, applied: 3 });
    expect(logWindow(s, 30)).toEqual({ from: 1, to: 4 });
  });

  it('a log window read before a commit the stream already showed never leaves that commit past lastIndex', () => {
    let s = run(election);
    s = run(
      [
        raft('a1', 200, 'append', { from: 1, to: 5, fromTerm: 2, toTerm: 2, count: 5, bytes: 50 }),
        raft('a1', 210, 'commit', { index: 5 }),
        raft('a1', 211, 'apply', { index: 5 }),
      ],
      s,
    );
    // answered by the member at index 4, delivered after the stream's events for index 5
    s = reduce(s, { kind: 'log', at: 230, member: 'a1', log: { firstIndex: 1, lastIndex: 4, committed: 4, applied: 4, entries: [1, 2, 3, 4].map((index) => ({ index, term: 2 })) } });
    expect(m(s, 'a1')).toMatchObject({ lastIndex: 5, commit: 5, applied: 5, log: { 1: 2, 2: 2, 3: 2, 4: 2, 5: 2 } });
    // a fresh window still truncates what is not committed
    s = reduce(s, raft('a1', 240, 'append', { from: 6, to: 7, fromTerm: 2, toTerm: 2, count: 2, bytes: 20 }));
    s = reduce(s, { kind: 'log', at: 250, member: 'a1', log: { firstIndex: 1, lastIndex: 6, committed: 5, applied: 5, entries: [5, 6].map((index) => ({ index, term: 2 })) } });
    expect(m(s, 'a1')).toMatchObject({ lastIndex: 6, commit: 5 });
    expect(m(s, 'a1').log[7]).toBeUndefined();
  });

  it('a status or log answer older than stream events already shown (X-Raft-Event-Id) moves nothing back', () => {
    let s = run(election);
    s = run(
      [
        { ...raft('b2', 200, 'append', { from: 23, to: 24, fromTerm: 3, toTerm: 3, count: 2, bytes: 20 }), id: 41 } as ViewEvent,
        { ...raft('b2', 200, 'commit', { index: 24 }), id: 42 } as ViewEvent,
        { ...raft('b2', 200, 'apply', { index: 24 }), id: 43 } as ViewEvent,
      ],
      s,
    );
    expect(m(s, 'b2')).toMatchObject({ eventId: 43, lastIndex: 24, commit: 24, log: { 23: 3, 24: 3 } });
    // read by the member when it had sent event 40 (before index 24), delivered after event 43
    s = reduce(s, { kind: 'status', at: 210, member: 'b2', eventId: 40, status: status({ id: 'b2', term: m(s, 'b2').term, raftState: 'StateFollower', lastIndex: 23, commit: 23, applied: 23, electionTimeoutRemainingMs: 800 }) });
    expect(m(s, 'b2')).toMatchObject({ lastIndex: 24, commit: 24, applied: 24, log: { 23: 3, 24: 3 }, electionRemainingMs: 800 });
    s = reduce(s, { kind: 'log', at: 220, member: 'b2', eventId: 40, log: { firstIndex: 1, lastIndex: 23, committed: 23, applied: 23, entries: [22, 23].map((index) => ({ index, term: 3 })) } });
    expect(m(s, 'b2')).toMatchObject({ lastIndex: 24, commit: 24, log: { 22: 3, 23: 3, 24: 3 } });
    // an answer read after event 43 is newer than the stream: it moves the view, a truncation included
    s = reduce(s, { kind: 'status', at: 230, member: 'b2', eventId: 43, status: status({ id: 'b2', term: 4, raftState: 'StateFollower', lastIndex: 23, commit: 23, applied: 23 }) });
    expect(m(s, 'b2')).toMatchObject({ term: 4, lastIndex: 23, commit: 23 });
    expect(m(s, 'b2').log[24]).toBeUndefined();
    // without ids (a trace recorded before them) an answer is taken as it comes
    s = reduce(s, { kind: 'status', at: 240, member: 'b2', status: status({ id: 'b2', term: 4, raftState: 'StateFollower', lastIndex: 30, commit: 30, applied: 30 }) });
    expect(m(s, 'b2')).toMatchObject({ lastIndex: 30, commit: 30 });
  });

  it('keeps at most LOG_WINDOW_ENTRIES indexes per member, and forgets indexes past a truncation', () => {
    let s = run(election);
    s = reduce(s, raft('a1', 200, 'append', { from: 1, to: 1000, fromTerm: 2, toTerm: 2, count: 1000, bytes: 0 }));
    const keys = Object.keys(m(s, 'a1').log).map(Number);
    expect(keys.length).toBe(LOG_WINDOW_ENTRIES);
    expect(Math.min(...keys)).toBe(1000 - LOG_WINDOW_ENTRIES + 1);
    s = reduce(s, { kind: 'status', at: 300, member: 'a1', status: status({ raftState: 'StateFollower', term: 3, lastIndex: 990 }) });
    expect(Math.max(...Object.keys(m(s, 'a1').log).map(Number))).toBe(990);
    expect(logWindow(s, 30)).toEqual({ from: 961, to: 990 });
  });

  it('status gives a leader its followers progress and the election timer arc its full circle', () => {
    let s = run(election);
    s = reduce(s, { kind: 'status', at: 500, member: 'a1', status: status({ raftState: 'StateLeader', term: 2, electionTimeoutRemainingMs: null, progress: { b2: { match: 5, next: 6, state: 'StateReplicate' } } }) });
    expect(m(s, 'a1').progress['b2']).toEqual({ match: 5, next: 6, state: 'StateReplicate' });
    s = reduce(s, { kind: 'status', at: 500, member: 'b2', status: status({ id: 'b2', term: 2, electionTimeoutRemainingMs: 900 }) });
    s = reduce(s, { kind: 'status', at: 600, member: 'b2', status: status({ id: 'b2', term: 2, electionTimeoutRemainingMs: 1200 }) });
    s = reduce(s, { kind: 'status', at: 700, member: 'b2', status: status({ id: 'b2', term: 2, electionTimeoutRemainingMs: 300 }) });
    expect(m(s, 'b2')).toMatchObject({ electionRemainingMs: 300, electionFullMs: 1200, electionSeenAt: 700 });
    // a follower's progress from a status is dropped
    s = reduce(s, { kind: 'status', at: 800, member: 'a1', status: status({ raftState: 'StateFollower', term: 3, progress: { b2: { match: 1, next: 2, state: 'StateProbe' } } }) });
    expect(m(s, 'a1').progress).toEqual({});
  });

  it('messages in flight are bounded in number and age; links count a rate per second', () => {
    let s = run(election);
    for (let i = 0; i < 500; i++) s = reduce(s, raft('a1', 1000 + i, 'send', { type: 'MsgHeartbeat', peer: i % 2 ? 'b2' : 'c3', term: 2, entries: 0, reject: false }));
    expect(s.messages.length).toBeLessThanOrEqual(MAX_MESSAGES);
    expect(s.messages.every((x) => s.now - x.at < MESSAGE_FLIGHT_MS)).toBe(true);
    s = reduce(s, raft('a1', 5000, 'send', { type: 'MsgApp', peer: 'b2', term: 2, entries: 1, reject: false }));
    expect(s.messages.map((x) => x.type)).toEqual(['MsgApp']);
    expect(s.linkRates['a1>b2']?.rate).toBe(0); // more than 2 s since the last window
    // a send to a peer the view does not know is not drawn
    expect(reduce(s, raft('a1', 5001, 'send', { type: 'MsgApp', peer: 'ff', term: 2 })).messages.length).toBe(1);
  });

  it('the timeline keeps its newest MAX_TIMELINE entries', () => {
    let s = run([members]);
    for (let i = 0; i < MAX_TIMELINE + 50; i++) s = reduce(s, { kind: 'write', at: i, member: 'infra1', text: `put k${i}` });
    expect(s.timeline.length).toBe(MAX_TIMELINE);
    expect(s.timeline[0]?.text).toBe('put k50');
  });

  it('ignores events of members it does not know and malformed fields', () => {
    const s = run(election);
    expect(reduce(s, raft('zz', 500, 'commit', { index: 4 })).members).toBe(s.members);
    const t = reduce(s, raft('a1', 500, 'commit', { index: 'nine' }));
    expect(m(t, 'a1').commit).toBe(0);
  });

  it('a partition cuts the links between groups, goes on the timeline, and heals', () => {
    let s = run(election);
    s = reduce(s, { kind: 'partition', at: 500, groups: [['infra1'], ['infra2', 'infra3']] });
    expect(isCut(s, 'infra1', 'infra2')).toBe(true);
    expect(isCut(s, 'infra2', 'infra3')).toBe(false);
    expect([partitionGroup(s, 'infra1'), partitionGroup(s, 'infra3')]).toEqual(['0', '1']);
    expect(s.timeline.at(-1)?.text).toBe('partition infra1 | infra2, infra3');
    // the same partition again adds nothing
    expect(reduce(s, { kind: 'partition', at: 600, groups: [['infra1'], ['infra2', 'infra3']] }).timeline.length).toBe(s.timeline.length);
    s = reduce(s, { kind: 'partition', at: 700, groups: null });
    expect(isCut(s, 'infra1', 'infra2')).toBe(false);
    expect(partitionGroup(s, 'infra1')).toBe('');
    expect(s.timeline.at(-1)?.text).toBe('healed');
  });
});

describe('heartbeat links', () => {
  const hb = (at: number, to = 'b2'): ViewEvent => raft('a1', at, 'send', { type: 'MsgHeartbeat', peer: to, term: 2, entries: 0, reject: false });

  it('count the leader\'s heartbeats per link, with a rate per second and a pulse that fades', () => {
    const beats: ViewEvent[] = [];
    for (let t = 1000; t < 3000; t += 100) beats.push(hb(t), hb(t, 'c3'));
    const s = run([...election, ...beats]);
    expect(s.heartbeats['a1>b2']?.beats).toBe(20);
    expect(heartbeatRate(s, 'a1', 'b2', 2900)).toBe(10);
    expect(heartbeatRate(s, 'a1', 'c3', 2950)).toBe(10);
    // nothing the other way, and nothing on a link without heartbeats
    expect(heartbeatRate(s, 'b2', 'a1', 2900)).toBe(0);
    expect(heartbeatRate(s, 'b2', 'c3', 2900)).toBe(0);
    // the pulse: full at a beat, fading, dark before the next beat (10/s: 60 ms of the 100)
    expect(heartbeatPulseMs(10)).toBe(60);
    expect(heartbeatPulseMs(1)).toBe(HEARTBEAT_PULSE_MS);
    expect(heartbeatPulse(s, 'a1', 'b2', 2900)).toBe(1);
    expect(heartbeatPulse(s, 'a1', 'b2', 2930)).toBeCloseTo(0.5);
    expect(heartbeatPulse(s, 'a1', 'b2', 2960)).toBe(0);
    expect(heartbeatPulse(s, 'a1', 'b2', 2990)).toBe(0);
    // beats stop (the leader died): the rate falls to 0 after two seconds
    expect(heartbeatRate(s, 'a1', 'b2', 4000)).toBeGreaterThan(0);
    expect(heartbeatRate(s, 'a1', 'b2', 4900)).toBe(0);
  });

  it('other messages do not count as heartbeats; the entries stay one per link', () => {
    const app = raft('a1', 1000, 'send', { type: 'MsgApp', peer: 'b2', term: 2, entries: 1, reject: false });
    const s = run([...election, app, hb(1001), hb(1100), hb(1200)]);
    expect(Object.keys(s.heartbeats)).toEqual(['a1>b2']);
    expect(s.heartbeats['a1>b2']?.beats).toBe(3);
    expect(heartbeatRate(s, 'a1', 'b2', 1200)).toBe(3); // the first second: the beats so far
  });
});
