// One member process of a test cluster: started with fixed flags (the same on every restart, as an
// operator would), its stdout+stderr appended to a per-member log file and kept (bounded) in memory
// across restarts, and signalled on demand: SIGKILL, SIGTERM, SIGSTOP (pause) and SIGCONT (resume).
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { settledWithin, spawnLogged, type Spawned } from './child-process.js';
import type { MemberCommand } from './cluster-binary.js';
import { withTimeout } from './wait-for.js';

const maxTailChars = 96 * 1024;

export type MemberState = 'running' | 'paused' | 'exited';

export interface MemberSpec {
  name: string;
  clientURL: string;
  peerURL: string;
  dataDir: string;
  logFile: string;
  command: MemberCommand;
  /** Environment variables beside the test's own (e.g. the ETCD_* lines `etcdctl member add` prints). */
  env?: Record<string, string>;
}

export class ClusterMember {
  readonly name: string;
  readonly clientURL: string;
  readonly peerURL: string;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly command: MemberCommand;
  private readonly env: Record<string, string>;
  private spawned: Spawned | null = null;
  private paused = false;
  private starts = 0;
  private stopRequested = false;
  private lastExit = '';
  private tail = '';
  private readonly logStream: fs.WriteStream;

  constructor(spec: MemberSpec) {
    this.name = spec.name;
    this.clientURL = spec.clientURL;
    this.peerURL = spec.peerURL;
    this.dataDir = spec.dataDir;
    this.logFile = spec.logFile;
    this.command = spec.command;
    this.env = spec.env ?? {};
    this.logStream = fs.createWriteStream(spec.logFile, { flags: 'a' });
    this.logStream.on('error', () => undefined);
  }

  get state(): MemberState {
    if (!this.spawned || this.spawned.hasExited()) return 'exited';
    return this.paused ? 'paused' : 'running';
  }

  /** True when the process exited without being told to (a crash, or a refusal to start). */
  get crashed(): boolean {
    return this.starts > 0 && this.state === 'exited' && !this.stopRequested;
  }

  /** How the last process exited (exit code or signal name); '' while it runs or before a start. */
  get exitStatus(): string {
    return this.state === 'exited' ? this.lastExit : '';
  }

  /** Pid of the current process (-1 before the first start). */
  get pid(): number {
    return this.spawned?.pid ?? -1;
  }

  get process(): ChildProcess | null {
    return this.spawned?.child ?? null;
  }

  /** Resolves with how the current process exited (exit code or signal name). */
  get exited(): Promise<string> {
    return this.spawned?.exited ?? Promise.resolve('never started');
  }

  /** Starts the process (first start or restart: the same flags and data dir). */
  start(): void {
    if (this.state !== 'exited') throw new Error(`${this.name}: start while ${this.state} (pid ${this.pid})`);
    this.starts++;
    const { command, args, cwd } = this.command;
    const spawned = spawnLogged(command, args, { cwd, env: { ...process.env, ...this.env } });
    this.spawned = spawned;
    this.paused = false;
    this.stopRequested = false;
    this.record(`=== ${this.name} start #${this.starts}, pid ${spawned.pid}, ${new Date().toISOString()}\n$ ${command} ${args.join(' ')}\n`);
    const onData = (chunk: Buffer): void => this.record(chunk.toString('utf8'));
    spawned.child.stdout?.on('data', onData);
    spawned.child.stderr?.on('data', onData);
    void spawned.exited.then((how) => {
      this.lastExit = how;
      this.record(`=== ${this.name} pid ${spawned.pid} exited (${how}), ${new Date().toISOString()}\n`);
    });
  }

  /**
   * Sends `signal` and waits (bounded) for the process to exit. A paused process gets SIGCONT after
   * the signal so that SIGTERM is acted upon. SIGTERM that is not obeyed within `graceMs` is an error
   * (the process is then SIGKILLed so nothing is left behind).
   */
  async kill(signal: 'SIGKILL' | 'SIGTERM', graceMs = 10_000): Promise<string> {
    const spawned = this.spawned;
    if (!spawned || spawned.hasExited()) throw new Error(`${this.name}: kill(${signal}) but the member is not running`);
    this.stopRequested = true;
    this.signal(signal);
    if (this.paused) this.signal('SIGCONT');
    this.paused = false;
    try {
      return await withTimeout(spawned.exited, graceMs, `${this.name} (pid ${spawned.pid}) to exit after ${signal}`);
    } catch (err) {
      this.signal('SIGKILL');
      await withTimeout(spawned.exited, 5000, `${this.name} (pid ${spawned.pid}) to exit after SIGKILL`).catch(() => undefined);
      throw err;
    }
  }

  /** SIGSTOP: the process keeps its sockets but does nothing (as a hung or partitioned machine). */
  pause(): void {
    if (this.state !== 'running') throw new Error(`${this.name}: pause while ${this.state}`);
    this.signal('SIGSTOP');
    this.paused = true;
    this.record(`=== ${this.name} pid ${this.pid} SIGSTOP, ${new Date().toISOString()}\n`);
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (this.state !== 'paused') throw new Error(`${this.name}: resume while ${this.state}`);
    this.signal('SIGCONT');
    this.paused = false;
    this.record(`=== ${this.name} pid ${this.pid} SIGCONT, ${new Date().toISOString()}\n`);
  }

  /** Cleanup: SIGCONT (if paused) then SIGKILL, waits (bounded) for the exit. Never throws. */
  async forceStop(): Promise<void> {
    const spawned = this.spawned;
    if (!spawned || spawned.hasExited()) return;
    this.stopRequested = true;
    if (this.paused) this.signal('SIGCONT');
    this.paused = false;
    this.signal('SIGKILL');
    await settledWithin(spawned.exited, 5000);
  }

  /** Everything the member printed (all starts), bounded to the last ~96 KiB. */
  logTail(maxChars = maxTailChars): string {
    return this.tail.slice(-maxChars);
  }

  /** Flushes and closes the log file. */
  closeLog(): Promise<void> {
    return new Promise((resolve) => this.logStream.end(() => resolve()));
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.spawned?.child.kill(signal);
    } catch {
      // already gone
    }
  }

  private record(text: string): void {
    this.tail += text;
    if (this.tail.length > maxTailChars * 2) this.tail = this.tail.slice(-maxTailChars);
    if (!this.logStream.writableEnded) this.logStream.write(text);
  }
}
