// Runs `ETCDCTL_API=2 etcdctl` against one target and records what the user sees (exit code, stdout,
// stderr) in a form comparable across targets: indexes relative to the session's starting index,
// member ids and URLs as placeholders.
import { settledWithin, spawnLogged, type Spawned } from '../helpers/child-process.js';
import { etcdctl, etcdctlBinary } from '../helpers/etcdctl.js';
import type { Target } from '../helpers/target.js';
import { currentIndex } from '../conformance/runner.js';

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Global flags before the command, e.g. ['-o', 'json'] (recorded, URLs normalised). */
  flags?: string[];
  /** --endpoints; default the target's client URL; null: none (then `flags` says where to go). */
  endpoints?: string | null;
  /** --no-sync: etcdctl talks only to the endpoints given, not to every member it learns of. */
  noSync?: boolean;
  /** Fed to etcdctl's stdin: the answer to its password prompt (recorded as `< input`). */
  input?: string;
}

export interface SessionOptions {
  /** Every command of the session runs with --no-sync (stays on target.clientURL). */
  noSync?: boolean;
}

export class CtlSession {
  readonly lines: string[] = [];
  private readonly background: Spawned[] = [];
  /** Arguments that are absolute indexes, shown relative in the transcript. */
  private readonly shownAs = new Map<string, string>();

  private constructor(
    readonly target: Target,
    readonly base: number,
    private readonly opts: SessionOptions,
  ) {}

  static async open(target: Target, opts: SessionOptions = {}): Promise<CtlSession> {
    return new CtlSession(target, await currentIndex(target.clientURL), opts);
  }

  /** Runs one etcdctl command to completion (bounded) and records it. */
  run(...args: string[]): Promise<CtlResult> {
    return this.runWith({}, ...args);
  }

  /** run() with global flags, other endpoints, or input for a password prompt. */
  async runWith(o: RunOptions, ...args: string[]): Promise<CtlResult> {
    const flags = o.flags ?? [];
    const r = await etcdctl([...flags, ...args], {
      endpoints: o.endpoints === undefined ? this.target.clientURL : o.endpoints,
      noSync: o.noSync ?? this.opts.noSync,
      input: o.input,
      timeoutMs: 15_000,
    });
    this.record([...flags, ...args], r, undefined, o.input);
    return r;
  }

  /** Starts a long-running etcdctl (watch, exec-watch); stop it with finish(). */
  start(...args: string[]): Spawned {
    const p = spawnLogged(etcdctlBinary, ['--endpoints', this.target.clientURL, ...(this.opts.noSync ? ['--no-sync'] : []), ...args], {
      env: { ...process.env, ETCDCTL_API: '2' },
    });
    this.background.push(p);
    return p;
  }

  /** Waits (bounded) for a started command to exit by itself, then records it. */
  async finish(p: Spawned, args: string[], timeoutMs = 10_000): Promise<CtlResult> {
    const exited = await settledWithin(p.exited, timeoutMs);
    if (!exited) await p.stop(500);
    const how = await p.exited;
    const r = { code: exited ? Number(how) : -1, stdout: p.logTail(), stderr: exited ? '' : `<still running after ${timeoutMs} ms, killed>` };
    this.record(args, r);
    return r;
  }

  /**
   * Waits until the started command's output has `lines` lines (bounded), stops it and records the
   * output lines sorted (exec-watch runs its commands concurrently, so their output order varies).
   */
  async collect(p: Spawned, args: string[], lines: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (p.logTail().split('\n').length - 1 < lines && !p.hasExited() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await p.stop(500);
    const out = p.logTail().split('\n').filter((l) => l !== '').sort();
    this.record(args, { code: 0, stdout: out.join('\n'), stderr: '' }, '(stopped by the test)');
    return out;
  }

  /** The absolute index `base + offset`, as a command argument (recorded as {{i+offset}}). */
  index(offset: number): string {
    const v = String(this.base + offset);
    this.shownAs.set(v, `{{i+${offset}}}`);
    return v;
  }

  note(line: string): void {
    this.lines.push(line);
  }

  async close(): Promise<void> {
    await Promise.all(this.background.map((p) => p.stop(500)));
  }

  private record(args: string[], r: CtlResult, status?: string, input?: string): void {
    const stdin = input === undefined ? '' : ` < ${JSON.stringify(input)}`;
    this.lines.push(`$ etcdctl ${args.map((a) => this.shownAs.get(a) ?? this.normalise(a)).join(' ')}${stdin}`, `  exit ${status ?? r.code}`);
    for (const l of this.normalise(r.stdout).split('\n').filter((x) => x !== '')) this.lines.push(`  out: ${l}`);
    for (const l of this.normalise(r.stderr).split('\n').filter((x) => x !== '')) this.lines.push(`  err: ${l}`);
  }

  private rel(n: string): string {
    const d = Number(n) - this.base;
    return d >= 0 ? `@+${d}` : `@${d}`;
  }

  normalise(text: string): string {
    let s = text;
    for (const [i, url] of [...this.target.clientURLs].sort().entries()) s = s.split(url).join(`<clientURL#${i}>`);
    for (const [i, url] of [...this.target.peerURLs].sort().entries()) s = s.split(url).join(`<peerURL#${i}>`);
    // An error's index; 0 is not an index but "none" (auth errors carry [0]) and stays as it is.
    s = s.replace(/\[(\d+)\]$/gm, (_m, n: string) => (n === '0' ? '[0]' : `[${this.rel(n)}]`));
    s = s.replace(/^(Created-Index|Modified-Index|Index): (\d+)$/gm, (_m, k: string, n: string) => `${k}: ${this.rel(n)}`);
    s = s.replace(/^TTL: [1-9]\d*$/gm, 'TTL: <positive>');
    s = s.replace(/"ttl":[1-9]\d*/g, '"ttl":<positive>');
    s = s.replace(/"expiration":"[^"]*"/g, '"expiration":<time>');
    s = s.replace(/"(modifiedIndex|createdIndex)":(\d+)/g, (_m, k: string, n: string) => `"${k}":${this.rel(n)}`);
    // mk --in-order names the new key after its index, zero-padded to 20 digits.
    s = s.replace(/\/(\d{20})\b/g, (_m, n: string) => `/<in-order ${this.rel(n)}>`);
    // Member ids: where etcdctl prints one, whatever its length (hex without leading zeros: a short
    // one now and then), then any other id-like hex word.
    s = s.replace(/^[0-9a-f]{1,16}(\[unstarted\])?: name=/gm, (_m, u: string | undefined) => `<member id>${u ?? ''}: name=`);
    s = s.replace(/\bmember [0-9a-f]{1,16} is /g, 'member <member id> is ');
    s = s.replace(/\bmember with ID [0-9a-f]{1,16}\b/g, 'member with ID <member id>');
    s = s.replace(/\b[0-9a-f]{12,16}\b/g, '<member id>');
    return s;
  }
}
