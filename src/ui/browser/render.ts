// Drawing the live view from its state (../view-state.ts): the ring (SVG), the member cards (with
// the data- attributes tests read), the log matrix and the timeline. Every element is keyed and
// updated in place; the number of elements is bounded by the members, the log window, the
// messages in flight and the timeline, never by how long the page has been open.
import { HISTORY_SPAN_MS } from '../history.js';
import {
  MESSAGE_FLIGHT_MS,
  heartbeatPulse,
  heartbeatRate,
  currentLeader,
  displayRole,
  isCut,
  partitionGroup,
  logWindow,
  memberAttributes,
  type MemberView,
  type ViewState,
} from '../view-state.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
export const LOG_COLUMNS = 30;
/** The timeline strip spans the history the page keeps for scrubbing back. */
export const TIMELINE_SPAN_MS = HISTORY_SPAN_MS;

const TERM_COLOURS = ['#cfe0ff', '#ffd9b3', '#c9f2d4', '#f6c9e6', '#fff0a8', '#d6ccff', '#b9ecf0', '#f3d1c4'];
export function termColour(term: number): string {
  return term <= 0 ? '#eef0f4' : (TERM_COLOURS[term % TERM_COLOURS.length] as string);
}

const MESSAGE_COLOURS: Record<string, string> = {
  MsgApp: '#2463eb',
  MsgAppResp: '#7aa5ff',
  MsgHeartbeat: '#9aa1ad',
  MsgHeartbeatResp: '#c3c8d1',
  MsgVote: '#e8890c',
  MsgVoteResp: '#16a34a',
  MsgPreVote: '#f2b45c',
  MsgPreVoteResp: '#6cc58e',
  MsgSnap: '#7c3aed',
  MsgTimeoutNow: '#dc2626',
};

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent?.appendChild(el);
  return el;
}

function setAttrs(el: Element, attrs: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(attrs)) {
    const s = String(v);
    if (el.getAttribute(k) !== s) el.setAttribute(k, s);
  }
}

function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

const nameOf = (s: ViewState, id: string): string => (id === '0' || id === '' ? '–' : (s.members[id]?.name ?? id));

// ---- the ring

interface RingNode {
  g: SVGGElement;
  arc: SVGCircleElement;
  body: SVGCircleElement;
  name: SVGTextElement;
  term: SVGTextElement;
  vote: SVGTextElement;
}

const CX = 220;
const CY = 195;
const RING_R = 140;
const NODE_R = 42;

function nodeXY(i: number, n: number): { x: number; y: number } {
  const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
  return { x: CX + RING_R * Math.cos(a), y: CY + RING_R * Math.sin(a) };
}

export class RingView {
  private readonly nodes = new Map<string, RingNode>();
  private readonly links: SVGGElement;
  private readonly dots: SVGGElement;
  private readonly layer: SVGGElement;

  constructor(
    private readonly root: SVGSVGElement,
    private readonly onSelect: (id: string) => void,
  ) {
    const defs = svg('defs', {}, root);
    const pat = svg('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, defs);
    svg('rect', { width: 6, height: 6, fill: '#fff' }, pat);
    svg('rect', { width: 3, height: 6, fill: '#c8ccd4' }, pat);
    this.links = svg('g', { class: 'links' }, root);
    this.layer = svg('g', { class: 'nodes' }, root);
    this.dots = svg('g', { class: 'messages' }, root);
  }

  render(s: ViewState, now: number): void {
    const n = s.order.length;
    const pos = new Map<string, { x: number; y: number }>();
    s.order.forEach((id, i) => pos.set(id, nodeXY(i, n)));
    // links: one line per pair, labelled with the message rate of both directions
    const linkKeys: string[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) linkKeys.push(`${s.order[i]}|${s.order[j]}`);
    while (this.links.childNodes.length > linkKeys.length) this.links.lastChild?.remove();
    linkKeys.forEach((key, k) => {
      const [a, b] = key.split('|') as [string, string];
      const pa = pos.get(a) as { x: number; y: number };
      const pb = pos.get(b) as { x: number; y: number };
      let g = this.links.childNodes[k] as SVGGElement | undefined;
      if (g === undefined) {
        g = svg('g', {}, this.links);
        svg('line', { stroke: '#d5d9e0', 'stroke-width': 2 }, g);
        svg('text', { 'font-size': 10, fill: '#8b92a0', 'text-anchor': 'middle' }, g);
        svg('text', { 'font-size': 18, fill: '#dc2626', 'text-anchor': 'middle', 'font-weight': 700 }, g);
        // the heartbeat link: leader to follower, glows at each beat, labelled with its rate
        svg('line', { class: 'hb-link', stroke: '#e0565b', 'stroke-linecap': 'round', opacity: 0 }, g);
        svg('text', { class: 'hb-rate', 'font-size': 10, fill: '#c0392b', 'text-anchor': 'middle' }, g);
      }
      const rate = (s.linkRates[`${a}>${b}`]?.rate ?? 0) + (s.linkRates[`${b}>${a}`]?.rate ?? 0);
      const down = [a, b].some((id) => ['stopped', 'paused'].includes(displayRole(s.members[id] as MemberView)));
      const cut = isCut(s, (s.members[a] as MemberView).name, (s.members[b] as MemberView).name);
      setAttrs(g.childNodes[0] as Element, { x1: pa.x, y1: pa.y, x2: pb.x, y2: pb.y, 'stroke-dasharray': down || cut ? '4 6' : 'none', stroke: cut ? '#f0a3a3' : '#d5d9e0' });
      setAttrs(g.childNodes[1] as Element, { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 - 12 });
      setText(g.childNodes[1] as Element, rate > 0 ? `${rate}/s` : '');
      setAttrs(g.childNodes[2] as Element, { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 + 6 });
      setText(g.childNodes[2] as Element, cut ? '✕' : '');
      // heartbeats go one way (leader to follower): draw the direction that has them
      const ab = heartbeatRate(s, a, b, now);
      const ba = heartbeatRate(s, b, a, now);
      const [from, to, hbRate] = ab >= ba ? [a, b, ab] : [b, a, ba];
      const pulse = hbRate > 0 ? heartbeatPulse(s, from, to, now) : 0;
      const beats = s.heartbeats[`${from}>${to}`]?.beats ?? 0;
      const hb = g.childNodes[3] as Element;
      const pf = pos.get(from) as { x: number; y: number };
      const pt = pos.get(to) as { x: number; y: number };
      setAttrs(hb, {
        x1: pf.x,
        y1: pf.y,
        x2: pt.x,
        y2: pt.y,
        'stroke-width': (2 + 4 * pulse).toFixed(1),
        opacity: hbRate > 0 ? (0.25 + 0.65 * pulse).toFixed(2) : 0,
        'data-link': `${(s.members[from] as MemberView).name}>${(s.members[to] as MemberView).name}`,
        'data-heartbeat-rate': hbRate,
        'data-beats': beats,
        'data-pulse': pulse > 0 ? '1' : '0',
      });
      setAttrs(g.childNodes[4] as Element, { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 + 22 });
      setText(g.childNodes[4] as Element, hbRate > 0 ? `♥ ${hbRate}/s` : '');
    });
    // members
    for (const [id, node] of this.nodes) if (s.members[id] === undefined) (node.g.remove(), this.nodes.delete(id));
    for (const id of s.order) {
      const m = s.members[id] as MemberView;
      const p = pos.get(id) as { x: number; y: number };
      let node = this.nodes.get(id);
      if (node === undefined) {
        const g = svg('g', { class: 'ring-node', 'data-node': m.name, cursor: 'pointer' }, this.layer);
        g.addEventListener('click', () => this.onSelect(id));
        const arc = svg('circle', { r: NODE_R + 7, fill: 'none', stroke: '#111', 'stroke-width': 3, 'stroke-linecap': 'round' }, g);
        const body = svg('circle', { r: NODE_R }, g);
        const name = svg('text', { 'text-anchor': 'middle', y: -12, 'font-size': 13, 'font-weight': 600 }, g);
        const term = svg('text', { 'text-anchor': 'middle', y: 8, 'font-size': 20, 'font-weight': 700 }, g);
        const vote = svg('text', { 'text-anchor': 'middle', y: 25, 'font-size': 10, fill: '#444' }, g);
        node = { g, arc, body, name, term, vote };
        this.nodes.set(id, node);
      }
      const role = displayRole(m);
      setAttrs(node.g, { transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, 'data-role': role });
      const fill = role === 'stopped' ? '#c4c8cf' : role === 'paused' ? 'url(#hatch)' : termColour(m.term);
      const stroke =
        role === 'leader'
          ? { stroke: '#111', 'stroke-width': 5, 'stroke-dasharray': 'none' }
          : role === 'candidate'
            ? { stroke: '#333', 'stroke-width': 3, 'stroke-dasharray': '7 4' }
            : role === 'precandidate'
              ? { stroke: '#333', 'stroke-width': 2, 'stroke-dasharray': '2 4' }
              : { stroke: role === 'stopped' ? '#999' : '#555', 'stroke-width': 1.5, 'stroke-dasharray': 'none' };
      setAttrs(node.body, { fill, ...stroke });
      setText(node.name, m.name);
      setText(node.term, role === 'stopped' ? '✕' : `T${m.term}`);
      setText(node.vote, role === 'stopped' ? 'stopped' : role === 'paused' ? 'paused' : `vote ${nameOf(s, m.vote)}`);
      // election timer: the share of the timeout still to run
      const circ = 2 * Math.PI * (NODE_R + 7);
      let frac = 0;
      if (m.electionRemainingMs !== null && m.electionFullMs > 0 && (role === 'follower' || role === 'candidate' || role === 'precandidate')) {
        frac = Math.max(0, Math.min(1, (m.electionRemainingMs - (now - m.electionSeenAt)) / m.electionFullMs));
      }
      node.g.setAttribute('data-timer', frac.toFixed(2));
      setAttrs(node.arc, {
        'stroke-dasharray': `${(frac * circ).toFixed(1)} ${circ.toFixed(1)}`,
        transform: 'rotate(-90)',
        opacity: frac > 0 ? 0.55 : 0,
      });
    }
    // messages in flight
    const dots: string[] = [];
    for (const msg of s.messages) {
      const f = (now - msg.at) / MESSAGE_FLIGHT_MS;
      if (f < 0 || f > 1) continue;
      const a = pos.get(msg.from);
      const b = pos.get(msg.to);
      if (a === undefined || b === undefined) continue;
      // a message into a cut dies half way
      if (f > 0.5 && isCut(s, s.members[msg.from]?.name ?? '', s.members[msg.to]?.name ?? '')) continue;
      const x = a.x + (b.x - a.x) * f;
      const y = a.y + (b.y - a.y) * f;
      const r = msg.type.startsWith('MsgHeartbeat') ? 3.5 : msg.entries > 0 ? 6 : 5;
      const colour = msg.reject ? '#dc2626' : (MESSAGE_COLOURS[msg.type] ?? '#555');
      dots.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${colour}"><title>${msg.type} term ${msg.term}${msg.entries > 0 ? `, ${msg.entries} entries` : ''}${msg.reject ? ', rejected' : ''}</title></circle>`);
    }
    this.dots.innerHTML = dots.join('');
  }
}

// ---- member cards

export type ControlAction = 'kill' | 'restart' | 'pause' | 'resume' | 'isolate';

export class MemberCards {
  private readonly cards = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly onSelect: (id: string) => void,
    private readonly onAction: (id: string, action: ControlAction) => void,
  ) {}

  render(s: ViewState, controls: boolean, partitions: boolean): void {
    for (const [id, el] of this.cards) if (s.members[id] === undefined) (el.remove(), this.cards.delete(id));
    for (const id of s.order) {
      const m = s.members[id] as MemberView;
      let card = this.cards.get(id);
      if (card === undefined) {
        card = document.createElement('div');
        card.className = 'member-card';
        card.innerHTML =
          '<span class="swatch"></span><div><span class="name"></span><span class="role"></span></div><div class="actions"></div><div class="facts"></div>';
        card.addEventListener('click', (ev) => {
          const target = ev.target as HTMLElement;
          const action = target.closest('button')?.getAttribute('data-action');
          if (action) this.onAction(id, action as ControlAction);
          else this.onSelect(id);
        });
        this.root.appendChild(card);
        this.cards.set(id, card);
      }
      setAttrs(card, { ...memberAttributes(m), 'data-partition': partitionGroup(s, m.name) });
      const role = displayRole(m);
      (card.querySelector('.swatch') as HTMLElement).style.background = termColour(m.term);
      setText(card.querySelector('.name') as Element, m.name);
      setText(card.querySelector('.role') as Element, role);
      setText(
        card.querySelector('.facts') as Element,
        `term ${m.term} · vote ${nameOf(s, m.vote)} · last ${m.lastIndex} · commit ${m.commit} · applied ${m.applied}` +
          (m.droppedMessages > 0 ? ` · ${m.droppedMessages} messages sampled out` : ''),
      );
      const actions = card.querySelector('.actions') as HTMLElement;
      const want = controls ? (m.process === 'stopped' ? ['restart'] : m.process === 'paused' ? ['resume', 'kill'] : ['kill', 'pause', 'restart']) : [];
      if (controls && partitions && s.partition === null && m.process !== 'stopped') want.push('isolate');
      const have = [...actions.children].map((b) => b.getAttribute('data-action'));
      if (have.join() !== want.join()) {
        actions.innerHTML = want.map((a) => `<button type="button" data-action="${a}">${a}</button>`).join('');
      }
    }
  }
}

// ---- log matrix

export class LogMatrix {
  constructor(
    private readonly root: HTMLElement,
    private readonly rangeLabel: HTMLElement,
  ) {}

  render(s: ViewState): void {
    // the newest index sits a few columns from the right edge, leaving room for what comes next
    const { from, to } = logWindow(s, LOG_COLUMNS - 4);
    setText(this.rangeLabel, to === 0 ? '(empty)' : `indexes ${from}–${to}`);
    const leader = currentLeader(s);
    const rows: HTMLElement[] = [];
    const head = this.row('log-row log-head', 'head');
    const heads: string[] = ['<span class="row-name"></span>'];
    for (let i = from; i < from + LOG_COLUMNS; i++) heads.push(`<span class="idx">${i <= to && (i % 5 === 0 || i === from || i === to) ? i : ''}</span>`);
    if (head.innerHTML !== heads.join('')) head.innerHTML = heads.join('');
    rows.push(head);
    for (const id of s.order) {
      const m = s.members[id] as MemberView;
      const row = this.row('log-row', m.name);
      const prog = leader !== undefined && leader.id !== id ? leader.progress[id] : undefined;
      const cells: string[] = [`<span class="row-name">${escapeHtml(m.name)}<small>${displayRole(m)}</small></span>`];
      for (let i = from; i < from + LOG_COLUMNS; i++) {
        const term = m.log[i];
        const held = i <= m.lastIndex && i > 0;
        const classes = ['cell'];
        if (!held) classes.push('empty');
        else if (i <= m.commit) classes.push('committed');
        if (i === m.commit && i > 0) classes.push('commit-at');
        if (i === m.applied && i > 0) classes.push('applied-at');
        const marks = (prog !== undefined && i === prog.match && i > 0 ? '<span class="match">●</span>' : '') + (prog !== undefined && i === prog.next ? '<span class="next">▸</span>' : '');
        const bg = held ? `background:${termColour(term ?? 0)}` : '';
        const title = held ? `index ${i}${term !== undefined ? `, term ${term}` : ''}${i <= m.commit ? ', committed' : ', not committed'}` : `index ${i}`;
        cells.push(`<span class="${classes.join(' ')}" style="${bg}" title="${title}">${held && term !== undefined ? term : ''}${marks}</span>`);
      }
      const html = cells.join('');
      if (row.innerHTML !== html) row.innerHTML = html;
      setAttrs(row, { 'data-row': m.name, 'data-commit': m.commit, 'data-last-index': m.lastIndex });
      rows.push(row);
    }
    // drop rows of members that left
    for (const child of [...this.root.children]) if (!rows.includes(child as HTMLElement)) child.remove();
  }

  private row(className: string, key: string): HTMLElement {
    let row = this.root.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
    if (row === null) {
      row = document.createElement('div');
      row.className = className;
      row.setAttribute('data-key', key);
      this.root.appendChild(row);
    }
    return row;
  }
}

// ---- timeline

const TIMELINE_COLOURS: Record<string, string> = { leader: '#1d4ed8', term: '#6b7180', fault: '#b91c1c', write: '#047857', info: '#6b7180' };

export function renderTimeline(strip: SVGSVGElement, list: HTMLElement, s: ViewState, now: number, cursorAt: number | null = null): void {
  const marks: string[] = [];
  for (const t of s.timeline) {
    const age = now - t.at;
    if (age > TIMELINE_SPAN_MS || age < 0) continue;
    const x = 900 - (age / TIMELINE_SPAN_MS) * 900;
    const y = t.kind === 'leader' ? 8 : t.kind === 'term' ? 22 : t.kind === 'fault' ? 36 : 50;
    marks.push(`<rect x="${(x - 1.5).toFixed(1)}" y="${y - 6}" width="3" height="12" fill="${TIMELINE_COLOURS[t.kind]}"><title>${escapeHtml(t.text)}</title></rect>`);
  }
  if (cursorAt !== null && now - cursorAt <= TIMELINE_SPAN_MS) {
    const x = 900 - ((now - cursorAt) / TIMELINE_SPAN_MS) * 900;
    marks.push(`<rect class="scrub-shade" x="${x.toFixed(1)}" y="0" width="${(900 - x).toFixed(1)}" height="60" fill="rgba(29,78,216,.08)"></rect>`);
    marks.push(`<rect class="scrub-cursor" x="${(x - 1).toFixed(1)}" y="0" width="2" height="60" fill="#1d4ed8"></rect>`);
  }
  strip.innerHTML = marks.join('');
  strip.setAttribute('data-from', String(Math.round(now - TIMELINE_SPAN_MS)));
  strip.setAttribute('data-to', String(Math.round(now)));
  // wall-clock times live, virtual seconds in a replay (a simulator run starts at 0)
  const when = (at: number): string => (at > 1e12 ? new Date(at).toLocaleTimeString() : `t=${(at / 1000).toFixed(3)} s`);
  const items = s.timeline.slice(-12).reverse().map((t) => `<li class="${t.kind}">${when(t.at)} ${escapeHtml(t.text)}</li>`);
  const html = items.join('');
  if (list.innerHTML !== html) list.innerHTML = html;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
