// The leader's side of read-your-writes after a redirect (AppliedWaits): how many questions it
// asks a member, and when an answer lets a write go without one.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppliedWaits, KNOWN_APPLIED_FRESH_MS } from '../../src/server/applied-waits.js';
import type { PeerApiReply, PeerClient } from '../../src/server/peer-api.js';
import type { MemberTimers } from '../../src/server/timers.js';

const MEMBER = 0xbn;

/** A clock moved by hand; timers fire when it passes them. */
function manualTimers(): MemberTimers & { advance: (ms: number) => void } {
  let now = 0;
  let timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    nowMs: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    setInterval: () => ({ cancel: () => undefined }),
    soon: (fn) => queueMicrotask(fn),
    advance: (ms) => {
      now += ms;
      const due = timers.filter((t) => t.live && t.at <= now);
      timers = timers.filter((t) => t.live && t.at > now);
      for (const t of due) t.fn();
    },
  };
}

/** A member answering GET /members/applied by hand: each question waits until answer() is called. */
function fakeMember(): PeerClient & { asked: number[]; answer: (applied: number) => Promise<void> } {
  const pending: ((r: PeerApiReply) => void)[] = [];
  const asked: number[] = [];
  return {
    asked,
    request: (_url, req) => {
      asked.push(Number(/index=(\d+)/.exec(req.path)?.[1]));
      return new Promise<PeerApiReply>((resolve) => pending.push(resolve));
    },
    answer: async (applied) => {
      pending.shift()?.({ status: 200, headers: {}, body: new Uint8Array(Buffer.from(JSON.stringify({ applied }))) });
      for (let i = 0; i < 5; i++) await Promise.resolve(); // let the promise chain run
    },
  };
}

function waits(member: PeerClient, timers: MemberTimers): AppliedWaits {
  return new AppliedWaits({
    clusterIdHex: 'c1',
    peerClient: member,
    timers,
    logger: pino({ level: 'silent' }),
    peerURLs: (id) => (id === MEMBER ? ['http://127.0.0.1:2380'] : []),
    maxWaitMs: 5000,
    pollMs: 500,
    maxWaiters: 100,
  });
}

describe('AppliedWaits', () => {
  it('asks for an index, and a wait for an index the answer covers asks nothing more', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    const first = w.wait(MEMBER, 7);
    expect(member.asked).toEqual([7]);
    await member.answer(9);
    await expect(first).resolves.toBe('applied');
    // the member said 9: writes up to 9 need no question while the answer is fresh
    await expect(w.wait(MEMBER, 9)).resolves.toBe('applied');
    expect(member.asked).toEqual([7]);
    const later = w.wait(MEMBER, 10);
    expect(member.asked).toEqual([7, 10]);
    await member.answer(10);
    await expect(later).resolves.toBe('applied');
  });

  it('does not use an answer older than KNOWN_APPLIED_FRESH_MS', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    const first = w.wait(MEMBER, 3);
    await member.answer(5);
    await expect(first).resolves.toBe('applied');
    timers.advance(KNOWN_APPLIED_FRESH_MS + 1);
    const again = w.wait(MEMBER, 4);
    expect(member.asked).toEqual([3, 4]);
    await member.answer(5);
    await expect(again).resolves.toBe('applied');
  });

  it('a prefetch asks before the write waits, and its answer lets the write go without another question', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    w.prefetch(MEMBER, 12);
    expect(member.asked).toEqual([12]);
    // the write is applied here and waits while the prefetch is still on the member: no second question
    const write = w.wait(MEMBER, 12);
    expect(member.asked).toEqual([12]);
    await member.answer(12);
    await expect(write).resolves.toBe('applied');
    // a write that finds the answer already there does not wait at all
    w.prefetch(MEMBER, 12);
    expect(member.asked).toEqual([12]);
  });

  it('a prefetch asks once: an answer below it is not followed by another question', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    w.prefetch(MEMBER, 20);
    await member.answer(15); // the member held the question its pollMs and answered what it had
    expect(member.asked).toEqual([20]);
    // the write's own wait asks again, once
    const write = w.wait(MEMBER, 20);
    expect(member.asked).toEqual([20, 20]);
    await member.answer(20);
    await expect(write).resolves.toBe('applied');
  });

  it('asks nothing of a member it has no URL for, and a wait on it ends as down', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    w.prefetch(0x99n, 3);
    await expect(w.wait(0x99n, 3)).resolves.toBe('down');
    expect(member.asked).toEqual([]);
  });
});

describe('AppliedWaits under load', () => {
  it('a prefetch adds no question while one to the member is on its way', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    const write = w.wait(MEMBER, 30);
    expect(member.asked).toEqual([30]);
    for (let i = 31; i < 60; i++) w.prefetch(MEMBER, i);
    expect(member.asked).toEqual([30]);
    await member.answer(30);
    await expect(write).resolves.toBe('applied');
    w.prefetch(MEMBER, 31);
    expect(member.asked).toEqual([30, 31]);
  });
});
