// A stranger on the peer network who knows the cluster id (it is in every client response) and
// sends what no well-behaved member can send: messages from a non-member, term-less messages of
// types that always carry a term, a heartbeat committing far beyond the receiver's log, a
// snapshot nobody took, an ack for entries the leader does not have, an append from someone who
// is not the leader of the term, a body of millions of empty entries, a publish that would
// point every redirect at the stranger's URL, and a forwarded client write claiming to come from a
// member (--follower-writes forward) without that member's token. Each must be refused (HTTP 4xx) and leave the
// receiver's raft state and membership exactly as they were. What a stranger can do by imitating a
// member perfectly (a shared cluster id allows it) is peer TLS's job (another issue), not tested here.
import { EntryType, MessageType, type Entry, type Message } from '../../../src/raft/messages.js';
import { formatId } from '../../../src/server/ids.js';
import { HEADER_CLUSTER_ID } from '../../../src/transport/protocol.js';
import { encodeBatch } from '../../../src/transport/wire.js';
import { SafetyViolation } from '../checker.js';
import type { Rng } from '../prng.js';
import type { MemberCluster, MemberSlot } from './member-cluster.js';
import { Owner } from './world.js';

export const STRANGER_ID = 0xdeadbeefn;
export const STRANGER_URL = 'http://10.9.9.9:2379';

export type Forgery =
  | 'stranger-heartbeat'
  | 'stranger-vote'
  | 'termless-timeout-now'
  | 'termless-heartbeat'
  | 'commit-beyond-log'
  | 'append-from-non-leader'
  | 'ack-beyond-log'
  | 'forged-snapshot'
  | 'empty-entry-flood'
  | 'forged-publish'
  | 'forged-forward';

export const FORGERIES: readonly Forgery[] = [
  'stranger-heartbeat',
  'stranger-vote',
  'termless-timeout-now',
  'termless-heartbeat',
  'commit-beyond-log',
  'append-from-non-leader',
  'ack-beyond-log',
  'forged-snapshot',
  'empty-entry-flood',
  'forged-publish',
];

/** The key a forged forwarded write would create: no member may ever hold it. */
export const STRANGER_KEY = '/stranger-was-here';

function msg(init: Partial<Message> & Pick<Message, 'type' | 'to' | 'from'>): Message {
  return { term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...init };
}

interface RaftView {
  term: number;
  vote: bigint;
  commit: number;
  lead: bigint;
  role: string;
  lastIndex: number;
}

export class Intruder {
  attempts = 0;
  private readonly owner = new Owner('stranger');
  /** Flooding costs real time to encode: at most this many per schedule. */
  private floods = 0;

  constructor(
    private readonly cluster: MemberCluster,
    private readonly rng: Rng,
    /**
     * Draws for 'forged-forward' (one in ten attacks when given), apart from `rng`, so that the
     * schedules of the other forgeries, and the seeds recorded for them, stay as they were.
     */
    private readonly forwardRng?: Rng,
  ) {}

  /** Sends one forgery of the given kind (or a random one) to a running member. */
  attack(kind?: Forgery): void {
    const running = this.cluster.running();
    if (running.length === 0) return;
    if (kind === undefined && this.forwardRng?.chance(0.1)) {
      this.attempts++;
      return this.forgeForward(this.forwardRng);
    }
    let target = this.rng.pick(running);
    let k = kind ?? this.rng.pick(FORGERIES);
    if (k === 'ack-beyond-log') {
      // Only a leader counts acknowledgements (a follower may get late ones of its own old term).
      const leader = this.cluster.leaders()[0];
      if (leader === undefined) return;
      target = leader;
    }
    if (k === 'empty-entry-flood' && this.floods >= 1) k = 'termless-heartbeat';
    this.attempts++;
    this.cluster.trace.note(this.cluster.world.nowMs, `stranger sends ${k} to ${target.name}`);
    if (k === 'forged-publish') return this.forgePublish();
    if (k === 'forged-forward') return this.forgeForward(this.forwardRng ?? this.rng);
    const member = target.member;
    if (member === null) return;
    const st = member.raftStatus();
    const others = this.cluster.ids.filter((id) => id !== target.id);
    const someMember = others.length > 0 ? this.rng.pick(others) : target.id;
    const to = target.id;
    let from = someMember;
    let kindPath: 'messages' | 'snapshot' = 'messages';
    let messages: Message[];
    switch (k) {
      case 'stranger-heartbeat':
        from = STRANGER_ID;
        messages = [msg({ type: MessageType.MsgHeartbeat, to, from, term: st.term + 1, commit: st.lastIndex })];
        break;
      case 'stranger-vote':
        from = STRANGER_ID;
        messages = [msg({ type: MessageType.MsgVote, to, from, term: st.term + 5, index: st.lastIndex + 100, logTerm: st.term + 5 })];
        break;
      case 'termless-timeout-now':
        messages = [msg({ type: MessageType.MsgTimeoutNow, to, from, term: 0 })];
        break;
      case 'termless-heartbeat':
        messages = [msg({ type: MessageType.MsgHeartbeat, to, from, term: 0, commit: st.lastIndex })];
        break;
      case 'commit-beyond-log':
        from = st.lead !== 0n && st.lead !== to ? st.lead : someMember;
        messages = [msg({ type: MessageType.MsgHeartbeat, to, from, term: st.term, commit: 1e9 })];
        break;
      case 'append-from-non-leader': {
        // The term's leader is known and it is someone else: nobody else may append in this term.
        const notLeader = others.find((id) => id !== st.lead);
        if (st.lead === 0n || notLeader === undefined) return;
        from = notLeader;
        const e: Entry = { term: st.term, index: st.commit + 1, type: EntryType.Normal, data: new Uint8Array([0x93, 1, 2, 3]) };
        messages = [msg({ type: MessageType.MsgApp, to, from, term: st.term, index: st.commit, logTerm: member.raftStatus().term, entries: [e], commit: st.commit + 1 })];
        break;
      }
      case 'ack-beyond-log':
        messages = [msg({ type: MessageType.MsgAppResp, to, from, term: st.term, index: st.lastIndex + 1000 })];
        break;
      case 'forged-snapshot':
        kindPath = 'snapshot';
        messages = [
          msg({
            type: MessageType.MsgSnap,
            to,
            from,
            term: st.term,
            snapshot: { data: new Uint8Array([1, 2, 3]), metadata: { index: st.lastIndex + 100, term: st.term, confState: { voters: [...this.cluster.ids], learners: [] } } },
          }),
        ];
        break;
      case 'empty-entry-flood': {
        this.floods++;
        const count = 200_000;
        const entries: Entry[] = new Array(count);
        const empty = new Uint8Array(0);
        for (let i = 0; i < count; i++) entries[i] = { term: 1, index: i + 1, type: EntryType.Normal, data: empty };
        messages = [msg({ type: MessageType.MsgApp, to, from, term: 0, index: 0, entries })];
        break;
      }
    }
    const before = view(member.raftStatus());
    const attrsBefore = showJson(member.members());
    const endpoint = target.endpoint;
    if (endpoint === null) return;
    const r = this.cluster.net.deliver(from, to, encodeBatch(messages), endpoint, kindPath, true);
    if (r.status === 0) return; // not listening
    if (r.status < 400 || r.status >= 500) {
      throw new SafetyViolation('Forged Input', `${target.name} answered ${r.status} (${r.text}) to a forged ${k} from ${formatId(from)}; it must refuse it with a 4xx`);
    }
    const after = view(member.raftStatus());
    if (showJson(before) !== showJson(after) || attrsBefore !== showJson(member.members())) {
      throw new SafetyViolation('Forged Input', `${target.name} changed its state on a refused forged ${k}: ${showJson(before)} -> ${showJson(after)}`);
    }
    void this.owner;
  }

  /** POST /members/publish to the leader, claiming another member now serves clients at the stranger's URL. */
  private forgePublish(): void {
    const leader = this.cluster.leaders()[0];
    if (leader === undefined) return;
    const victim = this.rng.pick(this.cluster.slots);
    const client = this.cluster.net.clientFor(STRANGER_ID, this.owner);
    const peerURL = (this.cluster.net.addresses.get(leader.id) as { peerURL: string }).peerURL;
    const clusterIdHex = formatId(this.cluster.clusterId);
    void client
      .request(
        peerURL,
        {
          method: 'POST',
          path: '/members/publish',
          headers: { [HEADER_CLUSTER_ID]: clusterIdHex, 'x-server-from': formatId(victim.id) },
          json: { id: formatId(victim.id), name: victim.name, clientURLs: [STRANGER_URL] },
        },
        10_000,
      )
      .then(
        (reply) => {
          if (reply.status < 400 || reply.status >= 500) {
            this.cluster.world.fail(new SafetyViolation('Forged Input', `leader ${leader.name} answered ${reply.status} to a forged publish of ${victim.name}'s client URLs`));
          }
        },
        () => undefined,
      );
  }

  /**
   * POST /members/propose to the leader, claiming to be another member forwarding a client's write:
   * well-formed in every field but the token, which only that member knows.
   */
  private forgeForward(rng: Rng): void {
    const leader = this.cluster.leaders()[0];
    if (leader === undefined) return;
    const victims = this.cluster.slots.filter((s) => s !== leader);
    if (victims.length === 0) return;
    const victim = rng.pick(victims);
    this.cluster.trace.note(this.cluster.world.nowMs, `stranger sends forged-forward to ${leader.name} as ${victim.name}`);
    const client = this.cluster.net.clientFor(STRANGER_ID, this.owner);
    const peerURL = (this.cluster.net.addresses.get(leader.id) as { peerURL: string }).peerURL;
    let token = '';
    for (let i = 0; i < 32; i++) token += '0123456789abcdef'[rng.int(0, 15)];
    const cmd = { kind: 'v2', req: { method: 'PUT', path: STRANGER_KEY, val: 'x', dir: false, prevValue: '', prevIndex: 0, prevExist: null, expiration: 0, refresh: false, recursive: false, time: 1 } };
    void client
      .request(
        peerURL,
        {
          method: 'POST',
          path: '/members/propose',
          headers: { [HEADER_CLUSTER_ID]: formatId(this.cluster.clusterId), 'x-server-from': formatId(victim.id) },
          json: { runId: rng.int(0, 1_000_000), seq: 1, token, cmd },
        },
        10_000,
      )
      .then(
        (reply) => {
          if (reply.status < 400 || reply.status >= 500) {
            this.cluster.world.fail(new SafetyViolation('Forged Input', `leader ${leader.name} answered ${reply.status} to a forged forwarded write claiming to come from ${victim.name}`));
          }
        },
        () => undefined,
      );
  }

  /** No member may ever redirect clients to the stranger. */
  checkMembership(slot: MemberSlot): void {
    const m = slot.member;
    if (m === null) return;
    for (const info of m.members()) {
      if (info.clientURLs.includes(STRANGER_URL)) throw new SafetyViolation('Forged Input', `${slot.name} lists ${info.name} at the stranger's URL ${STRANGER_URL}`);
    }
    // ... nor hold a key the stranger wrote through the peer port
    if (m.store.get(STRANGER_KEY, false, false, m.now()).ok) throw new SafetyViolation('Forged Input', `${slot.name} holds ${STRANGER_KEY}, written by a forged forwarded proposal`);
  }
}

function view(st: { term: number; vote: bigint; commit: number; lead: bigint; role: string; lastIndex: number }): RaftView {
  return { term: st.term, vote: st.vote, commit: st.commit, lead: st.lead, role: st.role, lastIndex: st.lastIndex };
}

/** JSON with ids (bigints) in hex. */
function showJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString(16) : x));
}
