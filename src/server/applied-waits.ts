// Read-your-writes after a redirect (issue 11): a follower answers a client's write with a 307 to
// the leader, the leader applies it and answers, and the client's next read goes back to the
// follower. The leader therefore answers a redirected write only once the follower that redirected
// it has applied it: it asks that member (GET /members/applied?index=N on its peer URL), which
// answers as soon as it has applied N, or after a short bound. One request per member is in
// flight at a time for the highest index any waiting write needs (up to 4 when newer writes need a
// newer index); every write waits at most
// maxWaitMs (then it is answered anyway: the member may be down or cut off, and a client cannot
// read from it then either).
import type { Logger } from 'pino';
import { HEADER_CLUSTER_ID } from '../transport/protocol.js';
import { replyJson, type PeerApiRequest, type PeerApiResponse, type PeerClient } from './peer-api.js';
import type { MemberTimers, TimerHandle } from './timers.js';

export const APPLIED_PATH = '/members/applied';

/** How a wait ended. */
export type AppliedWaitOutcome = 'applied' | 'down' | 'timeout';

interface Waiter {
  index: number;
  resolve: (outcome: AppliedWaitOutcome) => void;
  timer: TimerHandle;
}

interface PerMember {
  waiters: Waiter[];
  /** Requests in flight to the member, and the highest index one of them asks for. */
  inFlight: number;
  askedUpTo: number;
}

/** Requests in flight to one member at most: a write that needs a newer index need not wait for an older request's answer. */
const MAX_IN_FLIGHT_PER_MEMBER = 4;

export interface AppliedWaitsOptions {
  clusterIdHex: string;
  peerClient: PeerClient;
  timers: MemberTimers;
  logger: Logger;
  /** A member's peer URLs ([] when it is not a member). */
  peerURLs: (memberId: bigint) => readonly string[];
  /** How long a write waits for the member at most. */
  maxWaitMs: number;
  /** How long the member holds one request before it answers with what it has applied. */
  pollMs: number;
  /** Writes waiting at once, at most (more are answered at once). */
  maxWaiters: number;
}

/** The leader's side: waits until a member has applied an index. */
export class AppliedWaits {
  private readonly byMember = new Map<bigint, PerMember>();
  private waiting = 0;

  constructor(private readonly o: AppliedWaitsOptions) {}

  /** Resolves once `memberId` applied `index` ('applied'), is found down, or after maxWaitMs ('timeout'). */
  wait(memberId: bigint, index: number): Promise<AppliedWaitOutcome> {
    const urls = this.o.peerURLs(memberId);
    if (urls.length === 0) return Promise.resolve('down');
    if (this.waiting >= this.o.maxWaiters) return Promise.resolve('timeout');
    let m = this.byMember.get(memberId);
    if (m === undefined) this.byMember.set(memberId, (m = { waiters: [], inFlight: 0, askedUpTo: 0 }));
    const pm = m;
    return new Promise<AppliedWaitOutcome>((resolve) => {
      const w: Waiter = {
        index,
        resolve,
        timer: this.o.timers.setTimeout(() => this.release(pm, (x) => x === w, 'timeout'), this.o.maxWaitMs),
      };
      pm.waiters.push(w);
      this.waiting++;
      this.poll(memberId, pm);
    });
  }

  private release(m: PerMember, which: (w: Waiter) => boolean, outcome: AppliedWaitOutcome): void {
    const keep: Waiter[] = [];
    for (const w of m.waiters) {
      if (which(w)) {
        w.timer.cancel();
        this.waiting--;
        w.resolve(outcome);
      } else {
        keep.push(w);
      }
    }
    m.waiters = keep;
  }

  private poll(memberId: bigint, m: PerMember): void {
    if (m.waiters.length === 0 || m.inFlight >= MAX_IN_FLIGHT_PER_MEMBER) return;
    let index = 0;
    for (const w of m.waiters) index = Math.max(index, w.index);
    if (m.inFlight > 0 && index <= m.askedUpTo) return;
    const url = this.o.peerURLs(memberId)[0];
    if (url === undefined) return this.release(m, () => true, 'down');
    m.inFlight++;
    m.askedUpTo = Math.max(m.askedUpTo, index);
    this.o.peerClient
      .request(url, { method: 'GET', path: `${APPLIED_PATH}?index=${index}`, headers: { [HEADER_CLUSTER_ID]: this.o.clusterIdHex } }, this.o.pollMs + this.o.maxWaitMs)
      .then(
        (reply) => {
          const v = replyJson(reply) as { applied?: unknown } | undefined;
          const applied = reply.status === 200 && typeof v?.applied === 'number' ? v.applied : undefined;
          if (applied !== undefined) this.release(m, (w) => w.index <= applied, 'applied');
          return applied !== undefined;
        },
        (err: unknown) => {
          if (connectionRefused(err)) this.release(m, () => true, 'down');
          else this.o.logger.debug({ err, member: memberId.toString(16) }, 'read-your-writes: could not ask a member what it applied');
          return false;
        },
      )
      .then((ok) => {
        m.inFlight--;
        if (m.inFlight === 0) m.askedUpTo = 0;
        // After a failure, the waiters' own bounds answer them; do not hammer the member.
        if (ok) this.poll(memberId, m);
      });
  }
}

/** Whether a request failed because nothing listens there (the member is down), as opposed to a timeout. */
function connectionRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message)) return true;
  }
  return false;
}

/** The member's side of GET /members/applied?index=N: answers once applied >= N, or after pollMs. */
export class AppliedAnswers {
  private waiters: { index: number; answer: () => void }[] = [];

  constructor(
    private readonly o: { clusterIdHex: string; applied: () => number; timers: MemberTimers; pollMs: number; maxWaiters: number },
  ) {}

  handle(req: PeerApiRequest): Promise<PeerApiResponse> | PeerApiResponse {
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, text: 'Method Not Allowed' };
    if (req.headers[HEADER_CLUSTER_ID] !== this.o.clusterIdHex) return { status: 412, text: 'etcdserver: cluster ID mismatch' };
    const m = /(?:^|&)index=(\d{1,16})(?:&|$)/.exec(req.query ?? '');
    if (m === null) return { status: 400, text: 'index: expected a decimal index' };
    const index = Number(m[1]);
    const answer = (): PeerApiResponse => ({ status: 200, headers: { [HEADER_CLUSTER_ID]: this.o.clusterIdHex }, json: { applied: this.o.applied() } });
    if (this.o.applied() >= index || this.waiters.length >= this.o.maxWaiters) return answer();
    return new Promise((resolve) => {
      // (answered early, its timer is cancelled: a redirected write leaves no timer behind)
      const entry = {
        index,
        answer: () => {
          timer.cancel();
          resolve(answer());
        },
      };
      this.waiters.push(entry);
      const timer = this.o.timers.setTimeout(() => {
        const at = this.waiters.indexOf(entry);
        if (at === -1) return;
        this.waiters.splice(at, 1);
        entry.answer();
      }, this.o.pollMs);
    });
  }

  /** The member applied more entries. */
  onApplied(): void {
    if (this.waiters.length === 0) return;
    const applied = this.o.applied();
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.index <= applied) w.answer();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** The member stops: everyone gets what was applied. */
  releaseAll(): void {
    for (const w of this.waiters.splice(0)) w.answer();
  }
}
