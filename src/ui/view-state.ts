// The live view's model (issue 14): what the page shows, as a pure function of what it has seen.
// `reduce(state, event)` takes the events the page gathers (each member's /debug/raft/events
// stream, its /debug/raft/status and /debug/raft/log answers, /v2/members, the launcher's process
// states, the page's own writes) and returns the next state; it never mutates its input, reads no
// clock and does no I/O, so the page, a trace replay and the unit tests all run the same code.
//
// Everything it keeps is bounded: the log window per member (LOG_WINDOW_ENTRIES indexes), the
// messages in flight (MAX_MESSAGES, and older than MESSAGE_FLIGHT_MS are gone), the timeline
// (MAX_TIMELINE entries), the per-link rates (one entry per member pair and type).

/** A member's role as the view shows it: raft's role while it answers, else what its process is. */
export type DisplayRole = 'leader' | 'candidate' | 'precandidate' | 'follower' | 'stopped' | 'paused' | 'unknown';
export type ProcessState = 'running' | 'stopped' | 'paused' | 'unknown';

export const LOG_WINDOW_ENTRIES = 64;
export const MAX_MESSAGES = 96;
export const MAX_TIMELINE = 200;
/** How long (view time) a message dot travels from sender to receiver. */
export const MESSAGE_FLIGHT_MS = 400;

export interface PeerProgress {
  match: number;
  next: number;
  state: string;
}

export interface MemberView {
  /** Hex id, as /v2/members and the event streams print it. */
  id: string;
  name: string;
  clientURL: string;
  /** What raft last said (StateLeader, ...); '' before anything was heard. */
  raftState: string;
  process: ProcessState;
  /** Whether its event stream is open. */
  connected: boolean;
  term: number;
  vote: string;
  lead: string;
  commit: number;
  applied: number;
  lastIndex: number;
  lastTerm: number;
  snapshotIndex: number;
  /** From the last status: ms until the election timer fires, and when (view time) that was read. */
  electionRemainingMs: number | null;
  electionSeenAt: number;
  /** The largest remaining time seen in this term and role: the arc's full circle. */
  electionFullMs: number;
  /** A leader's view of each peer's replication. */
  progress: Readonly<Record<string, PeerProgress>>;
  /** Terms of the last LOG_WINDOW_ENTRIES indexes it holds: index -> term. */
  log: Readonly<Record<number, number>>;
  droppedMessages: number;
  lastEventAt: number;
  /**
   * The SSE id of the newest stream event applied (0 before any). A status or log answer carries
   * the newest id the member had sent when it read the answer (X-Raft-Event-Id): when this one is
   * higher, the stream has shown changes made after that read, and the answer is older than them.
   */
  eventId: number;
}

export interface Message {
  from: string;
  to: string;
  type: string;
  term: number;
  reject: boolean;
  entries: number;
  at: number;
}

export interface HeartbeatLink {
  beats: number;
  lastAt: number;
  count: number;
  windowStart: number;
  rate: number;
}

/** How long (view time) a heartbeat link glows after a beat, at most (see heartbeatPulseMs). */
export const HEARTBEAT_PULSE_MS = 300;

export type TimelineKind = 'leader' | 'term' | 'fault' | 'write' | 'info';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  member: string;
  text: string;
}

export interface ViewState {
  /** View time of the last event reduced. */
  now: number;
  members: Readonly<Record<string, MemberView>>;
  /** Member ids in a stable order (sorted by name). */
  order: readonly string[];
  messages: readonly Message[];
  /** Messages per second per link ("from>to"), over the last second of view time. */
  linkRates: Readonly<Record<string, { count: number; windowStart: number; rate: number }>>;
  /**
   * Heartbeats per link ("from>to"): how many were seen (as sampled by the member's event stream),
   * the last one's view time, and the rate over the last full second. One entry per member pair.
   */
  heartbeats: Readonly<Record<string, HeartbeatLink>>;
  timeline: readonly TimelineEntry[];
  highestTerm: number;
  /** The launcher's partition in force: groups of member names; null when all can talk. */
  partition: readonly (readonly string[])[] | null;
}

export interface MemberListing {
  id: string;
  name: string;
  clientURLs: readonly string[];
}

/** The status JSON /debug/raft/status answers (src/server/raft-debug.ts). */
export interface RaftStatusJSON {
  id: string;
  term: number;
  vote: string;
  commit: number;
  lead: string;
  raftState: string;
  applied: number;
  progress: Record<string, PeerProgress>;
  lastIndex: number;
  lastTerm: number;
  snapshotIndex: number;
  electionTimeoutRemainingMs: number | null;
}

export interface RaftLogJSON {
  firstIndex: number;
  lastIndex: number;
  committed: number;
  applied: number;
  entries: readonly { index: number; term: number }[];
}

/** One SSE event of /debug/raft/events: its `event:` name and parsed `data:`. */
export interface RaftStreamEvent {
  event: string;
  data: Record<string, unknown>;
}

export type ViewEvent =
  | { kind: 'members'; at: number; members: readonly MemberListing[] }
  | { kind: 'raft'; at: number; member: string; event: RaftStreamEvent; id?: number }
  | { kind: 'status'; at: number; member: string; status: RaftStatusJSON; eventId?: number }
  | { kind: 'log'; at: number; member: string; log: RaftLogJSON; eventId?: number }
  | { kind: 'connection'; at: number; member: string; connected: boolean }
  | { kind: 'process'; at: number; member: string; state: ProcessState; action?: string }
  | { kind: 'write'; at: number; member: string; text: string }
  | { kind: 'partition'; at: number; groups: readonly (readonly string[])[] | null };

export function emptyState(): ViewState {
  return { now: 0, members: {}, order: [], messages: [], linkRates: {}, heartbeats: {}, timeline: [], highestTerm: 0, partition: null };
}

function newMember(id: string, name: string, clientURL: string): MemberView {
  return {
    id,
    name,
    clientURL,
    raftState: '',
    process: 'unknown',
    connected: false,
    term: 0,
    vote: '0',
    lead: '0',
    commit: 0,
    applied: 0,
    lastIndex: 0,
    lastTerm: 0,
    snapshotIndex: 0,
    electionRemainingMs: null,
    electionSeenAt: 0,
    electionFullMs: 0,
    progress: {},
    log: {},
    droppedMessages: 0,
    lastEventAt: 0,
    eventId: 0,
  };
}

const RAFT_ROLES: Record<string, DisplayRole> = {
  StateLeader: 'leader',
  StateCandidate: 'candidate',
  StatePreCandidate: 'precandidate',
  StateFollower: 'follower',
};

/**
 * The role a person should see: a stopped or paused process wins (a paused leader's stream is
 * silent but still says leader), then a closed stream (nothing heard means nothing is known:
 * shown as stopped), then raft's own word.
 */
export function displayRole(m: MemberView): DisplayRole {
  if (m.process === 'stopped' || m.process === 'paused') return m.process;
  if (!m.connected) return m.process === 'running' ? 'unknown' : 'stopped';
  return RAFT_ROLES[m.raftState] ?? 'unknown';
}

/** The member whose role is leader in the highest term, if any (a partitioned old leader may linger). */
export function currentLeader(s: ViewState): MemberView | undefined {
  let best: MemberView | undefined;
  for (const id of s.order) {
    const m = s.members[id] as MemberView;
    if (displayRole(m) === 'leader' && (best === undefined || m.term > best.term)) best = m;
  }
  return best;
}

/** The index window the log matrix shows: the last `width` indexes up to the highest last index. */
export function logWindow(s: ViewState, width: number): { from: number; to: number } {
  let to = 0;
  for (const id of s.order) to = Math.max(to, (s.members[id] as MemberView).lastIndex, (s.members[id] as MemberView).commit);
  return { from: Math.max(1, to - width + 1), to };
}

export function reduce(s: ViewState, e: ViewEvent): ViewState {
  const now = Math.max(s.now, e.at);
  switch (e.kind) {
    case 'members':
      return withMembers({ ...s, now }, e.members);
    case 'raft': {
      const next = reduceRaft({ ...s, now }, e.member, e.event, e.at);
      const id = e.id;
      return id === undefined ? next : update(next, e.member, (m) => ({ ...m, eventId: id }));
    }
    case 'status':
      return reduceStatus({ ...s, now }, e.member, e.status, e.at, e.eventId);
    case 'log':
      return update({ ...s, now }, e.member, (m) => {
        // The answer was read before changes the event stream has already shown (the two arrive
        // by separate connections; see MemberView.eventId), or before a commit it showed: it may
        // predate entries the stream appended, so it adds only the terms the view lacks and never
        // moves lastIndex back below what is committed.
        const older = olderThanStream(m, e.eventId);
        if (older || e.log.committed < m.commit) {
          const lastIndex = older ? m.lastIndex : Math.max(m.lastIndex, e.log.lastIndex);
          return { ...m, log: mergeLog(m.log, e.log.entries.filter((en) => m.log[en.index] === undefined), lastIndex), lastIndex, applied: Math.max(m.applied, e.log.applied) };
        }
        return {
          ...m,
          log: mergeLog(m.log, e.log.entries, e.log.lastIndex),
          lastIndex: e.log.lastIndex,
          commit: Math.max(m.commit, e.log.committed),
          applied: Math.max(m.applied, e.log.applied),
        };
      });
    case 'connection': {
      const m = s.members[e.member];
      if (m === undefined || m.connected === e.connected) return { ...s, now };
      const next = update({ ...s, now }, e.member, (x) => ({ ...x, connected: e.connected, lastEventAt: e.at }));
      return e.connected ? next : addTimeline(next, { at: e.at, kind: 'fault', member: m.name, text: `${m.name}: stream closed` });
    }
    case 'process': {
      const m = s.members[e.member];
      if (m === undefined) return { ...s, now };
      const next = update({ ...s, now }, e.member, (x) => ({ ...x, process: e.state }));
      if (e.action === undefined && (m.process === e.state || m.process === 'unknown')) return next;
      return addTimeline(next, { at: e.at, kind: 'fault', member: m.name, text: `${m.name}: ${e.action ?? e.state}` });
    }
    case 'write':
      return addTimeline({ ...s, now }, { at: e.at, kind: 'write', member: e.member, text: e.text });
    case 'partition': {
      const groups = e.groups === null || e.groups.length < 2 ? null : e.groups;
      if (JSON.stringify(groups) === JSON.stringify(s.partition)) return { ...s, now };
      const text = groups === null ? 'healed' : `partition ${groups.map((g) => g.join(', ')).join(' | ')}`;
      return addTimeline({ ...s, now, partition: groups }, { at: e.at, kind: 'fault', member: '', text });
    }
  }
}

function withMembers(s: ViewState, listing: readonly MemberListing[]): ViewState {
  const members: Record<string, MemberView> = { ...s.members };
  let changed = false;
  for (const l of listing) {
    const url = l.clientURLs[0] ?? '';
    const old = members[l.id];
    if (old === undefined) {
      members[l.id] = newMember(l.id, l.name, url);
      changed = true;
    } else if ((l.name !== '' && old.name !== l.name) || (url !== '' && old.clientURL !== url)) {
      members[l.id] = { ...old, name: l.name || old.name, clientURL: url || old.clientURL };
      changed = true;
    }
  }
  if (!changed) return s;
  const order = Object.keys(members).sort((a, b) => {
    const ma = members[a] as MemberView;
    const mb = members[b] as MemberView;
    return ma.name < mb.name ? -1 : ma.name > mb.name ? 1 : a < b ? -1 : 1;
  });
  return { ...s, members, order };
}

function update(s: ViewState, id: string, f: (m: MemberView) => MemberView): ViewState {
  const m = s.members[id];
  if (m === undefined) return s;
  return { ...s, members: { ...s.members, [id]: f(m) } };
}

function addTimeline(s: ViewState, t: TimelineEntry): ViewState {
  const timeline = s.timeline.length >= MAX_TIMELINE ? s.timeline.slice(s.timeline.length - MAX_TIMELINE + 1) : s.timeline.slice();
  timeline.push(t);
  return { ...s, timeline };
}

/** Adds terms for indexes, drops indexes past `lastIndex` (a truncated log) and keeps only the newest window. */
function mergeLog(log: Readonly<Record<number, number>>, entries: readonly { index: number; term: number }[], lastIndex: number): Record<number, number> {
  const out: Record<number, number> = {};
  const lo = lastIndex - LOG_WINDOW_ENTRIES + 1;
  for (const [k, v] of Object.entries(log)) {
    const i = Number(k);
    if (i >= lo && i <= lastIndex) out[i] = v;
  }
  for (const en of entries) if (en.index >= lo && en.index <= lastIndex) out[en.index] = en.term;
  return out;
}

const num = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : dflt);
const str = (v: unknown, dflt: string): string => (typeof v === 'string' ? v : dflt);

/** The term changes: a new highest term goes on the timeline. */
function noteTerm(s: ViewState, term: number, name: string, at: number): ViewState {
  if (term <= s.highestTerm) return s;
  const next = { ...s, highestTerm: term };
  return s.highestTerm === 0 ? next : addTimeline(next, { at, kind: 'term', member: name, text: `term ${term} (${name})` });
}

function reduceRaft(s0: ViewState, id: string, ev: RaftStreamEvent, at: number): ViewState {
  const m0 = s0.members[id];
  if (m0 === undefined) return s0;
  const d = ev.data;
  let s = update(s0, id, (m) => ({ ...m, lastEventAt: at, connected: true, process: m.process === 'stopped' ? 'running' : m.process }));
  switch (ev.event) {
    case 'role': {
      const term = num(d['term'], m0.term);
      const role = str(d['role'], m0.raftState);
      s = update(s, id, (m) => ({
        ...m,
        raftState: role,
        term,
        lead: str(d['lead'], m.lead),
        commit: num(d['commit'], m.commit),
        applied: num(d['applied'], m.applied),
        // A new role or term restarts the election timer: its full circle is measured again.
        electionFullMs: role !== m.raftState || term !== m.term ? 0 : m.electionFullMs,
        electionRemainingMs: role === 'StateLeader' ? null : m.electionRemainingMs,
        progress: role === 'StateLeader' ? m.progress : {},
      }));
      s = noteTerm(s, term, m0.name, at);
      if (role === 'StateLeader' && d['initial'] !== true && (m0.raftState !== 'StateLeader' || m0.term !== term)) {
        s = addTimeline(s, { at, kind: 'leader', member: m0.name, text: `${m0.name} leads term ${term}` });
      }
      return s;
    }
    case 'vote': {
      const term = num(d['term'], m0.term);
      s = update(s, id, (m) => ({ ...m, vote: str(d['to'], m.vote), term: Math.max(m.term, term) }));
      return noteTerm(s, term, m0.name, at);
    }
    case 'append': {
      const from = num(d['from'], 0);
      const to = num(d['to'], 0);
      const fromTerm = num(d['fromTerm'], 0);
      const toTerm = num(d['toTerm'], 0);
      // Terms in a log never decrease: when both ends share one, every entry between has it.
      const entries: { index: number; term: number }[] = [];
      if (fromTerm > 0 && fromTerm === toTerm) for (let i = Math.max(from, to - LOG_WINDOW_ENTRIES + 1); i <= to; i++) entries.push({ index: i, term: toTerm });
      else if (toTerm > 0) entries.push({ index: to, term: toTerm });
      return update(s, id, (m) => ({ ...m, lastIndex: to, lastTerm: toTerm || m.lastTerm, log: mergeLog(m.log, entries, to) }));
    }
    case 'commit':
      return update(s, id, (m) => ({ ...m, commit: num(d['index'], m.commit) }));
    case 'apply':
      return update(s, id, (m) => ({ ...m, applied: num(d['index'], m.applied) }));
    case 'snapshot':
      return update(s, id, (m) => ({ ...m, snapshotIndex: Math.max(m.snapshotIndex, num(d['index'], 0)) }));
    case 'dropped':
      return update(s, id, (m) => ({ ...m, droppedMessages: m.droppedMessages + num(d['send'], 0) + num(d['recv'], 0) }));
    case 'send': {
      const to = str(d['peer'], '');
      if (s.members[to] === undefined) return s;
      const msg: Message = {
        from: id,
        to,
        type: str(d['type'], '?'),
        term: num(d['term'], 0),
        reject: d['reject'] === true,
        entries: num(d['entries'], 0),
        at,
      };
      const live = s.messages.filter((x) => at - x.at < MESSAGE_FLIGHT_MS);
      if (live.length >= MAX_MESSAGES) live.splice(0, live.length - MAX_MESSAGES + 1);
      live.push(msg);
      const key = `${id}>${to}`;
      const r = s.linkRates[key];
      const rate =
        r === undefined || at - r.windowStart >= 1000
          ? { count: 1, windowStart: at, rate: r === undefined ? 0 : at - r.windowStart < 2000 ? r.count : 0 }
          : { count: r.count + 1, windowStart: r.windowStart, rate: r.rate };
      if (msg.type !== 'MsgHeartbeat') return { ...s, messages: live, linkRates: { ...s.linkRates, [key]: rate } };
      const h = s.heartbeats[key];
      const beat: HeartbeatLink =
        h === undefined || at - h.windowStart >= 1000
          ? { beats: (h?.beats ?? 0) + 1, lastAt: at, count: 1, windowStart: at, rate: h === undefined ? 0 : at - h.windowStart < 2000 ? h.count : 0 }
          : { beats: h.beats + 1, lastAt: at, count: h.count + 1, windowStart: h.windowStart, rate: h.rate };
      return { ...s, messages: live, linkRates: { ...s.linkRates, [key]: rate }, heartbeats: { ...s.heartbeats, [key]: beat } };
    }
    case 'reset':
      return s;
    default:
      return s;
  }
}

/** Whether an answer the member read when its newest sent event was `eventId` is older than what the stream showed. */
function olderThanStream(m: MemberView, eventId: number | undefined): boolean {
  return eventId !== undefined && m.eventId > eventId;
}

function reduceStatus(s0: ViewState, id: string, st: RaftStatusJSON, at: number, eventId?: number): ViewState {
  const m0 = s0.members[id];
  if (m0 === undefined) return s0;
  if (olderThanStream(m0, eventId)) {
    // What the stream also says (role, term, vote, indexes) is older here than on the page: only
    // what the stream never carries is taken (the election timer, a leader's progress in the same
    // term, the snapshot index).
    return update(s0, id, (m) => ({
      ...m,
      snapshotIndex: Math.max(m.snapshotIndex, st.snapshotIndex),
      progress: m.raftState === 'StateLeader' && st.raftState === 'StateLeader' && st.term === m.term ? st.progress : m.progress,
      electionRemainingMs: m.raftState === st.raftState && m.term === st.term ? st.electionTimeoutRemainingMs : m.electionRemainingMs,
      electionSeenAt: m.raftState === st.raftState && m.term === st.term ? at : m.electionSeenAt,
    }));
  }
  let s = update(s0, id, (m) => {
    const sameTimer = m.raftState === st.raftState && m.term === st.term;
    const remaining = st.electionTimeoutRemainingMs;
    const full = remaining === null ? 0 : Math.max(sameTimer ? m.electionFullMs : 0, remaining);
    return {
      ...m,
      raftState: st.raftState,
      term: st.term,
      vote: st.vote,
      lead: st.lead,
      commit: st.commit,
      applied: st.applied,
      lastIndex: st.lastIndex,
      lastTerm: st.lastTerm,
      snapshotIndex: st.snapshotIndex,
      progress: st.raftState === 'StateLeader' ? st.progress : {},
      electionRemainingMs: remaining,
      electionSeenAt: at,
      electionFullMs: full,
      log: st.lastIndex < m.lastIndex ? mergeLog(m.log, [], st.lastIndex) : m.log,
    };
  });
  s = noteTerm(s, st.term, m0.name, at);
  return s;
}

/**
 * A link's heartbeat rate at view time `now` (per second, as sampled by the member's stream): the
 * last full second's count (in the very first second, the beats so far), 0 once beats stop for two
 * seconds.
 */
export function heartbeatRate(s: ViewState, from: string, to: string, now: number): number {
  const h = s.heartbeats[`${from}>${to}`];
  if (h === undefined || now - h.lastAt >= 2000) return 0;
  if (now - h.windowStart >= 1000) return h.count;
  return h.rate > 0 ? h.rate : h.count;
}

/**
 * How long a heartbeat link glows after a beat: HEARTBEAT_PULSE_MS, or less at a high rate (at most
 * 60% of the time between beats), so that it visibly goes dark between beats.
 */
export function heartbeatPulseMs(rate: number): number {
  return rate > 0 ? Math.min(HEARTBEAT_PULSE_MS, 600 / rate) : HEARTBEAT_PULSE_MS;
}

/** How strongly a heartbeat link glows at `now`: 1 at a beat, fading to 0 over heartbeatPulseMs. */
export function heartbeatPulse(s: ViewState, from: string, to: string, now: number): number {
  const h = s.heartbeats[`${from}>${to}`];
  if (h === undefined) return 0;
  const age = now - h.lastAt;
  const span = heartbeatPulseMs(heartbeatRate(s, from, to, now));
  return age < 0 || age >= span ? 0 : 1 - age / span;
}

/** Whether a partition separates two members (by name). */
export function isCut(s: ViewState, a: string, b: string): boolean {
  if (s.partition === null) return false;
  const ga = s.partition.findIndex((g) => g.includes(a));
  const gb = s.partition.findIndex((g) => g.includes(b));
  return ga !== gb;
}

/** The partition group a member is in ('' when there is no partition). */
export function partitionGroup(s: ViewState, name: string): string {
  if (s.partition === null) return '';
  return String(s.partition.findIndex((g) => g.includes(name)));
}

/** What the page writes as data- attributes: one place, so tests and replays read the same. */
export function memberAttributes(m: MemberView): Record<string, string> {
  return {
    'data-member': m.name,
    'data-id': m.id,
    'data-role': displayRole(m),
    'data-term': String(m.term),
    'data-commit': String(m.commit),
    'data-applied': String(m.applied),
    'data-last-index': String(m.lastIndex),
  };
}
