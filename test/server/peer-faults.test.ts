// /debug/raft/faults (src/server/peer-faults.ts): the live view's partitions. Off without the token;
// with it, raft messages to and from blackholed peers are dropped, and a MsgSnap dropped is reported.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../src/raft/messages.js';
import { MAX_DELAYED_MESSAGES, PeerFaults, peerFaultsRoute } from '../../src/server/peer-faults.js';

const msg = (to: bigint, type = MessageType.MsgApp): Message => ({ type, from: 1n, to, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 }) as unknown as Message;

describe('PeerFaults', () => {
  it('drops messages to and from blackholed peers, counts them, and reports a dropped MsgSnap', () => {
    const f = new PeerFaults();
    const all = [msg(2n), msg(3n), msg(3n, MessageType.MsgSnap)];
    expect(f.outgoing(all, () => {})).toBe(all);
    f.blackhole([3n]);
    const snaps: bigint[] = [];
    expect(f.outgoing(all, (to) => snaps.push(to)).map((m) => m.to)).toEqual([2n]);
    expect(snaps).toEqual([3n]);
    expect(f.dropsIncoming(3n, 5)).toBe(true);
    expect(f.dropsIncoming(2n, 5)).toBe(false);
    expect([f.droppedOut, f.droppedIn]).toEqual([2, 5]);
    f.blackhole([]);
    expect(f.active).toBe(false);
  });

  it('delays messages to delayed peers by their delay, in order, and heals', () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const f = new PeerFaults((fn, ms) => void timers.push({ fn, ms }));
    f.delay([[3n, 250]]);
    expect(f.active).toBe(true);
    const sent: number[][] = [];
    const now = f.outgoing([msg(2n), msg(3n), msg(3n, MessageType.MsgHeartbeat)], () => {}, (ms) => sent.push(ms.map((m) => m.type)));
    expect(now.map((m) => m.to)).toEqual([2n]);
    expect(timers.map((t) => t.ms)).toEqual([250]);
    expect([f.delayedOut, f.delayedNow]).toEqual([2, 2]);
    expect(sent).toEqual([]);
    timers[0]!.fn();
    expect(sent).toEqual([[MessageType.MsgApp, MessageType.MsgHeartbeat]]);
    expect(f.delayedNow).toBe(0);
    // Without a way to send later, a delayed message is dropped (and a MsgSnap reported).
    const snaps: bigint[] = [];
    expect(f.outgoing([msg(3n, MessageType.MsgSnap)], (to) => snaps.push(to))).toEqual([]);
    expect(snaps).toEqual([3n]);
    f.delay([]);
    expect(f.active).toBe(false);
  });

  it('drops what would wait beyond MAX_DELAYED_MESSAGES', () => {
    const f = new PeerFaults(() => {});
    f.delay([[2n, 100]]);
    const many = Array.from({ length: MAX_DELAYED_MESSAGES + 5 }, () => msg(2n));
    f.outgoing(many, () => {}, () => {});
    expect([f.delayedNow, f.droppedOut]).toEqual([MAX_DELAYED_MESSAGES, 5]);
  });

  it('refuses a token shorter than 16 characters', () => {
    expect(() => peerFaultsRoute(new PeerFaults(), 'short')).toThrow(/at least 16/);
  });
});

describe('the route', () => {
  const token = 'a-test-token-of-some-length';
  const faults = new PeerFaults();
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer(peerFaultsRoute(faults, token));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/debug/raft/faults`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  const auth = { Authorization: `Bearer ${token}` };

  it('needs the token for reading and writing', async () => {
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { method: 'PUT', body: '{"blackhole":["2"]}', headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect(faults.active).toBe(false);
  });

  it('sets, shows and heals the blackhole', async () => {
    const put = await fetch(url, { method: 'PUT', headers: auth, body: JSON.stringify({ blackhole: ['1bef33307b05f8', 'a'] }) });
    expect(put.status).toBe(200);
    expect(faults.list()).toEqual([0xan, 0x1bef33307b05f8n]);
    expect(await (await fetch(url, { headers: auth })).json()).toMatchObject({ blackhole: ['a', '1bef33307b05f8'] });
    await fetch(url, { method: 'PUT', headers: auth, body: '{"blackhole":[]}' });
    expect(faults.active).toBe(false);
  });

  it('sets, shows and heals a delay', async () => {
    const put = await fetch(url, { method: 'PUT', headers: auth, body: JSON.stringify({ blackhole: [], delay: { b: 300 } }) });
    expect(put.status).toBe(200);
    expect(faults.delayList()).toEqual([[0xbn, 300]]);
    expect(await (await fetch(url, { headers: auth })).json()).toMatchObject({ blackhole: [], delay: { b: 300 } });
    await fetch(url, { method: 'PUT', headers: auth, body: '{"blackhole":[]}' });
    expect(faults.active).toBe(false);
  });

  it.each(['{"blackhole":[],"delay":{"b":0}}', '{"blackhole":[],"delay":{"b":60001}}', '{"blackhole":[],"delay":{"b":1.5}}', '{"blackhole":[],"delay":[["b",5]]}', '{"blackhole":[],"delay":{"xyz":5}}'])(
    'answers 400 to the delay %s and changes nothing',
    async (body) => {
      faults.blackhole([7n]);
      expect((await fetch(url, { method: 'PUT', headers: auth, body })).status).toBe(400);
      expect(faults.list()).toEqual([7n]);
      expect(faults.delayList()).toEqual([]);
    },
  );

  it.each(['{"blackhole":"a"}', '{"blackhole":["xyz"]}', '{"blackhole":["0"]}', 'nope', JSON.stringify({ blackhole: Array.from({ length: 65 }, (_, i) => (i + 1).toString(16)) })])(
    'answers 400 to %s and changes nothing',
    async (body) => {
      faults.blackhole([7n]);
      expect((await fetch(url, { method: 'PUT', headers: auth, body })).status).toBe(400);
      expect(faults.list()).toEqual([7n]);
    },
  );

  it('answers 413 to a body over 4 KiB, 405 to POST', async () => {
    expect((await fetch(url, { method: 'PUT', headers: auth, body: 'x'.repeat(5000) })).status).toBe(413);
    expect((await fetch(url, { method: 'POST', headers: auth, body: '{}' })).status).toBe(405);
  });
});
