// Flow control of replication (after etcd-io/raft's raft_flow_control_test.go): a follower in
// StateReplicate gets pipelined MsgApps up to maxInflightMsgs (and maxInflightBytes); a full window
// stops the flow, acknowledgements move it forward, and a heartbeat response lets one empty probe
// through so that a window whose messages were all lost cannot stall replication forever.
import { describe, expect, it } from 'vitest';
import { MessageType, ProgressState } from '../../src/raft/index.js';
import type { Raft } from '../../src/raft/raft.js';
import { msg, newTestRaft, newTestStorage, readMessages } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function leaderWithReplicatingFollower(maxInflightMsgs: number, opts = {}): Raft {
  const r = newTestRaft(1n, 5, 1, newTestStorage([1n, 2n]), { maxInflightMsgs, ...opts });
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  r.tracker.progress.get(2n)?.becomeReplicate();
  return r;
}

describe('flow control', () => {
  it('a full inflight window stops MsgApps to the follower', () => {
    const max = 8;
    const r = leaderWithReplicatingFollower(max);
    const pr2 = r.tracker.progress.get(2n);
    for (let i = 0; i < max; i++) {
      r.propose(enc('somedata'));
      const ms = readMessages(r);
      expect(ms.map((m) => m.type)).toEqual([MessageType.MsgApp]);
    }
    expect(pr2?.inflights.full()).toBe(true);
    for (let i = 0; i < 10; i++) {
      r.propose(enc('somedata'));
      expect(readMessages(r)).toEqual([]);
    }
  });

  it('acknowledgements move the window forward, one message per freed slot', () => {
    const max = 8;
    const r = leaderWithReplicatingFollower(max);
    const pr2 = r.tracker.progress.get(2n);
    for (let i = 0; i < max; i++) {
      r.propose(enc('somedata'));
      readMessages(r);
    }
    // Index 1 (the no-op) and 2 went in the first message; each later message holds one entry.
    for (let tt = 2; tt < max; tt++) {
      r.step(msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: r.term, index: tt }));
      readMessages(r);
      r.propose(enc('somedata'));
      expect(readMessages(r).map((m) => m.type)).toEqual([MessageType.MsgApp]);
      expect(pr2?.inflights.full()).toBe(true);
      // Stale acknowledgements free nothing.
      for (let i = 0; i < tt; i++) {
        r.step(msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: r.term, index: i }));
        expect(pr2?.inflights.full()).toBe(true);
      }
    }
  });

  it('a heartbeat response lets exactly one empty probe through a full window', () => {
    const max = 8;
    const r = leaderWithReplicatingFollower(max);
    const pr2 = r.tracker.progress.get(2n);
    for (let i = 0; i < max; i++) {
      r.propose(enc('somedata'));
      readMessages(r);
    }
    for (let tt = 1; tt < 5; tt++) {
      for (let i = 0; i < tt; i++) {
        expect(pr2?.inflights.full()).toBe(true);
        // Unpauses the flow, sends an empty MsgApp, and pauses it again.
        r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: r.term }));
        const ms = readMessages(r);
        expect(ms.length).toBe(1);
        expect(ms[0]?.type).toBe(MessageType.MsgApp);
        expect(ms[0]?.entries.length).toBe(0);
      }
      // No more appends without heartbeats.
      for (let i = 0; i < 10; i++) {
        expect(pr2?.inflights.full()).toBe(true);
        r.propose(enc('somedata'));
        expect(readMessages(r)).toEqual([]);
      }
      r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: r.term }));
      readMessages(r);
    }
  });

  it('the window is also bounded in bytes', () => {
    const r = leaderWithReplicatingFollower(100, { maxSizePerMsgBytes: 100, maxInflightBytes: 300 });
    const pr2 = r.tracker.progress.get(2n);
    let sent = 0;
    for (let i = 0; i < 10; i++) {
      r.propose(new Uint8Array(100));
      // (The no-op goes alone in the first message: it carries no payload.)
      sent += readMessages(r).filter((m) => m.entries.some((e) => e.data.length > 0)).length;
    }
    // 3 messages of 100 payload bytes fill 300 bytes; the rest waits.
    expect(sent).toBe(3);
    expect(pr2?.inflights.full()).toBe(true);
    expect(pr2?.inflights.bytes).toBe(300);
  });

  it('a probing follower gets one MsgApp per heartbeat interval until it answers', () => {
    const r = newTestRaft(1n, 5, 1, newTestStorage([1n, 2n]));
    r.becomeCandidate();
    r.becomeLeader();
    const pr2 = r.tracker.progress.get(2n);
    expect(pr2?.state).toBe(ProgressState.Probe);
    r.propose(enc('a'));
    expect(readMessages(r).filter((m) => m.type === MessageType.MsgApp).length).toBe(1);
    for (let i = 0; i < 5; i++) r.propose(enc('b'));
    expect(readMessages(r)).toEqual([]);
    // The answer moves it to replicate and the backlog goes out.
    r.step(msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: r.term, index: 2 }));
    expect(pr2?.state).toBe(ProgressState.Replicate);
    const ms = readMessages(r);
    expect(ms.length).toBeGreaterThan(0);
    expect(ms.flatMap((m) => m.entries).length).toBe(5);
  });

  it('a rejected MsgApp in replicate state falls back to probing from match+1', () => {
    const r = leaderWithReplicatingFollower(8);
    const pr2 = r.tracker.progress.get(2n);
    for (let i = 0; i < 3; i++) r.propose(enc('x'));
    readMessages(r);
    r.step(msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: r.term, index: 2, reject: true, rejectHint: 1, logTermHint: 1 }));
    expect(pr2?.state).toBe(ProgressState.Probe);
    expect(pr2?.next).toBe(1);
  });
});
