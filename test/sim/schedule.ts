// One random schedule: a fault phase (crashes, restarts, partitions both symmetric and one-way,
// lossy/duplicating/reordering network, leadership transfers) under a steady client load, then a
// liveness phase in which every fault is healed and the cluster must elect a leader and commit
// every outstanding proposal within a bounded number of ticks. Safety is checked after every step.
import { ConfChangeType, NONE, ProposalDroppedError, RaftInvariantError, Role, type NodeId, type RawNode } from '../../src/raft/index.js';
import { encodeValue, SafetyViolation } from './checker.js';
import { Cluster, encodeConfChangeValue } from './cluster.js';
import { deriveSeed, Rng } from './prng.js';
import { Workload } from './workload.js';

export interface ScheduleOptions {
  nodes: number;
  /** Ticks (of 100 ms virtual time) in the fault phase. */
  steps: number;
  /** Bound on ticks after the last fault heals for the cluster to converge. */
  livenessTicks?: number;
  traceSize?: number;
}

export interface ScheduleStats {
  virtualMs: number;
  events: number;
  messages: number;
  crashes: number;
  partitions: number;
  acked: number;
  reads: number;
  snapshots: number;
  maxTerm: number;
  commitIndex: number;
  /** Ticks from healing to convergence. */
  convergenceTicks: number;
  /** Membership changes applied (on all nodes together). */
  confChanges: number;
}

export interface ScheduleFailure {
  invariant: string;
  message: string;
  timeMs: number;
  trace: string[];
}

export interface ScheduleResult {
  seed: number;
  ok: boolean;
  failure?: ScheduleFailure;
  stats: ScheduleStats;
}

export const DEFAULT_LIVENESS_TICKS = 600;

/** The fault mix of a schedule is itself drawn from the seed, so seeds explore different regimes. */
interface FaultProfile {
  crashPerTick: number;
  /** Crash whoever is leader (Figure 8 needs leaders to die right after appending). */
  leaderCrashPerTick: number;
  partitionPerTick: number;
  oneWayPerTick: number;
  healPerTick: number;
  netChangePerTick: number;
  transferPerTick: number;
  proposePerTick: number;
  readPerTick: number;
  maxDownTicks: number;
}

function drawProfile(rng: Rng): FaultProfile {
  const calm = rng.chance(0.2);
  return {
    crashPerTick: calm ? 0.002 : rng.pick([0.005, 0.01, 0.03]),
    leaderCrashPerTick: calm ? 0 : rng.pick([0, 0.01, 0.05]),
    partitionPerTick: calm ? 0.002 : rng.pick([0.005, 0.01, 0.03]),
    oneWayPerTick: rng.pick([0, 0.005, 0.01]),
    healPerTick: rng.pick([0.02, 0.05, 0.1]),
    netChangePerTick: rng.pick([0.01, 0.03]),
    transferPerTick: rng.pick([0, 0.003, 0.01]),
    proposePerTick: rng.pick([0.3, 0.6, 0.9]),
    readPerTick: rng.pick([0.05, 0.2]),
    maxDownTicks: rng.pick([10, 30, 80]),
  };
}

export function runSchedule(seed: number, options: ScheduleOptions): ScheduleResult {
  const rng = new Rng(deriveSeed(seed, 2));
  const cluster = new Cluster({
    nodes: options.nodes,
    seed,
    maxDelayMs: rng.pick([5, 10, 30]),
    diskMaxMs: rng.pick([0, 2, 10]),
    maxInflightMsgs: rng.pick([4, 64]),
    maxSizePerMsgBytes: rng.pick([64, 4096]),
    compactEveryEntries: rng.pick([0, 0, 20, 100]),
    traceSize: options.traceSize ?? 64,
  });
  const workload = new Workload(cluster);
  const profile = drawProfile(rng);
  // Membership changes (one voter at a time, through the log) draw from their own stream, so the
  // rest of every schedule is what it was before they existed.
  const ccRng = new Rng(deriveSeed(seed, 7));
  const confChangePerTick = options.nodes >= 2 ? ccRng.pick([0, 0, 0.01, 0.03]) : 0;
  /** The leader with the highest term that is still a voter of its own configuration. */
  const votingLeader = (): RawNode | undefined => {
    let best: RawNode | undefined;
    for (const n of cluster.leaders()) {
      const rn = n.rn;
      if (rn !== undefined && rn.confState().voters.includes(rn.id) && (best === undefined || rn.term > best.term)) best = rn;
    }
    return best;
  };
  const proposeConfChange = (leader: RawNode, type: ConfChangeType.AddNode | ConfChangeType.RemoveNode, id: NodeId): void => {
    try {
      cluster.withNode(leader.id, (rn) => rn.proposeConfChange(encodeValue(encodeConfChangeValue(type, id))));
      cluster.trace.note(cluster.nowMs, `${leader.id} proposed ${ConfChangeType[type]} ${id}`);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  };
  /** A leader that applied its own removal hands leadership to a voter (as a member does before it exits). */
  const handOverRemovedLeaders = (): void => {
    for (const n of cluster.leaders()) {
      const rn = n.rn;
      if (rn === undefined || rn.confState().voters.includes(rn.id) || rn.raft.leadTransferee !== NONE) continue;
      const voters = rn.confState().voters;
      if (voters.length > 0) cluster.withNode(rn.id, (r) => r.transferLeader(ccRng.pick(voters)));
    }
  };
  const tickMs = cluster.tickMs;
  const ids = cluster.ids;
  const restartAt = new Map<NodeId, number>();
  const stats: ScheduleStats = { virtualMs: 0, events: 0, messages: 0, crashes: 0, partitions: 0, acked: 0, reads: 0, snapshots: 0, maxTerm: 0, commitIndex: 0, convergenceTicks: 0, confChanges: 0 };
  const aliveIds = (): NodeId[] => ids.filter((id) => cluster.node(id).alive);
  const livenessTicks = options.livenessTicks ?? DEFAULT_LIVENESS_TICKS;
  /** Crashes `id`; it restarts after a random downtime, and its clients retry what it held. */
  const crashForAWhile = (id: NodeId, step: number): void => {
    cluster.crash(id);
    workload.onCrash(id);
    restartAt.set(id, step + rng.int(1, profile.maxDownTicks));
    stats.crashes++;
  };

  try {
    // Fault phase.
    for (let step = 0; step < options.steps; step++) {
      for (const [id, at] of restartAt) {
        if (at <= step) {
          restartAt.delete(id);
          cluster.start(id);
        }
      }
      workload.sweepLost();
      const alive = aliveIds();
      if (alive.length > 0) {
        if (rng.chance(profile.proposePerTick)) workload.newValues(rng.int(1, 3));
        workload.proposePending(rng.pick(alive));
        if (rng.chance(profile.readPerTick)) workload.read(rng.pick(alive));
        if (rng.chance(profile.crashPerTick)) crashForAWhile(rng.pick(alive), step);
        const leader = cluster.leaders()[0];
        if (leader !== undefined && rng.chance(profile.leaderCrashPerTick)) crashForAWhile(leader.id, step);
        if (confChangePerTick > 0 && ccRng.chance(confChangePerTick)) {
          const leader = votingLeader();
          // Now and then a burst: raft must take only the first while it is not applied (one at a time).
          const burst = ccRng.chance(0.3) ? 3 : 1;
          const voters = [...(leader?.confState().voters ?? [])];
          for (let b = 0; b < burst && leader !== undefined; b++) {
            const outside = ids.filter((id) => !voters.includes(id));
            const removable = voters.filter((id) => id !== leader.id);
            if (outside.length > 0 && (removable.length === 0 || ccRng.chance(0.5))) {
              const id = ccRng.pick(outside);
              proposeConfChange(leader, ConfChangeType.AddNode, id);
              voters.push(id);
            } else if (removable.length > 0) {
              const id = ccRng.pick(removable);
              proposeConfChange(leader, ConfChangeType.RemoveNode, id);
              voters.splice(voters.indexOf(id), 1);
            }
          }
        }
        if (confChangePerTick > 0) handOverRemovedLeaders();
        if (rng.chance(profile.transferPerTick)) {
          const leader = cluster.leaders()[0];
          if (leader !== undefined) {
            const to = rng.pick(ids.filter((id) => id !== leader.id));
            cluster.withNode(leader.id, (rn) => rn.transferLeader(to));
          }
        }
      }
      if (rng.chance(profile.partitionPerTick)) {
        const shuffled = rng.shuffle([...ids]);
        const cut = rng.int(1, ids.length - 1);
        cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        stats.partitions++;
      }
      if (rng.chance(profile.oneWayPerTick)) {
        const from = rng.pick(ids);
        const to = rng.pick(ids.filter((id) => id !== from));
        cluster.cutLink(from, to);
        stats.partitions++;
      }
      if (rng.chance(profile.healPerTick)) cluster.healLinks();
      if (rng.chance(profile.netChangePerTick)) {
        cluster.setReliable(rng.chance(0.5));
        cluster.setLongReordering(rng.chance(0.2));
      }
      cluster.runFor(tickMs);
    }

    // Liveness phase: heal everything, then the cluster must converge within the bound.
    cluster.healLinks();
    for (const id of ids) {
      cluster.connect(id);
      cluster.start(id);
    }
    cluster.setReliable(true);
    cluster.setLongReordering(false);
    cluster.trace.note(cluster.nowMs, 'all faults healed');
    let converged = false;
    for (let t = 0; t < livenessTicks; t++) {
      if (confChangePerTick > 0) {
        // Every node becomes a voter again, one at a time.
        handOverRemovedLeaders();
        const l = votingLeader();
        const missing = l === undefined ? [] : ids.filter((id) => !l.confState().voters.includes(id));
        if (l !== undefined && missing.length > 0) proposeConfChange(l, ConfChangeType.AddNode, missing[0] as NodeId);
      }
      const leader = stableLeader(cluster);
      workload.sweepLost();
      workload.proposePending(leader ?? rng.pick(ids));
      if (leader !== undefined && workload.outstanding === 0 && allApplied(cluster, leader)) {
        stats.convergenceTicks = t;
        converged = true;
        break;
      }
      cluster.runFor(tickMs);
    }
    if (!converged) {
      const detail = cluster.nodes.map((n) => `${n.id}:${n.rn?.role}/t${n.rn?.term}/c${n.rn?.commitIndex}/a${n.appliedIndex}`).join(' ');
      throw new SafetyViolation('Liveness', `no convergence within ${livenessTicks} ticks after healing (outstanding=${workload.outstanding}; ${detail})`);
    }
    workload.checkAckedDurable(cluster.nodes);
  } catch (err) {
    fillStats(stats, cluster, workload);
    if (err instanceof SafetyViolation || err instanceof RaftInvariantError) {
      const invariant = err instanceof SafetyViolation ? err.invariant : 'Raft Assertion';
      return { seed, ok: false, failure: { invariant, message: err.message, timeMs: cluster.nowMs, trace: cluster.trace.lines() }, stats };
    }
    const message = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    return { seed, ok: false, failure: { invariant: 'Crash', message, timeMs: cluster.nowMs, trace: cluster.trace.lines() }, stats };
  }
  fillStats(stats, cluster, workload);
  return { seed, ok: true, stats };
}

/** The single leader every node agrees on (same term, same leader), if there is one. */
export function stableLeader(cluster: Cluster): NodeId | undefined {
  const leaders = cluster.leaders();
  if (leaders.length !== 1) return undefined;
  const l = leaders[0]?.rn;
  if (l === undefined) return undefined;
  for (const n of cluster.nodes) {
    const rn = n.rn;
    if (rn === undefined || rn.term !== l.term || rn.leaderId !== l.id) return undefined;
  }
  return l.id;
}

function allApplied(cluster: Cluster, leaderId: NodeId): boolean {
  const l = cluster.node(leaderId).rn;
  if (l === undefined || l.role !== Role.Leader) return false;
  const commit = l.commitIndex;
  if (l.raft.log.lastIndex() !== commit) return false;
  return cluster.nodes.every((n) => n.appliedIndex === commit);
}

function fillStats(stats: ScheduleStats, cluster: Cluster, workload: Workload): void {
  stats.virtualMs = cluster.nowMs;
  stats.events = cluster.eventsProcessed;
  stats.messages = cluster.messagesSent;
  stats.acked = workload.acked.size;
  stats.reads = workload.readsServed;
  stats.snapshots = cluster.snapshotsInstalled;
  stats.maxTerm = Math.max(0, ...cluster.nodes.map((n) => n.rn?.term ?? 0));
  stats.commitIndex = cluster.checker.maxCommitted;
  stats.confChanges = cluster.confChangesApplied;
}
