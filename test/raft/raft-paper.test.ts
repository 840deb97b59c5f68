// The rules of the Raft paper, one test per rule (after etcd-io/raft's raft_paper_test.go).
// Each test names the sentence it checks; section numbers refer to "In Search of an
// Understandable Consensus Algorithm" (extended version).
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, NONE, Role, type Message } from '../../src/raft/index.js';
import type { Raft } from '../../src/raft/raft.js';
import { bcastAppend } from '../../src/raft/replication.js';
import {
  advanceMessagesAfterAppend,
  allEntries,
  dataEntry,
  entriesFrom,
  idsBySize,
  local,
  msg,
  Network,
  BLACK_HOLE,
  newTestRaft,
  newTestStorage,
  persist,
  readMessages,
  summarize,
  takeCommitted,
  terms,
} from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function becomeLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
}

/** Replicates the new leader's no-op to every follower and commits it (etcd's commitNoopEntry). */
function commitNoopEntry(r: Raft): void {
  expect(r.role).toBe(Role.Leader);
  bcastAppend(r);
  for (const m of readMessages(r)) {
    expect(m.type).toBe(MessageType.MsgApp);
    expect(m.entries.length).toBe(1);
    expect(m.entries[0]?.data.length).toBe(0);
    r.step(acceptAndReply(m));
  }
  readMessages(r); // drop the commit-index updates
  persist(r);
  takeCommitted(r);
}

function acceptAndReply(m: Message): Message {
  expect(m.type).toBe(MessageType.MsgApp);
  return msg({ type: MessageType.MsgAppResp, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

describe('§5.1 terms', () => {
  for (const role of [Role.Follower, Role.Candidate, Role.Leader]) {
    it(`a ${role} seeing a larger term updates its term and reverts to follower`, () => {
      // "If one server's current term is smaller than the other's, then it updates its current
      // term to the larger value. If a candidate or leader discovers that its term is out of
      // date, it immediately reverts to follower state."
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      if (role === Role.Follower) r.becomeFollower(1, 2n);
      if (role === Role.Candidate) r.becomeCandidate();
      if (role === Role.Leader) becomeLeader(r);
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 2 }));
      expect(r.term).toBe(2);
      expect(r.role).toBe(Role.Follower);
    });
  }

  it('a request with a stale term is rejected (ignored)', () => {
    // "If a server receives a request with a stale term number, it rejects the request."
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    r.loadState({ term: 2, vote: NONE, commit: 0 });
    r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 1, entries: entriesFrom(1, 1) }));
    expect(r.term).toBe(2);
    expect(r.lead).toBe(NONE);
    expect(r.log.lastIndex()).toBe(0);
    expect(readMessages(r)).toEqual([]);
  });
});

describe('§5.2 leader election', () => {
  it('servers start up as followers', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    expect(r.role).toBe(Role.Follower);
  });

  it('the leader sends heartbeats (empty AppendEntries) to all followers', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    becomeLeader(r);
    for (let i = 0; i < 10; i++) r.propose(enc(`e${i}`));
    readMessages(r);
    r.tick();
    const msgs = readMessages(r);
    expect(summarize(msgs, ['commit', 'entries'])).toEqual(['1->2 MsgHeartbeat term=1 commit=0 entries=', '1->3 MsgHeartbeat term=1 commit=0 entries=']);
  });

  for (const role of [Role.Follower, Role.Candidate]) {
    it(`a ${role} that hears nothing for an election timeout starts an election`, () => {
      // "If a follower receives no communication over a period of time called the election
      // timeout, then it ... begins an election": increments its term, becomes candidate, votes
      // for itself and sends RequestVote in parallel to every other server. A candidate that
      // neither wins nor loses times out and starts a new election.
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      if (role === Role.Follower) r.becomeFollower(1, 2n);
      else r.becomeCandidate();
      for (let i = 1; i < 2 * 10; i++) r.tick();
      advanceMessagesAfterAppend(r);
      expect(r.term).toBe(2);
      expect(r.role).toBe(Role.Candidate);
      expect(r.tracker.votes.get(1n)).toBe(true);
      expect(summarize(readMessages(r), ['index', 'logTerm'])).toEqual(['1->2 MsgVote term=2 index=0 logTerm=0', '1->3 MsgVote term=2 index=0 logTerm=0']);
    });
  }

  it('an election is won with a majority of votes, lost with a majority of rejections, else pending', () => {
    // "A candidate wins an election if it receives votes from a majority of the servers in the
    // full cluster for the same term."
    const cases: [number, Record<number, boolean>, Role][] = [
      [1, {}, Role.Leader],
      [3, { 2: true, 3: true }, Role.Leader],
      [3, { 2: true }, Role.Leader],
      [5, { 2: true, 3: true, 4: true, 5: true }, Role.Leader],
      [5, { 2: true, 3: true, 4: true }, Role.Leader],
      [5, { 2: true, 3: true }, Role.Leader],
      [3, { 2: false, 3: false }, Role.Follower],
      [5, { 2: false, 3: false, 4: false, 5: false }, Role.Follower],
      [5, { 2: true, 3: false, 4: false, 5: false }, Role.Follower],
      [3, {}, Role.Candidate],
      [5, { 2: true }, Role.Candidate],
      [5, { 2: false, 3: false }, Role.Candidate],
      [5, {}, Role.Candidate],
    ];
    for (const [size, votes, want] of cases) {
      const r = newTestRaft(1n, 10, 1, newTestStorage(idsBySize(size)));
      r.step(local(MessageType.MsgHup, 1n));
      advanceMessagesAfterAppend(r);
      for (const [id, granted] of Object.entries(votes)) {
        r.step(msg({ type: MessageType.MsgVoteResp, from: BigInt(id), to: 1n, term: r.term, reject: !granted }));
      }
      expect(r.role, `size ${size} votes ${JSON.stringify(votes)}`).toBe(want);
      expect(r.term).toBe(1);
    }
  });

  it('a follower votes for at most one candidate per term, first come first served', () => {
    const cases: [bigint, bigint, boolean][] = [
      [NONE, 2n, false],
      [NONE, 3n, false],
      [2n, 2n, false],
      [3n, 3n, false],
      [2n, 3n, true],
      [3n, 2n, true],
    ];
    for (const [vote, candidate, wantReject] of cases) {
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      r.loadState({ term: 1, vote, commit: 0 });
      r.step(msg({ type: MessageType.MsgVote, from: candidate, to: 1n, term: 1 }));
      const out = r.msgsAfterAppend;
      expect(out.length).toBe(1);
      expect(out[0]).toMatchObject({ type: MessageType.MsgVoteResp, from: 1n, to: candidate, term: 1, reject: wantReject });
    }
  });

  it('a candidate hearing from a leader of its term or newer returns to follower', () => {
    // "If the leader's term is at least as large as the candidate's current term, then the
    // candidate recognizes the leader as legitimate and returns to follower state."
    for (const term of [1, 2]) {
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      r.step(local(MessageType.MsgHup, 1n));
      expect(r.role).toBe(Role.Candidate);
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term }));
      expect(r.role).toBe(Role.Follower);
      expect(r.term).toBe(term);
    }
  });

  for (const role of [Role.Follower, Role.Candidate]) {
    it(`${role} election timeouts are randomized over [et, 2et)`, () => {
      const et = 10;
      const r = newTestRaft(1n, et, 1, newTestStorage([1n, 2n, 3n]));
      const seen = new Set<number>();
      for (let round = 0; round < 50 * et; round++) {
        if (role === Role.Follower) r.becomeFollower(r.term + 1, 2n);
        else r.becomeCandidate();
        let time = 0;
        while (readMessages(r).length === 0) {
          r.tick();
          time++;
        }
        seen.add(time);
      }
      for (let d = et; d < 2 * et; d++) expect(seen.has(d), `timeout of ${d} ticks`).toBe(true);
      for (const d of seen) expect(d >= et && d < 2 * et).toBe(true);
    });
  }

  for (const role of [Role.Follower, Role.Candidate]) {
    it(`randomized election timeouts of ${role}s rarely conflict`, () => {
      // "Raft uses randomized election timeouts to ensure that split votes are rare."
      const et = 10;
      const ids = idsBySize(5);
      const rs = ids.map((id) => newTestRaft(id, et, 1, newTestStorage(ids)));
      let conflicts = 0;
      for (let round = 0; round < 1000; round++) {
        for (const r of rs) {
          if (role === Role.Follower) r.becomeFollower(r.term + 1, NONE);
          else r.becomeCandidate();
        }
        let timedOut = 0;
        while (timedOut === 0) {
          for (const r of rs) {
            r.tick();
            if (readMessages(r).length > 0) timedOut++;
          }
        }
        if (timedOut > 1) conflicts++;
      }
      expect(conflicts / 1000).toBeLessThanOrEqual(0.3);
    });
  }
});

describe('§5.3 log replication', () => {
  it('the leader appends a proposal and sends AppendEntries with the preceding index and term', () => {
    // "The leader appends the command to its log as a new entry, then issues AppendEntries RPCs
    // in parallel to each of the other servers", including "the index and term of the entry in
    // its log that immediately precedes the new entries."
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    becomeLeader(r);
    commitNoopEntry(r);
    const li = r.log.lastIndex();
    r.propose(enc('some data'));
    expect(r.log.lastIndex()).toBe(li + 1);
    expect(r.log.committed).toBe(li);
    const msgs = readMessages(r);
    expect(summarize(msgs, ['index', 'logTerm', 'commit', 'entries'])).toEqual([
      `1->2 MsgApp term=1 index=${li} logTerm=1 commit=${li} entries=1/${li + 1}`,
      `1->3 MsgApp term=1 index=${li} logTerm=1 commit=${li} entries=1/${li + 1}`,
    ]);
  });

  it('the leader commits an entry once replicated and tells followers in later AppendEntries', () => {
    // "When the entry has been safely replicated, the leader applies the entry to its state
    // machine ... The leader keeps track of the highest index it knows to be committed, and it
    // includes that index in future AppendEntries RPCs."
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    becomeLeader(r);
    commitNoopEntry(r);
    const li = r.log.lastIndex();
    r.propose(enc('some data'));
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    expect(r.log.committed).toBe(li + 1);
    const committed = takeCommitted(r);
    expect(terms(committed)).toBe(`1/${li + 1}`);
    expect(new TextDecoder().decode(committed[0]?.data)).toBe('some data');
    const msgs = readMessages(r).sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
    expect(msgs.map((m) => [m.to, m.type, m.commit])).toEqual([
      [2n, MessageType.MsgApp, li + 1],
      [3n, MessageType.MsgApp, li + 1],
    ]);
  });

  it('an entry is committed once the leader replicated it on a majority', () => {
    const cases: [number, bigint[], boolean][] = [
      [1, [], true],
      [3, [], false],
      [3, [2n], true],
      [3, [2n, 3n], true],
      [5, [], false],
      [5, [2n], false],
      [5, [2n, 3n], true],
      [5, [2n, 3n, 4n], true],
      [5, [2n, 3n, 4n, 5n], true],
    ];
    for (const [size, acceptors, wantCommit] of cases) {
      const r = newTestRaft(1n, 10, 1, newTestStorage(idsBySize(size)));
      becomeLeader(r);
      commitNoopEntry(r);
      const li = r.log.lastIndex();
      r.propose(enc('some data'));
      for (const m of readMessages(r)) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
      advanceMessagesAfterAppend(r);
      expect(r.log.committed > li, `size ${size} acceptors ${acceptors}`).toBe(wantCommit);
    }
  });

  it("committing an entry commits all preceding entries, including previous leaders' ones", () => {
    // "This also commits all preceding entries in the leader's log, including entries created
    // by previous leaders."
    const cases = [[], entriesFrom(1, 2), entriesFrom(1, 1, 2), entriesFrom(1, 1)];
    for (const prior of cases) {
      const storage = newTestStorage([1n, 2n, 3n]);
      storage.append(prior);
      const r = newTestRaft(1n, 10, 1, storage);
      r.loadState({ term: 2, vote: NONE, commit: 0 });
      becomeLeader(r);
      r.propose(enc('some data'));
      for (const m of readMessages(r)) r.step(acceptAndReply(m));
      const li = prior.length;
      expect(terms(takeCommitted(r))).toBe(terms([...prior, ...entriesFrom(li + 1, 3, 3)]));
    }
  });

  it('a follower applies entries once it learns they are committed, in log order', () => {
    const cases: [string[], number][] = [
      [['some data'], 1],
      [['some data', 'some data2'], 2],
      [['some data2', 'some data'], 2],
      [['some data', 'some data2'], 1],
    ];
    for (const [texts, commit] of cases) {
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      r.becomeFollower(1, 2n);
      const ents = texts.map((t, i) => dataEntry(1, i + 1, t));
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 1, entries: ents, commit }));
      expect(r.log.committed).toBe(commit);
      expect(takeCommitted(r).map((e) => new TextDecoder().decode(e.data))).toEqual(texts.slice(0, commit));
    }
  });

  it('a follower refuses AppendEntries whose preceding entry it lacks, with a hint', () => {
    // "If the follower does not find an entry in its log with the same index and term, then it
    // refuses the new entries."
    const ents = entriesFrom(1, 1, 2);
    const cases: { term: number; index: number; wIndex: number; wReject: boolean; wHint: number; wHintTerm: number }[] = [
      // match with committed entries
      { term: 0, index: 0, wIndex: 1, wReject: false, wHint: 0, wHintTerm: 0 },
      { term: 1, index: 1, wIndex: 1, wReject: false, wHint: 0, wHintTerm: 0 },
      // match with an uncommitted entry
      { term: 2, index: 2, wIndex: 2, wReject: false, wHint: 0, wHintTerm: 0 },
      // mismatch with an existing entry
      { term: 1, index: 2, wIndex: 2, wReject: true, wHint: 1, wHintTerm: 1 },
      // an entry we do not have
      { term: 3, index: 3, wIndex: 3, wReject: true, wHint: 2, wHintTerm: 2 },
    ];
    for (const c of cases) {
      const storage = newTestStorage([1n, 2n, 3n]);
      storage.append(ents);
      const r = newTestRaft(1n, 10, 1, storage);
      r.loadState({ term: 0, vote: NONE, commit: 1 });
      r.becomeFollower(2, 2n);
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 2, logTerm: c.term, index: c.index }));
      const out = readMessages(r);
      expect(out.length).toBe(1);
      expect(out[0]).toMatchObject({ type: MessageType.MsgAppResp, from: 1n, to: 2n, term: 2, index: c.wIndex, reject: c.wReject });
      if (c.wReject) expect([out[0]?.rejectHint, out[0]?.logTermHint]).toEqual([c.wHint, c.wHintTerm]);
    }
  });

  it('a follower deletes a conflicting entry and all that follow, then appends the new ones', () => {
    // "If an existing entry conflicts with a new one (same index but different terms), delete
    // the existing entry and all that follow it; append any new entries not already in the log."
    const cases: { index: number; term: number; ents: number[]; first: number; want: string; wantUnstable: string }[] = [
      { index: 2, term: 2, first: 3, ents: [3], want: '1/1 2/2 3/3', wantUnstable: '3/3' },
      { index: 1, term: 1, first: 2, ents: [3, 4], want: '1/1 3/2 4/3', wantUnstable: '3/2 4/3' },
      { index: 0, term: 0, first: 1, ents: [1], want: '1/1 2/2', wantUnstable: '' },
      { index: 0, term: 0, first: 1, ents: [3], want: '3/1', wantUnstable: '3/1' },
    ];
    for (const c of cases) {
      const storage = newTestStorage([1n, 2n, 3n]);
      storage.append(entriesFrom(1, 1, 2));
      const r = newTestRaft(1n, 10, 1, storage);
      r.becomeFollower(2, 2n);
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 2, logTerm: c.term, index: c.index, entries: entriesFrom(c.first, ...c.ents) }));
      expect(terms(allEntries(r))).toBe(c.want);
      expect(terms(r.log.nextUnstableEnts())).toBe(c.wantUnstable);
    }
  });

  it('the leader brings divergent follower logs into agreement with its own (Figure 7)', () => {
    // "The leader handles inconsistencies by forcing the followers' logs to duplicate its own."
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const term = 8;
    const followers = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing entries
      [1, 1, 1, 4], // (b)
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) extra uncommitted entry
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      [1, 1, 1, 4, 4, 4, 4], // (e) missing and extra
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) extra entries of several terms
    ];
    for (const f of followers) {
      const leadStorage = newTestStorage([1n, 2n, 3n]);
      leadStorage.append(entriesFrom(1, ...leaderTerms));
      const lead = newTestRaft(1n, 10, 1, leadStorage);
      lead.loadState({ term, vote: NONE, commit: lead.log.lastIndex() });
      const followerStorage = newTestStorage([1n, 2n, 3n]);
      followerStorage.append(entriesFrom(1, ...f));
      const follower = newTestRaft(2n, 10, 1, followerStorage);
      follower.loadState({ term: term - 1, vote: NONE, commit: 0 });
      // Three nodes: the follower may have a more up-to-date log, so node 3 decides the election.
      const n = new Network([lead, follower, BLACK_HOLE]);
      n.sendLocal(MessageType.MsgHup, 1n);
      n.send(msg({ type: MessageType.MsgVoteResp, from: 3n, to: 1n, term: term + 1 }));
      n.propose(1n, '');
      expect(terms(allEntries(follower)), `follower ${f}`).toBe(terms(allEntries(lead)));
      expect(follower.log.committed).toBe(lead.log.committed);
    }
  });
});

describe('§5.4 safety', () => {
  it('a RequestVote carries the candidate’s last log index and term, to every other server', () => {
    const cases: [number[], number][] = [
      [[1], 2],
      [[1, 2], 3],
    ];
    for (const [ents, wantTerm] of cases) {
      const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
      r.step(msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: wantTerm - 1, entries: entriesFrom(1, ...ents) }));
      readMessages(r);
      for (let i = 1; i < 2 * 10; i++) r.tick();
      const msgs = readMessages(r).sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
      expect(msgs.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual(
        [2n, 3n].map((to) => [MessageType.MsgVote, to, wantTerm, ents.length, ents[ents.length - 1]]),
      );
    }
  });

  it('a voter denies its vote if its own log is more up-to-date than the candidate’s', () => {
    // §5.4.1: "If the logs have last entries with different terms, then the log with the later
    // term is more up-to-date. If the logs end with the same term, then whichever log is longer
    // is more up-to-date."
    const cases: [number[], number, number, boolean][] = [
      // same last term
      [[1], 1, 1, false],
      [[1], 1, 2, false],
      [[1, 1], 1, 1, true],
      // the candidate has the higher last term
      [[1], 2, 1, false],
      [[1], 2, 2, false],
      [[1, 1], 2, 1, false],
      // the voter has the higher last term
      [[2], 1, 1, true],
      [[2], 1, 2, true],
      [[2, 2], 1, 1, true],
      [[1, 1], 1, 1, true],
    ];
    for (const [ents, logTerm, index, wantReject] of cases) {
      const storage = newTestStorage([1n, 2n]);
      storage.append(entriesFrom(1, ...ents));
      const r = newTestRaft(1n, 10, 1, storage);
      r.step(msg({ type: MessageType.MsgVote, from: 2n, to: 1n, term: 3, logTerm, index }));
      const out = readMessages(r);
      expect(out.length).toBe(1);
      expect(out[0]?.type).toBe(MessageType.MsgVoteResp);
      expect(out[0]?.reject, `voter ${ents} candidate ${logTerm}/${index}`).toBe(wantReject);
    }
  });

  it('only entries of the leader’s current term are committed by counting replicas (§5.4.2)', () => {
    // "Raft never commits log entries from previous terms by counting replicas. Only log entries
    // from the leader's current term are committed by counting replicas."
    const cases: [number, number][] = [
      // do not commit log entries in previous terms
      [1, 0],
      [2, 0],
      // commit log in the current term
      [3, 3],
    ];
    for (const [index, wantCommit] of cases) {
      const storage = newTestStorage([1n, 2n]);
      storage.append(entriesFrom(1, 1, 2));
      const r = newTestRaft(1n, 10, 1, storage);
      r.loadState({ term: 2, vote: NONE, commit: 0 });
      becomeLeader(r); // term 3, no-op at index 3
      readMessages(r);
      r.step(msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: r.term, index }));
      advanceMessagesAfterAppend(r);
      expect(r.log.committed, `ack of index ${index}`).toBe(wantCommit);
    }
  });
});

describe('entries of the leader', () => {
  it('a new leader appends a no-op entry of its term (§8)', () => {
    const r = newTestRaft(1n, 10, 1, newTestStorage([1n, 2n, 3n]));
    becomeLeader(r);
    const last = allEntries(r).at(-1);
    expect(last).toMatchObject({ term: 1, index: 1, type: EntryType.Normal });
    expect(last?.data.length).toBe(0);
  });
});
