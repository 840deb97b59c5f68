// Runs many scripts on several sides (e.g. real etcd and etcd-ts) in parallel "lanes". A lane owns
// one server per side and runs its scripts one after the other (so indexes stay script-relative);
// after each script it deletes everything the script created and checks the root is empty again,
// else the lane's server is replaced. The same script runs on every side at the same time, so TTL
// timings line up. `fresh` scripts get just-started servers of their own.
import { settledWithin } from '../helpers/child-process.js';
import { exchange } from './exchange.js';
import { runScript } from './runner.js';
import type { Script } from './script.js';
import type { RawTranscript } from './transcript.js';
import type { Target, TargetFactory } from '../helpers/target.js';

export interface Side {
  label: string;
  factory: TargetFactory;
}

export interface Outcome {
  transcript?: RawTranscript;
  /** The run could not be done (server did not start, harness error); the reason. */
  error?: string;
}

/** Top-level key names a script touches (decoded), so the lane can delete them afterwards. */
export function touchedTopLevelNames(script: Script): string[] {
  const names = new Set<string>();
  for (const step of script.steps) {
    if (!('path' in step)) continue;
    const path = step.path.replace(/\{\{[^}]*\}\}/g, '0').split('?')[0] as string;
    const m = /^\/v2\/keys\/+(.*)$/.exec(path);
    if (!m) continue;
    let rest: string;
    try {
      rest = decodeURIComponent(m[1] as string);
    } catch {
      continue;
    }
    const first = rest.split('/').find((s) => s !== '');
    if (first && first !== '.' && first !== '..') names.add(first);
  }
  return [...names];
}

async function listRoot(clientURL: string): Promise<string[] | null> {
  const ex = await exchange(clientURL, { method: 'GET', path: '/v2/keys/' }, 10_000);
  if (ex.error || ex.head?.status !== 200) return null;
  try {
    const parsed = JSON.parse(ex.body().toString('utf8')) as { node?: { nodes?: Array<{ key: string }> } };
    return (parsed.node?.nodes ?? []).map((n) => n.key.slice(1));
  } catch {
    return null;
  }
}

/** Deletes what `script` created; true when the root is empty afterwards. */
export async function cleanUp(target: Target, script: Script): Promise<boolean> {
  const remove = (name: string): Promise<unknown> =>
    exchange(target.clientURL, { method: 'DELETE', path: `/v2/keys/${encodeURIComponent(name)}?recursive=true` }, 10_000);
  for (const name of touchedTopLevelNames(script)) await remove(name);
  const left = await listRoot(target.clientURL);
  if (left === null) return false;
  for (const name of left) await remove(name);
  const after = await listRoot(target.clientURL);
  return after !== null && after.length === 0;
}

class Lane {
  private target: Target | null = null;
  constructor(private readonly side: SideState) {}

  async run(script: Script): Promise<Outcome> {
    if (script.fresh) {
      let target: Target;
      try {
        target = await this.side.start();
      } catch (err) {
        return { error: (err as Error).message };
      }
      try {
        return { transcript: await runScript(target, script) };
      } catch (err) {
        return { error: `harness error on ${target.label}: ${(err as Error).message}` };
      } finally {
        await target.stop();
      }
    }
    if (!this.target) {
      try {
        this.target = await this.side.start();
      } catch (err) {
        return { error: (err as Error).message };
      }
    }
    const target = this.target;
    let outcome: Outcome;
    try {
      outcome = { transcript: await runScript(target, script) };
    } catch (err) {
      outcome = { error: `harness error on ${target.label}: ${(err as Error).message}\n${target.logs().slice(-2000)}` };
    }
    if (!(await cleanUp(target, script).catch(() => false))) {
      this.target = null;
      await target.stop();
    }
    return outcome;
  }

  async stop(): Promise<void> {
    const t = this.target;
    this.target = null;
    await t?.stop();
  }
}

/** One side's factory, remembering repeated start failures so a broken build fails fast. */
class SideState {
  private failures = 0;
  private lastError = '';
  private closed = false;
  constructor(readonly side: Side) {}

  close(): void {
    this.closed = true;
  }

  async start(): Promise<Target> {
    if (this.closed) throw new Error(`${this.side.label}: the run is stopping`);
    if (this.failures >= 2) throw new Error(`${this.side.label} does not start (gave up after 2 attempts): ${this.lastError}`);
    try {
      const t = await this.side.factory();
      this.failures = 0;
      if (this.closed) {
        await t.stop();
        throw new Error(`${this.side.label}: the run is stopping`);
      }
      return t;
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message;
      throw err;
    }
  }
}

/** Rough run time, to start the slow scripts first. */
export function estimateMs(script: Script): number {
  let ms = script.fresh ? 1500 : 50;
  for (const step of script.steps) {
    if (step.kind === 'sleep') ms += step.ms;
    else if (step.kind === 'bulk') ms += step.count * 3;
    else if (step.kind === 'await' || step.kind === 'events') ms += Math.min(step.timeoutMs ?? 0, 3000) / 2;
    else if (step.kind === 'pending') ms += step.ms ?? 300;
    else ms += 10;
  }
  return ms;
}

export class ParallelRun {
  private readonly results = new Map<string, Promise<Outcome[]>>();
  private readonly lanes: Lane[][] = [];
  private readonly finished: Promise<void>;
  private readonly queue: Script[];
  private readonly states: SideState[];

  constructor(scripts: readonly Script[], sides: readonly Side[], laneCount: number) {
    const states = sides.map((s) => new SideState(s));
    this.states = states;
    const resolvers = new Map<string, (o: Outcome[]) => void>();
    for (const s of scripts) {
      if (this.results.has(s.name)) throw new Error(`duplicate script name: ${s.name}`);
      this.results.set(s.name, new Promise((resolve) => resolvers.set(s.name, resolve)));
    }
    const queue = [...scripts].sort((a, b) => estimateMs(b) - estimateMs(a));
    this.queue = queue;
    const worker = async (lanes: Lane[]): Promise<void> => {
      for (let script = queue.shift(); script; script = queue.shift()) {
        const outcomes = await Promise.all(lanes.map((lane) => lane.run(script as Script)));
        resolvers.get(script.name)?.(outcomes);
      }
    };
    for (let i = 0; i < laneCount; i++) this.lanes.push(states.map((st) => new Lane(st)));
    this.finished = Promise.all(this.lanes.map(worker)).then(() => undefined);
  }

  result(name: string): Promise<Outcome[]> {
    const r = this.results.get(name);
    if (!r) throw new Error(`no script named ${name}`);
    return r;
  }

  /** Waits (bounded) for running scripts, then stops every server. */
  async stop(timeoutMs = 120_000): Promise<void> {
    this.queue.length = 0;
    for (const s of this.states) s.close();
    await settledWithin(this.finished, timeoutMs);
    await Promise.all(this.lanes.flat().map((l) => l.stop()));
  }
}
