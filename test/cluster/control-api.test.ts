// The launcher's control API (cluster/control-api.mjs): what the live view's buttons call. Real child
// processes (a sleeping node, not a member) so kill, pause, resume and restart act on real pids.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the launcher, without types
import { startControlApi } from '../../cluster/control-api.mjs';

interface FakeMember {
  name: string;
  client: number;
  peer: number;
  child: ChildProcess | null;
  state: string;
}

const members: FakeMember[] = [
  { name: 'infra1', client: 1, peer: 2, child: null, state: 'stopped' },
  { name: 'infra2', client: 3, peer: 4, child: null, state: 'stopped' },
];
function spawnMember(m: FakeMember): void {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  m.child = child;
  m.state = 'running';
  child.on('exit', () => {
    if (m.child === child) {
      m.child = null;
      m.state = 'stopped';
    }
  });
}

let api: { url: string; token: string; close(): void };
beforeAll(async () => {
  for (const m of members) spawnMember(m);
  api = await startControlApi({ port: 0, members, spawnMember });
});
afterAll(() => {
  api.close();
  for (const m of members) m.child?.kill('SIGKILL');
});

const auth = (): Record<string, string> => ({ Authorization: `Bearer ${api.token}` });
const post = (path: string) => fetch(`${api.url}${path}`, { method: 'POST', headers: auth() });

/** The kernel's state letter of a pid (R/S running or sleeping, T stopped). */
async function procState(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** The state letter once it is (or is not) `letter`: a signal takes effect a moment after kill() returns. */
async function procStateSettled(pid: number, letter: string, want: boolean): Promise<string> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const state = await procState(pid);
    if ((state === letter) === want || Date.now() > deadline) return state;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('control API', () => {
  it('listens on loopback only, with a random token', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api.token).toMatch(/^[0-9a-f]{36}$/);
  });

  it('refuses a missing or wrong token, a foreign origin and a foreign Host', async () => {
    expect((await fetch(`${api.url}/api/cluster`)).status).toBe(401);
    expect((await fetch(`${api.url}/api/cluster`, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${api.url}/api/cluster`, { headers: { ...auth(), Origin: 'https://evil.example' } })).status).toBe(403);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/api/cluster`, { headers: { ...auth(), Host: 'rebound.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('answers a loopback page preflight (http or https) and echoes its origin', async () => {
    const pre = await fetch(`${api.url}/api/members/infra1/kill`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://127.0.0.1:2379', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:2379');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    // the page of a TLS cluster (npm run cluster -- --tls) is served over https
    const tlsPage = await fetch(`${api.url}/api/members/infra1/kill`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://127.0.0.1:2379', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(tlsPage.status).toBe(204);
    expect(tlsPage.headers.get('access-control-allow-origin')).toBe('https://127.0.0.1:2379');
    // a preflight did nothing
    expect(members[0]?.state).toBe('running');
  });

  it('lists the members, pauses (SIGSTOP), resumes (SIGCONT), kills (-9) and restarts them', async () => {
    const list = (await (await fetch(`${api.url}/api/cluster`, { headers: auth() })).json()) as { members: { name: string; pid: number; state: string }[] };
    expect(list.members.map((m) => [m.name, m.state])).toEqual([['infra1', 'running'], ['infra2', 'running']]);
    const pid = list.members[0]?.pid as number;
    expect(await (await post('/api/members/infra1/pause')).json()).toMatchObject({ name: 'infra1', state: 'paused', pid });
    expect(await procStateSettled(pid, 'T', true)).toBe('T');
    expect((await post('/api/members/infra1/pause')).status).toBe(409);
    expect(await (await post('/api/members/infra1/resume')).json()).toMatchObject({ state: 'running' });
    expect(await procStateSettled(pid, 'T', false)).not.toBe('T');
    expect(await (await post('/api/members/infra1/kill')).json()).toMatchObject({ state: 'stopped', pid: null });
    expect((await post('/api/members/infra1/kill')).status).toBe(409);
    const restarted = (await (await post('/api/members/infra1/restart')).json()) as { state: string; pid: number };
    expect(restarted.state).toBe('running');
    expect(restarted.pid).not.toBe(pid);
    expect((await post('/api/members/nobody/kill')).status).toBe(404);
    expect((await post('/api/members/infra1/explode')).status).toBe(404);
    expect((await fetch(`${api.url}/api/members/infra1/kill`, { headers: auth() })).status).toBe(405);
  });
});

describe('control API: network faults', () => {
  // Members that only need to be 'running'; the API's fetch is a stub that records what each member's
  // PUT /debug/raft/faults would receive.
  const fakes: FakeMember[] = [
    { name: 'infra1', client: 11, peer: 12, child: null, state: 'running' },
    { name: 'infra2', client: 13, peer: 14, child: null, state: 'running' },
    { name: 'infra3', client: 15, peer: 16, child: null, state: 'running' },
  ];
  const ids: Record<string, string> = { infra1: 'a1', infra2: 'b2', infra3: 'c3' };
  const puts = new Map<number, { blackhole: string[]; delay: Record<string, number> }>();
  const stubFetch = async (url: string, init?: { method?: string; body?: string }): Promise<Response> => {
    const port = Number(new URL(url).port);
    if (url.endsWith('/v2/members')) return Response.json({ members: Object.entries(ids).map(([name, id]) => ({ name, id })) });
    if (url.endsWith('/debug/raft/faults') && init?.method === 'PUT') {
      puts.set(port, JSON.parse(init.body ?? '{}'));
      return Response.json({});
    }
    return new Response('not found', { status: 404 });
  };
  let faultsApi: { url: string; token: string; close(): void };
  let plainApi: { url: string; token: string; close(): void };
  beforeAll(async () => {
    faultsApi = await startControlApi({ port: 0, members: fakes, spawnMember: () => {}, faultsToken: 'a-faults-token-long-enough', fetch: stubFetch });
    plainApi = await startControlApi({ port: 0, members: fakes, spawnMember: () => {} });
  });
  afterAll(() => {
    faultsApi.close();
    plainApi.close();
  });
  const send = (api: { url: string; token: string }, method: string, path: string, body?: unknown) =>
    fetch(`${api.url}${path}`, { method, headers: { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  it('delays a member\'s links both ways: it delays what it sends to the others, they what they send to it', async () => {
    const res = await send(faultsApi, 'POST', '/api/delay', { members: ['infra2'], ms: 300 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delay: { members: ['infra2'], ms: 300 }, errors: {} });
    expect(puts.get(11)).toEqual({ blackhole: [], delay: { b2: 300 } });
    expect(puts.get(13)).toEqual({ blackhole: [], delay: { a1: 300, c3: 300 } });
    expect(puts.get(15)).toEqual({ blackhole: [], delay: { b2: 300 } });
    // A partition on top keeps the delay; healing the delay keeps the partition.
    expect((await send(faultsApi, 'POST', '/api/partition', { groups: [['infra1'], ['infra2', 'infra3']] })).status).toBe(200);
    expect(puts.get(11)).toEqual({ blackhole: ['b2', 'c3'], delay: { b2: 300 } });
    expect((await send(faultsApi, 'DELETE', '/api/delay')).status).toBe(200);
    expect(puts.get(13)).toEqual({ blackhole: ['a1'], delay: {} });
    expect((await send(faultsApi, 'DELETE', '/api/partition')).status).toBe(200);
    for (const port of [11, 13, 15]) expect(puts.get(port)).toEqual({ blackhole: [], delay: {} });
  });

  it.each([
    [{ members: ['infra1', 'infra2', 'infra3'], ms: 100 }],
    [{ members: [], ms: 100 }],
    [{ members: ['nobody'], ms: 100 }],
    [{ members: ['infra1', 'infra1'], ms: 100 }],
    [{ members: ['infra1'], ms: 0 }],
    [{ members: ['infra1'], ms: 60_001 }],
    [{ members: ['infra1'], ms: 2.5 }],
  ])('answers 400 to the delay %j', async (body) => {
    const res = await send(faultsApi, 'POST', '/api/delay', body);
    expect(res.status).toBe(400);
  });

  it('answers 404 without members started with --debug-faults-token-file', async () => {
    const res = await send(plainApi, 'POST', '/api/delay', { members: ['infra1'], ms: 100 });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'delays need the members started with --debug-faults-token-file' });
  });
});
