// Bootstrap safety on an empty data dir (src/server/bootstrap.ts, etcd's isMemberBootstrapped):
// before it creates anything, a member asks its peers for their member list and refuses to start
// when one lists it with client URLs (it published itself in an earlier life whose data is gone:
// starting again would let it vote twice in a term and count as a replica of entries it lost).
// Unlike etcd it does not start on whatever it hears first. It waits, bounded, until the answers
// of one round meet every quorum (n - q + 1 peers, q = floor(n/2) + 1), or until at least one peer
// answered and every peer that answered says it never saw an election (X-Raft-Term: 0; an answer
// without the header counts as a peer that did). Time is virtual (a fake MemberTimers) and peers
// are a fake PeerClient.
import { describe, expect, it } from 'vitest';
import type { InitialMember } from '../../src/config.js';
import {
  AlreadyBootstrappedError,
  BootstrapCheckError,
  checkNotBootstrapped,
  freshMemberApi,
  HEADER_RAFT_TERM,
  MEMBERS_PATH,
  membersAnswer,
  type BootstrapCheckOptions,
  type PeerMemberJSON,
} from '../../src/server/bootstrap.js';
import type { PeerApiHandler, PeerApiReply, PeerApiRequest, PeerApiResponse, PeerClient } from '../../src/server/peer-api.js';
import { settle, VirtualTimers } from '../helpers/virtual-timers.js';
import { HEADER_CLUSTER_ID } from '../../src/transport/protocol.js';
import { peerJsonText } from '../../src/server/peer-api.js';

// ---------------------------------------------------------------------------------------------
// Virtual time: test/helpers/virtual-timers.ts

type Outcome = { ok: true; atMs: number } | { ok: false; error: unknown; atMs: number };

/** Runs `p` to completion in virtual time: settles, fires the next timer, and again (bounded). */
async function runToEnd(p: Promise<void>, timers: VirtualTimers, maxTimers = 10_000): Promise<Outcome> {
  let outcome: Outcome | undefined;
  p.then(
    () => void (outcome = { ok: true, atMs: timers.nowMs() }),
    (error: unknown) => void (outcome = { ok: false, error, atMs: timers.nowMs() }),
  );
  for (let i = 0; i <= maxTimers; i++) {
    await settle();
    if (outcome !== undefined) return outcome;
    if (!timers.fireNext()) throw new Error('the check is stuck: no timer armed and no outcome');
  }
  throw new Error(`no outcome after ${maxTimers} timers`);
}

// ---------------------------------------------------------------------------------------------
// Fake peers

const SELF = 0x8e9e05c52164n;
const SELF_HEX = '8e9e05c52164';
const CLUSTER = 0x1c2d3e4f5a6bn;
const CLUSTER_HEX = '1c2d3e4f5a6b';
const OTHER_CLUSTER_HEX = '99';

const INITIAL: InitialMember[] = [
  { name: 'm1', id: SELF, peerURLs: ['http://10.0.0.1:2380'] },
  { name: 'm2', id: 0x22n, peerURLs: ['http://10.0.0.2:2380'] },
  { name: 'm3', id: 0x33n, peerURLs: ['http://10.0.0.3:2380', 'http://10.0.1.3:2380'] },
];
const PEER_URLS = ['http://10.0.0.2:2380', 'http://10.0.0.3:2380', 'http://10.0.1.3:2380'];
const M2_URL = 'http://10.0.0.2:2380';
const M3_URL = 'http://10.0.0.3:2380';
const M3_URL2 = 'http://10.0.1.3:2380';

/** Five members: two more peers (n - q + 1 = 3 of the 4 peers must answer). */
const INITIAL5: InitialMember[] = [...INITIAL, { name: 'm4', id: 0x44n, peerURLs: ['http://10.0.0.4:2380'] }, { name: 'm5', id: 0x55n, peerURLs: ['http://10.0.0.5:2380'] }];
const PEER_URLS5 = [...PEER_URLS, 'http://10.0.0.4:2380', 'http://10.0.0.5:2380'];

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A handler's answer as a client receives it (lower-case headers, JSON or text body). */
function asReply(res: PeerApiResponse): PeerApiReply {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) headers[k.toLowerCase()] = v;
  if (res.json !== undefined) headers['content-type'] = 'application/json';
  const body = res.json !== undefined ? enc(peerJsonText(res.json)) : enc(res.text ?? '');
  return { status: res.status, headers, body };
}

/** What a peer does with one request: answer, refuse the connection, or hang until the timeout. */
type Behaviour = PeerApiResponse | PeerApiReply | 'refused' | 'hang';

interface Call {
  url: string;
  req: { method: string; path: string; headers?: Record<string, string> };
  timeoutMs: number;
  atMs: number;
}

/** A PeerClient whose peers answer by URL; `round` counts the requests to that URL so far. */
function fakePeers(timers: VirtualTimers, answer: (url: string, round: number) => Behaviour): { client: PeerClient; calls: Call[] } {
  const calls: Call[] = [];
  const rounds = new Map<string, number>();
  const client: PeerClient = {
    async request(url, req, timeoutMs) {
      calls.push({ url, req, timeoutMs, atMs: timers.nowMs() });
      const round = rounds.get(url) ?? 0;
      rounds.set(url, round + 1);
      const b = answer(url, round);
      if (b === 'refused') throw new Error(`connect ECONNREFUSED ${url}`);
      if (b === 'hang') {
        return new Promise<PeerApiReply>((_, reject) => timers.setTimeout(() => reject(new Error('The operation was aborted due to timeout')), timeoutMs));
      }
      await Promise.resolve();
      return 'body' in b && b.body instanceof Uint8Array ? (b as PeerApiReply) : asReply(b as PeerApiResponse);
    },
  };
  return { client, calls };
}

/** Each peer's answer by member name (each URL of a member keeps its own round count); a peer not named refuses connections. */
function byMember(initial: readonly InitialMember[], answers: Record<string, Behaviour | ((round: number) => Behaviour)>): (url: string, round: number) => Behaviour {
  return (url, round) => {
    const m = initial.find((x) => x.peerURLs.includes(url));
    const a = m === undefined ? undefined : answers[m.name];
    if (a === undefined) return 'refused';
    return typeof a === 'function' ? a(round) : a;
  };
}

/** `b` from round k on, `before` until then. */
const from =
  (k: number, b: Behaviour, before: Behaviour = 'refused') =>
  (round: number): Behaviour =>
    round >= k ? b : before;

/** A member list: every member given, with the client URLs given for some. */
const listing = (initial: readonly InitialMember[], clientURLs: Record<string, string[]>): PeerMemberJSON[] =>
  initial.map((m) => ({ id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: clientURLs[String(m.id)] ?? [] }));

/** The client URLs of every member but this one: they all published, this one never did. */
const othersPublished = (initial: readonly InitialMember[]): Record<number, string[]> =>
  Object.fromEntries(initial.filter((m) => m.id !== SELF).map((m) => [m.id, [(m.peerURLs[0] as string).replace(':2380', ':2379')]]));

/** A running member's answer (at a term > 0 unless told): every initial member, with the client URLs given for some. */
function running(clientURLs: Record<number, string[]> = {}, term = 3, initial: readonly InitialMember[] = INITIAL): PeerApiResponse {
  return membersAnswer(CLUSTER, listing(initial, clientURLs), term);
}

/** A running member that never saw this member publish (every other member did). */
const runningNotSeen = (term = 3, initial: readonly InitialMember[] = INITIAL): PeerApiResponse => running(othersPublished(initial), term, initial);

/** A running member that saw this member publish. */
const bootstrappedSelf = (term = 3, initial: readonly InitialMember[] = INITIAL): PeerApiResponse =>
  running({ ...othersPublished(initial), [String(SELF)]: ['http://10.0.0.1:2379'] }, term, initial);

/** What a peer that is new itself answers (freshMemberApi: term 0, nobody has client URLs). */
const fresh = (initial: readonly InitialMember[] = INITIAL): PeerApiResponse =>
  freshMemberApi(CLUSTER, initial)({ method: 'GET', path: MEMBERS_PATH, headers: {}, body: new Uint8Array(0) }) as PeerApiResponse;

/** The same answer without X-Raft-Term (a peer that does not say its term: etcd itself, an older etcd-ts). */
function withoutTerm(res: PeerApiResponse): PeerApiResponse {
  const headers = Object.fromEntries(Object.entries(res.headers ?? {}).filter(([k]) => k.toLowerCase() !== HEADER_RAFT_TERM));
  return { ...res, headers };
}

/** The same answer with X-Raft-Term set to `value` as sent. */
const withTermHeader = (res: PeerApiResponse, value: string): PeerApiResponse => ({ ...withoutTerm(res), headers: { ...withoutTerm(res).headers, [HEADER_RAFT_TERM]: value } });

const raw = (status: number, headers: Record<string, string>, body: string): PeerApiReply => ({ status, headers, body: enc(body) });

function options(timers: VirtualTimers, client: PeerClient, over: Partial<BootstrapCheckOptions> = {}): { o: BootstrapCheckOptions; waits: string[][] } {
  const waits: string[][] = [];
  const o: BootstrapCheckOptions = {
    memberId: SELF,
    clusterId: CLUSTER,
    initialCluster: INITIAL,
    peerClient: client,
    timers,
    onWaiting: (asked) => waits.push([...asked]),
    timeoutMs: 60_000,
    attemptTimeoutMs: 1000,
    ...over,
  };
  return { o, waits };
}

async function check(answer: (url: string, round: number) => Behaviour, over: Partial<BootstrapCheckOptions> = {}) {
  const timers = new VirtualTimers();
  const { client, calls } = fakePeers(timers, answer);
  const { o, waits } = options(timers, client, over);
  const outcome = await runToEnd(checkNotBootstrapped(o), timers);
  return { outcome, calls, waits, timers };
}

/** The times at which one URL was asked (by default m2's, asked once at the start of every round). */
const roundTimes = (calls: Call[], url: string = M2_URL): number[] => calls.filter((c) => c.url === url).map((c) => c.atMs);

/** The error a check ended with (failing the test when it proceeded). */
function errorOf(outcome: Outcome): Error {
  expect(outcome.ok, 'the check proceeded').toBe(false);
  return (outcome as { error: unknown }).error as Error;
}

/** BootstrapCheckError's message at the deadline. */
const deadlineMessage = (answered: number, needed: number, urls: readonly string[]): string =>
  `the data dir is empty and only ${answered} of the ${needed} peers needed answered (asked ${urls.join(', ')}): cannot tell whether member ${SELF_HEX} was already bootstrapped`;

/** A cluster of n members, this one first, one peer URL each. */
const clusterOf = (n: number): InitialMember[] => [
  INITIAL[0] as InitialMember,
  ...Array.from({ length: n - 1 }, (_, i) => ({ name: `p${i + 2}`, id: 0x100n + BigInt(i), peerURLs: [`http://10.0.2.${i + 2}:2380`] })),
];

/** What does not count as an answer. */
const notAnswers: [string, Behaviour][] = [
  ['refuses the connection', 'refused'],
  ['hangs until the attempt timeout', 'hang'],
  ['answers 503 (restarting, not ready)', { status: 503, text: 'etcdserver: not ready' }],
  ['answers 404', { status: 404, text: '404 page not found' }],
  ['answers for another cluster', membersAnswer(0x99n, [{ id: SELF, name: 'm1', peerURLs: [], clientURLs: ['http://10.0.0.1:2379'] }], 3)],
  ['answers without a cluster id', raw(200, { 'content-type': 'application/json', [HEADER_RAFT_TERM]: '0' }, '[]')],
  ['answers garbage', raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '3' }, '<html>not json')],
  ['answers JSON that is not a list', raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '3' }, '{"members":[]}')],
  ['answers a list with a member without an id', raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '3' }, '[{"name":"m2","clientURLs":[]}]')],
  ['answers a list with a member without clientURLs', raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '3' }, `[{"id":${SELF},"name":"m1"}]`)],
  ['answers a list with null in it', raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '3' }, '[null]')],
];

describe('checkNotBootstrapped: refuses an old member whose data is gone', () => {
  it('refuses with etcd\'s error when a peer lists this member with client URLs', async () => {
    const { outcome, calls, waits } = await check(() => bootstrappedSelf());
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(AlreadyBootstrappedError);
    expect(err.message).toBe(`member ${SELF_HEX} has already been bootstrapped`);
    expect(err.name).toBe('AlreadyBootstrappedError');
    expect(outcome.atMs).toBe(0); // in the first round, without waiting
    expect(waits).toEqual([]);
    // every peer, once, at its first URL (m3's first URL answered: its second is not asked); never itself
    expect(calls.map((c) => c.url)).toEqual([M2_URL, M3_URL]);
  });

  it('refuses even when the other peer says this member is new (any peer that saw it publish wins)', async () => {
    // the other peer is new itself (a replacement whose data is also gone), or running and never saw the publish
    for (const [what, other] of [['fresh', fresh()], ['running', runningNotSeen(5)]] as const) {
      for (const order of [0, 1]) {
        const { outcome } = await check((url) => ((url === M2_URL) === (order === 0) ? other : bootstrappedSelf(5)));
        expect(errorOf(outcome), `${what}, order ${order}`).toBeInstanceOf(AlreadyBootstrappedError);
        expect(outcome.atMs).toBe(0);
      }
    }
  });

  it('refuses on one answer, below the number needed to proceed, while the other peers are down', async () => {
    // 3 members: m3 answers at its second URL only; m2 is down
    const three = await check((url) => (url === M3_URL2 ? bootstrappedSelf() : 'refused'));
    expect(errorOf(three.outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(three.outcome.atMs).toBe(0);
    expect(three.calls.map((c) => c.url).sort()).toEqual(PEER_URLS);
    // 5 members: one of the four peers answers (3 would be needed to proceed)
    const five = await check(byMember(INITIAL5, { m5: bootstrappedSelf(3, INITIAL5) }), { initialCluster: INITIAL5 });
    expect(errorOf(five.outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(five.outcome.atMs).toBe(0);
  });

  it('refuses whatever term the peer that lists it reports, with or without X-Raft-Term', async () => {
    for (const [what, res] of [
      ['term 0', bootstrappedSelf(0)],
      ['term 1', bootstrappedSelf(1)],
      ['term 42', bootstrappedSelf(42)],
      ['no term', withoutTerm(bootstrappedSelf())],
    ] as const) {
      const { outcome } = await check(byMember(INITIAL, { m2: res }));
      expect(errorOf(outcome), what).toBeInstanceOf(AlreadyBootstrappedError);
      expect(outcome.atMs, what).toBe(0);
    }
  });

  it('refuses when a peer that was not ready first answers later with this member published', async () => {
    const { outcome, calls, waits } = await check((_url, round) => (round < 2 ? { status: 503, text: 'etcdserver: not ready' } : bootstrappedSelf()));
    expect(errorOf(outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(outcome.atMs).toBe(2000);
    expect(waits).toEqual([PEER_URLS, PEER_URLS]);
    expect(roundTimes(calls)).toEqual([0, 1000, 2000]);
  });

  it('refuses when the peer that saw it publish answers only after a running peer that did not (the case the first version let through)', async () => {
    // m2 runs and never saw this member publish (it was behind, or down then): one answer was enough
    // for the first version. m3, which holds the publish, is unreachable for two rounds.
    const { outcome, calls, waits } = await check(byMember(INITIAL, { m2: runningNotSeen(4), m3: from(2, bootstrappedSelf(4)) }));
    expect(errorOf(outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(outcome.atMs).toBe(2000);
    expect(waits).toEqual([PEER_URLS, PEER_URLS]);
    expect(roundTimes(calls)).toEqual([0, 1000, 2000]);
    expect(roundTimes(calls, M3_URL)).toEqual([0, 1000, 2000]);
    expect(roundTimes(calls, M3_URL2)).toEqual([0, 1000]);
  });

  it('refuses when a running peer lists it only through a publish in its log that it has not applied yet', async () => {
    // m2 restarted with an old commit index: its applied membership has nobody's client URLs, but the
    // rest of its log holds this member's publish, which its answer folds in (raft-member's
    // peerMembers). While that tail is too long to scan it answers 503; then this member appears
    // with client URLs, exactly as through an applied publish. m3 is down.
    const replaying: PeerApiResponse = { status: 503, text: 'etcdserver: not ready (replaying the log)' };
    const unapplied = membersAnswer(CLUSTER, [...listing(INITIAL, { [String(SELF)]: ['http://10.0.0.1:2379'] })].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), 6);
    expect((unapplied.json as PeerMemberJSON[]).filter((m) => m.clientURLs.length > 0).map((m) => m.id)).toEqual([SELF.toString(16)]);
    const viaLog = await check(byMember(INITIAL, { m2: from(1, unapplied, replaying) }));
    expect(errorOf(viaLog.outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(viaLog.outcome.atMs).toBe(1000);
    expect(viaLog.waits).toEqual([PEER_URLS]);
    // the same as a peer that applied the publish
    const applied = await check(byMember(INITIAL, { m2: from(1, bootstrappedSelf(6), replaying) }));
    expect(applied.outcome).toEqual(viaLog.outcome);
  });

  it('refuses in a cluster of 5 when three peers say it is new (enough to proceed) and the fourth remembers it, in the same round', async () => {
    const { outcome } = await check(
      byMember(INITIAL5, { m2: runningNotSeen(3, INITIAL5), m3: fresh(INITIAL5), m4: runningNotSeen(3, INITIAL5), m5: bootstrappedSelf(3, INITIAL5) }),
      { initialCluster: INITIAL5 },
    );
    expect(errorOf(outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    expect(outcome.atMs).toBe(0);
  });
});

describe('checkNotBootstrapped: with running peers, waits until the answers meet every quorum', () => {
  it('proceeds when both running peers of 3 list it without client URLs (they never saw it publish)', async () => {
    const { outcome, waits } = await check(() => runningNotSeen());
    expect(outcome).toEqual({ ok: true, atMs: 0 });
    expect(waits).toEqual([]);
  });

  it('proceeds when both running peers of 3 do not list it at all', async () => {
    const { outcome } = await check(() => membersAnswer(CLUSTER, [{ id: 0x22n, name: 'm2', peerURLs: [], clientURLs: ['http://10.0.0.2:2379'] }], 3));
    expect(outcome).toEqual({ ok: true, atMs: 0 });
  });

  it('with 3 members, one running peer is not enough: keeps asking until the second answers', async () => {
    const { outcome, calls, waits } = await check(byMember(INITIAL, { m2: runningNotSeen(), m3: from(3, runningNotSeen()) }));
    expect(outcome).toEqual({ ok: true, atMs: 3000 });
    // told every round it waited, with every URL it asked
    expect(waits).toEqual([PEER_URLS, PEER_URLS, PEER_URLS]);
    expect(roundTimes(calls)).toEqual([0, 1000, 2000, 3000]);
    expect(roundTimes(calls, M3_URL)).toEqual([0, 1000, 2000, 3000]);
    expect(roundTimes(calls, M3_URL2)).toEqual([0, 1000, 2000]); // not once m3's first URL answers
  });

  it('with 3 members, one of them removed: the running peer that no longer lists it is enough (member simulator seed 1734)', async () => {
    const m3 = INITIAL.find((m) => m.name === 'm3') as InitialMember;
    const left = INITIAL.filter((m) => m.id !== m3.id);
    const removedM3 = membersAnswer(CLUSTER, listing(left, othersPublished(left)), 3);
    const { outcome } = await check(byMember(INITIAL, { m2: removedM3 }), { timeoutMs: 10_000 });
    expect(outcome).toEqual({ ok: true, atMs: 0 });
    // it still refuses when that peer saw it publish
    const sawIt = membersAnswer(CLUSTER, listing(left, { ...othersPublished(left), [String(SELF)]: ['http://10.0.0.1:2379'] }), 3);
    expect(errorOf((await check(byMember(INITIAL, { m2: sawIt }), { timeoutMs: 10_000 })).outcome)).toBeInstanceOf(AlreadyBootstrappedError);
    // and waits as before when the peer lists a member added since (it would have to be asked too)
    const added = membersAnswer(CLUSTER, [...listing(left, othersPublished(left)), { id: 0x44n, name: 'm4', peerURLs: ['http://10.0.0.4:2380'], clientURLs: [] }], 3);
    expect(errorOf((await check(byMember(INITIAL, { m2: added }), { timeoutMs: 10_000 })).outcome)).toBeInstanceOf(BootstrapCheckError);
  });

  it('with 3 members, gives up at the deadline when only one running peer ever answers', async () => {
    const { outcome, waits } = await check(byMember(INITIAL, { m2: runningNotSeen() }), { timeoutMs: 10_000 });
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.message).toBe(deadlineMessage(1, 2, PEER_URLS));
    expect(outcome.atMs).toBe(10_000);
    expect(waits).toHaveLength(10);
  });

  it('with 5 members, proceeds on 3 of the 4 peers (any 3) or all 4', async () => {
    const names = ['m2', 'm3', 'm4', 'm5'];
    for (const down of [...names, 'nobody']) {
      const answers = Object.fromEntries(names.filter((n) => n !== down).map((n) => [n, runningNotSeen(7, INITIAL5)]));
      const { outcome, waits } = await check(byMember(INITIAL5, answers), { initialCluster: INITIAL5 });
      expect(outcome, `${down} down`).toEqual({ ok: true, atMs: 0 });
      expect(waits).toEqual([]);
    }
  });

  it('with 5 members, two running peers are not enough: keeps asking until a third answers', async () => {
    const { outcome, waits } = await check(
      byMember(INITIAL5, { m2: runningNotSeen(7, INITIAL5), m4: runningNotSeen(7, INITIAL5), m5: from(2, runningNotSeen(7, INITIAL5)) }),
      { initialCluster: INITIAL5 },
    );
    expect(outcome).toEqual({ ok: true, atMs: 2000 });
    expect(waits).toEqual([PEER_URLS5, PEER_URLS5]);
  });

  it('with 5 members, gives up at the deadline when only two running peers ever answer', async () => {
    const { outcome } = await check(byMember(INITIAL5, { m3: runningNotSeen(7, INITIAL5), m5: runningNotSeen(7, INITIAL5) }), {
      initialCluster: INITIAL5,
      timeoutMs: 4000,
    });
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.message).toBe(deadlineMessage(2, 3, PEER_URLS5));
    expect(outcome.atMs).toBe(4000);
  });

  for (const [n, needed] of [
    [2, 1],
    [3, 2],
    [4, 2],
    [5, 3],
    [6, 3],
    [7, 4],
  ] as const) {
    it(`with ${n} members, needs ${needed} running peer${needed > 1 ? 's' : ''} (n - q + 1) to answer in one round`, async () => {
      const initial = clusterOf(n);
      const peers = initial.slice(1);
      const answering =
        (k: number) =>
        (url: string): Behaviour =>
          peers.slice(0, k).some((p) => p.peerURLs.includes(url)) ? runningNotSeen(2, initial) : 'refused';
      const enough = await check(answering(needed), { initialCluster: initial });
      expect(enough.outcome).toEqual({ ok: true, atMs: 0 });
      const short = await check(answering(needed - 1), { initialCluster: initial, timeoutMs: 3000 });
      const err = errorOf(short.outcome);
      expect(err).toBeInstanceOf(BootstrapCheckError);
      expect(err.message).toBe(deadlineMessage(needed - 1, needed, peers.flatMap((p) => p.peerURLs)));
      expect(short.outcome.atMs).toBe(3000);
    });
  }

  it('counts a peer reachable at two URLs once', async () => {
    // m3 answers at both its URLs, m2 is down: one peer of the two needed
    const { outcome, calls } = await check((url) => (url === M2_URL ? 'refused' : runningNotSeen()), { timeoutMs: 3000 });
    expect(errorOf(outcome).message).toBe(deadlineMessage(1, 2, PEER_URLS));
    expect(roundTimes(calls, M3_URL)).toEqual([0, 1000, 2000, 3000]);
    expect(roundTimes(calls, M3_URL2)).toEqual([]);
  });

  it('counts the answers of one round: peers that take turns answering never make it proceed', async () => {
    // m2 answers in even rounds, m3 in odd ones: two peers answered, but never both at the same time
    const { outcome, calls } = await check(
      (url, round) => ((url === M2_URL && round % 2 === 0) || (url === M3_URL && round % 2 === 1) ? runningNotSeen() : 'refused'),
      { timeoutMs: 10_000 },
    );
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.message).toBe(deadlineMessage(1, 2, PEER_URLS));
    expect(roundTimes(calls)).toHaveLength(11);
  });
});

describe('checkNotBootstrapped: in a cluster that never elected anyone (every answer at term 0), one answer is enough', () => {
  it('proceeds when the peers are new too (they answer with freshMemberApi: term 0, nobody has client URLs)', async () => {
    const { outcome, calls, waits } = await check(() => fresh());
    expect(outcome).toEqual({ ok: true, atMs: 0 });
    expect(waits).toEqual([]);
    // one GET /members per peer (at its first URL), with the cluster id and the attempt timeout
    expect(calls.map((c) => c.url)).toEqual([M2_URL, M3_URL]);
    for (const c of calls) {
      expect(c.req).toEqual({ method: 'GET', path: '/members', headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX } });
      expect(c.timeoutMs).toBe(1000);
    }
  });

  it('with 3 members, proceeds on one fresh peer while the other is down (a new cluster starts with a member missing)', async () => {
    for (const up of [M2_URL, M3_URL2]) {
      const { outcome, waits } = await check((url) => (url === up ? fresh() : 'refused'));
      expect(outcome, up).toEqual({ ok: true, atMs: 0 });
      expect(waits).toEqual([]);
    }
  });

  it('with 5 members, proceeds on one fresh peer while the three others are down', async () => {
    for (const up of ['m2', 'm3', 'm4', 'm5']) {
      const { outcome } = await check(byMember(INITIAL5, { [up]: fresh(INITIAL5) }), { initialCluster: INITIAL5 });
      expect(outcome, up).toEqual({ ok: true, atMs: 0 });
    }
  });

  it('proceeds once a fresh peer answers, after rounds in which nobody did', async () => {
    const { outcome, waits } = await check(byMember(INITIAL5, { m4: from(2, fresh(INITIAL5)) }), { initialCluster: INITIAL5 });
    expect(outcome).toEqual({ ok: true, atMs: 2000 });
    expect(waits).toEqual([PEER_URLS5, PEER_URLS5]);
  });

  it('waits for a peer that hangs no longer than the attempt timeout per URL when a fresh one answers', async () => {
    // m3 hangs at both its URLs, asked one after the other
    const { outcome, calls } = await check((url) => (url === M2_URL ? fresh() : 'hang'), { attemptTimeoutMs: 700 });
    expect(outcome).toEqual({ ok: true, atMs: 1400 });
    expect(roundTimes(calls, M3_URL)).toEqual([0]);
    expect(roundTimes(calls, M3_URL2)).toEqual([700]);
    expect(calls.every((c) => c.timeoutMs === 700)).toBe(true);
  });

  it('with 3 members, a fresh and a running peer answering proceed by the quorum rule (2 of 2)', async () => {
    for (const [m2, m3] of [
      [fresh(), runningNotSeen(4)],
      [runningNotSeen(4), fresh()],
    ] as const) {
      const { outcome } = await check(byMember(INITIAL, { m2, m3 }));
      expect(outcome).toEqual({ ok: true, atMs: 0 });
    }
  });

  it('with 3 members, a running peer alone makes it wait for the fresh one, which then completes the quorum', async () => {
    const { outcome, waits } = await check(byMember(INITIAL, { m2: from(2, fresh()), m3: runningNotSeen(4) }));
    expect(outcome).toEqual({ ok: true, atMs: 2000 });
    expect(waits).toEqual([PEER_URLS, PEER_URLS]);
  });

  it('with 5 members, a fresh peer and a running one are not enough: the running one means the quorum rule applies', async () => {
    const { outcome, waits } = await check(byMember(INITIAL5, { m2: fresh(INITIAL5), m3: runningNotSeen(4, INITIAL5) }), {
      initialCluster: INITIAL5,
      timeoutMs: 5000,
    });
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.message).toBe(deadlineMessage(2, 3, PEER_URLS5));
    expect(waits).toHaveLength(5);
  });

  it('with 5 members, a fresh peer and a running one proceed once a third peer answers (fresh or running)', async () => {
    for (const third of [fresh(INITIAL5), runningNotSeen(4, INITIAL5)]) {
      const { outcome, waits } = await check(byMember(INITIAL5, { m2: fresh(INITIAL5), m3: runningNotSeen(4, INITIAL5), m5: from(2, third) }), {
        initialCluster: INITIAL5,
      });
      expect(outcome).toEqual({ ok: true, atMs: 2000 });
      expect(waits).toHaveLength(2);
    }
  });

  it('cannot see a publish held only by peers that are down when a new peer answers (the documented trade-off, as etcd)', async () => {
    // This member and m2 formed the cluster (m2 holds this member's publish) while m3 never started.
    // Now this member's data is gone, m2 is down and m3 starts for the first time: its term-0
    // answer is all there is, and it cannot be told apart from a new cluster with m2 not started yet.
    const { outcome } = await check(byMember(INITIAL, { m2: 'refused', m3: fresh() }));
    expect(outcome).toEqual({ ok: true, atMs: 0 });
  });
});

describe('checkNotBootstrapped: X-Raft-Term', () => {
  it('counts an answer without X-Raft-Term as a running peer (one that saw elections)', async () => {
    // the same member list as a fresh peer's: with the term it is enough alone, without it is not
    const withTerm = await check(byMember(INITIAL, { m2: fresh() }));
    expect(withTerm.outcome).toEqual({ ok: true, atMs: 0 });
    const noTerm = await check(byMember(INITIAL, { m2: withoutTerm(fresh()) }), { timeoutMs: 3000 });
    expect(errorOf(noTerm.outcome)).toBeInstanceOf(BootstrapCheckError);
    expect(errorOf(noTerm.outcome).message).toBe(deadlineMessage(1, 2, PEER_URLS));
    expect(noTerm.waits).toHaveLength(3);
  });

  it('counts answers without X-Raft-Term as answers: two of them meet the quorum of 3 members', async () => {
    const { outcome } = await check(() => withoutTerm(runningNotSeen()));
    expect(outcome).toEqual({ ok: true, atMs: 0 });
  });

  it('with 5 members, a fresh peer and one without X-Raft-Term need a third answer', async () => {
    const short = await check(byMember(INITIAL5, { m2: fresh(INITIAL5), m4: withoutTerm(fresh(INITIAL5)) }), { initialCluster: INITIAL5, timeoutMs: 3000 });
    expect(errorOf(short.outcome).message).toBe(deadlineMessage(2, 3, PEER_URLS5));
    const enough = await check(byMember(INITIAL5, { m2: fresh(INITIAL5), m4: withoutTerm(fresh(INITIAL5)), m5: from(1, fresh(INITIAL5)) }), {
      initialCluster: INITIAL5,
    });
    expect(enough.outcome).toEqual({ ok: true, atMs: 1000 });
  });

  it('counts an X-Raft-Term that is not a decimal number as a running peer', async () => {
    for (const value of ['', 'zero', '-1', '1.5', '0x0', '1e3']) {
      const { outcome } = await check(byMember(INITIAL, { m2: withTermHeader(fresh(), value) }), { timeoutMs: 2000 });
      expect(errorOf(outcome).message, JSON.stringify(value)).toBe(deadlineMessage(1, 2, PEER_URLS));
    }
  });

  it('reads X-Raft-Term as a client receives it: "0" is a fresh peer, any other number a running one', async () => {
    const list = peerJsonText(listing(INITIAL, {}));
    const zero = await check(byMember(INITIAL, { m3: raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '0' }, list) }));
    expect(zero.outcome).toEqual({ ok: true, atMs: 0 });
    for (const term of ['1', '17', '123456789']) {
      const { outcome } = await check(byMember(INITIAL, { m3: raw(200, { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: term }, list) }), {
        timeoutMs: 2000,
      });
      expect(errorOf(outcome).message, term).toBe(deadlineMessage(1, 2, PEER_URLS));
    }
  });
});

describe('checkNotBootstrapped: what does not count as an answer', () => {
  for (const [what, b] of notAnswers) {
    it(`does not count a peer that ${what}: with a running peer answering, keeps asking until it answers`, async () => {
      const { outcome, calls, waits } = await check(byMember(INITIAL, { m2: runningNotSeen(), m3: from(3, runningNotSeen(), b) }));
      const hangs = b === 'hang';
      // rounds at 0, 1s, 2s, 3s; while m3 hangs a round also costs two attempt timeouts (its two URLs, one after the other)
      expect(roundTimes(calls)).toEqual(hangs ? [0, 3000, 6000, 9000] : [0, 1000, 2000, 3000]);
      expect(outcome).toEqual({ ok: true, atMs: hangs ? 9000 : 3000 });
      expect(waits).toEqual([PEER_URLS, PEER_URLS, PEER_URLS]);
      // m2 once a round; m3 at both URLs while its first does not answer, then at the first only
      expect(calls).toHaveLength(4 + 3 * 2 + 1);
    });

    it(`does not count a peer that ${what} as a running peer: a fresh peer's answer is still enough`, async () => {
      const { outcome, waits } = await check(byMember(INITIAL, { m2: fresh(), m3: b }));
      expect(outcome).toEqual({ ok: true, atMs: b === 'hang' ? 2000 : 0 });
      expect(waits).toEqual([]);
    });
  }

  it('does not take an answer for another cluster that lists this member with client URLs as proof of anything', async () => {
    const other = membersAnswer(0x99n, [{ id: SELF, name: 'm1', peerURLs: [], clientURLs: ['http://10.0.0.1:2379'] }], 3);
    expect(other.headers?.[HEADER_CLUSTER_ID]).toBe(OTHER_CLUSTER_HEX);
    const { outcome } = await check((_url, round) => (round === 0 ? other : fresh()));
    expect(outcome).toEqual({ ok: true, atMs: 1000 });
  });
});

describe('checkNotBootstrapped: the deadline', () => {
  it('gives up with BootstrapCheckError after timeoutMs, saying how many of the needed peers answered and naming every URL it asked', async () => {
    const { outcome, calls, waits } = await check(() => 'refused', { timeoutMs: 10_000, attemptTimeoutMs: 1000 });
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.name).toBe('BootstrapCheckError');
    expect(err.message).toBe(deadlineMessage(0, 2, PEER_URLS));
    expect(err.message).toBe(
      `the data dir is empty and only 0 of the 2 peers needed answered (asked http://10.0.0.2:2380, http://10.0.0.3:2380, http://10.0.1.3:2380): cannot tell whether member ${SELF_HEX} was already bootstrapped`,
    );
    // not before the deadline, and not much after it
    expect(outcome.atMs).toBe(10_000);
    expect(roundTimes(calls)).toEqual(Array.from({ length: 11 }, (_, i) => i * 1000));
    expect(waits).toHaveLength(10);
    for (const w of waits) expect(w).toEqual(PEER_URLS);
  });

  it('reports the answers of the last round in the message', async () => {
    // 5 members: two answered in the last round (earlier rounds had fewer)
    const { outcome } = await check(byMember(INITIAL5, { m2: from(1, runningNotSeen(2, INITIAL5)), m4: from(3, fresh(INITIAL5)) }), {
      initialCluster: INITIAL5,
      timeoutMs: 5000,
    });
    expect(errorOf(outcome).message).toBe(deadlineMessage(2, 3, PEER_URLS5));
  });

  it('gives up after the deadline even when peers hang (each round costs the attempt timeouts of the URLs asked in turn)', async () => {
    const { outcome, calls } = await check(() => 'hang', { timeoutMs: 5_000, attemptTimeoutMs: 1000 });
    const err = errorOf(outcome);
    expect(err).toBeInstanceOf(BootstrapCheckError);
    expect(err.message).toBe(deadlineMessage(0, 2, PEER_URLS));
    // rounds at 0 and 3s (m3's two URLs take 2s, then the 1s pause); the second ends at the deadline
    expect(outcome.atMs).toBe(5_000);
    expect(roundTimes(calls)).toEqual([0, 3000]);
    expect(roundTimes(calls, M3_URL2)).toEqual([1000, 4000]);
  });

  it('waits five minutes by default, one second per attempt', async () => {
    const { outcome, calls } = await check(() => 'refused', { timeoutMs: undefined, attemptTimeoutMs: undefined });
    expect(errorOf(outcome)).toBeInstanceOf(BootstrapCheckError);
    expect(outcome.atMs).toBe(300_000);
    expect(calls[0]?.timeoutMs).toBe(1000);
    expect(roundTimes(calls)).toHaveLength(301);
  });

  it('returns at once, asking nobody, in a one-member cluster', async () => {
    const { outcome, calls, waits, timers } = await check(() => 'refused', { initialCluster: [INITIAL[0] as InitialMember] });
    expect(outcome).toEqual({ ok: true, atMs: 0 });
    expect(calls).toEqual([]);
    expect(waits).toEqual([]);
    expect(timers.armed).toBe(0);
  });
});

describe('freshMemberApi: what a member answers on its peer port while it checks its own bootstrap', () => {
  const api: PeerApiHandler = freshMemberApi(CLUSTER, INITIAL);
  const req = (method: string, path: string): PeerApiRequest => ({ method, path, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX }, body: new Uint8Array(0) });

  it('answers GET /members with the cluster id, term 0 and every initial member, none with client URLs', () => {
    const res = api(req('GET', '/members')) as PeerApiResponse;
    expect(res.status).toBe(200);
    expect(res.headers).toEqual({ [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_RAFT_TERM]: '0' });
    const members = res.json as PeerMemberJSON[];
    expect(members).toEqual(INITIAL.map((m) => ({ id: m.id.toString(16), name: m.name, peerURLs: m.peerURLs, clientURLs: [] })));
    // copies: the answer cannot change the configuration
    (members[2] as PeerMemberJSON).peerURLs.push('http://evil:2380');
    expect(INITIAL[2]?.peerURLs).toEqual(['http://10.0.0.3:2380', 'http://10.0.1.3:2380']);
  });

  it('answers 503 (not ready) on every other path, whatever the method', () => {
    for (const [method, path] of [
      ['GET', '/members/attributes'],
      ['POST', '/members/publish'],
      ['GET', '/version'],
      ['POST', '/raft/messages'],
      ['GET', '/members/'],
    ] as const) {
      const res = api(req(method, path)) as PeerApiResponse;
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.text).toMatch(/not ready/);
    }
  });

  it('answers 405 with Allow: GET to any other method on /members', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const res = api(req(method, '/members')) as PeerApiResponse;
      expect(res.status, method).toBe(405);
      expect(res.headers).toEqual({ Allow: 'GET' });
      expect(res.json).toBeUndefined();
    }
  });

  /** A PeerClient that serves each URL with a handler (none: connection refused). */
  function handlersClient(handlers: Map<string, PeerApiHandler>): PeerClient {
    return {
      async request(url, r) {
        const handler = handlers.get(url);
        if (handler === undefined) throw new Error('ECONNREFUSED');
        const res = await handler({ method: r.method, path: r.path, headers: r.headers ?? {}, body: new Uint8Array(0) });
        return asReply(res as PeerApiResponse);
      },
    };
  }

  it('is what a new member needs to see to start: fresh members find each other, even with one missing', async () => {
    // m1 checks while m2 and m3 run freshMemberApi themselves; then with m3 not started
    for (const urls of [PEER_URLS, [M2_URL]]) {
      const timers = new VirtualTimers();
      const { o } = options(timers, handlersClient(new Map(urls.map((u) => [u, freshMemberApi(CLUSTER, INITIAL)]))));
      expect(await runToEnd(checkNotBootstrapped(o), timers), urls.join()).toEqual({ ok: true, atMs: 0 });
    }
  });

  it('does not make a running member (membersAnswer at its term) enough on its own', async () => {
    // m2 runs (term 5) and never saw this member publish; m3 is new and starts only after two rounds
    const runningApi: PeerApiHandler = () => membersAnswer(CLUSTER, listing(INITIAL, othersPublished(INITIAL)), 5);
    const handlers = new Map<string, PeerApiHandler>([[M2_URL, runningApi]]);
    const timers = new VirtualTimers();
    const { o, waits } = options(timers, handlersClient(handlers));
    timers.setTimeout(() => handlers.set(M3_URL, freshMemberApi(CLUSTER, INITIAL)), 1500);
    expect(await runToEnd(checkNotBootstrapped(o), timers)).toEqual({ ok: true, atMs: 2000 });
    expect(waits).toEqual([PEER_URLS, PEER_URLS]);
  });
});

describe('membersAnswer', () => {
  it('is a 200 with the cluster id in hex, the term in X-Raft-Term and the members as given', () => {
    const members: PeerMemberJSON[] = [{ id: 0x22n, name: 'm2', peerURLs: ['http://10.0.0.2:2380'], clientURLs: ['http://10.0.0.2:2379'] }];
    expect(HEADER_RAFT_TERM).toBe('x-raft-term');
    expect(membersAnswer(CLUSTER, members, 7)).toEqual({ status: 200, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX, 'x-raft-term': '7' }, json: members.map((m) => ({ ...m, id: m.id.toString(16) })) });
    expect(membersAnswer(CLUSTER, [], 0)).toEqual({ status: 200, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX, 'x-raft-term': '0' }, json: [] });
  });
});
