// `npm run sim -- --members --seed S --record FILE`: the whole-member simulator's run as the live
// view's events (src/ui/view-state.ts ViewEvent), one JSON object per line, in virtual time. Each
// member's real /debug/raft/events hub is subscribed (its timers are the simulation's, so the
// coalescing and sampling are the ones a live cluster has); process starts, crashes, stops and
// partitions come from the simulated cluster. Every STATUS_EVERY_MS of virtual time each running
// member's /debug/raft/status (the same JSON, from the same code) is recorded too, as the page polls
// it live: the election-timer arcs and the leader's match/next markers come from it. The live view
// replays such a file (/ui/?trace=URL,
// or "open trace" on the page). Bounded: at most maxEvents lines; past that, recording stops and the
// last line says so.
import type { RaftMember } from '../../../src/server/raft-member.js';
import { raftStatusJSON } from '../../../src/server/raft-debug.js';
import type { EventSink } from '../../../src/server/raft-events.js';
import type { MemberListing, ProcessState, RaftStatusJSON, ViewEvent } from '../../../src/ui/view-state.js';

export const DEFAULT_MAX_TRACE_EVENTS = 200_000;
/** Status snapshots: one per running member per this much virtual time (the page polls every 1 s). */
export const STATUS_EVERY_MS = 500;

export class TraceRecorder {
  readonly lines: string[] = [];
  truncated = false;
  private readonly maxEvents: number;

  constructor(
    private readonly nowMs: () => number,
    options: { maxEvents?: number } = {},
  ) {
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_TRACE_EVENTS;
  }

  private add(ev: ViewEvent): void {
    if (this.truncated) return;
    if (this.lines.length >= this.maxEvents - 1) {
      this.truncated = true;
      this.lines.push(JSON.stringify({ kind: 'write', at: ev.at, member: '', text: `trace cut after ${this.maxEvents} events` } satisfies ViewEvent));
      return;
    }
    this.lines.push(JSON.stringify(ev));
  }

  members(members: readonly MemberListing[]): void {
    this.add({ kind: 'members', at: this.nowMs(), members });
  }

  process(id: bigint, state: ProcessState, action?: string): void {
    this.add({ kind: 'process', at: this.nowMs(), member: hex(id), state, ...(action !== undefined ? { action } : {}) });
  }

  partition(groups: readonly (readonly string[])[] | null): void {
    this.add({ kind: 'partition', at: this.nowMs(), groups });
  }

  /** Subscribes to a member's event hub, as the page does over HTTP; the stream ends with the incarnation. */
  attach(id: bigint, member: RaftMember): void {
    const member_ = hex(id);
    const sink: EventSink = {
      write: (chunk) => {
        const ev = parseFrame(chunk);
        if (ev !== null) this.add({ kind: 'raft', at: this.nowMs(), member: member_, event: ev });
      },
      bufferedBytes: () => 0,
      close: () => {},
    };
    const s = member.raftStatus();
    member.events.subscribe(sink, { role: s.role, term: s.term, lead: s.lead, vote: s.vote, commit: s.commit, applied: s.applied });
    this.add({ kind: 'connection', at: this.nowMs(), member: member_, connected: true });
  }

  /** A status snapshot of a running member, as GET /debug/raft/status answers it. */
  status(id: bigint, member: RaftMember): void {
    const status = JSON.parse(raftStatusJSON(member.raftStatus(), member.raftStatusExtras())) as RaftStatusJSON;
    this.add({ kind: 'status', at: this.nowMs(), member: hex(id), status });
  }

  /** The member's stream ended (its process is gone). */
  detach(id: bigint): void {
    this.add({ kind: 'connection', at: this.nowMs(), member: hex(id), connected: false });
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

const hex = (id: bigint): string => id.toString(16);

/** One SSE frame of the hub (`id:`, `event:`, `data:` lines); null for comments and `retry:`. */
export function parseFrame(chunk: string): { event: string; data: Record<string, unknown> } | null {
  let event = '';
  let data = '';
  for (const line of chunk.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  if (event === '' || data === '') return null;
  return { event, data: JSON.parse(data) as Record<string, unknown> };
}
