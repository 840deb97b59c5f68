// Publishing a member's attributes once per run (src/server/publish.ts, etcd's EtcdServer.publish):
// the member serves clients only once its own publish of THIS run is applied (so it has applied
// everything committed before it started). A follower asks the leader (POST /members/publish);
// the leader proposes only what the member itself confirms at its registered peer URL
// (GET /members/attributes), so a stranger who knows the cluster id cannot point a member's
// client URLs (and every 307 redirect to it) at an address of its choosing.
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { InitialMember } from '../../src/config.js';
import type { ApplyResult } from '../../src/store/store.js';
import type { EntryCommand } from '../../src/server/entry-codec.js';
import { Membership } from '../../src/server/membership.js';
import type { PeerApiReply, PeerApiRequest, PeerApiResponse, PeerClient } from '../../src/server/peer-api.js';
import { ATTRIBUTES_PATH, PUBLISH_PATH, Publisher, type PublishedAttributes, type PublisherOptions } from '../../src/server/publish.js';
import { settle, VirtualTimers } from '../helpers/virtual-timers.js';
import { CLUSTER_ID_MISMATCH_TEXT, HEADER_CLUSTER_ID, HEADER_FROM } from '../../src/transport/protocol.js';
import { peerJsonText } from '../../src/server/peer-api.js';

// ---------------------------------------------------------------------------------------------
// Fixture

const A = 0x1an; // the leader in most tests
const B = 0x2bn; // a follower publishing
const C = 0x3cn;
const STRANGER = 0xff;
const CLUSTER = 0xc1c2c3n;
const CLUSTER_HEX = 'c1c2c3';
const A_PEER = 'http://10.0.0.1:2380';
const B_PEER = 'http://10.0.0.2:2380';
const C_PEER = 'http://10.0.0.3:2380';
const INITIAL: InitialMember[] = [
  { name: 'a', id: A, peerURLs: [A_PEER] },
  { name: 'b', id: B, peerURLs: [B_PEER] },
  { name: 'c', id: C, peerURLs: [C_PEER] },
];
const B_ATTRS: PublishedAttributes = { id: '2b', name: 'b', clientURLs: ['http://10.0.0.2:2379', 'https://b.example:2379'], runId: 123_456_789 };
const REQUEST_TIMEOUT_MS = 1500;
const INTERVAL_MS = 500;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function asReply(res: PeerApiResponse): PeerApiReply {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) headers[k.toLowerCase()] = v;
  const body = res.json !== undefined ? enc(peerJsonText(res.json)) : enc(res.text ?? '');
  return { status: res.status, headers, body };
}

interface PeerCall {
  url: string;
  req: { method: string; path: string; headers?: Record<string, string>; json?: unknown };
  timeoutMs: number;
}

/** How the fake network answers one peer request: a handler's answer, a raw reply, or a failure. */
type Answer = PeerApiResponse | PeerApiReply | Error | Promise<PeerApiReply>;

interface LogLine {
  level: string;
  obj: unknown;
  msg: string;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: unknown, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  const logger = { warn: at('warn'), debug: at('debug'), info: at('info'), error: at('error'), trace: at('trace'), fatal: at('fatal'), child: () => logger };
  return logger as unknown as Logger;
}

interface Fixture {
  publisher: Publisher;
  membership: Membership;
  timers: VirtualTimers;
  calls: PeerCall[];
  proposals: EntryCommand[];
  logs: LogLine[];
  state: { leaderId: bigint; isLeader: boolean };
  /** How peers answer (default: B confirms B_ATTRS at its peer URL, everything else 404). */
  answer: (url: string, req: PeerCall['req']) => Answer;
  /** How a proposal ends (default: applied). */
  propose: (cmd: EntryCommand) => Promise<ApplyResult>;
}

function fixture(over: Partial<PublisherOptions> & { memberId?: bigint } = {}): Fixture {
  const timers = new VirtualTimers();
  const membership = new Membership(INITIAL);
  const calls: PeerCall[] = [];
  const proposals: EntryCommand[] = [];
  const logs: LogLine[] = [];
  const state = { leaderId: A, isLeader: (over.memberId ?? A) === A };
  const f: Omit<Fixture, 'publisher'> = {
    membership,
    timers,
    calls,
    proposals,
    logs,
    state,
    answer: (url: string, req: PeerCall['req']): Answer =>
      url === B_PEER && req.path === ATTRIBUTES_PATH ? { status: 200, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX }, json: B_ATTRS } : { status: 404, text: '404 page not found' },
    propose: (): Promise<ApplyResult> => Promise.resolve({ ok: true, event: null }),
  };
  const peerClient: PeerClient = {
    async request(url, req, timeoutMs) {
      calls.push({ url, req, timeoutMs });
      const a = f.answer(url, req);
      if (a instanceof Error) throw a;
      if (a instanceof Promise) return a;
      return 'body' in a ? a : asReply(a);
    },
  };
  const publisher = new Publisher({
    memberId: A,
    clusterId: CLUSTER,
    name: 'a',
    clientURLs: ['http://10.0.0.1:2379'],
    runId: 42,
    membership,
    logger: recordingLogger(logs),
    leaderId: () => state.leaderId,
    isLeader: () => state.isLeader,
    proposeAttributes: (cmd) => {
      proposals.push(cmd);
      return f.propose(cmd);
    },
    timers,
    peerClient,
    intervalMs: INTERVAL_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    ...over,
  });
  // The same object: tests change f.answer and f.propose, which the fakes read at each call.
  return Object.assign(f, { publisher });
}

/** A follower B publishing B_ATTRS, following leader A. */
const followerB = (over: Partial<PublisherOptions> = {}): Fixture =>
  fixture({ memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId, ...over });

/** A POST /members/publish as B sends it, with changes. */
function publishReq(body: unknown, over: { from?: string | null; cluster?: string | null; method?: string; rawBody?: string; headers?: Record<string, string> } = {}): PeerApiRequest {
  const headers: Record<string, string | undefined> = { 'content-type': 'application/json', ...(over.headers ?? {}) };
  if (over.cluster !== null) headers[HEADER_CLUSTER_ID] = over.cluster ?? CLUSTER_HEX;
  if (over.from !== null) headers[HEADER_FROM] = over.from ?? '2b';
  return { method: over.method ?? 'POST', path: PUBLISH_PATH, headers, body: enc(over.rawBody ?? peerJsonText(body)) };
}

const message = (res: PeerApiResponse): string => (res.json as { message: string }).message;

// ---------------------------------------------------------------------------------------------

describe('Publisher.published: this run, this member', () => {
  it('is false until the attributes of this member and this run are applied, then stays true', () => {
    const { publisher } = fixture();
    expect(publisher.published()).toBe(false);
    publisher.onApplied(A, 41); // an earlier run of this member: proves nothing about this one
    expect(publisher.published()).toBe(false);
    publisher.onApplied(A, undefined); // attributes published without a run id (older entries)
    expect(publisher.published()).toBe(false);
    publisher.onApplied(B, 42); // another member that happens to use the same run id
    expect(publisher.published()).toBe(false);
    publisher.onApplied(A, 42);
    expect(publisher.published()).toBe(true);
    publisher.onApplied(A, 43); // a later entry of another run does not take it back
    expect(publisher.published()).toBe(true);
  });

  it('attributes() is what this run publishes, as a copy', () => {
    const { publisher } = followerB();
    const a = publisher.attributes();
    expect(a).toEqual(B_ATTRS);
    a.clientURLs.push('http://evil:1');
    expect(publisher.attributes().clientURLs).toEqual(B_ATTRS.clientURLs);
  });
});

describe('Publisher: the leader publishes its own attributes directly', () => {
  it('proposes its attributes with its run id on the next interval, and asks no peer', async () => {
    const f = fixture();
    f.publisher.start();
    await f.timers.advance(INTERVAL_MS - 1);
    expect(f.proposals).toEqual([]);
    await f.timers.advance(1);
    expect(f.proposals).toEqual([{ kind: 'attrs', memberId: A, name: 'a', clientURLs: ['http://10.0.0.1:2379'], runId: 42 }]);
    expect(f.calls).toEqual([]);
  });

  it('proposes at once when it becomes leader', async () => {
    const f = fixture();
    f.publisher.onBecameLeader();
    await settle();
    expect(f.proposals).toHaveLength(1);
    expect(f.proposals[0]).toMatchObject({ kind: 'attrs', memberId: A, runId: 42 });
  });

  it('retries every interval until its own entry is applied, then stops (and its timer is gone)', async () => {
    const f = fixture();
    f.publisher.start();
    await f.timers.advance(3 * INTERVAL_MS);
    expect(f.proposals).toHaveLength(3);
    f.publisher.onApplied(A, 42);
    expect(f.timers.armed).toBe(0);
    await f.timers.advance(10 * INTERVAL_MS);
    f.publisher.onBecameLeader();
    await settle();
    expect(f.proposals).toHaveLength(3);
  });

  it('does not propose again while a proposal is still in flight', async () => {
    const f = fixture();
    let finish: (r: ApplyResult) => void = () => undefined;
    f.propose = () => new Promise<ApplyResult>((resolve) => (finish = resolve));
    f.publisher.start();
    await f.timers.advance(5 * INTERVAL_MS);
    expect(f.proposals).toHaveLength(1);
    finish({ ok: true, event: null });
    await f.timers.advance(INTERVAL_MS);
    expect(f.proposals).toHaveLength(2);
  });

  it('retries after a failed proposal (logged, not thrown)', async () => {
    const f = fixture();
    f.propose = () => Promise.reject(new Error('proposal dropped'));
    f.publisher.start();
    await f.timers.advance(2 * INTERVAL_MS);
    expect(f.proposals).toHaveLength(2);
    expect(f.logs.filter((l) => l.level === 'debug' && /will retry/.test(l.msg))).toHaveLength(2);
  });

  it('stop() ends the attempts', async () => {
    const f = fixture();
    f.publisher.start();
    await f.timers.advance(INTERVAL_MS);
    f.publisher.stop();
    await f.timers.advance(5 * INTERVAL_MS);
    f.publisher.onBecameLeader();
    f.publisher.start();
    await f.timers.advance(5 * INTERVAL_MS);
    expect(f.proposals).toHaveLength(1);
    expect(f.timers.armed).toBe(0);
  });
});

describe('Publisher: a follower asks the leader', () => {
  it("POSTs its attributes to the leader's peer URL with the cluster id and X-Server-From", async () => {
    const f = followerB();
    f.answer = () => ({ status: 204 });
    f.publisher.start();
    await f.timers.advance(INTERVAL_MS);
    expect(f.calls).toEqual([
      {
        url: A_PEER,
        req: { method: 'POST', path: PUBLISH_PATH, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX, [HEADER_FROM]: '2b' }, json: B_ATTRS },
        timeoutMs: REQUEST_TIMEOUT_MS,
      },
    ]);
    expect(f.proposals).toEqual([]);
  });

  it('retries (the leader may answer 503, or be unreachable) until its own entry is applied', async () => {
    const f = followerB();
    const answers: Answer[] = [{ status: 503, json: { message: 'not the leader' } }, new Error('ECONNREFUSED'), { status: 204 }, { status: 204 }];
    f.answer = () => answers.shift() ?? { status: 204 };
    f.publisher.start();
    await f.timers.advance(3 * INTERVAL_MS);
    expect(f.calls).toHaveLength(3);
    expect(f.publisher.published()).toBe(false); // a 204 is not the entry applied
    f.publisher.onApplied(B, B_ATTRS.runId);
    expect(f.publisher.published()).toBe(true);
    await f.timers.advance(5 * INTERVAL_MS);
    expect(f.calls).toHaveLength(3);
  });

  it('sends nothing while no leader is known, and follows the leader it knows', async () => {
    const f = followerB();
    f.answer = () => ({ status: 503, json: { message: 'not the leader' } });
    f.state.leaderId = 0n;
    f.publisher.start();
    await f.timers.advance(3 * INTERVAL_MS);
    expect(f.calls).toEqual([]);
    f.state.leaderId = C;
    await f.timers.advance(INTERVAL_MS);
    f.state.leaderId = A;
    f.membership.applyPeerURLs(A, ['http://10.7.0.1:2380']);
    await f.timers.advance(INTERVAL_MS);
    expect(f.calls.map((c) => c.url)).toEqual([C_PEER, 'http://10.7.0.1:2380']);
  });

  it('does not send a second request while one is in flight', async () => {
    const f = followerB();
    let reply: (r: PeerApiReply) => void = () => undefined;
    f.answer = () => new Promise<PeerApiReply>((resolve) => (reply = resolve));
    f.publisher.start();
    await f.timers.advance(4 * INTERVAL_MS);
    expect(f.calls).toHaveLength(1);
    reply(asReply({ status: 204 }));
    await f.timers.advance(INTERVAL_MS);
    expect(f.calls).toHaveLength(2);
  });

  it('proposes itself instead when it becomes the leader', async () => {
    const f = followerB();
    f.state.isLeader = true;
    f.state.leaderId = B;
    f.publisher.onBecameLeader();
    await settle();
    expect(f.calls).toEqual([]);
    expect(f.proposals).toEqual([{ kind: 'attrs', memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId }]);
  });
});

describe('Publisher.handleAttributes: what this member confirms to the leader', () => {
  const get = (headers: Record<string, string>, method = 'GET'): PeerApiRequest => ({ method, path: ATTRIBUTES_PATH, headers, body: new Uint8Array(0) });

  it("answers this run's attributes with the cluster id", () => {
    const { publisher } = followerB();
    expect(publisher.handleAttributes(get({ [HEADER_CLUSTER_ID]: CLUSTER_HEX }))).toEqual({ status: 200, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX }, json: B_ATTRS });
  });

  it('answers 405 to other methods and 412 to another cluster', () => {
    const { publisher } = followerB();
    expect(publisher.handleAttributes(get({ [HEADER_CLUSTER_ID]: CLUSTER_HEX }, 'POST'))).toMatchObject({ status: 405, headers: { Allow: 'GET' } });
    expect(publisher.handleAttributes(get({ [HEADER_CLUSTER_ID]: 'c1c2c4' }))).toEqual({ status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } });
    expect(publisher.handleAttributes(get({}))).toEqual({ status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } });
  });
});

describe('Publisher.handle: the leader side of POST /members/publish', () => {
  it('answers 405 with Allow: POST to other methods', async () => {
    const f = fixture();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      expect(await f.publisher.handle(publishReq(B_ATTRS, { method }))).toMatchObject({ status: 405, headers: { Allow: 'POST' } });
    }
    expect(f.calls).toEqual([]);
  });

  it('answers 412 to a request without or with another cluster id', async () => {
    const f = fixture();
    expect(await f.publisher.handle(publishReq(B_ATTRS, { cluster: null }))).toEqual({ status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } });
    expect(await f.publisher.handle(publishReq(B_ATTRS, { cluster: 'abc' }))).toEqual({ status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } });
    expect(f.calls).toEqual([]);
    expect(f.proposals).toEqual([]);
  });

  const long = 'http://' + 'h'.repeat(1020) + ':1';
  const badBodies: [string, { body?: unknown; raw?: string }, string][] = [
    ['not JSON', { raw: '{"id":"2b",' }, 'not JSON'],
    ['an empty body', { raw: '' }, 'not JSON'],
    ['null', { body: null }, 'not an object'],
    ['a string', { body: '2b' }, 'not an object'],
    ['a number', { body: 42 }, 'not an object'],
    ['no id', { body: { ...B_ATTRS, id: undefined } }, 'bad id'],
    ['a numeric id', { body: { ...B_ATTRS, id: Number(B) } }, 'bad id'],
    ['an id that is not hex', { body: { ...B_ATTRS, id: 'xyz' } }, 'bad id'],
    ['an upper-case id', { body: { ...B_ATTRS, id: '2B' } }, 'bad id'],
    ['an id beyond 64 bits', { body: { ...B_ATTRS, id: '123456789abcdef01' } }, 'bad id'],
    ['no name', { body: { ...B_ATTRS, name: undefined } }, 'bad name'],
    ['a numeric name', { body: { ...B_ATTRS, name: 7 } }, 'bad name'],
    ['a name over 1024 characters', { body: { ...B_ATTRS, name: 'n'.repeat(1025) } }, 'bad name'],
    ['no clientURLs', { body: { ...B_ATTRS, clientURLs: undefined } }, 'bad clientURLs'],
    ['clientURLs as a string', { body: { ...B_ATTRS, clientURLs: 'http://10.0.0.2:2379' } }, 'bad clientURLs'],
    ['a client URL that is not a string', { body: { ...B_ATTRS, clientURLs: [2379] } }, 'bad clientURLs'],
    ['an ftp client URL', { body: { ...B_ATTRS, clientURLs: ['ftp://10.0.0.2:2379'] } }, 'bad clientURLs'],
    ['a client URL without a scheme', { body: { ...B_ATTRS, clientURLs: ['10.0.0.2:2379'] } }, 'bad clientURLs'],
    ['a relative client URL', { body: { ...B_ATTRS, clientURLs: ['/v2/keys'] } }, 'bad clientURLs'],
    ['a client URL with a path', { body: { ...B_ATTRS, clientURLs: ['http://10.0.0.2:2379/v2/keys'] } }, 'bad clientURLs'],
    ['a javascript: client URL', { body: { ...B_ATTRS, clientURLs: ['javascript:alert(1)'] } }, 'bad clientURLs'],
    ['a client URL without a host', { body: { ...B_ATTRS, clientURLs: ['http://'] } }, 'bad clientURLs'],
    ['a client URL with a space', { body: { ...B_ATTRS, clientURLs: ['http://evil .example:2379'] } }, 'bad clientURLs'],
    ['a client URL with a line break', { body: { ...B_ATTRS, clientURLs: ['http://10.0.0.2:2379\r\nX-Injected: 1'] } }, 'bad clientURLs'],
    ['a client URL over 1024 characters', { body: { ...B_ATTRS, clientURLs: [long] } }, 'bad clientURLs'],
    ['65 client URLs', { body: { ...B_ATTRS, clientURLs: Array.from({ length: 65 }, (_, i) => `http://10.0.0.2:${3000 + i}`) } }, 'bad clientURLs'],
    ['no runId', { body: { ...B_ATTRS, runId: undefined } }, 'bad runId'],
    ['a negative runId', { body: { ...B_ATTRS, runId: -1 } }, 'bad runId'],
    ['a fractional runId', { body: { ...B_ATTRS, runId: 1.5 } }, 'bad runId'],
    ['a runId as a string', { body: { ...B_ATTRS, runId: '123456789' } }, 'bad runId'],
    ['a runId beyond 2^53', { body: { ...B_ATTRS, runId: 2 ** 53 } }, 'bad runId'],
  ];

  for (const [what, { body, raw }, reason] of badBodies) {
    it(`refuses (400) a body with ${what}, asking nobody`, async () => {
      const f = fixture();
      const res = await f.publisher.handle(publishReq(body, raw !== undefined ? { rawBody: raw } : {}));
      expect(res.status).toBe(400);
      expect(message(res)).toBe(`bad publish request: ${reason}`);
      expect(f.calls).toEqual([]);
      expect(f.proposals).toEqual([]);
      expect(f.logs.some((l) => l.level === 'warn' && (l.obj as { reason: string }).reason === reason)).toBe(true);
    });
  }

  it('takes absolute http(s) URLs with a host (and port, trailing slash, IPv6) and an empty list', async () => {
    for (const clientURLs of [['https://b.example'], ['http://10.0.0.2:2379/'], ['http://[::1]:2379'], [], Array.from({ length: 64 }, (_, i) => `http://10.0.0.2:${3000 + i}`)]) {
      const f = fixture();
      const attrs = { ...B_ATTRS, clientURLs };
      f.answer = () => ({ status: 200, json: attrs });
      expect(await f.publisher.handle(publishReq(attrs)), JSON.stringify(clientURLs)).toEqual({ status: 204 });
      expect(f.proposals).toEqual([{ kind: 'attrs', memberId: B, name: 'b', clientURLs, runId: B_ATTRS.runId }]);
    }
  });

  it('refuses (400) attributes of a member that is not another member of this cluster', async () => {
    const f = fixture();
    const stranger = await f.publisher.handle(publishReq({ ...B_ATTRS, id: 'ff' }, { from: 'ff' }));
    expect(stranger.status).toBe(400);
    expect(message(stranger)).toBe('bad publish request: ff is not another member of this cluster');
    // the leader's own attributes come from itself, never from a peer
    const self = await f.publisher.handle(publishReq({ ...B_ATTRS, id: '1a' }, { from: '1a' }));
    expect(self.status).toBe(400);
    expect(message(self)).toMatch(/1a is not another member/);
    expect(f.calls).toEqual([]);
    expect(f.proposals).toEqual([]);
    expect(STRANGER.toString(16)).toBe('ff');
  });

  it('refuses (400) a member publishing attributes of another member (X-Server-From)', async () => {
    const f = fixture();
    const missing = await f.publisher.handle(publishReq(B_ATTRS, { from: null }));
    expect(missing.status).toBe(400);
    expect(message(missing)).toBe('bad publish request: a member publishes only its own attributes (x-server-from is missing)');
    const other = await f.publisher.handle(publishReq(B_ATTRS, { from: '3c' }));
    expect(other.status).toBe(400);
    expect(message(other)).toMatch(/only its own attributes \(x-server-from is 3c\)/);
    const garbled = await f.publisher.handle(publishReq(B_ATTRS, { from: '0x2b' }));
    expect(garbled.status).toBe(400);
    expect(f.calls).toEqual([]);
    expect(f.proposals).toEqual([]);
  });

  it('answers 503 when it is not the leader, asking nobody', async () => {
    const f = fixture();
    f.state.isLeader = false;
    expect(await f.publisher.handle(publishReq(B_ATTRS))).toEqual({ status: 503, json: { message: 'not the leader' } });
    expect(f.calls).toEqual([]);
    expect(f.proposals).toEqual([]);
    // a bad request is still a bad request
    expect((await f.publisher.handle(publishReq(null, { rawBody: 'x' }))).status).toBe(400);
  });

  it('confirms with the member at the peer URL the cluster knows for it, never a URL from the request', async () => {
    const f = fixture();
    const req = publishReq(
      { ...B_ATTRS, peerURLs: ['http://evil.example:2380'], url: 'http://evil.example:2380' },
      { headers: { host: 'evil.example:2380', referer: 'http://evil.example:2380/', 'x-forwarded-for': '203.0.113.9' } },
    );
    expect(await f.publisher.handle(req)).toEqual({ status: 204 });
    expect(f.calls).toEqual([{ url: B_PEER, req: { method: 'GET', path: ATTRIBUTES_PATH, headers: { [HEADER_CLUSTER_ID]: CLUSTER_HEX } }, timeoutMs: REQUEST_TIMEOUT_MS }]);
  });

  it("follows the member's peer URL as the cluster knows it now", async () => {
    const f = fixture();
    f.membership.applyPeerURLs(B, ['http://10.9.9.2:2380']);
    f.answer = (url) => (url === 'http://10.9.9.2:2380' ? { status: 200, json: B_ATTRS } : new Error('ECONNREFUSED'));
    expect(await f.publisher.handle(publishReq(B_ATTRS))).toEqual({ status: 204 });
    expect(f.calls.map((c) => c.url)).toEqual(['http://10.9.9.2:2380']);
  });

  it('refuses (400) a member the cluster knows no peer URL for', async () => {
    const f = fixture();
    f.membership.applyPeerURLs(B, []);
    const res = await f.publisher.handle(publishReq(B_ATTRS));
    expect(res.status).toBe(400);
    expect(message(res)).toBe('bad publish request: no peer URL known for 2b');
    expect(f.proposals).toEqual([]);
  });

  it("proposes a run's attributes once: a request again while in flight waits for it; one after it applied gets its index, proposing nothing", async () => {
    const f = fixture();
    let commit: (r: ApplyResult) => void = () => undefined;
    f.propose = () => new Promise<ApplyResult>((resolve) => (commit = resolve));
    const first = f.publisher.handle(publishReq(B_ATTRS));
    const again = f.publisher.handle(publishReq(B_ATTRS)); // the member's first request timed out
    await new Promise((r) => setTimeout(r, 10));
    expect(f.proposals.length).toBe(1);
    f.publisher.onApplied(B, B_ATTRS.runId, 17); // the state machine applies it at index 17
    commit({ ok: true, event: null });
    expect(await first).toEqual({ status: 200, json: { index: 17 } });
    expect(await again).toEqual({ status: 200, json: { index: 17 } });
    // after it applied (the member's answer was lost, or it lags): its index, and no second proposal
    expect(await f.publisher.handle(publishReq(B_ATTRS))).toEqual({ status: 200, json: { index: 17 } });
    expect(f.proposals.length).toBe(1);
    // another run of the member is proposed
    f.answer = (url, req) => (url === B_PEER && req.path === ATTRIBUTES_PATH ? { status: 200, json: { ...B_ATTRS, runId: 5 } } : { status: 404, text: '' });
    f.propose = () => Promise.resolve({ ok: true, event: null });
    expect(await f.publisher.handle(publishReq({ ...B_ATTRS, runId: 5 }))).toEqual({ status: 204 });
    expect(f.proposals.length).toBe(2);
  });

  it('a follower told the index of its publish is published once it has applied up to it (say by a snapshot), without seeing its own entry', async () => {
    let applied = 0;
    const f = followerB({ appliedIndex: () => applied });
    f.answer = (url, req) => (url === A_PEER && req.path === PUBLISH_PATH ? { status: 200, json: { index: 40 } } : { status: 404, text: '' });
    f.publisher.start();
    await f.timers.advance(INTERVAL_MS);
    expect(f.calls.filter((c) => c.req.path === PUBLISH_PATH).length).toBe(1);
    expect(f.publisher.published()).toBe(false);
    await f.timers.advance(5 * INTERVAL_MS); // it does not ask again: it waits to apply up to 40
    expect(f.calls.filter((c) => c.req.path === PUBLISH_PATH).length).toBe(1);
    applied = 39;
    expect(f.publisher.published()).toBe(false);
    applied = 52; // a snapshot at 52 was installed
    expect(f.publisher.published()).toBe(true);
    expect(f.timers.armed).toBe(0);
  });

  it('a follower ignores an index that is not a positive integer, and asks again', async () => {
    const f = followerB({ appliedIndex: () => 1000 });
    f.answer = (url, req) => (url === A_PEER && req.path === PUBLISH_PATH ? { status: 200, json: { index: '40' } } : { status: 404, text: '' });
    f.publisher.start();
    await f.timers.advance(3 * INTERVAL_MS);
    expect(f.calls.filter((c) => c.req.path === PUBLISH_PATH).length).toBe(3);
    expect(f.publisher.published()).toBe(false);
  });

  it('proposes exactly the confirmed attributes, with the run id, then answers 204', async () => {
    const f = fixture();
    expect(await f.publisher.handle(publishReq(B_ATTRS))).toEqual({ status: 204 });
    expect(f.proposals).toEqual([{ kind: 'attrs', memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId }]);
  });

  const differs: [string, Answer][] = [
    ['another name', { status: 200, json: { ...B_ATTRS, name: 'bee' } }],
    ['other client URLs', { status: 200, json: { ...B_ATTRS, clientURLs: ['http://10.0.0.2:2379'] } }],
    ['an extra client URL', { status: 200, json: { ...B_ATTRS, clientURLs: [...B_ATTRS.clientURLs, 'http://10.0.0.9:2379'] } }],
    ['the client URLs in another order', { status: 200, json: { ...B_ATTRS, clientURLs: [...B_ATTRS.clientURLs].reverse() } }],
    ['another run id (an earlier or later run)', { status: 200, json: { ...B_ATTRS, runId: B_ATTRS.runId + 1 } }],
    ['another id', { status: 200, json: { ...B_ATTRS, id: '3c' } }],
    ['attributes that do not parse', { status: 200, json: { ...B_ATTRS, clientURLs: 'http://10.0.0.2:2379' } }],
    ['garbage', { status: 200, headers: {}, body: enc('<html>') }],
    ['404 (an older version without the endpoint)', { status: 404, text: '404 page not found' }],
    ['412 (another cluster at that address)', { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } }],
    ['503', { status: 503, text: 'etcdserver: not ready' }],
  ];

  for (const [what, answer] of differs) {
    it(`refuses (400) when the member answers ${what}, proposing nothing`, async () => {
      const f = fixture();
      f.answer = () => answer;
      const res = await f.publisher.handle(publishReq(B_ATTRS));
      expect(res.status).toBe(400);
      expect(message(res)).toBe(`bad publish request: 2b at ${B_PEER} does not publish these attributes`);
      expect(f.calls).toHaveLength(1);
      expect(f.proposals).toEqual([]);
    });
  }

  it('answers 503 when the member cannot be reached, proposing nothing', async () => {
    const f = fixture();
    f.answer = () => new Error('connect ECONNREFUSED 10.0.0.2:2380');
    const res = await f.publisher.handle(publishReq(B_ATTRS));
    expect(res.status).toBe(503);
    expect(message(res)).toBe(`could not confirm with 2b at ${B_PEER}: connect ECONNREFUSED 10.0.0.2:2380`);
    expect(f.proposals).toEqual([]);
  });

  it('answers 503 when the proposal does not commit', async () => {
    const f = fixture();
    f.propose = () => Promise.reject(new Error('leadership lost'));
    expect(await f.publisher.handle(publishReq(B_ATTRS))).toEqual({ status: 503, json: { message: 'not committed' } });
    expect(f.proposals).toHaveLength(1);
  });
});

describe('Publisher end to end: follower, leader and a stranger over a fake peer network', () => {
  /** Routes a peer request to the Publisher that serves that peer URL. */
  function network(servers: Map<string, Publisher>): PeerClient {
    return {
      async request(url, req) {
        const p = servers.get(url);
        if (p === undefined) throw new Error(`connect ECONNREFUSED ${url}`);
        const r: PeerApiRequest = { method: req.method, path: req.path, headers: { ...(req.headers ?? {}) }, body: enc(req.json === undefined ? '' : peerJsonText(req.json)) };
        const res = req.path === PUBLISH_PATH ? await p.handle(r) : p.handleAttributes(r);
        return asReply(res);
      },
    };
  }

  it("a follower's publish is proposed by the leader, and the follower is published once it is applied", async () => {
    const timers = new VirtualTimers();
    const servers = new Map<string, Publisher>();
    const applied: EntryCommand[] = [];
    let a: Publisher | undefined;
    let b: Publisher | undefined;
    const apply = (cmd: EntryCommand): Promise<ApplyResult> => {
      applied.push(cmd);
      if (cmd.kind === 'attrs') for (const p of [a, b]) p?.onApplied(cmd.memberId, cmd.runId, applied.length);
      return Promise.resolve({ ok: true, event: null });
    };
    const common = { clusterId: CLUSTER, membership: new Membership(INITIAL), logger: recordingLogger([]), leaderId: () => A, proposeAttributes: apply, timers, peerClient: network(servers), intervalMs: INTERVAL_MS };
    a = new Publisher({ ...common, memberId: A, name: 'a', clientURLs: ['http://10.0.0.1:2379'], runId: 7, isLeader: () => true });
    b = new Publisher({ ...common, memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId, isLeader: () => false });
    servers.set(A_PEER, a);
    servers.set(B_PEER, b);
    a.start();
    b.start();
    await timers.advance(INTERVAL_MS);
    expect(a.published()).toBe(true);
    expect(b.published()).toBe(true);
    expect(applied).toEqual([
      { kind: 'attrs', memberId: A, name: 'a', clientURLs: ['http://10.0.0.1:2379'], runId: 7 },
      { kind: 'attrs', memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId },
    ]);
    expect(timers.armed).toBe(0);
  });

  it("a stranger cannot publish client URLs for a member: the leader asks the member, which denies them", async () => {
    const timers = new VirtualTimers();
    const servers = new Map<string, Publisher>();
    const proposals: EntryCommand[] = [];
    const common = {
      clusterId: CLUSTER,
      membership: new Membership(INITIAL),
      logger: recordingLogger([]),
      leaderId: () => A,
      proposeAttributes: (cmd: EntryCommand) => (proposals.push(cmd), Promise.resolve<ApplyResult>({ ok: true, event: null })),
      timers,
      peerClient: network(servers),
    };
    const a = new Publisher({ ...common, memberId: A, name: 'a', clientURLs: ['http://10.0.0.1:2379'], runId: 7, isLeader: () => true });
    const b = new Publisher({ ...common, memberId: B, name: 'b', clientURLs: B_ATTRS.clientURLs, runId: B_ATTRS.runId, isLeader: () => false });
    servers.set(A_PEER, a);
    servers.set(B_PEER, b);
    // The stranger knows the cluster id (every client response shows it) and B's run id is no secret either.
    const res = await a.handle(publishReq({ ...B_ATTRS, clientURLs: ['http://evil.example:2379'] }));
    expect(res.status).toBe(400);
    expect(message(res)).toMatch(/2b at http:\/\/10\.0\.0\.2:2380 does not publish these attributes/);
    expect(proposals).toEqual([]);
    // B's own publish still goes through
    expect(await a.handle(publishReq(b.attributes()))).toEqual({ status: 204 });
    expect(proposals).toHaveLength(1);
  });
});
