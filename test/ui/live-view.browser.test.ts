// The live view in a real browser (issue 14): `npm run cluster` (the launcher, three member
// processes and its control API), Debian's chromium driven by playwright-core (no browser is
// downloaded), the page opened on a follower. What a person sees is read from the data- attributes
// the page puts on each member's card. Screenshots of each step go to test-results/ui/.
//
// Skipped, with a message, when no chromium is installed; in CI (CI=true) a missing chromium fails.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import http from 'node:http';
import { freePorts } from '../helpers/ports.js';
import { Replay, parseTrace } from '../../src/ui/replay.js';
import { currentLeader, logWindow, memberAttributes, type MemberView } from '../../src/ui/view-state.js';
import { runMemberSchedule } from '../sim/member/member-schedule.js';
import { TraceRecorder } from '../sim/member/trace-recorder.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const shotsDir = path.join(repoRoot, 'test-results', 'ui');
const chromiumPath = [process.env['CHROME_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && p !== '' && fs.existsSync(p));
const inCI = process.env['CI'] === 'true';

if (chromiumPath === undefined && !inCI) {
  console.warn('live-view browser tests skipped: no chromium found (apt-get install -y chromium, or set CHROME_PATH)');
}

interface MemberAttrs {
  member: string;
  role: string;
  term: number;
  commit: number;
  applied: number;
}

async function cards(page: Page): Promise<MemberAttrs[]> {
  return page.$$eval('.member-card[data-member]', (els) =>
    els.map((e) => {
      const d = (name: string): string => e.getAttribute(`data-${name}`) ?? '';
      return { member: d('member'), role: d('role'), term: Number(d('term')), commit: Number(d('commit')), applied: Number(d('applied')) };
    }),
  );
}

/** Polls what the page shows until `ok` holds; fails with the last view. */
async function until(page: Page, what: string, ok: (ms: MemberAttrs[]) => boolean, timeoutMs = 20_000): Promise<MemberAttrs[]> {
  const deadline = Date.now() + timeoutMs;
  let last: MemberAttrs[] = [];
  while (Date.now() < deadline) {
    last = await cards(page);
    if (ok(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`the page did not show ${what} within ${timeoutMs} ms; it shows ${JSON.stringify(last)}`);
}

describe.skipIf(chromiumPath === undefined && !inCI)('live view in chromium', () => {
  let launcher: ChildProcess | null = null;
  let output = '';
  let dataDir = '';
  let browser: Browser | null = null;
  let page: Page;
  let uiURL = '';
  let clientPorts: number[] = [];

  beforeAll(async () => {
    if (chromiumPath === undefined) throw new Error('CI=true and no chromium: install Debian\'s chromium package (.ci/run does) or set CHROME_PATH');
    fs.mkdirSync(shotsDir, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-ui-'));
    const ports = await freePorts(7);
    clientPorts = ports.slice(0, 3);
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'cluster', 'local-cluster.mjs'), '--fresh', '--data-dir', dataDir, '--client-ports', clientPorts.join(','), '--peer-ports', ports.slice(3, 6).join(','), '--control-port', String(ports[6])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    launcher = child;
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    uiURL = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the launcher printed no live view URL in 40 s:\n${output}`)), 40_000);
      readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        output += line + '\n';
        const m = /^live view: (http:\/\/\S+)$/.exec(line);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.on('exit', (code) => reject(new Error(`the launcher exited (${code}):\n${output}`)));
    });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (launcher !== null && launcher.exitCode === null) {
      const exited = new Promise((r) => launcher?.once('exit', r));
      launcher.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (launcher.exitCode === null) launcher.kill('SIGKILL');
    }
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('opened on a follower, shows three members and exactly one leader', async () => {
    // the launcher prints the URL on the first member; open it on a follower instead
    let follower: number | undefined;
    for (let i = 0; i < 50 && follower === undefined; i++) {
      for (const p of clientPorts) {
        const st = (await (await fetch(`http://127.0.0.1:${p}/debug/raft/status`)).json()) as { raftState: string; lead: string };
        if (st.raftState === 'StateFollower' && st.lead !== '0') follower = p;
      }
      if (follower === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    expect(follower).toBeDefined();
    await page.goto(uiURL.replace(`:${clientPorts[0]}/`, `:${follower}/`));
    const shown = await until(page, 'three members, one leader', (ms) => ms.length === 3 && ms.filter((m) => m.role === 'leader').length === 1 && ms.every((m) => m.role === 'leader' || m.role === 'follower'));
    // all three in the leader's term
    const leader = shown.find((m) => m.role === 'leader') as MemberAttrs;
    expect(shown.every((m) => m.term === leader.term)).toBe(true);
    // the token left the address bar; the controls are there
    expect(page.url()).not.toContain('token=');
    await page.waitForSelector(`.member-card[data-member="${leader.member}"] button[data-action=kill]`);
    await page.screenshot({ path: path.join(shotsDir, '01-one-leader.png') });
  }, 60_000);

  it('the leader\'s heartbeat links pulse, with a rate', async () => {
    const leader = (await cards(page)).find((m) => m.role === 'leader') as MemberAttrs;
    const links = async (): Promise<{ link: string; rate: number; beats: number; pulse: string }[]> =>
      page.$$eval('#ring line.hb-link[data-link]', (els) =>
        els.map((e) => ({ link: e.getAttribute('data-link') ?? '', rate: Number(e.getAttribute('data-heartbeat-rate')), beats: Number(e.getAttribute('data-beats')), pulse: e.getAttribute('data-pulse') ?? '' })),
      );
    const first = (await links()).filter((l) => l.link.startsWith(`${leader.member}>`));
    // one link from the leader to each follower, each with heartbeats going
    expect(first.map((l) => l.link).sort()).toEqual(['infra1', 'infra2', 'infra3'].filter((n) => n !== leader.member).map((n) => `${leader.member}>${n}`));
    expect(first.every((l) => l.rate > 0)).toBe(true);
    // it pulses: the beats go on, and the glow is seen on and off
    const pulses = new Set<string>();
    for (let i = 0; i < 40; i++) {
      for (const l of await links()) if (l.link.startsWith(`${leader.member}>`)) pulses.add(l.pulse);
      await page.waitForTimeout(25);
    }
    expect([...pulses].sort()).toEqual(['0', '1']);
    const later = (await links()).filter((l) => l.link.startsWith(`${leader.member}>`));
    for (const l of later) expect(l.beats).toBeGreaterThan((first.find((f) => f.link === l.link) as { beats: number }).beats);
    // no heartbeat link between two followers
    expect((await links()).filter((l) => l.rate > 0).every((l) => l.link.startsWith(`${leader.member}>`))).toBe(true);
  }, 30_000);

  let killed: MemberAttrs;
  /** What the page showed just before the kill, and at what view time. */
  let beforeKill: { at: number; shown: MemberAttrs[] };
  it('kill -9 of the leader from the page: it shows stopped, and a new leader in a higher term', async () => {
    killed = (await cards(page)).find((m) => m.role === 'leader') as MemberAttrs;
    beforeKill = { at: Number(await page.getAttribute('body', 'data-view-at')), shown: await cards(page) };
    expect(beforeKill.at).toBeGreaterThan(0);
    await page.waitForTimeout(1000); // a quiet second before the kill, to scrub back into
    await page.click(`.member-card[data-member="${killed.member}"] button[data-action=kill]`);
    const shown = await until(
      page,
      'the old leader stopped and a new leader in a higher term',
      (ms) => ms.find((m) => m.member === killed.member)?.role === 'stopped' && ms.some((m) => m.role === 'leader' && m.member !== killed.member && m.term > killed.term),
    );
    expect(shown.filter((m) => m.role === 'leader').length).toBe(1);
    await page.waitForTimeout(300); // a few message dots on the ring
    await page.screenshot({ path: path.join(shotsDir, '02-leader-killed.png') });
  }, 60_000);

  it('scrubbed back on the timeline: the page shows the cluster as it was before the kill; live returns', async () => {
    const now = await cards(page);
    expect(now.find((m) => m.member === killed.member)?.role).toBe('stopped');
    try {
      // drag on the timeline strip from its right end (the present) back into the quiet second before
      // the kill (after beforeKill was read: nothing changed in between, however slow the machine)
      // (the strip holds still while held: its time span is read after the pointerdown)
      const box = (await page.locator('#timeline').boundingBox()) as { x: number; y: number; width: number; height: number };
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
      await page.mouse.down();
      const from = Number(await page.getAttribute('#timeline', 'data-from'));
      const to = Number(await page.getAttribute('#timeline', 'data-to'));
      const target = beforeKill.at + 400;
      const x = box.x + (box.width * (target - from)) / (to - from);
      await page.mouse.move((box.x + box.width + x) / 2, box.y + box.height / 2, { steps: 4 });
      await page.mouse.move(x, box.y + box.height / 2, { steps: 4 });
      await page.mouse.up();
      expect(await page.getAttribute('body', 'data-mode')).toBe('history');
      const viewAt = Number(await page.getAttribute('body', 'data-view-at'));
      expect(Math.abs(viewAt - target)).toBeLessThan(1000);
      // the old leader leads again, in the old term, on the cards, the ring and the log matrix
      const rolesAndTerms = (ms: MemberAttrs[]): string => JSON.stringify(ms.map((m) => [m.member, m.role, m.term]));
      await until(page, `the cluster before the kill: ${JSON.stringify(beforeKill.shown)}`, (ms) => rolesAndTerms(ms) === rolesAndTerms(beforeKill.shown), 5000);
      expect(await page.getAttribute(`#ring .ring-node[data-node="${killed.member}"]`, 'data-role')).toBe('leader');
      expect(await page.$$eval('.log-row[data-row] small', (els) => els.map((e) => e.textContent))).toEqual(beforeKill.shown.map((m) => m.role));
      // no controls on the past
      expect(await page.$$('.member-card button[data-action]')).toHaveLength(0);
      await page.screenshot({ path: path.join(shotsDir, '07-scrubbed-back.png') });
      // the slider goes there too (it moves in whole steps: within a second of the time asked)
      await page.$eval('#seek', (el, v) => {
        const input = el as unknown as { value: string; dispatchEvent(e: unknown): boolean };
        input.value = String(v);
        input.dispatchEvent(new Event('input'));
      }, beforeKill.at + 400);
      expect(Math.abs(Number(await page.getAttribute('body', 'data-view-at')) - (beforeKill.at + 400))).toBeLessThan(1000);
      expect(rolesAndTerms(await cards(page))).toBe(rolesAndTerms(beforeKill.shown));
      // live: back to the present
      await page.click('#live');
      expect(await page.getAttribute('body', 'data-mode')).toBe('live');
      await until(page, 'the present again', (ms) => ms.find((m) => m.member === killed.member)?.role === 'stopped' && ms.some((m) => m.role === 'leader' && m.term > killed.term));
    } finally {
      // the next tests act on the present: never leave the page in the past
      if ((await page.getAttribute('body', 'data-mode')) === 'history') await page.click('#live');
    }
  }, 60_000);

  it('restart from the page, then a write from the page turns committed and applied on every row', async () => {
    await page.click(`.member-card[data-member="${killed.member}"] button[data-action=restart]`);
    await until(page, `${killed.member} back as a follower`, (ms) => ms.find((m) => m.member === killed.member)?.role === 'follower' && ms.filter((m) => m.role === 'leader').length === 1, 30_000);
    await page.fill('input[name=key]', 'live-view');
    await page.fill('input[name=value]', 'seen');
    await page.click('#put button[type=submit]');
    let result = '';
    for (let i = 0; i < 100 && !/written at etcd index \d+/.test(result); i++) {
      await page.waitForTimeout(100);
      result = (await page.textContent('#put-result')) ?? '';
    }
    expect(result).toMatch(/written at etcd index \d+/);
    // the write's raft index, from the leader (a quorum read answers with X-Raft-Index at or past it)
    const leaderName = (await cards(page)).find((m) => m.role === 'leader')?.member as string;
    const leaderPort = clientPorts[['infra1', 'infra2', 'infra3'].indexOf(leaderName)] as number;
    const res = await fetch(`http://127.0.0.1:${leaderPort}/v2/keys/live-view?quorum=true`);
    expect(((await res.json()) as { node: { value: string } }).node.value).toBe('seen');
    const raftIndex = Number(res.headers.get('x-raft-index'));
    expect(raftIndex).toBeGreaterThan(0);
    const shown = await until(page, `commit and applied at ${raftIndex} on every row`, (ms) => ms.length === 3 && ms.every((m) => m.commit >= raftIndex && m.applied >= raftIndex));
    expect(shown.map((m) => m.member)).toEqual(['infra1', 'infra2', 'infra3']);
    // the log matrix draws the entry as committed on every row
    const committedRows = await page.$$eval('.log-row[data-row]', (rows) => rows.filter((r) => r.querySelector('.cell.committed.commit-at') !== null).length);
    expect(committedRows).toBe(3);
    await page.screenshot({ path: path.join(shotsDir, '03-write-committed.png') });
  }, 60_000);

  it('isolate a follower from the page: its commit stops while the others advance; heal: the logs match again', async () => {
    const before = await until(page, 'one leader', (ms) => ms.filter((m) => m.role === 'leader').length === 1);
    const isolated = before.find((m) => m.role === 'follower') as MemberAttrs;
    await page.click(`.member-card[data-member="${isolated.member}"] button[data-action=isolate]`);
    await page.waitForSelector(`.member-card[data-member="${isolated.member}"][data-partition="0"]`, { timeout: 10_000 });
    // a burst of 20 writes from the page goes to the leader, which still has a majority
    await page.click('#burst');
    await page.waitForSelector('#put-result:has-text("burst: 20/20 written")', { timeout: 30_000 });
    const cut = await until(page, 'the majority ahead of the isolated member', (ms) => {
      const iso = ms.find((m) => m.member === isolated.member) as MemberAttrs;
      return ms.filter((m) => m.member !== isolated.member).every((m) => m.commit >= iso.commit + 20);
    });
    const isoCommit = (cut.find((m) => m.member === isolated.member) as MemberAttrs).commit;
    expect(isoCommit).toBeLessThan(before.reduce((n, m) => Math.max(n, m.commit), 0) + 20);
    // the ring draws the cuts
    expect(await page.$$eval('#ring text', (ts) => ts.filter((t) => t.textContent === '✕').length)).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: path.join(shotsDir, '04-partitioned.png') });
    await page.click('#heal');
    const healed = await until(
      page,
      'the isolated member caught up: every row at the same commit, one leader',
      (ms) => ms.filter((m) => m.role === 'leader').length === 1 && ms.every((m) => m.commit === ms[0]?.commit && m.applied === m.commit && m.commit >= isoCommit + 20),
      30_000,
    );
    expect(healed.every((m) => m.role === 'leader' || m.role === 'follower')).toBe(true);
    // and the log matrix rows agree, cell by cell (index and term)
    const rows = await page.$$eval('.log-row[data-row]', (els) => els.map((r) => [...r.querySelectorAll('.cell:not(.empty)')].map((c) => c.getAttribute('title')?.replace(/, (not )?committed$/, '')).join('|')));
    expect(new Set(rows).size).toBe(1);
    await page.screenshot({ path: path.join(shotsDir, '05-healed.png') });
  }, 90_000);

  it('pause holds the view while events wait; live applies them', async () => {
    const before = await until(page, 'one leader', (ms) => ms.filter((m) => m.role === 'leader').length === 1);
    const leaderPort = clientPorts[['infra1', 'infra2', 'infra3'].indexOf(before.find((m) => m.role === 'leader')?.member as string)] as number;
    await page.click('#pause');
    const held = await cards(page);
    const res = await fetch(`http://127.0.0.1:${leaderPort}/v2/keys/paused`, { method: 'PUT', body: new URLSearchParams({ value: 'x' }) });
    expect(res.status).toBe(201);
    const index = Number(res.headers.get('x-raft-index'));
    await page.waitForTimeout(1500);
    expect(await cards(page)).toEqual(held);
    expect(held.every((m) => m.commit < index)).toBe(true);
    expect(await page.textContent('#lag')).toMatch(/^paused, [1-9]\d* events waiting$/);
    await page.click('#live');
    await until(page, `commit ${index} on every row after live`, (ms) => ms.every((m) => m.commit >= index));
  }, 60_000);

  it('replays a recorded simulator run: after a seek the page shows the trace\'s state at that time', async () => {
    let rec: TraceRecorder | undefined;
    const run = await runMemberSchedule(12, { members: 3, faultMs: 4000, faults: ['crash', 'partition'], record: (now) => (rec = new TraceRecorder(now)) });
    expect(run.ok).toBe(true);
    const text = (rec as TraceRecorder).text();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Access-Control-Allow-Origin': '*' });
      res.end(text);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
        const traceURL = `http://127.0.0.1:${(server.address() as { port: number }).port}/seed-12.ndjson`;
        await page.goto(`http://127.0.0.1:${clientPorts[1]}/ui/?trace=${encodeURIComponent(traceURL)}`);
        await page.waitForSelector('#source:has-text("replay of")', { timeout: 15_000 });
        await page.click('#pause');
        const replay = new Replay(parseTrace(text));
        const timers: number[] = [];
        let markers = 0;
        for (const frac of [0.3, 0.5, 0.75, 1]) {
          const t = Math.round(replay.startMs + (replay.endMs - replay.startMs) * frac);
          await page.$eval('#seek', (el, v) => {
            const input = el as unknown as { value: string; dispatchEvent(e: unknown): boolean };
            input.value = String(v);
            input.dispatchEvent(new Event('input'));
          }, t);
          const expected = replay.stateAt(t).state;
          const want = expected.order.map((id) => {
            const a = memberAttributes(expected.members[id] as MemberView);
            return { member: a['data-member'], role: a['data-role'], term: Number(a['data-term']), commit: Number(a['data-commit']), applied: Number(a['data-applied']) };
          });
          await until(page, `the trace's state at t=${t}: ${JSON.stringify(want)}`, (ms) => JSON.stringify(ms) === JSON.stringify(want), 5000);
          // from the recorded status snapshots: the leader's next marker on each follower row whose
          // next index is in the matrix's window (the page's 30 columns, the newest index 4 from the right)
          const leader = currentLeader(expected);
          const { from } = logWindow(expected, 30 - 4);
          const nexts = leader === undefined ? 0 : Object.entries(leader.progress).filter(([id, p]) => id !== leader.id && p.next >= from && p.next < from + 30).length;
          expect(await page.$$eval('.log-row[data-row] .next', (els) => els.length)).toBe(nexts);
          markers += nexts;
          timers.push(...(await page.$$eval('#ring .ring-node[data-timer]', (els) => els.map((e) => Number(e.getAttribute('data-timer'))))));
        }
        // the markers were seen, and the election-timer arcs of the followers
        expect(markers).toBeGreaterThan(0);
        expect(timers.some((x) => x > 0)).toBe(true);
        await page.screenshot({ path: path.join(shotsDir, '06-replay.png') });
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 90_000);
});
