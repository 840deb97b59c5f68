// One random schedule of whole members: a fault phase under client load (kill -9 at any moment,
// including in the middle of a Ready's write; SIGTERM; restarts; a member restarted on an empty
// disk; partitions and one-way cuts; a lossy, duplicating, reordering network; a stranger forging
// peer input), then a liveness phase: every fault healed, every member restarted, and the cluster
// must elect a leader, bring every member up to date and answer a quorum read of every key through
// every member. Safety is checked as events happen (member-checker.ts, intruder.ts) and the
// clients' histories are checked for linearizability per key at the end.
import type { TraceRecorder } from './trace-recorder.js';
import { MessageType, RaftInvariantError, type Message } from '../../../src/raft/index.js';
import { decodeEntry } from '../../../src/storage/codec.js';
import { entryKey } from '../../../src/storage/keys.js';
import { SafetyViolation } from '../checker.js';
import { deriveSeed, Rng } from '../prng.js';
import { Clients } from './clients.js';
import { Intruder } from './intruder.js';
import { MemberCluster, type MemberSlot } from './member-cluster.js';
import { simKeyString } from './sim-disk.js';
import { RELIABLE } from './sim-net.js';
import { MemberChangeError } from '../../../src/server/backend.js';
import { formatId, parseMemberId } from '../../../src/server/ids.js';
import type { RaftMember } from '../../../src/server/raft-member.js';
import { UncaughtInSimulation } from './world.js';

export interface MemberScheduleOptions {
  members: number;
  /** Length of the fault phase in virtual ms. */
  faultMs: number;
  /** After healing, the cluster must converge within this many virtual ms. */
  livenessMs?: number;
  traceSize?: number;
  /** The fault kinds to inject (default all of FAULT_KINDS). */
  faults?: readonly FaultKind[];
  /** --follower-writes of the members; default: drawn from the seed (half of the seeds forward). */
  followerWrites?: 'redirect' | 'forward';
  /** Records the run for the live view (trace-recorder.ts). */
  record?: (nowMs: () => number) => TraceRecorder;
}

export const FAULT_KINDS = ['crash', 'stop', 'handoff', 'wipe', 'partition', 'net', 'forge', 'member'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface MemberScheduleStats {
  virtualMs: number;
  events: number;
  batches: number;
  crashes: number;
  stops: number;
  wipes: number;
  refusedStarts: number;
  partitions: number;
  forgeries: number;
  writesOk: number;
  writesUnknown: number;
  readsOk: number;
  tornWrites: number;
  lostWrites: number;
  maxApplied: number;
  /** 1 when the members ran with --follower-writes forward. */
  forwardMode: number;
  /** 307s the clients followed. */
  redirects: number;
  /** Snapshots members took, and snapshots followers installed from a leader. */
  snapshotsTaken: number;
  snapshotsInstalled: number;
  /** Snapshot files received from a leader (checked whole), and those raft took and the member adopted. */
  snapshotFilesReceived: number;
  snapshotFilesAdopted: number;
  /** Membership changes the leader applied (member add / member remove), and removed members that left on their own. */
  membersAdded: number;
  membersRemoved: number;
  membersLeft: number;
  /** Member changes the leader refused (strict reconfiguration checks, no leader, a lost proposal) before one went through. */
  memberChangeRetries: number;
  /** Raft batches of a newcomer that a member not knowing it yet refused (a known hole, tolerated; see README.md). */
  newcomerRefusals: number;
}

export interface MemberScheduleResult {
  seed: number;
  ok: boolean;
  failure?: { invariant: string; message: string; timeMs: number; trace: string[] };
  stats: MemberScheduleStats;
}

interface Profile {
  crashPerStep: number;
  leaderCrashPerStep: number;
  stopPerStep: number;
  leaderStopPerStep: number;
  wipePerStep: number;
  partitionPerStep: number;
  oneWayPerStep: number;
  healPerStep: number;
  netChangePerStep: number;
  forgeryPerStep: number;
  /** A membership change (remove and replace, grow, shrink back) starts, when none is under way. */
  memberChangePerStep: number;
  /**
   * Probability that a member is crashed or stopped right after it took a batch of raft messages
   * (while the Ready they produce is being taken or written): faults in the middle of a Ready.
   */
  interruptPerDelivery: number;
  /**
   * The same right after a member took an append that replaces entries on its disk, or a leader's
   * snapshot (the moments where a log's durable state and its in-memory state disagree the most).
   */
  interruptOnConflict: number;
  maxDownSteps: number;
  clients: number;
  writeShare: number;
}

function drawProfile(rng: Rng, members: number): Profile {
  const calm = rng.chance(0.15);
  return {
    crashPerStep: calm ? 0.003 : rng.pick([0.005, 0.01, 0.03]),
    leaderCrashPerStep: calm ? 0 : rng.pick([0, 0.01, 0.03]),
    stopPerStep: calm ? 0.003 : rng.pick([0.005, 0.01, 0.03]),
    leaderStopPerStep: rng.pick([0, 0.01, 0.03]),
    wipePerStep: members >= 3 ? rng.pick([0, 0, 0.005, 0.02]) : 0,
    partitionPerStep: members === 1 ? 0 : calm ? 0.002 : rng.pick([0.005, 0.01, 0.03]),
    oneWayPerStep: members === 1 ? 0 : rng.pick([0, 0.005, 0.01]),
    healPerStep: rng.pick([0.02, 0.05, 0.1]),
    netChangePerStep: rng.pick([0, 0.01, 0.03]),
    forgeryPerStep: rng.pick([0, 0.01, 0.05]),
    memberChangePerStep: 0, // drawn from its own stream (runMemberSchedule): the other draws stay as they were
    interruptPerDelivery: calm ? 0 : rng.pick([0, 0.0005, 0.002]),
    interruptOnConflict: calm ? 0 : rng.pick([0, 0.3, 0.7]),
    maxDownSteps: rng.pick([5, 20, 60]),
    clients: rng.pick([2, 4, 8]),
    writeShare: rng.pick([0.3, 0.5, 0.7]),
  };
}

const STEP_MS = 100;

export async function runMemberSchedule(seed: number, o: MemberScheduleOptions): Promise<MemberScheduleResult> {
  const rng = new Rng(deriveSeed(seed, 3));
  const followerWrites = o.followerWrites ?? (new Rng(deriveSeed(seed, 6)).chance(0.5) ? 'forward' : 'redirect');
  // Most runs snapshot and compact often, so that restarts load snapshots and followers install them.
  const snapRng = new Rng(deriveSeed(seed, 7));
  const snapshots = snapRng.chance(0.8) ? { snapshotCount: snapRng.pick([10, 30, 100]), snapshotCatchUpEntries: snapRng.pick([1, 5, 50]), maxSnapshots: snapRng.pick([1, 2, 5]) } : {};
  // Most encode snapshots in tiny slices with pauses in virtual time, so that writes are applied, a
  // leader's snapshot is installed and members crash while one is being encoded (its own stream of
  // the seed: the rest of a schedule is the same as before this was drawn).
  const sliceRng = new Rng(deriveSeed(seed, 8));
  const snapshotSlice = sliceRng.chance(0.75) ? { items: sliceRng.pick([1, 4, 16]), bytes: sliceRng.pick([64, 1024]), pauseMs: sliceRng.pick([0, 1, 5]) } : undefined;
  // Most send snapshots as their files, as real members do; the rest with their data in the message.
  const streamingSnapshots = new Rng(deriveSeed(seed, 11)).chance(0.8);
  const cluster = new MemberCluster({
    members: o.members,
    seed,
    diskMaxLatencyMs: rng.pick([1, 3, 10]),
    maxCommittedBytesPerReady: rng.pick([64, 1024, 1024 * 1024]),
    traceSize: o.traceSize ?? 64,
    followerWrites,
    ...snapshots,
    ...(snapshotSlice !== undefined ? { snapshotSlice } : {}),
    streamingSnapshots,
    ...(o.record !== undefined ? { record: o.record } : {}),
  });
  const profile = drawProfile(rng, o.members);
  const enabled = new Set<FaultKind>(o.faults ?? FAULT_KINDS);
  if (!enabled.has('crash')) profile.crashPerStep = profile.leaderCrashPerStep = 0;
  if (!enabled.has('stop')) profile.stopPerStep = 0;
  if (!enabled.has('handoff')) profile.leaderStopPerStep = 0;
  if (!enabled.has('wipe')) profile.wipePerStep = 0;
  if (!enabled.has('partition')) profile.partitionPerStep = profile.oneWayPerStep = 0;
  if (!enabled.has('net')) profile.netChangePerStep = 0;
  if (!enabled.has('forge')) profile.forgeryPerStep = 0;
  const memberRng = new Rng(deriveSeed(seed, 9));
  profile.memberChangePerStep = enabled.has('member') ? memberRng.pick([0, 0.02, 0.05, 0.1]) : 0;
  const world = cluster.world;
  const clients = new Clients(
    world,
    new Rng(deriveSeed(seed, 4)),
    { member: (id) => cluster.serving(id), ids: cluster.ids, idByClientURL: (u) => cluster.net.idByClientURL(u), readyWaitMs: cluster.readyWaitMs, leaderWaitMs: 2 * cluster.electionMs },
    3,
    profile.clients,
    profile.writeShare,
  );
  const intruder = new Intruder(cluster, new Rng(deriveSeed(seed, 5)), new Rng(deriveSeed(seed, 7)));
  const stats: MemberScheduleStats = {
    virtualMs: 0, events: 0, batches: 0, crashes: 0, stops: 0, wipes: 0, refusedStarts: 0, partitions: 0, forgeries: 0,
    writesOk: 0, writesUnknown: 0, readsOk: 0, tornWrites: 0, lostWrites: 0, maxApplied: 0, forwardMode: followerWrites === 'forward' ? 1 : 0, redirects: 0, snapshotsTaken: 0, snapshotsInstalled: 0, snapshotFilesReceived: 0, snapshotFilesAdopted: 0,
    membersAdded: 0, membersRemoved: 0, membersLeft: 0, memberChangeRetries: 0, newcomerRefusals: 0,
  };
  const restartAt = new Map<MemberSlot, number>();
  /** Members that lost their disk: they stay down if the cluster refuses them. */
  const wiped = new Set<MemberSlot>();
  /** Faults so far: a check that needs a calm cluster is void once another fault happened. */
  let faultEpoch = 0;
  const onUnhandled = (reason: unknown): void => world.fail(new UncaughtInSimulation('an unhandled promise rejection', reason));
  process.on('unhandledRejection', onUnhandled);

  const downForAWhile = (slot: MemberSlot, step: number): void => {
    restartAt.set(slot, step + rng.int(1, profile.maxDownSteps));
  };
  const calm = (): boolean =>
    cluster.current().every((s) => s.state === 'running' && s.member?.isReady() === true) && !cluster.net.partitioned && cluster.net.conditions === RELIABLE;

  /**
   * SIGTERM to the leader of a healthy cluster: a member that stops cleanly hands leadership to a
   * caught-up follower first (as etcd does), so the cluster is not left without a leader for an
   * election timeout. Checked when nothing else went wrong meanwhile.
   */
  const stopLeaderCalmly = (leader: MemberSlot, step: number): void => {
    const epoch = ++faultEpoch;
    cluster.stop(leader, () => {
      world.after(3 * cluster.heartbeatMs, () => {
        if (faultEpoch !== epoch || cluster.net.partitioned || cluster.net.conditions !== RELIABLE) return;
        const others = cluster.current().filter((s) => s !== leader);
        if (!others.every((s) => s.state === 'running')) return;
        if (cluster.leaders().length === 0) {
          world.fail(new SafetyViolation('Stop Without Handoff', `${leader.name} stopped cleanly as the leader of a healthy cluster and left it without a leader (${cluster.describe()})`));
        }
      });
    });
    downForAWhile(leader, step);
  };

  // ---- membership changes (fault kind `member`): one at a time through the leader, as an operator
  // does them with etcdctl: remove a member (a follower, the leader, or one that is down) and add a
  // replacement on a fresh slot; or grow the cluster by one and shrink it back later. A refused or
  // lost request is asked again (the strict reconfiguration checks want 5 s of connectivity).
  type MemberOp = { kind: 'remove'; victim: MemberSlot; replace: boolean } | { kind: 'add'; peerURL: string } | { kind: 'join'; slot: MemberSlot };
  let memberOp: MemberOp | null = null;
  /** The attempt whose answer counts (one request at a time; a later attempt abandons an earlier one). */
  let memberAttempt = 0;
  let memberAskedAt: number | null = null;
  /** How long an answer is waited for before the request is asked again (its leader may have crashed with it). */
  const MEMBER_ANSWER_WAIT_MS = 15_000;
  /** Removed members restarted from their disk later (they must leave on their own, as etcd's do). */
  const zombieAt = new Map<MemberSlot, number>();

  /** A removal is committed once any member applied it (the checker sees every apply). */
  const retireRemoved = (): void => {
    for (const s of cluster.current()) {
      if (!cluster.checker.isRemoved(s.id)) continue;
      // (a removal is a fault for the checks that need a calm cluster: a leader handed over to may be the one removed)
      faultEpoch++;
      cluster.retire(s);
      stats.membersRemoved++;
      restartAt.delete(s);
      if (interrupting && s.state === 'down' && !wiped.has(s) && s.disk.view().size > 0 && memberRng.chance(0.3)) zombieAt.set(s, step + memberRng.int(1, 30));
      wiped.delete(s);
    }
  };

  /**
   * Removals go down to a single member: a leader that removes itself from two stays until the
   * other shows it knows the removal is committed (leaving at once, the other waited forever for
   * the gone member's vote), and a survivor fsyncs the commit index that covers it.
   */
  const startMemberChange = (): void => {
    const cur = cluster.current();
    const leader = cluster.leaders()[0];
    const lostDisk = cur.find((s) => wiped.has(s));
    if (lostDisk !== undefined) {
      // a member that lost its disk is refused by the cluster: the operator removes it and adds a new one
      memberOp = { kind: 'remove', victim: lostDisk, replace: true };
    } else if (cur.length > o.members && cur.length >= 2 && memberRng.chance(0.7)) {
      const joined = cur.filter((s) => s.joined);
      memberOp = { kind: 'remove', victim: memberRng.pick(joined.length > 0 && memberRng.chance(0.7) ? joined : cur), replace: false };
    } else if (cur.length < 5 && (cur.length === 1 || memberRng.chance(0.3))) {
      memberOp = { kind: 'add', peerURL: cluster.nextPeerURL() };
    } else if (cur.length >= 2) {
      const down = cur.filter((s) => s.state === 'down');
      const r = memberRng.next();
      const followers = cur.filter((s) => s !== leader);
      const victim = r < 0.3 && leader !== undefined ? leader : r < 0.6 && down.length > 0 ? memberRng.pick(down) : memberRng.pick(followers.length > 0 ? followers : cur);
      memberOp = { kind: 'remove', victim, replace: true };
    } else return;
    const op = memberOp;
    cluster.trace.note(world.nowMs, op.kind === 'remove' ? `member change: remove ${op.victim.name} (${op.victim.state}${op.victim === leader ? ', the leader' : ''})${op.replace ? ' and replace it' : ''}` : `member change: add a member at ${op.peerURL}`);
  };

  const joinAs = (id: bigint, via: RaftMember): void => {
    const members = via.members().flatMap((i) => {
      const mid = parseMemberId(i.id);
      return mid === undefined ? [] : [{ id: mid, peerURLs: i.peerURLs }];
    });
    const slot = cluster.addSlot(id, members);
    stats.membersAdded++;
    cluster.start(slot);
    memberOp = { kind: 'join', slot };
  };

  const advanceMemberChange = (): void => {
    retireRemoved();
    const op = memberOp;
    if (op === null) return;
    if (op.kind === 'join') {
      // the next change waits until the newcomer joined and serves (its --initial-cluster lists the members as they were)
      if (op.slot.retired || (op.slot.state === 'running' && op.slot.member?.isReady() === true)) memberOp = null;
      return;
    }
    if (op.kind === 'remove' && op.victim.retired) {
      memberOp = op.replace ? { kind: 'add', peerURL: cluster.nextPeerURL() } : null;
      if (memberOp !== null) cluster.trace.note(world.nowMs, `member change: add a replacement at ${memberOp.kind === 'add' ? memberOp.peerURL : ''}`);
      return;
    }
    if (memberAskedAt !== null && world.nowMs - memberAskedAt < MEMBER_ANSWER_WAIT_MS) return;
    const leader = cluster.leaders()[0];
    const m = leader?.member ?? null;
    if (m === null) return;
    if (op.kind === 'add') {
      // An earlier request went through after all (its answer was lost with its leader, or came after
      // we stopped waiting): the strict checks now refuse the next one before it could answer 409.
      const known = m.members().find((i) => i.peerURLs.includes(op.peerURL));
      const id = known === undefined ? undefined : parseMemberId(known.id);
      if (id !== undefined) {
        memberAttempt++; // (an answer still on its way is stale)
        memberAskedAt = null;
        joinAs(id, m);
        return;
      }
    }
    const attempt = ++memberAttempt;
    memberAskedAt = world.nowMs;
    const settle = (fn: () => void): void => {
      if (attempt !== memberAttempt) return;
      memberAskedAt = null;
      fn();
    };
    if (op.kind === 'remove') {
      // Done once the removal is committed (retireRemoved): an answer of 404/410 or a lost proposal is asked again.
      m.removeMember(formatId(op.victim.id)).then(
        () => settle(() => retireRemoved()),
        (err: unknown) => settle(() => {
          stats.memberChangeRetries++;
          if (stats.memberChangeRetries % 50 === 1) cluster.trace.note(world.nowMs, `member remove refused by ${leader?.name ?? '?'}: ${err instanceof Error ? err.message : String(err)}`);
          if (!(err instanceof Error)) world.fail(err);
        }),
      );
    } else {
      m.addMember([op.peerURL]).then(
        (info) =>
          settle(() => {
            const id = parseMemberId(info.id);
            if (id === undefined) world.fail(new Error(`addMember answered the id ${info.id}`));
            else joinAs(id, m);
          }),
        (err: unknown) =>
          settle(() => {
            // 409: an earlier request went through after all (its answer was lost with its leader)
            const known = err instanceof MemberChangeError && err.status === 409 ? m.members().find((i) => i.peerURLs.includes(op.peerURL)) : undefined;
            const id = known === undefined ? undefined : parseMemberId(known.id);
            if (id !== undefined) joinAs(id, m);
            else {
              stats.memberChangeRetries++;
              if (stats.memberChangeRetries % 50 === 1) cluster.trace.note(world.nowMs, `member add refused by ${leader?.name ?? '?'}: ${err instanceof Error ? err.message : String(err)}`);
            }
          }),
      );
    }
  };

  /** A newcomer refused while joining (no peer answered, or one that had not applied its addition yet) tries again: its disk is still empty. */
  const retryRefusedJoin = (s: MemberSlot): void => {
    if (!s.joined || s.refusal === null || s.disk.view().size > 0) return;
    cluster.trace.note(world.nowMs, `${s.name} joins again after: ${s.refusal}`);
    s.refusal = null;
  };

  let step = 0;
  let interrupting = true;
  const interruptKinds: ('crash' | 'stop')[] = [];
  if (enabled.has('crash')) interruptKinds.push('crash');
  if (enabled.has('stop')) interruptKinds.push('stop');
  cluster.net.onDelivered = (to, messages) => {
    if (!interrupting || interruptKinds.length === 0 || messages.length === 0) return;
    const slot = cluster.slotById(to);
    if (slot === undefined || slot.state !== 'running') return;
    const p = replacesDiskEntries(slot, messages) ? profile.interruptOnConflict : profile.interruptPerDelivery;
    if (!rng.chance(p)) return;
    const kind = rng.pick(interruptKinds);
    faultEpoch++;
    const interrupt = (): void => {
      if (slot.state !== 'running') return;
      cluster.trace.note(world.nowMs, `interrupt (${kind}) ${slot.name} after it took ${messages.map((m) => MessageType[m.type]).join(',')}`);
      if (kind === 'crash') {
        cluster.crash(slot);
        stats.crashes++;
      } else {
        cluster.stop(slot);
        stats.stops++;
      }
      downForAWhile(slot, step);
    };
    // At once (before the member's loop takes the Ready these messages produced) or a moment later
    // (while that Ready, or the one before it, is being written).
    if (rng.chance(0.5)) interrupt();
    else world.after(rng.int(0, 3), interrupt);
  };

  try {
    for (const s of cluster.slots) cluster.start(s);
    await world.runFor(10);
    clients.start();
    const steps = Math.ceil(o.faultMs / STEP_MS);
    for (step = 0; step < steps; step++) {
      for (const [slot, at] of restartAt) {
        if (at <= step && slot.state === 'down') {
          restartAt.delete(slot);
          if (!slot.retired) cluster.start(slot);
        }
      }
      for (const [slot, at] of zombieAt) {
        if (at > step) continue;
        zombieAt.delete(slot);
        if (slot.state !== 'down') continue;
        cluster.trace.note(world.nowMs, `${slot.name} restarts from its disk after its removal (it must leave)`);
        cluster.start(slot);
      }
      for (const s of cluster.slots) if (s.member?.isReady() === true) s.everReady = true;
      const running = cluster.running();
      const leader = cluster.leaders()[0];
      if (running.length > 0 && rng.chance(profile.crashPerStep)) {
        faultEpoch++;
        cluster.crash(rng.pick(running));
        stats.crashes++;
      }
      if (leader !== undefined && leader.state === 'running' && rng.chance(profile.leaderCrashPerStep)) {
        faultEpoch++;
        cluster.crash(leader);
        stats.crashes++;
        downForAWhile(leader, step);
      }
      const running2 = cluster.running();
      if (running2.length > 0 && rng.chance(profile.stopPerStep)) {
        faultEpoch++;
        const s = rng.pick(running2);
        cluster.stop(s);
        stats.stops++;
        downForAWhile(s, step);
      }
      const leader2 = cluster.leaders()[0];
      if (leader2 !== undefined && rng.chance(profile.leaderStopPerStep)) {
        stats.stops++;
        if (calm() && cluster.current().length >= 3) stopLeaderCalmly(leader2, step);
        else {
          faultEpoch++;
          cluster.stop(leader2);
          downForAWhile(leader2, step);
        }
      }
      // (not during a membership change: a member gone for good while one is under way can leave no quorum)
      if (rng.chance(profile.wipePerStep) && wiped.size === 0 && memberOp === null) {
        // Only a member that served before: a member that never published itself is
        // indistinguishable from a new one (etcd's check has the same limit).
        // (not a member that joined at run time: it would join again as the same member, an operator's mistake etcd lets through)
        const candidates = cluster.current().filter((s) => s.everReady && !s.joined);
        if (candidates.length > 0) {
          faultEpoch++;
          const s = rng.pick(candidates);
          cluster.wipe(s);
          wiped.add(s);
          stats.wipes++;
          downForAWhile(s, step);
        }
      }
      for (const s of cluster.slots) {
        if (s.state !== 'down' || restartAt.has(s) || s.retired) continue;
        retryRefusedJoin(s);
        if (s.refusal !== null && !wiped.has(s)) throw new SafetyViolation('Restart Refused', `${s.name} refused to restart from its own disk: ${s.refusal}`);
        if (s.refusal === null) downForAWhile(s, step);
      }
      if (rng.chance(profile.partitionPerStep)) {
        faultEpoch++;
        const shuffled = rng.shuffle([...cluster.ids]);
        const cut = rng.int(1, shuffled.length - 1);
        cluster.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        const names = (ids: bigint[]): string => ids.map((id) => cluster.slotById(id)?.name ?? '?').join(',');
        cluster.trace.note(world.nowMs, `partition {${names(shuffled.slice(0, cut))}} {${names(shuffled.slice(cut))}}`);
        stats.partitions++;
      }
      if (rng.chance(profile.oneWayPerStep)) {
        faultEpoch++;
        const from = rng.pick(cluster.ids);
        const to = rng.pick(cluster.ids.filter((id) => id !== from));
        cluster.net.cutOneWay(from, to);
        cluster.trace.note(world.nowMs, `cut ${cluster.slotById(from)?.name ?? '?'} -> ${cluster.slotById(to)?.name ?? '?'}`);
        stats.partitions++;
      }
      if (rng.chance(profile.healPerStep)) cluster.net.heal();
      if (rng.chance(profile.netChangePerStep)) {
        faultEpoch++;
        cluster.net.conditions = rng.chance(0.5)
          ? RELIABLE
          : { dropRate: rng.pick([0.02, 0.1]), dupRate: 0.02, longDelayRate: rng.pick([0, 0.1]), minDelayMs: 1, maxDelayMs: rng.pick([10, 30]) };
      }
      if (rng.chance(profile.forgeryPerStep)) {
        intruder.attack();
        stats.forgeries++;
      }
      if (memberOp === null && memberRng.chance(profile.memberChangePerStep)) startMemberChange();
      advanceMemberChange();
      await world.runFor(STEP_MS);
    }

    // Liveness: heal everything, restart everyone the cluster lets back in.
    interrupting = false;
    zombieAt.clear();
    // removed members still running are stopped by their operator (one whose peers are all gone never hears 410)
    for (const s of cluster.slots) if (s.retired && s.state !== 'down') cluster.crash(s);
    cluster.net.heal();
    cluster.net.conditions = RELIABLE;
    cluster.trace.note(world.nowMs, 'all faults healed');
    const livenessMs = o.livenessMs ?? 60_000;
    const deadline = world.nowMs + livenessMs;
    let converged = false;
    /** Once a leader is agreed on: the index every member must reach (clients keep writing meanwhile). */
    let target: number | undefined;
    while (world.nowMs < deadline) {
      for (const s of cluster.slots) {
        if (s.state !== 'down' || s.retired) continue;
        retryRefusedJoin(s);
        if (s.refusal !== null && !wiped.has(s)) throw new SafetyViolation('Restart Refused', `${s.name} refused to restart from its own disk: ${s.refusal}`);
        if (s.refusal === null) cluster.start(s);
      }
      // a membership change under way is finished first; then a member that lost its disk is
      // replaced, as its operator would (one whose first peers are all gone waits for them forever,
      // refused by nobody, as etcd's would)
      if (memberOp === null && cluster.current().some((s) => wiped.has(s))) startMemberChange();
      advanceMemberChange();
      for (const s of cluster.slots) if (s.retired && s.state !== 'down') cluster.crash(s);
      const l = cluster.stableLeader();
      if (l === undefined || memberOp !== null) target = undefined;
      else {
        target ??= (l.member as NonNullable<typeof l.member>).raftStatus().lastIndex;
        if (allCaughtUp(cluster, target)) {
          converged = true;
          break;
        }
      }
      await world.runFor(STEP_MS);
    }
    if (!converged) throw new SafetyViolation('Liveness', `no convergence within ${livenessMs} ms after healing: ${cluster.describe()}`);
    clients.stop();
    await world.runUntilTrue(() => clients.inFlight === 0, 10_000);
    // Every key, read through every member with quorum=true, must give the linearizable value.
    for (const s of cluster.running()) {
      if (s.retired) continue;
      for (const key of clients.keys) {
        const r = await runRead(clients, key, s.id, world);
        if (r !== 'ok') throw new SafetyViolation('Liveness', `the final quorum read of ${key} through ${s.name} failed (${r}): ${cluster.describe()}`);
      }
      intruder.checkMembership(s);
    }
    clients.checkLinearizable();
  } catch (err: unknown) {
    process.off('unhandledRejection', onUnhandled);
    fill(stats, cluster, clients, intruder);
    const trace = cluster.trace.lines();
    if (err instanceof SafetyViolation) return { seed, ok: false, failure: { invariant: err.invariant, message: err.message, timeMs: world.nowMs, trace }, stats };
    if (err instanceof RaftInvariantError) return { seed, ok: false, failure: { invariant: 'Raft Assertion', message: err.message, timeMs: world.nowMs, trace }, stats };
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return { seed, ok: false, failure: { invariant: err instanceof UncaughtInSimulation ? 'Crash' : 'Error', message, timeMs: world.nowMs, trace }, stats };
  }
  process.off('unhandledRejection', onUnhandled);
  fill(stats, cluster, clients, intruder);
  return { seed, ok: true, stats };
}

/** Whether an append in `messages` carries an entry whose index holds another term on the member's disk. */
function replacesDiskEntries(slot: MemberSlot, messages: readonly Message[]): boolean {
  const view = slot.disk.view();
  for (const m of messages) {
    // a leader's snapshot replaces the whole log (its file is adopted, then the log's record written)
    if (m.type === MessageType.MsgSnap) return true;
    if (m.type !== MessageType.MsgApp) continue;
    for (const e of m.entries) {
      const stored = view.get(simKeyString(entryKey(e.index)));
      if (stored === undefined) break;
      if (decodeEntry(stored).term !== e.term) return true;
    }
  }
  return false;
}

/** Runs one quorum read to completion in virtual time. */
async function runRead(clients: Clients, key: string, via: bigint, world: MemberCluster['world']): Promise<string> {
  let result: string | undefined;
  void clients.read(key, via).then((r) => {
    result = r.kind === 'ok' ? 'ok' : `${r.kind}: ${r.why}`;
  });
  await world.runUntilTrue(() => result !== undefined, 20_000);
  return result ?? 'no answer';
}

/** Every member the cluster let back in runs, serves clients, and has applied `target`. */
function allCaughtUp(cluster: MemberCluster, target: number): boolean {
  return cluster.current().every((s) => (s.state === 'down' && s.refusal !== null) || (s.state === 'running' && s.member !== null && s.member.isReady() && s.member.raftStatus().applied >= target));
}

function fill(stats: MemberScheduleStats, cluster: MemberCluster, clients: Clients, intruder: Intruder): void {
  stats.virtualMs = cluster.world.nowMs;
  stats.events = cluster.world.eventsProcessed;
  stats.batches = cluster.net.batchesSent;
  stats.refusedStarts = cluster.slots.filter((s) => s.refusal !== null).length;
  stats.forgeries = intruder.attempts;
  stats.writesOk = clients.stats.writesOk;
  stats.writesUnknown = clients.stats.writesUnknown;
  stats.readsOk = clients.stats.readsOk;
  stats.redirects = clients.stats.redirects;
  for (const s of cluster.slots) {
    stats.tornWrites += s.disk.stats.tornBatches;
    stats.snapshotsTaken += s.snapshotsTaken;
    stats.snapshotsInstalled += s.snapshotsInstalled;
    stats.snapshotFilesReceived += s.snapFiles.stats.received;
    stats.snapshotFilesAdopted += s.snapFiles.stats.adopted;
    stats.lostWrites += s.disk.stats.lostBatches;
  }
  stats.maxApplied = cluster.checker.maxApplied;
  for (const s of cluster.slots) stats.membersLeft += s.leftAfterRemoval;
  stats.newcomerRefusals = cluster.refusedNewcomerBatches;
}
