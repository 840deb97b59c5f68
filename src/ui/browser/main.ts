// The live view's page (issue 14): gathers what the members say, feeds it through the reducer
// (../view-state.ts) in slowed or paused time, and draws it (render.ts).
//
// Sources, all bounded:
//   - /v2/members from any reachable member, every MEMBERS_POLL_MS;
//   - one EventSource per member on its /debug/raft/events (the browser reconnects on its own with
//     Last-Event-ID; a stream that failed for good is reopened after REOPEN_MS);
//   - /debug/raft/status and /debug/raft/log of each connected member every STATUS_POLL_MS;
//   - the launcher's control API (?control=URL&token=T) every CONTROL_POLL_MS, when given.
// Events wait in a queue (at most MAX_QUEUED; past that the oldest are applied at once) and are
// applied when the playback clock reaches their arrival time: at 1× that is at once, at 1/10× a
// 400 ms message flight takes 4 s to watch, and pause stops the clock.
//
// Scrubbing back (live): every applied event is kept in a bounded history (../history.ts: the last
// 5 minutes, at most 40 000 events, checkpoints every 250); dragging on the timeline strip or the
// slider shows the cluster as it was then, frozen, while the present keeps arriving; "live" returns.
//
// Replay (?trace=URL or "open trace"): the live sources stop, and the same clock plays a recorded
// run (../replay.ts) in its virtual time, with a seek slider.
import { emptyState, reduce, LOG_WINDOW_ENTRIES, currentLeader, type ViewEvent, type ViewState, type MemberListing, type ProcessState, type RaftLogJSON, type RaftStatusJSON } from '../view-state.js';
import { LogMatrix, MemberCards, RingView, renderTimeline, LOG_COLUMNS, TIMELINE_SPAN_MS, type ControlAction } from './render.js';
import { Replay, parseTrace } from '../replay.js';
import { LiveHistory } from '../history.js';

const MEMBERS_POLL_MS = 5000;
const STATUS_POLL_MS = 1000;
const CONTROL_POLL_MS = 1000;
const REOPEN_MS = 2000;
const FETCH_TIMEOUT_MS = 1500;
const MAX_QUEUED = 20_000;
const RAFT_EVENT_NAMES = ['role', 'vote', 'append', 'commit', 'apply', 'snapshot', 'send', 'recv', 'dropped', 'reset'];

const $ = <T extends Element = HTMLElement>(sel: string): T => document.querySelector(sel) as T;

// ---- playback: a clock that runs at `speed` times real time and applies queued events

let state: ViewState = emptyState();
/** Live: every applied event is kept for scrubbing back (../history.ts; bounded by time and count). */
const past = new LiveHistory(state);
/** Live: the time the user scrubbed back to, or null for the present. */
let scrubAt: number | null = null;
let scrubbed: ViewState | null = null;

/** Live: applies an event to the present and keeps it in the history. */
function apply(ev: ViewEvent): void {
  state = past.apply(ev);
}

/** Shows the cluster as it was at time t (live mode); null returns to the present. */
function scrubTo(t: number | null): void {
  if (replay !== null) return;
  scrubAt = t === null || t >= past.endMs ? null : Math.max(past.startMs, t);
  scrubbed = scrubAt === null ? null : past.stateAt(scrubAt);
  document.body.dataset['mode'] = scrubAt === null ? 'live' : 'history';
  // the time shown, at once (the next frame writes the same): mode and time always agree
  document.body.dataset['viewAt'] = String(Math.round(scrubAt ?? playAt));
  dirty = true;
}
const queue: ViewEvent[] = [];
let speed = 1;
let paused = false;
let playAt = Date.now();
let lastFrame = performance.now();
let dirty = true;
/** While the timeline strip is held (dragged), the time its right end stands for; null otherwise. */
let heldStripEnd: number | null = null;

function push(ev: ViewEvent): void {
  queue.push(ev);
  if (queue.length > MAX_QUEUED) {
    for (const e of queue.splice(0, queue.length - MAX_QUEUED)) apply(e);
    dirty = true;
  }
}

let replay: Replay | null = null;
/** Replay: how many of its events are applied. */
let cursor = 0;
const MAX_TRACE_BYTES = 64 * 1024 * 1024;

function advance(): void {
  const t = performance.now();
  const dt = t - lastFrame;
  lastFrame = t;
  if (replay !== null) {
    if (!paused) playAt = Math.min(replay.endMs, playAt + dt * speed);
    const events = replay.events;
    const from = cursor;
    while (cursor < events.length && (events[cursor] as ViewEvent).at <= playAt) state = reduce(state, events[cursor++] as ViewEvent);
    if (cursor !== from) dirty = true;
    return;
  }
  if (!paused) playAt = Math.min(Date.now(), playAt + dt * speed);
  let n = 0;
  while (n < queue.length && (queue[n] as ViewEvent).at <= playAt) n++;
  if (n > 0) {
    for (const e of queue.splice(0, n)) apply(e);
    dirty = true;
  }
}

// ---- sources

const origin = window.location.origin;
const params = new URLSearchParams(window.location.search);
const control = controlFromParams();
let controlReachable = false;
let partitionsSupported = false;
const streams = new Map<string, { url: string; es: EventSource | null; reopen: number | null }>();

function controlFromParams(): { url: string; token: string } | null {
  const url = params.get('control');
  if (url === null || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(url)) return null;
  const key = `etcd-ts-ui-token:${url}`;
  let token = params.get('token');
  if (token !== null) {
    sessionStorage.setItem(key, token);
    // Keep the token out of the address bar (and out of screenshots); the tab remembers it.
    params.delete('token');
    history.replaceState(null, '', `${window.location.pathname}?${params.toString()}`);
  } else token = sessionStorage.getItem(key);
  return token === null ? null : { url, token };
}

async function getJSON<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return (await res.json()) as T;
}

/** A debug answer and the newest event id the member had sent when it read it (X-Raft-Event-Id). */
async function getDebugJSON<T>(url: string): Promise<{ body: T; eventId: number | undefined }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  const header = res.headers.get('X-Raft-Event-Id');
  const eventId = header !== null && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined;
  return { body: (await res.json()) as T, eventId };
}

async function pollMembers(): Promise<void> {
  const candidates = [origin, ...state.order.map((id) => state.members[id]?.clientURL ?? '')].filter((u, i, a) => u !== '' && a.indexOf(u) === i);
  for (const base of candidates) {
    try {
      const body = await getJSON<{ members: MemberListing[] }>(`${base}/v2/members`);
      setText($('#source'), `${body.members.length} members, via ${base}`);
      // applied at once (not queued): streams open for new members, whatever the playback clock
      apply({ kind: 'members', at: Date.now(), members: body.members });
      for (const m of body.members) if (m.clientURLs[0] !== undefined) openStream(m.id, m.clientURLs[0]);
      return;
    } catch {
      // try the next member
    }
  }
  setText($('#source'), 'no member answers /v2/members');
}

function openStream(id: string, url: string): void {
  const old = streams.get(id);
  if (old !== undefined && old.url === url) return;
  old?.es?.close();
  const entry = { url, es: null as EventSource | null, reopen: null as number | null };
  streams.set(id, entry);
  const open = (): void => {
    entry.reopen = null;
    const es = new EventSource(`${url}/debug/raft/events`);
    entry.es = es;
    es.onopen = () => push({ kind: 'connection', at: Date.now(), member: id, connected: true });
    es.onerror = () => {
      push({ kind: 'connection', at: Date.now(), member: id, connected: false });
      if (es.readyState === EventSource.CLOSED && entry.reopen === null) entry.reopen = window.setTimeout(open, REOPEN_MS);
    };
    for (const name of RAFT_EVENT_NAMES) {
      es.addEventListener(name, (e) => {
        let data: Record<string, unknown>;
        try {
          data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
        } catch {
          return;
        }
        // the SSE id (a frame without one repeats the previous, which changes nothing)
        const lastId = (e as MessageEvent<string>).lastEventId;
        push({ kind: 'raft', at: Date.now(), member: id, event: { event: name, data }, ...(/^[0-9]{1,15}$/.test(lastId) ? { id: Number(lastId) } : {}) });
      });
    }
  };
  open();
}

async function pollStatus(): Promise<void> {
  await Promise.all(
    state.order.map(async (id) => {
      const m = state.members[id];
      if (m === undefined || !m.connected || m.clientURL === '') return;
      try {
        const { body: status, eventId } = await getDebugJSON<RaftStatusJSON>(`${m.clientURL}/debug/raft/status`);
        push({ kind: 'status', at: Date.now(), member: id, status, ...(eventId !== undefined ? { eventId } : {}) });
        // to the member's last index now (the server cuts the range there), not the status's
        const width = Math.min(LOG_WINDOW_ENTRIES, LOG_COLUMNS + 10);
        const from = Math.max(1, status.lastIndex - width + 1);
        const answer = await getDebugJSON<RaftLogJSON>(`${m.clientURL}/debug/raft/log?from=${from}&to=${status.lastIndex + width}`);
        push({ kind: 'log', at: Date.now(), member: id, log: answer.body, ...(answer.eventId !== undefined ? { eventId: answer.eventId } : {}) });
      } catch {
        // the stream's state says whether it is reachable
      }
    }),
  );
}

interface ControlMember {
  name: string;
  state: ProcessState;
  pid: number | null;
}

async function pollControl(): Promise<void> {
  if (control === null) return;
  try {
    const body = await getJSON<{ members: ControlMember[]; partition: string[][] | null; partitions: boolean }>(`${control.url}/api/cluster`, {
      headers: { Authorization: `Bearer ${control.token}` },
    });
    controlReachable = true;
    partitionsSupported = body.partitions;
    if (JSON.stringify(body.partition) !== JSON.stringify(state.partition)) push({ kind: 'partition', at: Date.now(), groups: body.partition });
    for (const cm of body.members) {
      const id = state.order.find((x) => state.members[x]?.name === cm.name);
      if (id !== undefined && state.members[id]?.process !== cm.state) push({ kind: 'process', at: Date.now(), member: id, state: cm.state });
    }
  } catch {
    controlReachable = false;
  }
  dirty = true;
}

async function partition(groups: string[][] | null): Promise<void> {
  if (control === null) return;
  try {
    const res = await fetch(`${control.url}/api/partition`, {
      method: groups === null ? 'DELETE' : 'POST',
      headers: { Authorization: `Bearer ${control.token}`, 'Content-Type': 'application/json' },
      ...(groups === null ? {} : { body: JSON.stringify({ groups }) }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { partition?: string[][] | null; message?: string };
    if (!res.ok) throw new Error(body.message ?? res.statusText);
    push({ kind: 'partition', at: Date.now(), groups: body.partition ?? null });
  } catch (err) {
    setText($('#control-note'), `partition: ${(err as Error).message}`);
  }
}

async function act(id: string, action: ControlAction): Promise<void> {
  const m = state.members[id];
  if (control === null || m === undefined) return;
  if (action === 'isolate') {
    const others = state.order.filter((x) => x !== id).map((x) => state.members[x]?.name ?? '');
    return partition([[m.name], others]);
  }
  try {
    const res = await fetch(`${control.url}/api/members/${encodeURIComponent(m.name)}/${action}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${control.token}` },
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { state?: ProcessState; message?: string };
    if (!res.ok) throw new Error(body.message ?? res.statusText);
    push({ kind: 'process', at: Date.now(), member: id, state: body.state ?? 'unknown', action });
  } catch (err) {
    setText($('#control-note'), `${action} ${m.name}: ${(err as Error).message}`);
  }
}

// ---- writes: straight to the leader (a follower would answer 307, which a cross-origin fetch cannot follow)

async function put(key: string, value: string): Promise<number> {
  const leader = currentLeader(state);
  const base = leader?.clientURL ?? origin;
  const res = await fetch(`${base}/v2/keys/${key.split('/').map(encodeURIComponent).join('/')}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ value }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { node?: { modifiedIndex: number }; message?: string };
  if (!res.ok || body.node === undefined) throw new Error(body.message ?? `${res.status}`);
  push({ kind: 'write', at: Date.now(), member: leader?.name ?? '', text: `put ${key} (etcd index ${body.node.modifiedIndex})` });
  return body.node.modifiedIndex;
}

// ---- details drawer

let selected: string | null = null;

async function showDetails(id: string): Promise<void> {
  selected = id;
  const m = state.members[id];
  if (m === undefined) return;
  $('#drawer').hidden = false;
  setText($('#drawer-title'), `${m.name} (${m.id})`);
  const parts: string[] = [];
  for (const p of ['/debug/raft/status', '/v2/stats/self', '/v2/stats/leader', '/v2/stats/store']) {
    try {
      const body = await getJSON<unknown>(`${m.clientURL}${p}`);
      parts.push(`${p}\n${JSON.stringify(body, null, 2)}`);
    } catch (err) {
      parts.push(`${p}\n(${(err as Error).message})`);
    }
  }
  if (selected === id) setText($('#drawer-body'), parts.join('\n\n'));
}

// ---- wiring

function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

const ring = new RingView($<SVGSVGElement>('#ring'), (id) => void showDetails(id));
const cards = new MemberCards($('#members'), (id) => void showDetails(id), (id, a) => void act(id, a));
const matrix = new LogMatrix($('#log'), $('#log-range'));

$('#heal').addEventListener('click', () => void partition(null));
$('#drawer-close').addEventListener('click', () => {
  selected = null;
  $('#drawer').hidden = true;
});
$('#pause').addEventListener('click', () => {
  paused = !paused;
  setText($('#pause'), paused ? 'play' : 'pause');
});
$<HTMLSelectElement>('#speed').addEventListener('change', (e) => {
  speed = Number((e.target as HTMLSelectElement).value) || 1;
});
$('#live').addEventListener('click', () => {
  if (replay !== null) {
    window.location.href = window.location.pathname;
    return;
  }
  scrubTo(null);
  playAt = Date.now();
  paused = false;
  setText($('#pause'), 'pause');
});
$<HTMLFormElement>('#put').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  const key = (form.elements.namedItem('key') as HTMLInputElement).value.trim() || 'hello';
  const value = (form.elements.namedItem('value') as HTMLInputElement).value;
  put(key, value).then(
    (index) => setText($('#put-result'), `written at etcd index ${index}`),
    (err: unknown) => setText($('#put-result'), `failed: ${(err as Error).message}`),
  );
});
$('#burst').addEventListener('click', () => {
  void (async () => {
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      try {
        await put(`burst/${i}`, String(Date.now()));
        ok++;
      } catch {
        // counted below
      }
    }
    setText($('#put-result'), `burst: ${ok}/20 written`);
  })();
});

function frame(): void {
  advance();
  // scrubbed back (live): the past is drawn, frozen at that time, while the present keeps arriving
  const shown = scrubbed ?? state;
  const now = scrubAt ?? playAt;
  // messages and timer arcs move with the clock: redraw while anything is in flight
  if (dirty || shown.messages.length > 0 || !paused) {
    ring.render(shown, now);
    cards.render(shown, controlReachable && scrubAt === null, partitionsSupported);
    $('#heal').hidden = shown.partition === null || !controlReachable || scrubAt !== null;
    matrix.render(shown);
    // the strip always spans up to the present; a cursor marks the time shown
    const stripEnd = heldStripEnd ?? (replay !== null ? playAt : state.now);
    renderTimeline($<SVGSVGElement>('#timeline'), $('#timeline-list'), replay !== null ? shown : state, stripEnd, scrubAt);
    document.body.dataset['viewAt'] = String(Math.round(now));
    $('#put').hidden = shown.order.length === 0 || scrubAt !== null;
    setText(
      $('#control-note'),
      replay !== null
        ? ''
        : control === null
        ? 'Controls (kill, restart, pause) appear when the page is opened with the launcher’s URL (npm run cluster prints it).'
        : controlReachable
          ? ''
          : `the launcher's control API at ${control.url} does not answer`,
    );
    if (replay !== null) {
      const slider = $<HTMLInputElement>('#seek');
      if (document.activeElement !== slider) slider.value = String(Math.round(playAt));
      setText($('#lag'), `t = ${(playAt / 1000).toFixed(3)} s · event ${cursor}/${replay.events.length}`);
      $('#put').hidden = true;
    } else if (scrubAt !== null) {
      const slider = $<HTMLInputElement>('#seek');
      slider.min = String(Math.floor(past.startMs));
      slider.max = String(Math.ceil(past.endMs));
      if (document.activeElement !== slider) slider.value = String(Math.round(scrubAt));
      setText($('#lag'), `showing ${new Date(scrubAt).toLocaleTimeString()}, ${((state.now - scrubAt) / 1000).toFixed(1)} s ago (live to return)`);
    } else {
      const slider = $<HTMLInputElement>('#seek');
      slider.min = String(Math.floor(past.startMs));
      slider.max = String(Math.ceil(past.endMs));
      if (document.activeElement !== slider) slider.value = slider.max;
      const lag = Date.now() - playAt;
      setText($('#lag'), paused ? `paused, ${queue.length} events waiting` : lag > 250 ? `${(lag / 1000).toFixed(1)} s behind live` : '');
    }
    dirty = false;
  }
  requestAnimationFrame(frame);
}

const intervals: number[] = [];

function startLive(): void {
  void pollMembers();
  intervals.push(window.setInterval(() => void pollMembers(), MEMBERS_POLL_MS));
  intervals.push(window.setInterval(() => void pollStatus(), STATUS_POLL_MS));
  if (control !== null) {
    void pollControl();
    intervals.push(window.setInterval(() => void pollControl(), CONTROL_POLL_MS));
  }
}

function stopLive(): void {
  for (const i of intervals.splice(0)) window.clearInterval(i);
  for (const st of streams.values()) {
    st.es?.close();
    if (st.reopen !== null) window.clearTimeout(st.reopen);
  }
  streams.clear();
  controlReachable = false;
  queue.length = 0;
}

function seek(t: number): void {
  if (replay === null) return;
  const at = replay.stateAt(t);
  state = at.state;
  cursor = at.count;
  playAt = t;
  dirty = true;
}

function startReplay(text: string, label: string): void {
  const r = new Replay(parseTrace(text));
  stopLive();
  replay = r;
  document.body.classList.add('replay');
  document.body.dataset['mode'] = 'replay';
  scrubAt = null;
  scrubbed = null;
  const slider = $<HTMLInputElement>('#seek');
  slider.min = String(r.startMs);
  slider.max = String(r.endMs);
  slider.step = '1';
  setText($('#source'), `replay of ${label}: ${r.events.length} events, ${((r.endMs - r.startMs) / 1000).toFixed(1)} s`);
  state = emptyState();
  seek(r.startMs);
}

async function loadTrace(url: string): Promise<void> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    if (Number(res.headers.get('content-length') ?? 0) > MAX_TRACE_BYTES) throw new Error(`over ${MAX_TRACE_BYTES} bytes`);
    startReplay(await res.text(), url);
  } catch (err) {
    setText($('#source'), `cannot replay ${url}: ${(err as Error).message}`);
  }
}

$<HTMLInputElement>('#trace-file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  if (file.size > MAX_TRACE_BYTES) {
    setText($('#source'), `${file.name} is over ${MAX_TRACE_BYTES} bytes`);
    return;
  }
  file.text().then(
    (text) => startReplay(text, file.name),
    (err: unknown) => setText($('#source'), `cannot read ${file.name}: ${(err as Error).message}`),
  );
});
$<HTMLInputElement>('#seek').addEventListener('input', (e) => {
  const t = Number((e.target as HTMLInputElement).value);
  if (replay !== null) seek(t);
  else scrubTo(t);
});

// Dragging on the timeline strip: scrubs back (live) or seeks (replay) to the time under the pointer.
// The strip holds still while it is held: its end is fixed at the pointerdown, so a point on it means
// the same time for the whole drag, however long the drag takes (live, the present moves on; in a
// replay, seeking moves the play position the strip would otherwise end at).
{
  const strip = $<SVGSVGElement>('#timeline');
  let dragging = false;
  const at = (ev: PointerEvent): number => {
    const box = strip.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (ev.clientX - box.left) / Math.max(1, box.width)));
    const end = heldStripEnd ?? (replay !== null ? playAt : state.now);
    return end - (1 - f) * TIMELINE_SPAN_MS;
  };
  const go = (ev: PointerEvent): void => {
    const t = at(ev);
    if (replay !== null) seek(Math.max(replay.startMs, Math.min(replay.endMs, t)));
    else scrubTo(t);
  };
  const release = (): void => {
    dragging = false;
    heldStripEnd = null;
    dirty = true;
  };
  strip.addEventListener('pointerdown', (ev) => {
    dragging = true;
    heldStripEnd = replay !== null ? playAt : state.now;
    strip.setAttribute('data-from', String(Math.round(heldStripEnd - TIMELINE_SPAN_MS)));
    strip.setAttribute('data-to', String(Math.round(heldStripEnd)));
    strip.setPointerCapture(ev.pointerId);
    go(ev);
  });
  strip.addEventListener('pointermove', (ev) => {
    if (dragging) go(ev);
  });
  strip.addEventListener('pointerup', release);
  strip.addEventListener('pointercancel', release);
}

const traceURL = params.get('trace');
if (traceURL !== null) void loadTrace(traceURL);
else {
  document.body.dataset['mode'] = 'live';
  startLive();
}
requestAnimationFrame(frame);
