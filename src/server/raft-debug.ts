// GET /debug/raft/status (issue 14's first step): this member's raft status as etcd prints
// `raft.status` in /debug/vars (etcd-io/raft's Status.MarshalJSON: the same keys in the same order,
// ids in hex, progress only on a leader), then what a live view also needs: the last index and
// term, the index the log starts after (a snapshot's), and how long until this member's election
// timer fires. Cheap (no I/O), read-only, and answered before the member is ready to serve clients,
// so a member that cannot find a leader can still be looked at.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProgressState } from '../raft/progress.js';
import type { Status } from '../raft/status.js';
import { compareIds, EntryType, type Entry } from '../raft/messages.js';
import type { EventSink, RaftEvents } from './raft-events.js';

export const RAFT_STATUS_PATH = '/debug/raft/status';
/**
 * On /debug/raft/status and /debug/raft/log: the id of the newest event the member's
 * /debug/raft/events stream had sent when it read the answer (raft-events.ts). A page that reads
 * both uses it to tell whether an answer is older than events it has already shown.
 */
export const RAFT_EVENT_ID_HEADER = 'X-Raft-Event-Id';

/** What the status and log routes read the newest event id from (absent in some tests). */
export interface RaftEventIdSource {
  readonly events?: { readonly lastId: number };
}

/**
 * CORS for the read-only debug endpoints: the live view (/ui/) is served by one member and reads
 * every member, so each answers any origin, for GET and HEAD only, without credentials. This opens
 * nothing the client port does not already open: /v2/keys answers `Access-Control-Allow-Origin: *`
 * for reads and writes alike (etcd's --cors '*'), and these routes only read. A preflight (an
 * EventSource that reconnects sends Last-Event-ID, which is not a CORS-safelisted header) gets 204.
 * Returns true when it answered the request (OPTIONS).
 */
export function debugCors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', RAFT_EVENT_ID_HEADER);
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, HEAD',
    'Access-Control-Allow-Headers': 'last-event-id, cache-control',
    'Access-Control-Max-Age': '600',
  });
  res.end();
  return true;
}

/** What beside raft's Status the view shows. */
export interface RaftStatusExtras {
  lastTerm: number;
  /** The index the in-memory log starts after (0 without a snapshot). */
  snapshotIndex: number;
  /** Milliseconds until this member's election timer fires; null on a leader (it has none running). */
  electionTimeoutRemainingMs: number | null;
}

const progressStateName: Record<ProgressState, string> = {
  [ProgressState.Probe]: 'StateProbe',
  [ProgressState.Replicate]: 'StateReplicate',
  [ProgressState.Snapshot]: 'StateSnapshot',
};

const hex = (id: bigint): string => id.toString(16);

/** etcd's raft.status JSON, with the extras appended after its own keys. */
export function raftStatusJSON(s: Status, x: RaftStatusExtras): string {
  const progress = [...s.progress].sort((a, b) => compareIds(a.id, b.id)).map((p) => `${JSON.stringify(hex(p.id))}:{"match":${p.match},"next":${p.next},"state":${JSON.stringify(progressStateName[p.state])}}`);
  return (
    `{"id":"${hex(s.id)}","term":${s.term},"vote":"${hex(s.vote)}","commit":${s.commit},"lead":"${hex(s.lead)}",` +
    `"raftState":${JSON.stringify(s.role)},"applied":${s.applied},"progress":{${progress.join(',')}},"leadtransferee":"${hex(s.leadTransferee)}",` +
    `"lastIndex":${s.lastIndex},"lastTerm":${x.lastTerm},"snapshotIndex":${x.snapshotIndex},"electionTimeoutRemainingMs":${x.electionTimeoutRemainingMs ?? 'null'}}`
  );
}

export interface RaftStatusSource extends RaftEventIdSource {
  raftStatus(): Status;
  raftStatusExtras(): RaftStatusExtras;
}

function eventIdHeader(member: RaftEventIdSource): Record<string, string> {
  return member.events === undefined ? {} : { [RAFT_EVENT_ID_HEADER]: String(member.events.lastId) };
}

/** The route: GET or HEAD only. */
export function raftStatusRoute(member: RaftStatusSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (debugCors(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const body = raftStatusJSON(member.raftStatus(), member.raftStatusExtras()) + '\n';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), ...eventIdHeader(member) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

// ---- GET /debug/raft/log?from=&to=: a bounded window of the in-memory raft log's entry metadata

export const RAFT_LOG_PATH = '/debug/raft/log';
/** Entries shown when the request names no range. */
export const RAFT_LOG_DEFAULT_ENTRIES = 100;
/** Entries shown at most per request (a wider range is cut at from + this - 1). */
export const RAFT_LOG_MAX_ENTRIES = 1000;

/** What the log view reads: raft's log (RaftLog), never copied whole. */
export interface RaftLogView {
  firstIndex(): number;
  lastIndex(): number;
  readonly committed: number;
  readonly applied: number;
  /** Entries [lo, hi) within maxBytes (at least one); throws when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[];
}

export type RaftLogWindow = { status: 200; body: string } | { status: 400; message: string };

const INTEGER = /^[0-9]{1,15}$/;

function parseIndex(params: URLSearchParams, name: string): number | undefined | string {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  if (!INTEGER.test(v)) return `${name} must be a non-negative integer, got ${JSON.stringify(v.slice(0, 40))}`;
  return Number(v);
}

/** The window's JSON for a query string (`from`, `to`, both optional and inclusive). */
export function raftLogWindow(log: RaftLogView, query: string): RaftLogWindow {
  const params = new URLSearchParams(query);
  const fromP = parseIndex(params, 'from');
  const toP = parseIndex(params, 'to');
  if (typeof fromP === 'string') return { status: 400, message: fromP };
  if (typeof toP === 'string') return { status: 400, message: toP };
  if (fromP !== undefined && toP !== undefined && fromP > toP) return { status: 400, message: `from (${fromP}) is after to (${toP})` };
  const first = log.firstIndex();
  const last = log.lastIndex();
  let from: number;
  let to: number;
  if (fromP === undefined && toP === undefined) {
    to = last;
    from = to - RAFT_LOG_DEFAULT_ENTRIES + 1;
  } else if (fromP === undefined) {
    to = toP as number;
    from = to - RAFT_LOG_DEFAULT_ENTRIES + 1;
  } else {
    from = fromP;
    to = toP ?? from + RAFT_LOG_DEFAULT_ENTRIES - 1;
  }
  const compacted = fromP !== undefined && fromP < first;
  from = Math.max(from, first);
  to = Math.min(to, last, from + RAFT_LOG_MAX_ENTRIES - 1);
  const entries: string[] = [];
  if (from <= to) {
    for (const e of log.slice(from, to + 1, Number.POSITIVE_INFINITY)) {
      entries.push(`{"index":${e.index},"term":${e.term},"type":"${e.type === EntryType.ConfChange ? 'EntryConfChange' : 'EntryNormal'}","size":${e.data.byteLength}}`);
    }
  }
  const body =
    `{"firstIndex":${first},"lastIndex":${last},"committed":${log.committed},"applied":${log.applied},` +
    `${compacted ? `"compactedBefore":${first},` : ''}"entries":[${entries.join(',')}]}`;
  return { status: 200, body };
}

/** The route: GET or HEAD only; 400 with {"message"} for a bad range. */
export function raftLogRoute(member: { raftLog(): RaftLogView } & RaftEventIdSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (debugCors(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const q = req.url?.indexOf('?') ?? -1;
    const w = raftLogWindow(member.raftLog(), q < 0 ? '' : (req.url as string).slice(q + 1));
    const body = (w.status === 200 ? w.body : JSON.stringify({ message: w.message })) + '\n';
    res.writeHead(w.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), ...eventIdHeader(member) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

// ---- GET /debug/raft/events: the member's raft events as Server-Sent Events (raft-events.ts)

export const RAFT_EVENTS_PATH = '/debug/raft/events';

export interface RaftEventsSource {
  readonly events: RaftEvents;
  raftStatus(): Status;
}

/** The route: GET only; 503 when the hub has its maximum of subscribers. */
export function raftEventsRoute(member: RaftEventsSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (debugCors(req, res)) return;
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const header = req.headers['last-event-id'];
    const lastId = typeof header === 'string' && INTEGER.test(header.trim()) ? Number(header.trim()) : undefined;
    const s = member.raftStatus();
    const sink: EventSink = {
      write: (chunk) => void res.write(chunk),
      bufferedBytes: () => res.writableLength,
      close: () => res.destroy(),
    };
    if (member.events.full) {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' }).end(JSON.stringify({ message: 'too many event subscribers' }) + '\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const sub = member.events.subscribe(sink, { role: s.role, term: s.term, lead: s.lead, vote: s.vote, commit: s.commit, applied: s.applied }, lastId);
    if (sub === null) {
      res.destroy();
      return;
    }
    res.on('close', () => sub.close());
  };
}
