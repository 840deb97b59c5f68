import { describe, expect, it } from 'vitest';
import { ProposalError } from '../../src/server/backend.js';
import { ReadBarrier, type ReadBarrierOptions } from '../../src/server/read-barrier.js';

/** A barrier over a fake raft: contexts it was asked for, a settable applied index and clock. */
function fixture(overrides: Partial<ReadBarrierOptions> = {}) {
  const asked: Uint8Array[] = [];
  const state = { applied: 0, now: 0, refuse: false };
  const barrier = new ReadBarrier({
    memberId: 0x1234n,
    requestReadIndex: (ctx) => {
      if (state.refuse) throw new Error('no leader');
      asked.push(ctx);
    },
    appliedIndex: () => state.applied,
    nowMs: () => state.now,
    timeoutMs: 1000,
    retryAfterMs: 300,
    maxWaiters: 4,
    ...overrides,
  });
  return { barrier, asked, state };
}

/** Settles within the current turn or reports 'pending'. */
async function settled(p: Promise<void>): Promise<string> {
  return Promise.race([p.then(() => 'resolved', (e: unknown) => `rejected: ${(e as Error).message}`), new Promise<string>((r) => setTimeout(() => r('pending'), 5))]);
}

describe('ReadBarrier (linearizable reads through ReadIndex)', () => {
  it('resolves a read only once the store applied the read index raft answered', async () => {
    const { barrier, asked, state } = fixture();
    const read = barrier.wait();
    expect(asked).toHaveLength(1);
    barrier.onReadState(7, asked[0] as Uint8Array);
    expect(await settled(read)).toBe('pending');
    state.applied = 6;
    barrier.onApplied();
    expect(await settled(read)).toBe('pending');
    state.applied = 7;
    barrier.onApplied();
    expect(await settled(read)).toBe('resolved');
  });

  it('batches reads that arrive while a round is in flight into the next round', async () => {
    const { barrier, asked, state } = fixture();
    state.applied = 100;
    const first = barrier.wait();
    const second = barrier.wait();
    const third = barrier.wait();
    expect(asked).toHaveLength(1);
    barrier.onReadState(10, asked[0] as Uint8Array);
    expect(await settled(first)).toBe('resolved');
    // second and third joined one new round, issued when the first was answered
    expect(asked).toHaveLength(2);
    expect(await settled(second)).toBe('pending');
    barrier.onReadState(11, asked[1] as Uint8Array);
    expect(await settled(second)).toBe('resolved');
    expect(await settled(third)).toBe('resolved');
  });

  it('uses a context unique to the member and the round', () => {
    const { barrier, asked } = fixture();
    void barrier.wait();
    barrier.onLeaderChange(); // re-issues the unanswered round
    expect(asked).toHaveLength(2);
    expect(Buffer.from(asked[0] as Uint8Array).readBigUInt64BE(0)).toBe(0x1234n);
    expect(Buffer.compare(asked[0] as Uint8Array, asked[1] as Uint8Array)).not.toBe(0);
  });

  it('ignores an answer to a round it gave up on', async () => {
    const { barrier, asked, state } = fixture();
    state.applied = 50;
    const read = barrier.wait();
    barrier.onLeaderChange();
    barrier.onReadState(5, asked[0] as Uint8Array); // the old round
    expect(await settled(read)).toBe('pending');
    barrier.onReadState(5, asked[1] as Uint8Array);
    expect(await settled(read)).toBe('resolved');
  });

  it('re-issues a round raft did not answer within retryAfterMs, and times reads out', async () => {
    const { barrier, asked, state } = fixture();
    const read = barrier.wait();
    state.now = 299;
    barrier.onTick();
    expect(asked).toHaveLength(1);
    state.now = 300;
    barrier.onTick();
    expect(asked).toHaveLength(2);
    state.now = 1000;
    barrier.onTick();
    expect(await settled(read)).toBe('rejected: etcdserver: request timed out');
  });

  it('keeps reads queued while raft refuses (no leader) and issues them when a leader appears', async () => {
    const { barrier, asked, state } = fixture();
    state.refuse = true;
    state.applied = 9;
    const read = barrier.wait();
    expect(asked).toHaveLength(0);
    state.refuse = false;
    barrier.onLeaderChange();
    expect(asked).toHaveLength(1);
    barrier.onReadState(9, asked[0] as Uint8Array);
    expect(await settled(read)).toBe('resolved');
  });

  it('refuses reads beyond maxWaiters with etcd\'s too-many-requests error', async () => {
    const { barrier } = fixture();
    for (let i = 0; i < 4; i++) void barrier.wait().catch(() => undefined);
    await expect(barrier.wait()).rejects.toThrow(ProposalError);
    await expect(barrier.wait()).rejects.toThrow('etcdserver: too many requests');
  });

  it('fails every waiting read when the member stops', async () => {
    const { barrier, asked } = fixture();
    const a = barrier.wait();
    const b = barrier.wait();
    barrier.onReadState(3, asked[0] as Uint8Array);
    barrier.failAll('etcdserver: server stopped');
    expect(await settled(a)).toBe('rejected: etcdserver: server stopped');
    expect(await settled(b)).toBe('rejected: etcdserver: server stopped');
  });
});
