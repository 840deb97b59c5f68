// `npm run jepsen`: concurrent clients on a few keys through random members, a seeded nemesis, then
// the checker per key, convergence and recovery checks, and a report (result.json, history.jsonl,
// timeline.html) in the output directory.
import fs from 'node:fs';
import path from 'node:path';
import type { Agent } from 'undici';
import { checkHistory, type CheckResult, type Verdict } from './checker.js';
import { makeAgent, runOp, type OpRequest } from './client.js';
import type { Op, OpKind } from './history.js';
import type { DockerTargetOptions } from './docker-cluster.js';
import { healAll, openTarget, type FaultController } from './faults.js';
import type { MemberInfo } from './local-cluster.js';
import { nemesisStats, type NemesisStats } from './nemesis-stats.js';
import { writeTimeline } from './report.js';
import { between, FAULT_DELAY_MS, FAULT_DURATION_MS, FAULT_GAP_MS, leaderByMajority } from './targeting.js';
import { finishWatch, startWatchers, type WatchCheck, type Watchers } from './watch.js';

export type FaultKind = 'kill' | 'pause' | 'partition' | 'delay';

export interface JepsenOptions {
  /** 'local', 'docker' (the docker-compose cluster), or the client URLs of any etcd v2 cluster. */
  target: 'local' | 'docker' | string[];
  /** For target 'docker': compose file, project, environment. */
  docker?: DockerTargetOptions;
  nemesis: FaultKind[];
  timeS: number;
  clients: number;
  /** Keys written at once (slots); each slot moves to a fresh key after `opsPerKey` ops. */
  keys: number;
  /** Ops on one key before its slot moves to a fresh one (Jepsen's independent keys). Default 250. */
  opsPerKey?: number;
  seed: number;
  outDir: string;
  /** Per-request bound (all redirect hops). Default 1500 ms. */
  opTimeoutMs?: number;
  /** Bound on the history; clients stop once it is reached. Default 50 000. */
  maxOps?: number;
  /** Checker budget. Default 60 s. */
  checkTimeBudgetMs?: number;
  log?: (line: string) => void;
}

export interface Fault {
  kind: FaultKind;
  target: string;
  leaderTargeted: boolean;
  /** Why a fault meant for the leader went to a random member (no majority named one leader). */
  leaderReason?: string;
  /** A delay fault's delay of the target's peer traffic, each way. */
  delayMs?: number;
  startMs: number;
  endMs: number | null;
  /** ms from the heal until a quorum write and read succeed (null: not within the bound). */
  recoveryMs: number | null;
  error?: string;
}

export interface JepsenResult {
  verdict: Verdict;
  /** Members converged after the heal and served a quorum write and read within the bound. */
  clusterChecksPassed: boolean;
  seed: number;
  target: string;
  nemesis: FaultKind[];
  durationMs: number;
  ops: number;
  counts: Record<string, Record<string, number>>;
  faults: Fault[];
  finalRecoveryMs: number | null;
  converged: { ok: boolean; afterMs: number; detail?: string };
  /** Per-member watches of the prefix (watch.ts); a problem fails the cluster checks. */
  watch: WatchCheck;
  /** Totals per fault kind (nemesis-stats.ts). */
  nemesisStats: NemesisStats;
  checker: Omit<CheckResult, 'violation'> & { violation?: { key: string; failedOp: Op | undefined; longestPrefix: number[]; explanation: string[] } };
  files: { result: string; history: string; timeline: string };
  summary: string;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Time until a quorum write then a quorum read of a probe key succeed through some member (bounded). */
async function recoveryTime(agent: Agent, members: MemberInfo[], probeKey: string, boundMs: number): Promise<number | null> {
  const started = Date.now();
  let i = 0;
  while (Date.now() - started < boundMs) {
    const m = members[i++ % members.length]!;
    const value = `probe-${Date.now()}`;
    const w = await runOp(agent, m.clientURL, { kind: 'write', key: probeKey, value }, 1000);
    if (w.outcome === 'ok') {
      const r = await runOp(agent, m.clientURL, { kind: 'read', key: probeKey }, 1000);
      if (r.outcome === 'ok' && r.readValue === value) return Date.now() - started;
    }
    await sleep(50);
  }
  return null;
}

/** Waits until every member's local (non-quorum) view of the prefix is the same (bounded). */
async function converge(agent: Agent, members: MemberInfo[], prefix: string, boundMs: number): Promise<{ ok: boolean; afterMs: number; detail?: string }> {
  const { request } = await import('undici');
  const started = Date.now();
  let detail = '';
  while (Date.now() - started < boundMs) {
    const views = await Promise.all(
      members.map(async (m) => {
        try {
          const res = await request(`${m.clientURL}/v2/keys${prefix}?recursive=true&sorted=true`, { dispatcher: agent, signal: AbortSignal.timeout(1000) });
          const body = (await res.body.json()) as { node?: { nodes?: { key: string; value?: string; modifiedIndex: number }[] } };
          return JSON.stringify((body.node?.nodes ?? []).map((n) => [n.key, n.value, n.modifiedIndex]));
        } catch (err) {
          return `error: ${(err as Error).message}`;
        }
      }),
    );
    if (views.every((v) => v === views[0] && !v.startsWith('error'))) return { ok: true, afterMs: Date.now() - started };
    detail = views.map((v, i) => `${members[i]!.name}: ${v.slice(0, 300)}`).join('; ');
    await sleep(200);
  }
  return { ok: false, afterMs: Date.now() - started, detail };
}

export async function runJepsen(options: JepsenOptions): Promise<JepsenResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const opTimeoutMs = options.opTimeoutMs ?? 1500;
  const maxOps = options.maxOps ?? 50_000;
  fs.mkdirSync(options.outDir, { recursive: true });
  const files = {
    result: path.join(options.outDir, 'result.json'),
    history: path.join(options.outDir, 'history.jsonl'),
    timeline: path.join(options.outDir, 'timeline.html'),
  };
  const rand = prng(options.seed);
  if (Array.isArray(options.target) && options.nemesis.length > 0) throw new Error('a nemesis needs --target local or docker; run against URLs with --nemesis none');
  const { members, faults: controller }: { members: MemberInfo[]; faults: FaultController | null } = await openTarget(options.target, { logFile: path.join(options.outDir, 'cluster.log'), docker: options.docker, log });
  const stopCluster = async (): Promise<void> => controller?.stop();
  const agent = makeAgent();
  const prefix = `/jepsen-${options.seed}-${Date.now().toString(36)}`;
  // Each slot's key is replaced by a fresh one after opsPerKey ops, as Jepsen's independent-key
  // generator does: the checker's search is exponential in the ops concurrent with an indeterminate
  // one, so it stays bounded per key, and the whole check grows linearly with the run's length.
  // Linearizability is local, so nothing is lost: each key is a separate register.
  const opsPerKey = options.opsPerKey ?? 250;
  const generation = new Array<number>(options.keys).fill(0);
  const opsOnSlot = new Array<number>(options.keys).fill(0);
  const keyName = (slot: number): string => (generation[slot] === 0 ? `${prefix}/k${slot}` : `${prefix}/k${slot}.${generation[slot]}`);
  /** Every key the run used (the final reads go through all of them). */
  const keys = Array.from({ length: options.keys }, (_, slot) => keyName(slot));
  const keyFor = (slot: number): string => {
    if (opsOnSlot[slot]! >= opsPerKey) {
      opsOnSlot[slot] = 0;
      generation[slot]!++;
      keys.push(keyName(slot));
    }
    opsOnSlot[slot]!++;
    return keyName(slot);
  };
  const history: Op[] = [];
  const faults: Fault[] = [];
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const endMs = options.timeS * 1000;
  let nextId = 0;
  let stopped = false;
  let watchers: Watchers | null = null;

  try {
    // Watchers first, from the index before any client writes, so they miss no event of the run.
    watchers = await startWatchers(members, prefix, { log });
    log(`jepsen: ${options.clients} clients on ${options.keys} keys for ${options.timeS} s, nemesis ${options.nemesis.join(',') || 'none'}, seed ${options.seed}`);
    const client = async (c: number): Promise<void> => {
      const crand = prng(options.seed * 1000 + c + 1);
      const seen = new Map<string, { value: string; index: number }>();
      let seq = 0;
      while (!stopped && now() < endMs && history.length < maxOps) {
        const key = keyFor(Math.floor(crand() * options.keys));
        const r = crand();
        const kind: OpKind = r < 0.3 ? 'read' : r < 0.5 ? 'write' : r < 0.65 ? 'cas-value' : r < 0.8 ? 'cas-index' : r < 0.9 ? 'create' : 'delete';
        const last = seen.get(key);
        const req: OpRequest = { kind, key };
        if (kind !== 'read' && kind !== 'delete') req.value = `c${c}-${seq++}`;
        if (kind === 'cas-value') req.prevValue = last?.value ?? 'none';
        if (kind === 'cas-index') req.prevIndex = last?.index ?? 1;
        const member = members[Math.floor(crand() * members.length)]!;
        const op: Op = { id: nextId++, client: c, key, kind, value: req.value, prevValue: req.prevValue, prevIndex: req.prevIndex, invokeMs: now(), completeMs: null, outcome: 'info' };
        history.push(op);
        const res = await runOp(agent, member.clientURL, req, opTimeoutMs);
        Object.assign(op, res);
        op.member ??= new URL(member.clientURL).host;
        if (res.outcome !== 'info') op.completeMs = now();
        if (res.outcome === 'ok' && res.index !== undefined) {
          if (kind === 'delete') seen.delete(key);
          else seen.set(key, { value: kind === 'read' ? res.readValue! : req.value!, index: res.index });
        }
        await sleep(2 + Math.floor(crand() * 8));
      }
    };

    const nemesis = async (): Promise<void> => {
      if (controller === null || options.nemesis.length === 0) return;
      const fc = controller;
      // Every kind once per round, in a seeded order, so that a short run sees each of them.
      let round: FaultKind[] = [];
      while (now() < endMs - 4000) {
        await sleep(between(rand, FAULT_GAP_MS));
        if (now() >= endMs - 4000) break;
        if (round.length === 0) {
          round = [...options.nemesis];
          for (let i = round.length - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [round[i], round[j]] = [round[j]!, round[i]!];
          }
        }
        const kind = round.shift()!;
        const leaderTargeted = rand() < 0.5;
        const view = leaderTargeted ? await leaderByMajority(agent, members) : null;
        const leader = view?.leader ?? null;
        const target = leader ?? members[Math.floor(rand() * members.length)]!.name;
        const delayMs = kind === 'delay' ? Math.round(between(rand, FAULT_DELAY_MS)) : undefined;
        const fault: Fault = { kind, target, leaderTargeted: leader !== null, ...(view?.reason !== undefined ? { leaderReason: view.reason } : {}), ...(delayMs !== undefined ? { delayMs } : {}), startMs: now(), endMs: null, recoveryMs: null };
        faults.push(fault);
        log(`jepsen: ${(fault.startMs / 1000).toFixed(1)} s ${kind}${delayMs !== undefined ? ` ${delayMs} ms` : ''} ${target}${fault.leaderTargeted ? ' (leader)' : ''}${fault.leaderReason !== undefined ? ` (not the leader: ${fault.leaderReason})` : ''}`);
        await (
          kind === 'kill' ? fc.kill(target) :
          kind === 'pause' ? fc.pause(target) :
          kind === 'delay' ? (fc.delay?.([target], delayMs!) ?? Promise.reject(new Error(`${fc.label} cannot delay peer traffic`))) :
          fc.partition([[target], members.filter((m) => m.name !== target).map((m) => m.name)])
        ).catch((err: Error) => (fault.error = `start: ${err.message}`));
        await sleep(Math.min(between(rand, FAULT_DURATION_MS), Math.max(0, endMs - 1000 - now())));
        await (
          kind === 'kill' ? fc.restart(target) :
          kind === 'pause' ? fc.resume(target) :
          kind === 'delay' ? fc.healDelay() :
          fc.healPartition()
        ).catch((err: Error) => (fault.error = `${fault.error ?? ''} heal: ${err.message}`.trim()));
        fault.endMs = now();
        fault.recoveryMs = await recoveryTime(agent, members, `${prefix}/probe`, 30_000);
        log(`jepsen: ${(fault.endMs / 1000).toFixed(1)} s healed ${kind} ${target}; quorum write+read after ${fault.recoveryMs ?? '>30000'} ms`);
      }
    };

    await Promise.all([...Array.from({ length: options.clients }, (_, c) => client(c)), nemesis()]);
    stopped = true;

    // Heal everything the nemesis may have left (each a no-op when already healed).
    if (controller !== null) await healAll(controller).catch((err: Error) => log(`jepsen: final heal: ${err.message}`));
    const finalRecoveryMs = await recoveryTime(agent, members, `${prefix}/probe`, 30_000);
    // Final quorum reads of every key: acknowledged writes must still be there (the checker sees
    // them as ops of one more client, after everything else).
    for (const key of keys) {
      const op: Op = { id: nextId++, client: options.clients, key, kind: 'read', invokeMs: now(), completeMs: null, outcome: 'info' };
      history.push(op);
      Object.assign(op, await runOp(agent, members[0]!.clientURL, { kind: 'read', key }, 5000));
      if (op.outcome !== 'info') op.completeMs = now();
    }
    const converged = await converge(agent, members, prefix, 30_000);
    const watch = await finishWatch(watchers, history, `${prefix}/probe`);
    const durationMs = now();

    fs.writeFileSync(files.history, history.map((o) => JSON.stringify(o)).join('\n') + '\n');
    log(`jepsen: ${history.length} ops; checking`);
    const checker = checkHistory(history, { timeBudgetMs: options.checkTimeBudgetMs ?? 60_000 });
    const counts: Record<string, Record<string, number>> = {};
    for (const o of history) {
      counts[o.kind] ??= { ok: 0, fail: 0, info: 0 };
      counts[o.kind]![o.outcome]!++;
    }
    const verdict: Verdict = checker.verdict;
    const problems: string[] = [];
    if (!converged.ok) problems.push('members did not converge');
    if (finalRecoveryMs === null) problems.push('no quorum write+read within 30 s of the last heal');
    const unfaulted = faults.filter((f) => f.error !== undefined);
    if (unfaulted.length > 0) problems.push(`${unfaulted.length} of ${faults.length} faults failed to start or heal, first: ${unfaulted[0]!.kind} ${unfaulted[0]!.target}: ${unfaulted[0]!.error}`);
    if (!watch.ok) problems.push(`watch check failed: ${watch.error ?? `${watch.problemCount} problems, first: ${watch.problems[0]?.message}`}`);
    const recoveries = faults.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
    const targetName = Array.isArray(options.target) ? options.target.join(',') : options.target;
    const label = verdict === 'linearizable' ? 'linearizable' : verdict === 'not linearizable' ? 'NOT linearizable' : 'unknown';
    const summary =
      `jepsen: ${label}${problems.length > 0 ? ` (but ${problems.join('; ')})` : ''}, ${history.length} ops, ${faults.length} faults` +
      (recoveries.length > 0 ? `, recovery max ${Math.max(...recoveries)} ms` : '') +
      `, checker ${checker.elapsedMs} ms`;
    const result: JepsenResult = {
      verdict,
      clusterChecksPassed: problems.length === 0,
      seed: options.seed,
      target: targetName,
      nemesis: options.nemesis,
      durationMs,
      ops: history.length,
      counts,
      faults,
      finalRecoveryMs,
      converged,
      watch,
      nemesisStats: nemesisStats(faults, history, options.nemesis, durationMs),
      checker,
      files,
      summary,
    };
    fs.writeFileSync(files.result, JSON.stringify(result, null, 2) + '\n');
    writeTimeline(files.timeline, history, faults, checker, { title: `jepsen ${targetName} seed ${options.seed}`, endMs: durationMs, clients: options.clients + 1 });
    if (checker.violation !== undefined) for (const line of checker.violation.explanation) log(line);
    return result;
  } finally {
    stopped = true;
    await watchers?.stop();
    await agent.close().catch(() => {});
    await stopCluster();
  }
}
