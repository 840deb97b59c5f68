// --follower-writes forward: a follower takes a client's write itself, as etcd 3.4 does, instead of
// answering 307. It checks the request as the leader would (the HTTP layer, auth included, runs on
// the follower), sends the command to the leader (POST /members/propose on the leader's peer URL),
// which proposes it tagged with the follower's id, run id and a sequence number; the follower
// answers its client when it applies that very entry, with what applying it returned. So the answer
// and its headers come from the follower's own store, and the client's next read on the follower
// sees its write (read-your-writes without a redirect).
//
// A failure the leader reports (not the leader any more, too many requests, leadership lost) fails
// the write with etcd's message; so does no answer within the request timeout ('etcdserver: request
// timed out'), a write that may still be applied, as on etcd.
import type { Logger } from 'pino';
import { CLUSTER_ID_MISMATCH_TEXT, HEADER_CLUSTER_ID, HEADER_FROM } from '../transport/protocol.js';
import { LEADER_CHANGED, NotLeaderError, ProposalError, REQUEST_TIMED_OUT, TOO_MANY_REQUESTS } from './backend.js';
import { checkForwardable, type EntryCommand, type ForwardableCommand, type ForwardedCommand } from './entry-codec.js';
import { formatId, parseMemberId } from './ids.js';
import { replyJson, type PeerApiRequest, type PeerApiResponse, type PeerClient } from './peer-api.js';
import type { EntryResult } from './state-machine.js';
import type { MemberTimers, TimerHandle } from './timers.js';
import { sameToken } from './tokens.js';

export const PROPOSE_PATH = '/members/propose';
/** Where the leader checks, once per follower run, that a forward token is that follower's own. */
export const FORWARD_TOKEN_PATH = '/members/forward-token';

export type FollowerWrites = 'redirect' | 'forward';

interface Waiter {
  resolve: (result: EntryResult) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export interface ForwarderOptions {
  memberId: bigint;
  clusterIdHex: string;
  /** This run's id: entries forwarded by an earlier run never answer this run's clients. */
  runId: number;
  /**
   * This run's secret (random, never shown to anyone but the leader it forwards to): the leader
   * proposes a forwarded write only after this member confirmed the token at its own peer URL.
   */
  token: string;
  leaderId: () => bigint;
  peerURLs: (memberId: bigint) => readonly string[];
  peerClient: PeerClient;
  timers: MemberTimers;
  logger: Logger;
  timeoutMs: number;
  /** Writes waiting at once, at most; beyond it 'etcdserver: too many requests'. */
  maxPending: number;
}

/** The follower's side: forwards a client's command and waits until it applies it. */
export class Forwarder {
  private readonly waiters = new Map<number, Waiter>();
  private seq = 0;

  constructor(private readonly o: ForwarderOptions) {}

  get pending(): number {
    return this.waiters.size;
  }

  forward(cmd: ForwardableCommand, notLeader: () => NotLeaderError): Promise<EntryResult> {
    const lead = this.o.leaderId();
    const url = lead === 0n || lead === this.o.memberId ? undefined : this.o.peerURLs(lead)[0];
    if (url === undefined) return Promise.reject(notLeader());
    if (this.waiters.size >= this.o.maxPending) return Promise.reject(new ProposalError(TOO_MANY_REQUESTS));
    const seq = ++this.seq;
    const done = new Promise<EntryResult>((resolve, reject) => {
      const timer = this.o.timers.setTimeout(() => this.fail(seq, new ProposalError(REQUEST_TIMED_OUT)), this.o.timeoutMs);
      this.waiters.set(seq, { resolve, reject, timer });
    });
    this.o.peerClient
      .request(
        url,
        {
          method: 'POST',
          path: PROPOSE_PATH,
          headers: { [HEADER_CLUSTER_ID]: this.o.clusterIdHex, [HEADER_FROM]: formatId(this.o.memberId) },
          json: { runId: this.o.runId, seq, token: this.o.token, cmd },
        },
        this.o.timeoutMs,
      )
      .then(
        (reply) => {
          if (reply.status === 200) return; // proposed and applied on the leader: our own apply answers
          const body = replyJson(reply) as { message?: unknown } | undefined;
          const message = typeof body?.message === 'string' ? body.message : `leader answered ${reply.status}`;
          this.fail(seq, new ProposalError(message));
        },
        (err: unknown) => {
          // The leader may have proposed it: the entry may still arrive here and answer first.
          this.o.logger.debug({ err, leader: formatId(lead) }, 'forward: the leader did not answer');
          this.fail(seq, new ProposalError(REQUEST_TIMED_OUT));
        },
      );
    return done;
  }

  /** GET /members/forward-token?token=T: 204 when T is this run's token, else 404 (the token is never revealed). */
  handleTokenCheck(req: PeerApiRequest): PeerApiResponse {
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, json: { message: 'Method Not Allowed' } };
    if (req.headers[HEADER_CLUSTER_ID] !== this.o.clusterIdHex) return { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } };
    const m = /(?:^|&)token=([0-9a-f]{1,64})(?:&|$)/.exec(req.query ?? '');
    return sameToken(m?.[1], this.o.token) ? { status: 204 } : { status: 404, json: { message: 'not this member\'s forward token' } };
  }

  /** An entry forwarded by some member was applied here. */
  onApplied(cmd: ForwardedCommand, result: EntryResult): void {
    if (cmd.memberId !== this.o.memberId || cmd.runId !== this.o.runId) return;
    const w = this.waiters.get(cmd.seq);
    if (w === undefined) return;
    this.waiters.delete(cmd.seq);
    w.timer.cancel();
    w.resolve(result);
  }

  failAll(reason: string): void {
    for (const seq of [...this.waiters.keys()]) this.fail(seq, new ProposalError(reason));
  }

  private fail(seq: number, err: Error): void {
    const w = this.waiters.get(seq);
    if (w === undefined) return;
    this.waiters.delete(seq);
    w.timer.cancel();
    w.reject(err);
  }
}

export interface ForwardedProposalsOptions {
  clusterIdHex: string;
  selfId: bigint;
  isMember: (id: bigint) => boolean;
  /** A member's registered peer URLs (where its token is confirmed). */
  peerURLs: (id: bigint) => readonly string[];
  peerClient: PeerClient;
  timeoutMs: number;
  /** Proposes on this member (the leader); rejects with NotLeaderError when it does not lead. */
  propose: (cmd: EntryCommand) => Promise<EntryResult>;
  logger: Logger;
}

/**
 * The leader's side of POST /members/propose. It proposes only a well-formed client command
 * (checkForwardable), only from another member, and only with the token that member confirms at
 * its own registered peer URL (asked once per member run, then remembered): a stranger who knows
 * the cluster id and a member's id cannot write through the peer port, around the v2 auth that the
 * member checks.
 */
export class ForwardedProposals {
  /** The confirmed token of each member (its current run). */
  private readonly confirmed = new Map<bigint, string>();
  /** Confirmations in flight, by member and token. */
  private readonly confirming = new Map<string, Promise<boolean>>();

  constructor(private readonly o: ForwardedProposalsOptions) {}

  async handle(req: PeerApiRequest): Promise<PeerApiResponse> {
    const o = this.o;
    if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, json: { message: 'Method Not Allowed' } };
    if (req.headers[HEADER_CLUSTER_ID] !== o.clusterIdHex) return { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } };
    const from = parseMemberId(req.headers[HEADER_FROM] ?? '');
    if (from === undefined || from === o.selfId || !o.isMember(from)) {
      return this.refuse(403, `forwarded proposal from a non-member (${HEADER_FROM} is ${req.headers[HEADER_FROM] ?? 'missing'})`);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(req.body).toString('utf8')) as unknown;
    } catch {
      return this.refuse(400, 'forwarded proposal: invalid JSON');
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { runId, seq, token } = b;
    if (!Number.isSafeInteger(runId) || (runId as number) < 0 || !Number.isSafeInteger(seq) || (seq as number) < 1) {
      return this.refuse(400, 'forwarded proposal: runId and seq must be non-negative integers');
    }
    if (typeof token !== 'string' || !/^[0-9a-f]{16,64}$/.test(token)) return this.refuse(400, 'forwarded proposal: no token');
    const cmd = checkForwardable(b['cmd']);
    if (typeof cmd === 'string') return this.refuse(400, `forwarded proposal: ${cmd}`);
    if (this.confirmed.get(from) !== token && !(await this.confirm(from, token))) {
      return this.refuse(403, `forwarded proposal: ${formatId(from)} did not confirm the token at its peer URL`);
    }
    try {
      await o.propose({ kind: 'forwarded', memberId: from, runId: runId as number, seq: seq as number, cmd });
      return { status: 200, json: { ok: true } };
    } catch (err: unknown) {
      if (err instanceof NotLeaderError) return { status: 503, json: { message: LEADER_CHANGED } };
      if (err instanceof ProposalError) return { status: 503, json: { message: err.reason } };
      throw err;
    }
  }

  private confirm(from: bigint, token: string): Promise<boolean> {
    const key = `${from}:${token}`;
    let p = this.confirming.get(key);
    if (p !== undefined) return p;
    if (this.confirming.size >= 64) return Promise.resolve(false); // bounded: members are few
    const url = this.o.peerURLs(from)[0];
    if (url === undefined) return Promise.resolve(false);
    p = this.o.peerClient
      .request(url, { method: 'GET', path: `${FORWARD_TOKEN_PATH}?token=${token}`, headers: { [HEADER_CLUSTER_ID]: this.o.clusterIdHex } }, this.o.timeoutMs)
      .then(
        (reply) => reply.status === 204,
        () => false,
      )
      .then((ok) => {
        this.confirming.delete(key);
        if (ok) this.confirmed.set(from, token);
        return ok;
      });
    this.confirming.set(key, p);
    return p;
  }

  private refuse(status: number, message: string): PeerApiResponse {
    this.o.logger.warn({ reason: message }, 'refused a forwarded proposal');
    return { status, json: { message } };
  }
}
