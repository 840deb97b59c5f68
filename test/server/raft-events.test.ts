// The /debug/raft/events hub in virtual time: coalescing, sampling, the ring and Last-Event-ID,
// slow subscribers, the subscriber limit, and no work at all while nobody listens.
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/messages.js';
import type { Ready } from '../../src/raft/rawnode.js';
import { Role } from '../../src/raft/role.js';
import { RaftEvents, type EventSink, type RaftEventsState } from '../../src/server/raft-events.js';
import { VirtualTimers } from '../helpers/virtual-timers.js';

interface Parsed {
  id: number | null;
  event: string;
  data: Record<string, unknown>;
}

class FakeSink implements EventSink {
  chunks: string[] = [];
  buffered = 0;
  closed = false;
  write(chunk: string): void {
    this.chunks.push(chunk);
  }
  bufferedBytes(): number {
    return this.buffered;
  }
  close(): void {
    this.closed = true;
  }
  /** The events written so far (comments and retry lines left out). */
  events(): Parsed[] {
    const out: Parsed[] = [];
    for (const c of this.chunks) {
      const lines = c.split('\n').filter((l) => l !== '');
      const ev = lines.find((l) => l.startsWith('event: '));
      if (ev === undefined) continue;
      const id = lines.find((l) => l.startsWith('id: '));
      const data = lines.find((l) => l.startsWith('data: ')) as string;
      out.push({ id: id === undefined ? null : Number(id.slice(4)), event: ev.slice(7), data: JSON.parse(data.slice(6)) as Record<string, unknown> });
    }
    return out;
  }
  named(kind: string): Parsed[] {
    return this.events().filter((e) => e.event === kind);
  }
}

const state: RaftEventsState = { role: Role.Follower, term: 1, lead: 0n, vote: 0n, commit: 0, applied: 0 };

const entry = (index: number, bytes: number): Entry => ({ index, term: 2, type: EntryType.Normal, data: new Uint8Array(bytes) });

const msg = (type: MessageType, from: bigint, to: bigint, extra: Partial<Message> = {}): Message => ({
  type, from, to, term: 2, logTerm: 2, index: 5, entries: [], commit: 4, reject: false, rejectHint: 0, ...extra,
});

const ready = (r: Partial<Ready>): Ready => ({ entries: [], committedEntries: [], messages: [], messagesAfterPersist: [], readStates: [], mustSync: false, ...r });

function hub(timers: VirtualTimers, extra: Partial<ConstructorParameters<typeof RaftEvents>[0]> = {}): RaftEvents {
  return new RaftEvents({ timers, ...extra });
}

describe('RaftEvents', () => {
  it('builds nothing and arms no timer while nobody listens', async () => {
    const t = new VirtualTimers();
    const h = hub(t);
    expect(h.enabled).toBe(false);
    for (let i = 1; i <= 1000; i++) {
      h.onReady(ready({ softState: { role: Role.Leader, lead: 1n }, hardState: { term: 2, vote: 1n, commit: i }, entries: [entry(i, 10)], messages: [msg(MessageType.MsgApp, 1n, 2n)] }), 2);
      h.applied(i);
      h.messages('recv', [msg(MessageType.MsgAppResp, 2n, 1n)]);
      h.snapshotTaken(i, i - 5);
      h.snapshotInstalled(i);
      h.role(Role.Follower, 3, 2n);
    }
    await t.advance(60_000);
    expect(h.built).toBe(0);
    expect(h.lastId).toBe(0);
    expect(t.armed).toBe(0);
  });

  it('coalesces commit/apply/append (latest wins, ranges merged) to at most 20 flushes a second', async () => {
    const t = new VirtualTimers();
    const h = hub(t);
    const s = new FakeSink();
    h.subscribe(s, state);
    // 10,000 Ready rounds over two virtual seconds: one every 0.2 ms
    for (let i = 1; i <= 10_000; i++) {
      h.onReady(ready({ hardState: { term: 2, vote: 1n, commit: i }, entries: [entry(i, 3)] }), 2);
      h.applied(i);
      if (i % 100 === 0) await t.advance(20);
    }
    await t.advance(100);
    expect(h.flushes).toBeGreaterThan(30);
    expect(h.flushes).toBeLessThanOrEqual(41); // 2 s at 20/s, plus the final flush
    const commits = s.named('commit').map((e) => e.data['index'] as number);
    expect(commits.length).toBeLessThanOrEqual(h.flushes);
    expect(commits.at(-1)).toBe(10_000);
    expect(commits).toEqual([...commits].sort((a, b) => a - b));
    expect(s.named('apply').at(-1)?.data['index']).toBe(10_000);
    const appends = s.named('append');
    expect(appends.reduce((n, e) => n + (e.data['count'] as number), 0)).toBe(10_000);
    expect(appends.reduce((n, e) => n + (e.data['bytes'] as number), 0)).toBe(30_000);
    expect(appends[0]?.data['from']).toBe(1);
    expect(appends.at(-1)?.data['to']).toBe(10_000);
    // ids increase by one over everything emitted (after the state frame, which has the id before)
    const ids = s.events().filter((e) => e.id !== null).map((e) => e.id as number);
    expect(ids).toEqual(ids.map((_, i) => i));
  });

  it('keeps every role, vote and snapshot event, sent at once', () => {
    const t = new VirtualTimers();
    const h = hub(t);
    const s = new FakeSink();
    h.subscribe(s, state);
    for (let term = 2; term < 502; term++) {
      h.onReady(ready({ softState: { role: Role.Candidate, lead: 0n }, hardState: { term, vote: 1n, commit: 0 } }), term);
      h.onReady(ready({ softState: { role: Role.Follower, lead: 2n } }), term);
      h.snapshotTaken(term, term - 1);
    }
    h.snapshotInstalled(900);
    const roles = s.named('role').filter((e) => e.data['initial'] !== true);
    expect(roles).toHaveLength(1000);
    expect(roles[0]?.data).toEqual({ role: 'StateCandidate', term: 2, lead: '0' });
    expect(roles[1]?.data).toEqual({ role: 'StateFollower', term: 2, lead: '2' });
    expect(s.named('vote')).toHaveLength(500);
    expect(s.named('vote')[0]?.data).toEqual({ term: 2, to: '1' });
    expect(s.named('snapshot')).toHaveLength(501);
    expect(s.named('snapshot').at(-1)?.data).toEqual({ installed: true, index: 900 });
  });

  it('samples messages per link (from>to>type) and reports the drops', async () => {
    const t = new VirtualTimers();
    const h = hub(t, { messagesPerSecond: 10 });
    const s = new FakeSink();
    h.subscribe(s, state);
    // one second: 50 heartbeats to 2, 50 to 3, 5 appends to 2 (its own link), 30 acks received from 2
    for (let i = 0; i < 50; i++) {
      h.messages('send', [msg(MessageType.MsgHeartbeat, 1n, 2n), msg(MessageType.MsgHeartbeat, 1n, 3n)]);
      if (i < 5) h.messages('send', [msg(MessageType.MsgApp, 1n, 2n, { entries: [entry(6, 1), entry(7, 1)] })]);
      if (i < 30) h.messages('recv', [msg(MessageType.MsgAppResp, 2n, 1n, { reject: i === 0 })]);
      await t.advance(10);
    }
    await t.advance(100);
    const sends = s.named('send');
    expect(sends.filter((e) => e.data['type'] === 'MsgHeartbeat' && e.data['peer'] === '2')).toHaveLength(10);
    expect(sends.filter((e) => e.data['type'] === 'MsgHeartbeat' && e.data['peer'] === '3')).toHaveLength(10);
    expect(sends.filter((e) => e.data['type'] === 'MsgApp')).toHaveLength(5);
    expect(sends.find((e) => e.data['type'] === 'MsgApp')?.data).toEqual({ type: 'MsgApp', peer: '2', term: 2, index: 5, commit: 4, entries: 2, reject: false });
    const recvs = s.named('recv');
    expect(recvs).toHaveLength(10);
    expect(recvs[0]?.data).toMatchObject({ type: 'MsgAppResp', peer: '2', reject: true });
    const dropped = s.named('dropped');
    expect(dropped.reduce((n, e) => n + (e.data['send'] as number), 0)).toBe(80);
    expect(dropped.reduce((n, e) => n + (e.data['recv'] as number), 0)).toBe(20);
    // a new one-second window lets the link through again
    await t.advance(1000);
    h.messages('send', [msg(MessageType.MsgHeartbeat, 1n, 2n)]);
    expect(s.named('send')).toHaveLength(26);
  });

  it('resumes after Last-Event-ID from the ring; an id older than the ring (or unknown) gets a reset', () => {
    const t = new VirtualTimers();
    const h = hub(t, { ringSize: 50 });
    const first = new FakeSink();
    const sub = h.subscribe(first, state);
    for (let i = 0; i < 30; i++) h.role(Role.Follower, i, 2n);
    // resume within the ring: exactly the events after id 20
    const resumed = new FakeSink();
    h.subscribe(resumed, state, 20);
    expect(resumed.events().map((e) => e.id)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(resumed.named('reset')).toHaveLength(0);
    // caught up: nothing replayed, live events follow
    const caughtUp = new FakeSink();
    h.subscribe(caughtUp, state, 30);
    expect(caughtUp.events()).toHaveLength(0);
    for (let i = 30; i < 100; i++) h.role(Role.Follower, i, 2n);
    expect(caughtUp.events().map((e) => e.id)).toEqual(Array.from({ length: 70 }, (_, i) => 31 + i));
    // the ring holds ids 51..100: 50 resumes, 49 is too old
    const edge = new FakeSink();
    h.subscribe(edge, state, 50);
    expect(edge.events().map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => 51 + i));
    const old = new FakeSink();
    h.subscribe(old, { ...state, role: Role.Leader, term: 9, lead: 1n }, 49);
    expect(old.events().map((e) => e.event)).toEqual(['reset', 'role']);
    expect(old.events()[0]).toEqual({ id: null, event: 'reset', data: { lastEventId: 49, oldestId: 51, newestId: 100 } });
    expect(old.events()[1]?.data).toMatchObject({ role: 'StateLeader', term: 9, lead: '1', initial: true });
    // an id from another run of the member (ahead of this one's): reset too
    const future = new FakeSink();
    h.subscribe(future, state, 5000);
    expect(future.events()[0]?.event).toBe('reset');
    sub?.close();
  });

  it('a restarted member (ids from firstId) sends a page reconnecting with its previous run\'s id a reset, never a replay', () => {
    const t = new VirtualTimers();
    // the previous run: started at wall-clock ms 1_000, sent 30 events
    const before = hub(t, { firstId: 1_000 * 100 });
    const page = new FakeSink();
    before.subscribe(page, state);
    for (let i = 0; i < 30; i++) before.role(Role.Follower, i, 2n);
    const lastSeen = page.events().at(-1)?.id as number;
    expect(lastSeen).toBe(100_030);
    // the next run starts one second later and has sent 40 events before the page reconnects
    const after = hub(t, { firstId: 2_000 * 100 });
    const other = new FakeSink();
    after.subscribe(other, state);
    for (let i = 0; i < 40; i++) after.role(Role.Leader, 5, 1n);
    expect(after.lastId).toBe(200_040);
    const again = new FakeSink();
    after.subscribe(again, { ...state, role: Role.Leader, term: 5, lead: 1n }, lastSeen);
    expect(again.events().map((e) => e.event)).toEqual(['reset', 'role']);
    // the state frame carries the newest id: reconnecting with it resumes with what followed
    expect(again.events()[1]?.id).toBe(200_040);
    for (let i = 0; i < 3; i++) after.role(Role.Follower, 6, 2n);
    const resumed = new FakeSink();
    after.subscribe(resumed, state, 200_040);
    expect(resumed.events().map((e) => e.id)).toEqual([200_041, 200_042, 200_043]);
    // with ids from 0 in both runs, the same reconnect would replay the new run's events 31..40 as if nothing had happened
    const zero = hub(t);
    zero.subscribe(new FakeSink(), state);
    for (let i = 0; i < 40; i++) zero.role(Role.Leader, 5, 1n);
    const replayed = new FakeSink();
    zero.subscribe(replayed, state, 30);
    expect(replayed.named('reset')).toHaveLength(0);
    expect(replayed.events()).toHaveLength(10);
  });

  it('disconnects a subscriber whose unsent output is over the cap, others go on', () => {
    const t = new VirtualTimers();
    const h = hub(t, { maxBufferedBytes: 4096 });
    const slow = new FakeSink();
    const fast = new FakeSink();
    h.subscribe(slow, state);
    h.subscribe(fast, state);
    for (let i = 0; i < 200; i++) {
      h.role(Role.Follower, i, 2n);
      slow.buffered = slow.chunks.reduce((n, c) => n + c.length, 0); // nothing ever drains
    }
    expect(slow.closed).toBe(true);
    expect(slow.chunks.reduce((n, c) => n + c.length, 0)).toBeLessThanOrEqual(4096);
    expect(h.slowDisconnects).toBe(1);
    expect(h.subscriberCount).toBe(1);
    expect(fast.closed).toBe(false);
    expect(fast.named('role').filter((e) => e.data['initial'] !== true)).toHaveLength(200);
  });

  it('refuses subscribers beyond the limit, and frees a place when one leaves', () => {
    const t = new VirtualTimers();
    const h = hub(t, { maxSubscribers: 3 });
    const subs = [1, 2, 3].map(() => h.subscribe(new FakeSink(), state));
    expect(subs.every((s) => s !== null)).toBe(true);
    expect(h.full).toBe(true);
    expect(h.subscribe(new FakeSink(), state)).toBeNull();
    subs[0]?.close();
    expect(h.full).toBe(false);
    expect(h.subscribe(new FakeSink(), state)).not.toBeNull();
  });

  it('pings every 15 s while someone listens, and stops its timers when the last one leaves', async () => {
    const t = new VirtualTimers();
    const h = hub(t);
    const s = new FakeSink();
    const sub = h.subscribe(s, state);
    await t.advance(45_000);
    expect(s.chunks.filter((c) => c === ': ping\n\n')).toHaveLength(3);
    h.commit(7);
    sub?.close();
    expect(h.enabled).toBe(false);
    expect(t.armed).toBe(0);
    const built = h.built;
    h.commit(8);
    await t.advance(1000);
    expect(h.built).toBe(built);
  });

  it('closeAll ends every stream', () => {
    const h = hub(new VirtualTimers());
    const a = new FakeSink();
    const b = new FakeSink();
    h.subscribe(a, state);
    h.subscribe(b, state);
    h.closeAll();
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(h.enabled).toBe(false);
  });
});
