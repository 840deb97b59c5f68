// Simulated etcd v2 clients of whole members. Each client works one operation at a time, on a
// random member: a write (PUT of a unique value) that follows the 307 to the leader as a client
// would, or a quorum=true read, which waits behind the member's readiness gate exactly as the
// client port does (src/server/cluster-runtime.ts). Every operation is recorded with the logical
// time it was invoked and completed; its outcome is ok, failed (it certainly did not take effect)
// or indeterminate (it may or may not have). The histories are checked for linearizability per key.
import { NotLeaderError, ProposalError, type ClientBackend } from '../../../src/server/backend.js';
import type { RaftMember } from '../../../src/server/raft-member.js';
import { v2Request } from '../../../src/store/command.js';
import type { Rng } from '../prng.js';
import { checkRegisterHistory, type RegisterOp } from './linearizability.js';
import { Owner, type World } from './world.js';
import { SafetyViolation } from '../checker.js';

export interface ClientTarget {
  /** The running member with this id, if it serves clients now (listening). */
  member(id: bigint): RaftMember | undefined;
  ids: readonly bigint[];
  /** The member a client URL points at. */
  idByClientURL(url: string): bigint | undefined;
  readyWaitMs: number;
  /** How long the client port waits for a leader to be known (2 election timeouts). */
  leaderWaitMs: number;
}

/** How long a client waits for one answer before it gives up (its outcome is then unknown). */
const CLIENT_TIMEOUT_MS = 4000;
const MAX_REDIRECTS = 3;
/** Operations one client has waiting at once, at most. */
const MAX_OUTSTANDING = 3;
/** While no leader is known, the client port polls for one this often (src/http/leader.ts). */
const LEADER_POLL_MS = 25;

type Outcome<T> = { kind: 'ok'; value: T } | { kind: 'failed'; why: string } | { kind: 'unknown'; why: string };

export interface ClientStats {
  writesOk: number;
  writesFailed: number;
  writesUnknown: number;
  readsOk: number;
  readsFailed: number;
  redirects: number;
  /** Plain GETs through the member a client last wrote through, checked for read-your-writes. */
  plainReads: number;
}

export class Clients {
  private seq = 0;
  private readonly histories = new Map<string, RegisterOp[]>();
  readonly keys: string[];
  readonly stats: ClientStats = { writesOk: 0, writesFailed: 0, writesUnknown: 0, readsOk: 0, readsFailed: 0, redirects: 0, plainReads: 0 };
  private running = false;
  private readonly owner = new Owner('clients');
  private nextValue = 0;
  private busy = 0;
  private readonly outstanding = new Map<number, number>();
  /** Per client and key: its last acknowledged write and the member it went through. */
  private readonly lastOwnWrite = new Map<string, { via: bigint; value: string; invokedAt: number }>();

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    private readonly target: ClientTarget,
    keyCount: number,
    private readonly clientCount: number,
    private readonly writeShare: number,
  ) {
    this.keys = Array.from({ length: keyCount }, (_, i) => `/k${i}`);
    for (const k of this.keys) this.histories.set(k, []);
  }

  /** Starts every client's loop (each runs until stop()). */
  start(): void {
    this.running = true;
    for (let c = 0; c < this.clientCount; c++) this.world.after(this.rng.int(0, 50), () => this.loop(c), this.owner);
  }

  stop(): void {
    this.running = false;
  }

  /** Operations in flight. */
  get inFlight(): number {
    return this.busy;
  }

  /**
   * Open loop, as many independent HTTP clients: a client issues its next operation after a think
   * time whether or not the last one was answered, with at most MAX_OUTSTANDING of its own waiting.
   * (A closed loop would never send a request while the member is busy replaying its log.)
   */
  private loop(client: number): void {
    if (!this.running) return;
    this.world.after(this.rng.int(5, 80), () => this.loop(client), this.owner);
    if ((this.outstanding.get(client) ?? 0) >= MAX_OUTSTANDING) return;
    const key = this.rng.pick(this.keys);
    const via = this.rng.pick(this.target.ids);
    this.busy++;
    this.outstanding.set(client, (this.outstanding.get(client) ?? 0) + 1);
    const done = (): void => {
      this.busy--;
      this.outstanding.set(client, (this.outstanding.get(client) ?? 1) - 1);
    };
    const own = this.lastOwnWrite.get(`${client}:${key}`);
    const op = this.rng.chance(this.writeShare)
      ? this.write(client, key, via)
      : own !== undefined && this.rng.chance(0.5)
        ? this.readOwnWrite(key, own)
        : this.read(key, via);
    op.then(done, (err: unknown) => {
      done();
      this.world.fail(err);
    });
  }

  /**
   * A plain GET (no quorum) through the member this client last wrote `key` through: it must see
   * that write or a newer one (read-your-writes, as etcd gives it on the member that took the write).
   */
  private async readOwnWrite(key: string, own: { via: bigint; value: string; invokedAt: number }): Promise<void> {
    const m = this.target.member(own.via);
    if (m === undefined || !m.isReady()) return;
    // A member whose removal is committed promises nothing: the leader answers a write redirected
    // from it without waiting for it to apply (it is no member to ask), and cut off, it has not
    // heard it must leave (etcd's removed member serves stale reads until it hears it too).
    if (!this.target.ids.includes(own.via)) return;
    const got = readValue(m, key);
    this.stats.plainReads++;
    if (got === own.value) return;
    const writes = this.histories.get(key) as RegisterOp[];
    const w = got === null ? undefined : writes.find((o) => o.kind === 'write' && o.value === got);
    // Stale: absent, or a value whose write completed before ours was even sent.
    if (got === null || (w !== undefined && w.completedAt !== undefined && w.completedAt < own.invokedAt)) {
      throw new SafetyViolation('Read Your Writes', `a plain GET of ${key} on ${m.self.name} returned ${String(got)} after this client's write of ${own.value} through it was acknowledged`);
    }
  }

  /** A PUT of a fresh value through member `via`, following redirects. */
  async write(client: number, key: string, via: bigint): Promise<Outcome<number>> {
    const value = `c${client}v${this.nextValue++}`;
    const op: RegisterOp = { kind: 'write', value, invokedAt: this.seq++ };
    const outcome = await this.withTimeout(this.writeVia(key, value, via));
    switch (outcome.kind) {
      case 'ok':
        op.completedAt = this.seq++;
        this.stats.writesOk++;
        this.record(key, op);
        this.lastOwnWrite.set(`${client}:${key}`, { via, value, invokedAt: op.invokedAt });
        break;
      case 'unknown':
        this.stats.writesUnknown++;
        this.record(key, op); // may have taken effect: completedAt stays undefined
        break;
      case 'failed':
        this.stats.writesFailed++;
        break;
    }
    return outcome;
  }

  private async writeVia(key: string, value: string, via: bigint): Promise<Outcome<number>> {
    let id = via;
    let redirects = 0;
    for (let attempt = 0; attempt < 2 * MAX_REDIRECTS; attempt++) {
      const m = this.target.member(id);
      if (m === undefined) return redirects === 0 ? { kind: 'failed', why: 'connection refused' } : { kind: 'failed', why: 'redirect target down' };
      if (!m.isReady()) await m.whenReady(this.target.readyWaitMs);
      try {
        const result = await m.propose(v2Request({ method: 'PUT', path: key, val: value, time: m.now() }));
        if (!result.ok) return { kind: 'failed', why: result.error.message };
        // As the client port (src/http/keys.ts): a redirected write is answered once the member
        // that redirected it has applied it (read-your-writes there).
        if (id !== via) {
          const origin = this.target.member(via);
          if (origin !== undefined) await m.waitAppliedOn(origin.self.id);
        }
        return { kind: 'ok', value: result.event?.node.modifiedIndex ?? 0 };
      } catch (err: unknown) {
        if (err instanceof NotLeaderError) {
          let url = err.leaderClientURLs[0];
          if (url === undefined) {
            // As the client port: wait (bounded) until a leader is known, then retry here or redirect.
            const found = await this.waitForLeader(m);
            if (found === 'self' || (found !== null && m.forwardsWrites())) continue; // src/http/leader.ts
            if (found === null) return { kind: 'failed', why: 'etcdserver: no leader' };
            url = found;
          }
          const next = this.target.idByClientURL(url);
          if (next === undefined || next === id || ++redirects > MAX_REDIRECTS) return { kind: 'failed', why: 'no leader' };
          this.stats.redirects++;
          id = next;
          continue;
        }
        if (err instanceof ProposalError) return { kind: 'unknown', why: err.reason };
        throw err;
      }
    }
    return { kind: 'failed', why: 'no leader after retries' };
  }

  /** Polls the member until it knows a leader: 'self', the leader's client URL, or null after leaderWaitMs. */
  private async waitForLeader(m: RaftMember): Promise<'self' | string | null> {
    const deadline = this.world.nowMs + this.target.leaderWaitMs;
    while (this.world.nowMs < deadline) {
      await new Promise<void>((resolve) => this.world.after(LEADER_POLL_MS, resolve, this.owner));
      if (this.target.member(BigInt(`0x${m.self.id}`)) !== m) return null; // it went down
      const leader = m.leader();
      if (leader === null) continue;
      if (leader.id === m.self.id) return 'self';
      if (leader.clientURLs[0] !== undefined) return leader.clientURLs[0];
    }
    return null;
  }

  /** A quorum=true GET through member `via`. */
  async read(key: string, via: bigint): Promise<Outcome<string | null>> {
    const invokedAt = this.seq++;
    const outcome = await this.withTimeout(this.readVia(key, via));
    if (outcome.kind === 'ok') {
      this.stats.readsOk++;
      this.record(key, { kind: 'read', value: outcome.value, invokedAt, completedAt: this.seq++ });
    } else {
      this.stats.readsFailed++;
    }
    return outcome;
  }

  private async readVia(key: string, via: bigint): Promise<Outcome<string | null>> {
    const m = this.target.member(via);
    if (m === undefined) return { kind: 'failed', why: 'connection refused' };
    if (!m.isReady()) await m.whenReady(this.target.readyWaitMs);
    try {
      await m.readBarrier();
    } catch (err: unknown) {
      if (err instanceof ProposalError || err instanceof NotLeaderError) return { kind: 'failed', why: err.message };
      throw err;
    }
    if (process.env['SIM_DEBUG'] !== undefined) {
      const st = m.raftStatus();
      if (st.applied < st.commit) console.log(`read during replay: applied ${st.applied} commit ${st.commit}`);
    }
    return { kind: 'ok', value: readValue(m, key) };
  }

  private withTimeout<T>(p: Promise<Outcome<T>>): Promise<Outcome<T>> {
    return new Promise((resolve) => {
      let done = false;
      this.world.after(CLIENT_TIMEOUT_MS, () => {
        if (done) return;
        done = true;
        resolve({ kind: 'unknown', why: 'client timeout' });
      }, this.owner);
      p.then(
        (v) => {
          if (done) return;
          done = true;
          resolve(v);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          this.world.fail(err);
          resolve({ kind: 'unknown', why: 'exception' });
        },
      );
    });
  }

  private record(key: string, op: RegisterOp): void {
    (this.histories.get(key) as RegisterOp[]).push(op);
  }

  /** Throws a SafetyViolation naming the first key whose history is not linearizable. */
  checkLinearizable(): void {
    for (const [key, ops] of this.histories) {
      const r = checkRegisterHistory(key, ops);
      if (!r.ok) {
        const shown = r.ops.map((o) => `${o.kind} ${String(o.value)} [${o.invokedAt},${o.completedAt ?? '?'}]`).join('; ');
        throw new SafetyViolation('Linearizability', `key ${key}: ${r.reason} (${shown})`);
      }
    }
  }

  operations(): number {
    let n = 0;
    for (const ops of this.histories.values()) n += ops.length;
    return n;
  }
}

function readValue(m: ClientBackend, key: string): string | null {
  const r = m.store.get(key, false, false, m.now());
  if (!r.ok) return null;
  return r.event?.node.value ?? null;
}
