// The leader's side of read-your-writes after a redirect (AppliedWaits): how many questions it asks
// a member (GET /members/applied), and which writes an answer lets go.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppliedWaits } from '../../src/server/applied-waits.js';
import type { PeerApiReply, PeerClient } from '../../src/server/peer-api.js';
import type { MemberTimers } from '../../src/server/timers.js';

const MEMBER = 0xbn;
const MAX_WAIT_MS = 5000;

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
    maxWaitMs: MAX_WAIT_MS,
    pollMs: 500,
    maxWaiters: 100,
  });
}

/** Whether a promise has settled (after the microtasks queued so far). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('AppliedWaits', () => {
  it('asks once for writes a question on its way covers, and its answer lets them all go', async () => {
    const member = fakeMember();
    const w = waits(member, manualTimers());
    const a = w.wait(MEMBER, 7);
    const b = w.wait(MEMBER, 6);
    const c = w.wait(MEMBER, 7);
    expect(member.asked).toEqual([7]);
    await member.answer(7);
    await expect(Promise.all([a, b, c])).resolves.toEqual(['applied', 'applied', 'applied']);
    expect(member.asked).toEqual([7]);
  });

  it('asks at most 4 questions of a member at once, each for the highest index then waiting', async () => {
    const member = fakeMember();
    const w = waits(member, manualTimers());
    const all = [];
    for (let i = 10; i < 30; i++) all.push(w.wait(MEMBER, i));
    expect(member.asked).toEqual([10, 11, 12, 13]);
    await member.answer(12); // lets 10..12 go, and a question for the highest waiting index leaves
    expect(await settled(all[2] as Promise<unknown>)).toBe(true);
    expect(await settled(all[3] as Promise<unknown>)).toBe(false);
    expect(member.asked).toEqual([10, 11, 12, 13, 29]);
  });

  it('an answer below a write leaves it waiting, and the next question asks for it', async () => {
    const member = fakeMember();
    const w = waits(member, manualTimers());
    const write = w.wait(MEMBER, 9);
    await member.answer(8); // the member held the question its pollMs and said what it had
    expect(await settled(write)).toBe(false);
    expect(member.asked).toEqual([9, 9]);
    await member.answer(9);
    await expect(write).resolves.toBe('applied');
  });

  it('a write the member never answers for ends as a timeout after maxWaitMs', async () => {
    const timers = manualTimers();
    const member = fakeMember();
    const w = waits(member, timers);
    const write = w.wait(MEMBER, 4);
    timers.advance(MAX_WAIT_MS - 1);
    expect(await settled(write)).toBe(false);
    timers.advance(1);
    await expect(write).resolves.toBe('timeout');
  });

  it('asks nothing of a member it has no URL for: the write ends as down', async () => {
    const member = fakeMember();
    const w = waits(member, manualTimers());
    await expect(w.wait(0x99n, 3)).resolves.toBe('down');
    expect(member.asked).toEqual([]);
  });
});
