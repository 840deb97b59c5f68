// /debug/raft/log and /debug/raft/events on real members: two members in this process (real
// LevelDB data dirs, real HTTP on loopback). A PUT shows up as append, send/recv, commit and apply
// events; the leader's clean stop hands leadership over, which the other member's stream shows as
// role events; a reconnect with Last-Event-ID resumes without a reset.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli.js';
import { startClusterMember, type RunningClusterMember } from '../../src/server/cluster-runtime.js';
import { freePorts } from '../helpers/ports.js';

interface SseEvent {
  id: number | null;
  event: string;
  data: Record<string, unknown>;
}

/** A minimal SSE reader over fetch. */
class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  contentType = '';
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];

  private constructor(private readonly url: string) {}

  static async open(url: string, lastEventId?: number): Promise<SseClient> {
    const c = new SseClient(url);
    const res = await fetch(url, { signal: c.abort.signal, headers: lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) } });
    c.status = res.status;
    c.contentType = res.headers.get('content-type') ?? '';
    if (res.body !== null) void c.read(res.body);
    return c;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const lines = block.split('\n');
          const ev = lines.find((l) => l.startsWith('event: '));
          const data = lines.find((l) => l.startsWith('data: '));
          if (ev === undefined || data === undefined) continue;
          const id = lines.find((l) => l.startsWith('id: '));
          this.events.push({ id: id === undefined ? null : Number(id.slice(4)), event: ev.slice(7), data: JSON.parse(data.slice(6)) as Record<string, unknown> });
          for (const w of this.waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted
    }
  }

  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event from ${this.url} within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-20))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}

const silent = pino({ level: 'silent' });

async function getJSON(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('/debug/raft/log and /debug/raft/events on running members', () => {
  let dir = '';
  let members: RunningClusterMember[] = [];
  const clientURLs: string[] = [];
  const streams: SseClient[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'raft-events-'));
    const ports = await freePorts(4);
    const names = ['e1', 'e2'];
    const peer = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
    members = await Promise.all(
      names.map((name, i) => {
        const client = `http://127.0.0.1:${ports[2 * i]}`;
        clientURLs.push(client);
        const out = parseCommandLine(
          [
            '--name', name,
            '--data-dir', path.join(dir, name),
            '--listen-client-urls', client,
            '--advertise-client-urls', client,
            '--listen-peer-urls', peer(i),
            '--initial-advertise-peer-urls', peer(i),
            '--initial-cluster', initialCluster,
            '--initial-cluster-token', 'raft-events',
            '--heartbeat-interval', '100',
            '--election-timeout', '2000', // (the handoff at stop must finish within one election timeout, also on a loaded CI machine)
          ],
          {},
        );
        if (out.kind !== 'run') throw new Error(`bad flags: ${out.kind === 'error' ? out.message : out.kind}`);
        return startClusterMember(out.config, { logger: silent, onFatal: (err) => console.error(err) });
      }),
    );
  }, 30_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await Promise.all(members.map((m) => m.close()));
    if (dir !== '') await fs.rm(dir, { recursive: true, force: true });
  }, 30_000);

  async function leaderIndex(): Promise<number> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      for (let i = 0; i < clientURLs.length; i++) {
        const s = await getJSON(`${clientURLs[i]}/debug/raft/status`);
        if (s.json['raftState'] === 'StateLeader') return i;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no leader');
  }

  it('streams a write as append, send/recv, commit and apply; the log window shows its entry', async () => {
    const li = await leaderIndex();
    const fi = 1 - li;
    const leader = await SseClient.open(`${clientURLs[li]}/debug/raft/events`);
    const follower = await SseClient.open(`${clientURLs[fi]}/debug/raft/events`);
    streams.push(leader, follower);
    expect(leader.status).toBe(200);
    expect(leader.contentType).toBe('text/event-stream');
    // the state at connect comes first
    expect((await leader.waitFor((e) => e.event === 'role')).data).toMatchObject({ role: 'StateLeader', initial: true });
    expect((await follower.waitFor((e) => e.event === 'role')).data).toMatchObject({ role: 'StateFollower', initial: true });

    const value = 'x'.repeat(1234);
    const put = await fetch(`${clientURLs[li]}/v2/keys/events-test`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `value=${value}`,
      signal: AbortSignal.timeout(5000),
    });
    expect(put.status).toBe(201);
    const status = (await getJSON(`${clientURLs[li]}/debug/raft/status`)).json;
    const index = status['commit'] as number;

    const append = await leader.waitFor((e) => e.event === 'append' && (e.data['to'] as number) >= index && (e.data['bytes'] as number) > 1234);
    expect(append.data['count']).toBeGreaterThanOrEqual(1);
    await leader.waitFor((e) => e.event === 'send' && e.data['type'] === 'MsgApp' && (e.data['entries'] as number) >= 1);
    await leader.waitFor((e) => e.event === 'commit' && (e.data['index'] as number) >= index);
    await leader.waitFor((e) => e.event === 'apply' && (e.data['index'] as number) >= index);
    await follower.waitFor((e) => e.event === 'recv' && e.data['type'] === 'MsgApp');
    await follower.waitFor((e) => e.event === 'apply' && (e.data['index'] as number) >= index);
    // no payload anywhere in the streams
    for (const e of [...leader.events, ...follower.events]) expect(JSON.stringify(e.data)).not.toContain('xxxx');
    // ids increase
    const ids = leader.events.filter((e) => e.id !== null).map((e) => e.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const log = await getJSON(`${clientURLs[li]}/debug/raft/log`);
    expect(log.status).toBe(200);
    expect(Object.keys(log.json)).toEqual(['firstIndex', 'lastIndex', 'committed', 'applied', 'entries']);
    const entries = log.json['entries'] as { index: number; term: number; type: string; size: number }[];
    expect(entries.at(-1)?.index).toBe(log.json['lastIndex']);
    const mine = entries.find((e) => e.index === index);
    expect(mine?.type).toBe('EntryNormal');
    expect(mine?.size).toBeGreaterThan(1234);
    const head = await getJSON(`${clientURLs[li]}/debug/raft/log?from=0&to=2`);
    expect(head.json['compactedBefore']).toBe(1); // index 0 is never in a log
    expect((head.json['entries'] as { index: number }[]).map((e) => e.index)).toEqual([1, 2]);
    const one = await getJSON(`${clientURLs[fi]}/debug/raft/log?from=${index}&to=${index}`);
    expect(one.json['entries']).toEqual([mine]);
    expect((await getJSON(`${clientURLs[li]}/debug/raft/log?from=9&to=2`)).status).toBe(400);
    expect((await getJSON(`${clientURLs[li]}/debug/raft/log?from=x`)).json).toHaveProperty('message');
    const post = await fetch(`${clientURLs[li]}/debug/raft/events`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  }, 30_000);

  it("shows the leader's handoff at stop as role events on the other member, and resumes after Last-Event-ID", async () => {
    const li = await leaderIndex();
    const fi = 1 - li;
    const follower = await SseClient.open(`${clientURLs[fi]}/debug/raft/events`);
    streams.push(follower);
    await follower.waitFor((e) => e.event === 'role');
    const lastBefore = Math.max(0, ...follower.events.map((e) => e.id ?? 0));
    await (members[li] as RunningClusterMember).close();
    const became = await follower.waitFor((e) => e.event === 'role' && e.id !== null && e.data['role'] === 'StateLeader', 10_000);
    expect(became.data['lead']).toBe((members[fi] as RunningClusterMember).member.self.id.replace(/^0+/, ''));
    // a vote cast for itself on the way
    expect(follower.events.some((e) => e.event === 'vote')).toBe(true);
    follower.close();
    // reconnect after the role event: only what followed it, no reset, no initial state
    const resumed = await SseClient.open(`${clientURLs[fi]}/debug/raft/events`, became.id as number);
    streams.push(resumed);
    const resumeFrom = await SseClient.open(`${clientURLs[fi]}/debug/raft/events`, lastBefore);
    streams.push(resumeFrom);
    const again = await resumeFrom.waitFor((e) => e.event === 'role' && e.id === became.id);
    expect(again.data).toEqual(became.data);
    expect(resumeFrom.events.some((e) => e.event === 'reset' || e.data['initial'] === true)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.events.every((e) => (e.id ?? 0) > (became.id as number))).toBe(true);
    expect(resumed.events.some((e) => e.event === 'reset')).toBe(false);
  }, 30_000);
});
