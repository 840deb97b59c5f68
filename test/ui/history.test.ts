// The live view's scrub-back history (src/ui/history.ts): the state at any kept time is exactly
// what a straight reduce of the events up to then gives, and what it keeps is bounded by time and
// by count, dropping whole chunks from the front.
import { describe, expect, it } from 'vitest';
import { CHUNK_EVENTS, HISTORY_SPAN_MS, LiveHistory, MAX_HISTORY_EVENTS } from '../../src/ui/history.js';
import { currentLeader, emptyState, reduce, type ViewEvent, type ViewState } from '../../src/ui/view-state.js';

const members: ViewEvent = {
  kind: 'members',
  at: 1000,
  members: [
    { id: 'a1', name: 'infra1', clientURLs: ['http://127.0.0.1:2379'] },
    { id: 'b2', name: 'infra2', clientURLs: ['http://127.0.0.1:22379'] },
    { id: 'c3', name: 'infra3', clientURLs: ['http://127.0.0.1:32379'] },
  ],
};
const raft = (member: string, at: number, event: string, data: Record<string, unknown>): ViewEvent => ({ kind: 'raft', at, member, event: { event, data } });

/** A cluster whose leadership moves a1 -> b2 -> c3 ..., one term every 10 s, heartbeats every 100 ms. */
function events(durationMs: number, startAt = 1000): ViewEvent[] {
  const ids = ['a1', 'b2', 'c3'];
  const out: ViewEvent[] = [{ ...members, at: startAt }];
  for (let t = startAt + 10; t < startAt + durationMs; t += 100) {
    const term = 2 + Math.floor((t - startAt) / 10_000);
    const leader = ids[term % 3] as string;
    if ((t - startAt - 10) % 10_000 === 0) {
      for (const id of ids) out.push(raft(id, t, 'role', { role: id === leader ? 'StateLeader' : 'StateFollower', term, lead: leader }));
    }
    for (const id of ids) if (id !== leader) out.push(raft(leader, t, 'send', { type: 'MsgHeartbeat', peer: id, term, entries: 0, reject: false }));
    if ((t - startAt) % 1000 === 10) out.push(raft(leader, t, 'commit', { index: (t - startAt) / 1000 }));
  }
  return out;
}

const straight = (evs: readonly ViewEvent[], t: number): ViewState => {
  let s = emptyState();
  for (const e of evs) if (e.at <= t) s = reduce(s, e);
  return s;
};
const same = (a: ViewState, b: ViewState): void => expect(JSON.stringify({ ...a, now: 0 })).toBe(JSON.stringify({ ...b, now: 0 }));

describe('LiveHistory', () => {
  it('its present is the reducer applied to every event', () => {
    const evs = events(30_000);
    const h = new LiveHistory(emptyState());
    for (const e of evs) h.apply(e);
    same(h.state, straight(evs, Infinity));
    expect(h.endMs).toBe(evs[evs.length - 1]?.at);
  });

  it('the state at a past time is what a straight reduce up to then gives (checkpoints in between)', () => {
    const evs = events(60_000);
    const h = new LiveHistory(emptyState());
    for (const e of evs) h.apply(e);
    expect(h.checkpoints).toBeGreaterThan(2);
    for (const t of [1000, 1005, 1010, 5_432, 10_999, 11_010, 25_000, 40_010, 60_999, 61_000]) {
      const got = h.stateAt(t);
      same(got, straight(evs, t));
      expect(got.now).toBeGreaterThanOrEqual(Math.min(t, h.endMs));
    }
    // the leader before a change of leadership is the one shown then
    expect(currentLeader(h.stateAt(10_900))?.name).toBe('infra3'); // term 2: c3
    expect(currentLeader(h.stateAt(11_100))?.name).toBe('infra1'); // term 3: a1
  });

  it('keeps at most the span: older whole chunks go, what is kept stays exact', () => {
    const spanMs = 20_000;
    const evs = events(90_000);
    const h = new LiveHistory(emptyState(), { spanMs, maxEvents: 1_000_000, chunkEvents: 50 });
    for (const e of evs) h.apply(e);
    const end = h.endMs;
    // nothing older than the span plus one chunk's worth of time is kept
    expect(h.startMs).toBeGreaterThanOrEqual(end - spanMs - 2_000);
    expect(h.startMs).toBeLessThanOrEqual(end - spanMs);
    for (const t of [end - spanMs, end - spanMs / 2, end - 1]) same(h.stateAt(t), straight(evs, t));
    // before the kept history: the oldest checkpoint, never an error
    expect(h.stateAt(0).order.length).toBe(3);
    same(h.state, straight(evs, Infinity));
  });

  it('keeps at most maxEvents events (whole chunks), and so at most maxEvents / chunk + 1 checkpoints', () => {
    const h = new LiveHistory(emptyState(), { spanMs: Infinity, maxEvents: 500, chunkEvents: 100 });
    const evs = events(120_000);
    let most = 0;
    for (const e of evs) {
      h.apply(e);
      most = Math.max(most, h.size);
      expect(h.checkpoints).toBeLessThanOrEqual(500 / 100 + 1);
    }
    expect(most).toBeLessThanOrEqual(500 + 100);
    expect(h.size).toBeGreaterThanOrEqual(500);
    const t = h.startMs + 10;
    same(h.stateAt(t), straight(evs, t));
  });

  it('the defaults: five minutes, and a stated event bound', () => {
    expect(HISTORY_SPAN_MS).toBe(5 * 60_000);
    expect(MAX_HISTORY_EVENTS).toBe(40_000);
    expect(CHUNK_EVENTS).toBeGreaterThan(0);
    const h = new LiveHistory(emptyState());
    for (const e of events(7 * 60_000)) h.apply(e);
    expect(h.size).toBeLessThanOrEqual(MAX_HISTORY_EVENTS + CHUNK_EVENTS);
    expect(h.startMs).toBeGreaterThanOrEqual(h.endMs - HISTORY_SPAN_MS - 30_000);
  });
});
