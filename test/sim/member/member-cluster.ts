// N real RaftMembers (src/server/raft-member.ts, the code the binary runs) in virtual time: each
// with a simulated disk that survives its crashes, a place on the simulated network, and virtual
// timers. Members are started as the binary starts them (src/server/cluster-runtime.ts), crashed
// (kill -9: everything volatile is gone, the disk keeps what it keeps), stopped cleanly (SIGTERM:
// RaftMember.stop()), or restarted on an empty disk (a volume that was not mounted).
import { STATUS_EVERY_MS, type TraceRecorder } from './trace-recorder.js';
import { pino } from 'pino';
import { parseCommandLine } from '../../../src/cli.js';
import { requestTimeoutMs, type MemberConfig } from '../../../src/config.js';
import { Role } from '../../../src/raft/index.js';
import { RaftMember } from '../../../src/server/raft-member.js';
import { parseMemberId } from '../../../src/server/ids.js';
import { deriveSeed, Rng } from '../prng.js';
import { Trace } from '../trace.js';
import { SafetyViolation } from '../checker.js';
import { MemberChecker } from './member-checker.js';
import { SimDisk } from './sim-disk.js';
import { SimSnapshotFiles } from './sim-snap-files.js';
import { isVoteGrant, SimNetwork, type Endpoint } from './sim-net.js';
import { Owner, ownerTimers, World } from './world.js';

const silent = pino({ level: 'silent' });
/** The wall clock of the simulated machines at virtual time 0 (any fixed date). */
const EPOCH_MS = Date.UTC(2026, 0, 1);

export type SlotState = 'down' | 'starting' | 'running' | 'stopping';

export class MemberSlot {
  state: SlotState = 'down';
  member: RaftMember | null = null;
  owner: Owner | null = null;
  endpoint: Endpoint | null = null;
  incarnation = 0;
  /** Whether this member ever served clients (published itself at least once). */
  everReady = false;
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  /** Why the last start was refused (e.g. an already-bootstrapped member on an empty disk). */
  refusal: string | null = null;
  /** Added at run time: it joined a running cluster (--initial-cluster-state existing). */
  joined = false;
  /** Its removal was committed: it is no member any more (it leaves if it runs, and must never serve again). */
  retired = false;
  /** It applied its removal (or heard 410 from a peer) and exited (RaftMemberOptions.onRemoved). */
  leftAfterRemoval = 0;
  constructor(
    readonly id: bigint,
    readonly name: string,
    readonly config: MemberConfig,
    readonly disk: SimDisk,
    readonly snapFiles: SimSnapshotFiles,
    /** Its place on the network: 10.0.0.(index+1). */
    readonly index: number,
  ) {}
}

export interface MemberClusterOptions {
  members: number;
  /** Records the run as the live view's events (--record); made with the cluster's clock. */
  record?: (nowMs: () => number) => TraceRecorder;
  seed: number;
  diskMaxLatencyMs?: number;
  traceSize?: number;
  heartbeatMs?: number;
  electionMs?: number;
  /** Committed bytes applied per Ready (small values make a restart replay in many rounds). */
  maxCommittedBytesPerReady?: number;
  /** RaftMemberOptions.snapshotSlice: tiny slices with virtual pauses put events in the middle of a snapshot. */
  snapshotSlice?: { items: number; bytes: number; pauseMs?: number };
  /** --follower-writes of every member (default redirect). */
  followerWrites?: 'redirect' | 'forward';
  /** --snapshot-count and --experimental-snapshot-catchup-entries (default: the binary's). */
  snapshotCount?: number;
  snapshotCatchUpEntries?: number;
  /** --max-snapshots (default the binary's, 5). */
  maxSnapshots?: number;
  /**
   * Snapshots cross the network as their files, as between real members (default true): raft holds
   * a reference, the leader's file is read, the receiver writes, checks and adopts it. false: the
   * snapshot files cannot stream, and a MsgSnap carries its data.
   */
  streamingSnapshots?: boolean;
}

const peerURLOf = (i: number): string => `http://10.0.0.${i + 1}:2380`;
const clientURLOf = (i: number): string => `http://10.0.0.${i + 1}:2379`;

export class MemberCluster {
  readonly world = new World();
  readonly net: SimNetwork;
  /** Every slot ever made: the initial members, then members added at run time (never dropped). */
  readonly slots: MemberSlot[];
  readonly checker: MemberChecker;
  readonly trace: Trace;
  readonly rng: Rng;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  /** The members now (as the simulator made them: added ids join, removed ids leave); clients pick from these. */
  readonly ids: bigint[];
  private readonly seed: number;
  private readonly options: MemberClusterOptions;
  /** Raft batches of a newcomer refused by a member that did not know it yet (until a member it knows lists it). */
  refusedNewcomerBatches = 0;
  private readonly maxCommittedBytesPerReady: number | undefined;
  private readonly snapshotSlice: { items: number; bytes: number; pauseMs?: number } | undefined;
  readonly recorder: TraceRecorder | null;

  constructor(o: MemberClusterOptions) {
    this.seed = o.seed;
    this.options = o;
    this.maxCommittedBytesPerReady = o.maxCommittedBytesPerReady;
    this.snapshotSlice = o.snapshotSlice;
    this.rng = new Rng(deriveSeed(o.seed, 10));
    this.trace = new Trace(o.traceSize ?? 64);
    this.heartbeatMs = o.heartbeatMs ?? 100;
    this.electionMs = o.electionMs ?? 1000;
    const names = Array.from({ length: o.members }, (_, i) => `m${i + 1}`);
    const peerURL = peerURLOf;
    const clientURL = clientURLOf;
    const initialCluster = names.map((n, i) => `${n}=${peerURL(i)}`).join(',');
    this.slots = names.map((name, i) => this.makeSlot(name, i, initialCluster, 'new', undefined));
    this.ids = this.slots.map((s) => s.id);
    this.checker = new MemberChecker(new Set(this.ids));
    const addresses = new Map(this.slots.map((s, i) => [s.id, { peerURL: peerURL(i), clientURL: clientURL(i) }]));
    this.net = new SimNetwork(this.world, new Rng(deriveSeed(o.seed, 12)), addresses);
    this.recorder = o.record?.(() => this.world.nowMs) ?? null;
    if (this.recorder !== null) {
      const rec = this.recorder;
      rec.members(this.slots.map((s, i) => ({ id: s.id.toString(16), name: s.name, clientURLs: [clientURL(i)] })));
      // partitions as the page sees them: groups of names (a one-way cut is not drawn)
      const partition = this.net.partition.bind(this.net);
      const heal = this.net.heal.bind(this.net);
      this.net.partition = (groups) => {
        partition(groups);
        rec.partition(groups.map((g) => g.map((id) => this.nameOf(id))));
      };
      this.net.heal = () => {
        heal();
        rec.partition(null);
      };
      // periodic status snapshots of the running members (read-only: the run is the same with or without)
      const snapshot = (): void => {
        for (const slot of this.slots) if (slot.state === 'running' && slot.member !== null) rec.status(slot.id, slot.member);
        if (!rec.truncated) this.world.after(STATUS_EVERY_MS, snapshot);
      };
      this.world.after(STATUS_EVERY_MS, snapshot);
    }
    this.net.onSend = (m) => {
      const slot = this.slotById(m.from);
      if (slot !== undefined) this.check(() => this.checker.onSend(slot.name, m, isVoteGrant(m)));
    };
    for (const s of this.slots) s.disk.onBatch = (view) => this.checker.onDiskBatch(s.name, view);
    // A member's own raft traffic is never refused and never fails the receiver; but a member
    // whose removal was committed is answered 410 Gone by those that applied it.
    this.net.onPeerInput = (r) => {
      if (r.status === 410 && this.checker.isRemoved(r.from)) return;
      // A member that has not applied a newcomer's addition refuses its first raft messages (the
      // peer input guard takes only members'), until a member it knows lists the newcomer
      // (askAboutSender); counted. Were it never to take them, a newcomer that leads would leave
      // that member behind for good, and the liveness phase would say so.
      const sender = this.slotById(r.from);
      const receiver = this.slotById(r.to);
      if (r.status === 400 && sender?.joined === true && receiver?.member != null && !receiver.member.members().some((m) => parseMemberId(m.id) === r.from)) {
        this.refusedNewcomerBatches++;
        return;
      }
      const from = this.slotById(r.from)?.name ?? r.from.toString(16);
      const to = this.slotById(r.to)?.name ?? r.to.toString(16);
      this.world.fail(new SafetyViolation('Peer Input', `${to} answered ${r.status} (${r.text}) to raft messages from ${from}`));
    };
  }

  private makeSlot(name: string, i: number, initialCluster: string, state: 'new' | 'existing', id: bigint | undefined): MemberSlot {
    const o = this.options;
    const out = parseCommandLine(
      [
        '--name', name,
        '--data-dir', `/sim/${name}`,
        '--listen-client-urls', clientURLOf(i),
        '--advertise-client-urls', clientURLOf(i),
        '--listen-peer-urls', peerURLOf(i),
        '--initial-advertise-peer-urls', peerURLOf(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', `sim-${o.seed}`,
        '--heartbeat-interval', String(this.heartbeatMs),
        '--election-timeout', String(this.electionMs),
        '--follower-writes', o.followerWrites ?? 'redirect',
        ...(o.snapshotCount !== undefined ? ['--snapshot-count', String(o.snapshotCount)] : []),
        ...(o.snapshotCatchUpEntries !== undefined ? ['--experimental-snapshot-catchup-entries', String(o.snapshotCatchUpEntries)] : []),
        ...(o.maxSnapshots !== undefined ? ['--max-snapshots', String(o.maxSnapshots)] : []),
      ],
      {},
    );
    if (out.kind !== 'run') throw new Error(`sim: bad member flags: ${out.kind === 'error' ? out.message : out.kind}`);
    const disk = new SimDisk(name, this.world, new Rng(deriveSeed(o.seed, 20 + i)), o.diskMaxLatencyMs ?? 3);
    const snapFiles = new SimSnapshotFiles(name, this.world, new Rng(deriveSeed(o.seed, 40 + i)), 2 * (o.diskMaxLatencyMs ?? 3), {
      maxSnapshots: out.config.maxSnapshots ?? 5,
    });
    return new MemberSlot(id ?? out.config.memberId, name, out.config, disk, snapFiles, i);
  }

  /** The peer URL of the next slot addMember would make (what `etcdctl member add` is given). */
  nextPeerURL(): string {
    return peerURLOf(this.slots.length);
  }

  /**
   * A member the leader added (`id`, at nextPeerURL()): a fresh slot on an empty disk that joins
   * with --initial-cluster-state existing and an --initial-cluster of the current members plus
   * itself, as `etcdctl member add` prints it. Not started yet.
   */
  addSlot(id: bigint, members: readonly { id: bigint; peerURLs: readonly string[] }[]): MemberSlot {
    const i = this.slots.length;
    const name = `m${i + 1}`;
    const parts = members.filter((m) => m.id !== id).map((m) => `${this.nameOf(m.id)}=${m.peerURLs.join(`,${this.nameOf(m.id)}=`)}`);
    parts.push(`${name}=${peerURLOf(i)}`);
    const slot = this.makeSlot(name, i, parts.join(','), 'existing', id);
    slot.joined = true;
    this.slots.push(slot);
    this.checker.addMember(id);
    if (!this.ids.includes(id)) this.ids.push(id);
    this.net.addAddress(id, peerURLOf(i), clientURLOf(i));
    slot.disk.onBatch = (view) => this.checker.onDiskBatch(slot.name, view);
    this.trace.note(this.world.nowMs, `${name} added as ${id.toString(16)} (--initial-cluster ${parts.join(',')})`);
    return slot;
  }

  /** The member's removal was committed: it is no member any more. */
  retire(slot: MemberSlot): void {
    if (slot.retired) return;
    slot.retired = true;
    const at = this.ids.indexOf(slot.id);
    if (at !== -1) this.ids.splice(at, 1);
    this.trace.note(this.world.nowMs, `${slot.name} removed (${slot.state})`);
  }

  /** The cluster's id (a member that joined has it from the cluster, not from its flags). */
  get clusterId(): bigint {
    return (this.slots[0] as MemberSlot).config.clusterId;
  }

  /** Slots of the current members. */
  current(): MemberSlot[] {
    return this.slots.filter((s) => !s.retired);
  }

  private check(fn: () => void): void {
    try {
      fn();
    } catch (err: unknown) {
      this.world.fail(err);
    }
  }

  nameOf(id: bigint): string {
    if (id === 0n) return '-';
    return this.slotById(id)?.name ?? id.toString(16);
  }

  slotById(id: bigint): MemberSlot | undefined {
    return this.slots.find((s) => s.id === id);
  }

  get readyWaitMs(): number {
    return requestTimeoutMs({ electionTimeoutMs: this.electionMs });
  }

  /** The member serving clients under this id now, if any. */
  serving(id: bigint): RaftMember | undefined {
    const s = this.slotById(id);
    return s !== undefined && s.state === 'running' && s.member !== null ? s.member : undefined;
  }

  /** Starts a member from its disk, as the binary does. Resolves when it runs (or was refused). */
  start(slot: MemberSlot): void {
    if (slot.state !== 'down') return;
    slot.incarnation++;
    const owner = new Owner(`${slot.name}#${slot.incarnation}`);
    slot.owner = owner;
    slot.state = 'starting';
    slot.refusal = null;
    // The peer port listens before the member opens its data dir (src/server/cluster-runtime.ts).
    const endpoint: Endpoint = { owner, member: null, listening: true };
    slot.endpoint = endpoint;
    this.net.endpoints.set(slot.id, endpoint);
    this.checker.onDiskReset(slot.name);
    this.checker.forgetReads(slot.name);
    const rng = new Rng(deriveSeed(this.seed, 1000 * slot.incarnation + Number(slot.id % 1000n)));
    this.trace.note(this.world.nowMs, `start ${slot.name} (incarnation ${slot.incarnation})`);
    const timers = ownerTimers(this.world, owner);
    RaftMember.open({
      config: slot.config,
      logger: silent,
      clock: () => EPOCH_MS + this.world.nowMs,
      random: rng.next,
      timers,
      openKv: async (location) => slot.disk.open(owner, location),
      openSnapshotFiles: async () => slot.snapFiles.open(owner, { streaming: this.options.streamingSnapshots ?? true }),
      createNetwork: this.net.networkFor(owner),
      peerClient: this.net.clientFor(slot.id, owner),
      processMetrics: false,
      onBootstrapCheck: (api) => {
        if (api === null) delete endpoint.preStartApi;
        else endpoint.preStartApi = api;
      },
      ...(this.maxCommittedBytesPerReady !== undefined ? { maxCommittedBytesPerReady: this.maxCommittedBytesPerReady } : {}),
      ...(this.snapshotSlice !== undefined ? { snapshotSlice: this.snapshotSlice } : {}),
      // The member applied its own removal, or a peer answered 410: it stopped, and the process exits.
      onRemoved: () => {
        if (owner.dead) return;
        owner.dead = true;
        slot.leftAfterRemoval++;
        this.trace.note(this.world.nowMs, `${slot.name} left the cluster (removed) and exited`);
        if (this.recorder !== null) {
          this.recorder.detach(slot.id);
          this.recorder.process(slot.id, 'stopped', 'stop');
        }
        this.down(slot);
      },
      onFatal: (err) => {
        if (owner.dead) return;
        this.world.fail(new Error(`member ${slot.name} stopped fatally: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
      },
      // A violation found inside the member's loop is reported as itself, not as the member's failure.
      observer: {
        onApply: (e) => this.check(() => this.checker.onApply(slot.name, e)),
        onReadIndexRequested: (ctx) => this.check(() => this.checker.onReadIndexRequested(slot.name, ctx)),
        onReadIndex: (ctx, index) => this.check(() => this.checker.onReadIndex(slot.name, ctx, index)),
        onSnapshotTaken: (index, compactedTo) => {
          slot.snapshotsTaken++;
          this.trace.note(this.world.nowMs, `${slot.name} snapshot at ${index}, log compacted to ${compactedTo}`);
        },
        onSnapshotRestored: (index) => {
          slot.snapshotsInstalled++;
          this.trace.note(this.world.nowMs, `${slot.name} installed the leader's snapshot at ${index}`);
        },
        onSoftState: (ss, term) => {
          this.trace.note(this.world.nowMs, `${slot.name} ${ss.role} term=${term} lead=${this.nameOf(ss.lead)}`);
          this.check(() => this.checker.onSoftState(slot.name, slot.id, ss, term, slot.member?.raftStatus().applied ?? 0));
        },
      },
    }).then(
      (member) => {
        if (owner.dead) return;
        slot.member = member;
        endpoint.member = member;
        endpoint.listening = true;
        member.start();
        slot.state = 'running';
        if (this.recorder !== null) {
          this.recorder.process(slot.id, 'running', slot.incarnation > 1 ? 'restart' : undefined);
          this.recorder.attach(slot.id, member);
        }
      },
      (err: unknown) => {
        if (owner.dead) return;
        slot.refusal = err instanceof Error ? err.message : String(err);
        slot.state = 'down';
        owner.dead = true;
        this.trace.note(this.world.nowMs, `${slot.name} refused to start: ${slot.refusal}`);
      },
    );
  }

  /** kill -9 (or a power loss): the incarnation and its volatile state vanish. */
  crash(slot: MemberSlot, mode?: 'power-loss' | 'kill'): void {
    if (slot.state === 'down') return;
    this.trace.note(this.world.nowMs, `crash ${slot.name} (${slot.state})`);
    if (this.recorder !== null && slot.member !== null) {
      this.recorder.detach(slot.id);
      this.recorder.process(slot.id, 'stopped', 'crash');
    }
    if (slot.owner !== null) slot.owner.dead = true;
    slot.disk.crash(mode);
    slot.snapFiles.crash();
    this.down(slot);
  }

  /** SIGTERM: RaftMember.stop() runs to its end in virtual time; then the process exits. */
  stop(slot: MemberSlot, onStopped?: () => void): void {
    if (slot.state !== 'running' || slot.member === null) return;
    const member = slot.member;
    const owner = slot.owner as Owner;
    slot.state = 'stopping';
    this.trace.note(this.world.nowMs, `stop ${slot.name}`);
    // As cluster-runtime's close(): the client port closes first, then the member stops.
    member.stop().then(
      () => {
        if (owner.dead) return;
        owner.dead = true;
        this.trace.note(this.world.nowMs, `${slot.name} stopped`);
        if (this.recorder !== null) {
          this.recorder.detach(slot.id);
          this.recorder.process(slot.id, 'stopped', 'stop');
        }
        this.down(slot);
        onStopped?.();
      },
      (err: unknown) => this.world.fail(err),
    );
  }

  /** The member comes back on an empty data dir (its volume was not mounted). */
  wipe(slot: MemberSlot): void {
    this.crash(slot);
    slot.disk.wipe();
    slot.snapFiles.wipe();
    this.trace.note(this.world.nowMs, `wipe ${slot.name}'s disk`);
  }

  private down(slot: MemberSlot): void {
    slot.state = 'down';
    slot.member = null;
    if (slot.endpoint !== null) {
      slot.endpoint.listening = false;
      slot.endpoint.member = null;
    }
  }

  /** Running slots, a removed member that still runs (it is leaving) included. */
  running(): MemberSlot[] {
    return this.slots.filter((s) => s.state === 'running');
  }

  /** Leaders among the current members. */
  leaders(): MemberSlot[] {
    return this.slots.filter((s) => !s.retired && s.state === 'running' && s.member?.raftStatus().role === Role.Leader);
  }

  /** One leader that every running member follows, in one term; undefined otherwise. */
  stableLeader(): MemberSlot | undefined {
    const ls = this.leaders();
    if (ls.length !== 1) return undefined;
    const l = ls[0] as MemberSlot;
    const st = (l.member as RaftMember).raftStatus();
    for (const s of this.running()) {
      if (s.retired) continue;
      const o = (s.member as RaftMember).raftStatus();
      if (o.term !== st.term || o.lead !== l.id) return undefined;
    }
    return l;
  }

  describe(): string {
    return this.slots
      .map((s) => {
        const gone = s.retired ? '(removed)' : '';
        if (s.member === null) return `${s.name}${gone}:${s.state}${s.refusal !== null ? '(refused)' : ''}`;
        const st = s.member.raftStatus();
        return `${s.name}${gone}:${s.state}/${st.role}/t${st.term}/c${st.commit}/a${st.applied}${s.member.isReady() ? '' : '/unready'}`;
      })
      .join(' ');
  }
}
