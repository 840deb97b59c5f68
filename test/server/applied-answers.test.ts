// The member's side of read-your-writes after a redirect (GET /members/applied): a request
// answered because the index got applied leaves no timer behind (one per redirected write).
import { describe, expect, it } from 'vitest';
import { AppliedAnswers } from '../../src/server/applied-waits.js';
import type { MemberTimers } from '../../src/server/timers.js';

function fakeTimers(): MemberTimers & { armed: () => number } {
  let live = 0;
  return {
    nowMs: () => 0,
    setTimeout: () => {
      live++;
      let done = false;
      return {
        cancel: () => {
          if (!done) live--;
          done = true;
        },
      };
    },
    setInterval: () => ({ cancel: () => undefined }),
    soon: (fn) => queueMicrotask(fn),
    armed: () => live,
  };
}

describe('AppliedAnswers', () => {
  it('answers once the index is applied and cancels its timer', async () => {
    let applied = 5;
    const timers = fakeTimers();
    const answers = new AppliedAnswers({ clusterIdHex: 'c1', applied: () => applied, timers, pollMs: 500, maxWaiters: 10 });
    const pending = answers.handle({ method: 'GET', path: '/members/applied', query: 'index=7', headers: { 'x-etcd-cluster-id': 'c1' }, body: new Uint8Array() });
    expect(timers.armed()).toBe(1);
    applied = 7;
    answers.onApplied();
    const reply = await pending;
    expect(reply).toMatchObject({ status: 200, json: { applied: 7 } });
    expect(timers.armed()).toBe(0);
  });
});
