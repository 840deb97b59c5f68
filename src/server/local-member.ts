// The single-member runtime: a member that is its own leader and keeps the store in memory, without
// raft or a data dir. The binary runs RaftMember (a one-member cluster included); this runtime
// serves the client API in the HTTP tests, in process and fast. It is shaped like RaftMember:
// proposals are encoded to the msgpackr command, queued (bounded), and applied in order from the
// decoded bytes in batches, each batch one turn of the event loop, as committed entries would be. So
// a command really carries everything apply needs. TTL expiry is a SYNC command proposed with this
// member's clock when the earliest expiration is due, checked every syncIntervalMs (etcd: 500 ms).
import type { Logger } from 'pino';
import { AuthStore, type AuthChange, type AuthResult, type AuthView } from '../store/auth.js';
import { decodeAuthChange, encodeAuthChange } from '../store/auth-codec.js';
import { decodeV2Request, encodeV2Request, v2Request, type V2Request } from '../store/command.js';
import { formatExpiration } from '../store/event.js';
import { Store, type ApplyResult } from '../store/store.js';
import { ProposalError, STOPPED, TOO_MANY_REQUESTS, type ClientBackend, type LeaderStats, type MemberInfo, type SelfStats } from './backend.js';
import { formatGoDurationMs } from './go-duration.js';
import { formatId } from './ids.js';

export interface LocalMemberOptions {
  name: string;
  memberId: bigint;
  clusterId: bigint;
  peerURLs: readonly string[];
  clientURLs: readonly string[];
  logger: Logger;
  /** A store to serve (default: a new empty one). */
  store?: Store;
  /** Wall clock in Unix ms with sub-ms precision (default: performance.timeOrigin + performance.now()). */
  clock?: () => number;
  /** How often to check whether a TTL is due (etcd's sync ticker: 500 ms). */
  syncIntervalMs?: number;
  /** Proposals waiting to be applied, at most; more are refused with 'etcdserver: too many requests'. */
  maxPendingProposals?: number;
}

type Pending =
  /** apply() decodes the entry's bytes, applies them and answers the proposer. */
  | { kind: 'entry'; apply: () => void; reject: (e: Error) => void }
  | { kind: 'barrier'; resolve: () => void };

export class LocalMember implements ClientBackend {
  readonly store: Store;
  readonly clusterId: string;
  readonly self: MemberInfo;
  private readonly authStore = new AuthStore();
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly syncIntervalMs: number;
  private readonly maxPendingProposals: number;
  private readonly startTimeMs: number;
  private readonly queue: Pending[] = [];
  private pendingEntries = 0;
  private drainScheduled = false;
  /** Entries applied so far: what X-Raft-Index reports. */
  private appliedIndex = 0;
  /** A lone member elects itself once, in term 1. */
  private readonly term = 1;
  private syncTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(options: LocalMemberOptions) {
    this.store = options.store ?? new Store();
    this.clusterId = formatId(options.clusterId);
    this.self = {
      id: formatId(options.memberId),
      name: options.name,
      peerURLs: [...options.peerURLs],
      clientURLs: [...options.clientURLs],
    };
    this.logger = options.logger;
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    this.syncIntervalMs = options.syncIntervalMs ?? 500;
    this.maxPendingProposals = options.maxPendingProposals ?? 10_000;
    if (!(this.syncIntervalMs > 0) || !(this.maxPendingProposals > 0)) {
      throw new Error(`LocalMember: bad options (syncIntervalMs ${this.syncIntervalMs}, maxPendingProposals ${this.maxPendingProposals})`);
    }
    this.startTimeMs = this.clock();
  }

  /** Starts the expiry ticker. */
  start(): void {
    if (this.stopped) throw new Error('LocalMember: start() after stop()');
    if (this.syncTimer !== null) return;
    this.syncTimer = setInterval(() => this.syncIfDue(), this.syncIntervalMs);
    this.syncTimer.unref();
    this.logger.info({ memberId: this.self.id, clusterId: this.clusterId }, 'single member started; data is kept in memory');
  }

  /** Stops ticking; proposals still queued fail with 'etcdserver: server stopped'. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    this.syncTimer = null;
    for (const p of this.queue.splice(0)) {
      if (p.kind === 'barrier') p.resolve();
      else p.reject(new ProposalError(STOPPED));
    }
    this.pendingEntries = 0;
  }

  now(): number {
    return this.clock();
  }

  propose(req: V2Request): Promise<ApplyResult> {
    return this.enqueue(encodeV2Request(req), (data) => this.store.apply(decodeV2Request(data)));
  }

  auth(): AuthView {
    return this.authStore;
  }

  proposeAuth(change: AuthChange): Promise<AuthResult> {
    return this.enqueue(encodeAuthChange(change), (data) => this.authStore.apply(decodeAuthChange(data), this.store));
  }

  /** Resolves once every proposal made before the call has been applied. */
  readBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new ProposalError(STOPPED));
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.queue.push({ kind: 'barrier', resolve }));
  }

  raftIndex(): number {
    return this.appliedIndex;
  }

  raftTerm(): number {
    return this.term;
  }

  members(): MemberInfo[] {
    return [this.self];
  }

  leader(): MemberInfo | null {
    return this.stopped ? null : this.self;
  }

  selfStats(): SelfStats {
    const nowMs = this.clock();
    const startTime = formatExpiration(this.startTimeMs);
    return {
      name: this.self.name,
      id: this.self.id,
      state: 'StateLeader',
      startTime,
      leaderInfo: {
        leader: this.self.id,
        uptime: formatGoDurationMs(nowMs - this.startTimeMs),
        startTime,
      },
      recvAppendRequestCnt: 0,
      sendAppendRequestCnt: 0,
    };
  }

  leaderStats(): LeaderStats | null {
    return { leader: this.self.id, followers: {} };
  }

  /**
   * Queues an encoded entry (bounded); drain() applies it from these bytes, so a command crosses
   * the same encode/decode path as a log entry and must carry everything apply needs.
   */
  private enqueue<T>(data: Uint8Array, apply: (data: Uint8Array) => T): Promise<T> {
    if (this.stopped) return Promise.reject(new ProposalError(STOPPED));
    if (this.pendingEntries >= this.maxPendingProposals) return Promise.reject(new ProposalError(TOO_MANY_REQUESTS));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'entry', apply: () => resolve(apply(data)), reject });
      this.pendingEntries++;
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Applies everything queued, in order, from the encoded bytes (one batch of "committed entries"). */
  private drain(): void {
    const batch = this.queue.splice(0);
    this.pendingEntries = 0;
    for (const p of batch) {
      if (p.kind === 'barrier') {
        p.resolve();
        continue;
      }
      this.appliedIndex++;
      try {
        p.apply();
      } catch (err: unknown) {
        // apply is deterministic: a throw is a bug that would diverge replicas; stop loudly
        this.logger.fatal({ err, index: this.appliedIndex }, 'apply failed');
        p.reject(new ProposalError('etcdserver: apply failed'));
        throw err;
      }
    }
  }

  private syncIfDue(): void {
    const due = this.store.nextExpirationMs();
    if (due === null || this.stopped) return;
    const nowMs = this.clock();
    if (due > nowMs || this.pendingEntries >= this.maxPendingProposals) return;
    this.propose(v2Request({ method: 'SYNC', path: '/', time: nowMs })).catch((err: unknown) => {
      this.logger.warn({ err }, 'expiry sync not applied');
    });
  }
}
