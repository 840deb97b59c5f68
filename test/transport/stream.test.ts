// Raft streams on loopback (src/transport/stream.ts): delivery and order, acks and round trips,
// the fallback to POST for a peer without streams, a peer that stops acknowledging, refusals
// (a removed member, another cluster, a malformed or oversized frame), a peer that restarts, and
// the frame codec itself.
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../src/raft/messages.js';
import { encodeBatch, REFUSAL_REMOVED_MEMBER } from '../../src/transport/index.js';
import { closeAll, listenAll } from '../../src/server/listen.js';
import { parseMemberURL, type MemberURL } from '../../src/server/urls.js';
import {
  createPeerStreamHandler,
  decodeReply,
  encodeAck,
  encodeFrame,
  encodeRefusal,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameTooLargeError,
  STREAM_PATH,
  STREAM_PROTOCOL,
} from '../../src/transport/stream.js';
import { freePorts } from '../helpers/ports.js';
import { append, CLUSTER_ID, closeServer, listen, message, recordingLogger, sendThreeMemberTraffic, seqOf, startPeerServer, transport, useCleanups, waitFor, type LogLine } from './helpers.js';

const { cleanups, track } = useCleanups();

/** A raw stream client: upgrades, then hands back the socket and what it receives. */
async function rawStream(port: number, headers: Record<string, string>): Promise<{ status: number; socket: net.Socket; received: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: STREAM_PATH, method: 'GET', agent: false, headers: { connection: 'Upgrade', upgrade: STREAM_PROTOCOL, ...headers } });
    req.on('upgrade', (_res, socket, head) => {
      const received: Buffer[] = head.length > 0 ? [head] : [];
      socket.on('data', (c: Buffer) => received.push(c));
      socket.on('error', () => undefined);
      cleanups.push(async () => void socket.destroy());
      resolve({ status: 101, socket, received });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, socket: res.socket, received: [] });
    });
    req.on('error', reject);
    req.end();
  });
}

const headersFrom = (id: NodeId, clusterId = CLUSTER_ID): Record<string, string> => ({
  'x-etcd-cluster-id': clusterId.toString(16),
  'x-server-from': id.toString(16),
  'x-server-version': '2.3.8',
});

function replies(chunks: Buffer[]): ReturnType<typeof decodeReply>[] {
  const reader = new FrameReader(4096);
  return reader.push(Buffer.concat(chunks)).map(decodeReply);
}

describe('frames', () => {
  it('are cut the same whatever the chunks: at every byte boundary, several per chunk', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from(encodeBatch([message(1n, 2n)]))];
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(1024);
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))].map((f) => Buffer.from(f));
      expect(frames).toEqual(bodies);
      expect(reader.heldBytes).toBe(0);
    }
    // one byte at a time
    const reader = new FrameReader(1024);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...reader.push(stream.subarray(i, i + 1)).map((f) => Buffer.from(f)));
    expect(frames).toEqual(bodies);
  });

  it('refuses a frame whose declared length is over the bound before holding any of it', () => {
    const reader = new FrameReader(100);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(101, 0);
    expect(() => reader.push(header)).toThrow(FrameTooLargeError);
    expect(new FrameReader(100).push(encodeFrame(Buffer.alloc(100)))).toHaveLength(1);
  });

  it('acks and refusals decode back; anything else is refused', () => {
    const reader = new FrameReader(4096);
    const [ack, refusal] = reader.push(Buffer.concat([encodeAck(2 ** 32 + 5, 1234.4), encodeRefusal(410, 'removed member')]));
    expect(decodeReply(ack as Buffer)).toEqual({ kind: 'ack', count: 5, holdUs: 1234 });
    expect(decodeReply(refusal as Buffer)).toEqual({ kind: 'refusal', status: 410, text: 'removed member' });
    expect(() => decodeReply(Buffer.from([9, 1, 2]))).toThrow(/malformed reply frame/);
    expect(() => decodeReply(Buffer.from([1, 0, 0]))).toThrow(/malformed reply frame/);
  });
});

describe('raft streams on loopback', () => {
  it('deliver every message of three members in order per sender, on one stream per lane and no POST', async () => {
    const [p1, p2, p3] = (await freePorts(3)) as [number, number, number];
    const s1 = track(await startPeerServer(1n, p1));
    const s2 = track(await startPeerServer(2n, p2));
    const s3 = track(await startPeerServer(3n, p3));
    const logs: LogLine[] = [];
    const roundTrips: number[] = [];
    const t1 = track(transport(1n, { 2: p2, 3: p3 }, { streams: true, logger: recordingLogger(logs), onRoundTrip: (_id, ms) => roundTrips.push(ms) }));
    const t2 = track(transport(2n, { 1: p1, 3: p3 }, { streams: true }));
    const count = 3000;
    await sendThreeMemberTraffic(t1, t2, [s1, s2, s3], count);
    // the sender counts a batch as sent when the receiver acknowledges it
    await waitFor(() => t1.stats.peer(2n)?.sentMessages === count && t1.stats.peer(3n)?.sentMessages === count, 2000, 'the acks');
    const expected = Array.from({ length: count }, (_, i) => i + 1);
    expect(seqOf(s2.received, 1n)).toEqual(expected);
    expect(seqOf(s3.received, 1n)).toEqual(expected);
    expect(seqOf(s3.received, 2n)).toEqual(expected);
    expect(s2.received[9]).toEqual(append(1n, 2n, 10));
    // one stream per lane that had something to send: appends to 2, the rest to 3 (t1); to 3 and to 1 (t2)
    expect([s1.streamsOpened, s2.streamsOpened, s3.streamsOpened]).toEqual([1, 1, 2]);
    expect([...s1.requestBytes, ...s2.requestBytes, ...s3.requestBytes]).toEqual([]);
    expect(t1.attempts(2n) + t1.attempts(3n)).toBe(2);
    expect(logs.filter((l) => l.message === 'established TCP streaming connection with remote peer')).toHaveLength(2);
    // both ends agree
    const sent = t1.stats.peer(2n)!;
    const recv = s2.stats.peer(1n)!;
    expect(sent.sentAppendRequests).toBe(count);
    expect(recv.receivedAppendRequests).toBe(count);
    expect(sent.sentBytes).toBe(recv.receivedBytes);
    expect(sent.sentBatches).toBe(recv.receivedBatches);
    expect(sent.sendFailures).toBe(0);
    expect(sent.droppedMessages).toBe(0);
    // round trips measured by the acks: loopback answers in well under the 3 s request timeout
    expect(roundTrips.length).toBeGreaterThan(2);
    expect(Math.max(...roundTrips)).toBeLessThan(3000);
    expect(sent.latency.count).toBe(sent.sentBatches);
  });

  it('fall back to POST for a peer without streams (an earlier release answers the upgrade 404)', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2, {}, false));
    const logs: LogLine[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { streams: true, logger: recordingLogger(logs) }));
    for (let i = 1; i <= 200; i++) t1.send([message(1n, 2n, { commit: i })]);
    await waitFor(() => s2.received.length === 200, 5000, 'all messages by POST');
    expect(seqOf(s2.received, 1n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(s2.requestBytes.length).toBeGreaterThan(0);
    expect(logs.some((l) => l.message === 'peer has no raft stream: sending its messages by POST')).toBe(true);
    // no failure: the peer is healthy
    expect(t1.isPeerActive(2n)).toBe(true);
    expect(t1.stats.peer(2n)?.sendFailures ?? 0).toBe(0);
  });

  it('end after requestTimeoutMs without an ack (a peer that stopped reading): unreachable, then asked again', async () => {
    // a peer that takes the upgrade and reads, but never acknowledges (as a SIGSTOPped or cut-off one)
    const [port] = (await freePorts(1)) as [number];
    let upgrades = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('data', () => {
        upgrades++;
        s.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\nx-etcd-cluster-id: ${CLUSTER_ID.toString(16)}\r\n\r\n`);
      });
    });
    await listen(server, port);
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    });
    const unreachable: NodeId[] = [];
    const logs: LogLine[] = [];
    const t1 = track(transport(1n, { 2: port }, { streams: true, logger: recordingLogger(logs), limits: { requestTimeoutMs: 300 }, onUnreachable: (id) => unreachable.push(id) }));
    t1.send([message(1n, 2n), message(1n, 2n)]);
    await waitFor(() => unreachable.length > 0, 3000, 'the peer reported unreachable');
    expect(t1.isPeerActive(2n)).toBe(false);
    expect(t1.stats.peer(2n)?.droppedMessages).toBe(2);
    const lost = logs.find((l) => l.message === 'lost TCP streaming connection with remote peer');
    expect(lost?.fields).toMatchObject({ reason: 'timeout', lostMessages: 2 });
    // the next message asks for a stream again, after the backoff
    t1.send([message(1n, 2n)]);
    await waitFor(() => upgrades >= 2, 3000, 'a second upgrade');
  });

  it('a removed member is refused with 410 on its stream, and told so', async () => {
    const [p2] = (await freePorts(1)) as [number];
    track(await startPeerServer(2n, p2, { onMessages: () => REFUSAL_REMOVED_MEMBER }));
    const removedBy: NodeId[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { streams: true, onRemovedByPeer: (id) => removedBy.push(id) }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => removedBy.length > 0, 3000, 'onRemovedByPeer');
    expect(removedBy[0]).toBe(2n);
    expect(t1.isPeerActive(2n)).toBe(false);
  });

  it('another cluster is refused at the upgrade with 412, and nothing is delivered', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const logs: LogLine[] = [];
    const s2 = track(await startPeerServer(2n, p2, { clusterId: CLUSTER_ID + 1n }));
    const t1 = track(transport(1n, { 2: p2 }, { streams: true, logger: recordingLogger(logs) }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => logs.some((l) => l.message === 'request cluster ID mismatch'), 3000, 'the mismatch logged');
    expect(s2.received).toHaveLength(0);
    const raw = await rawStream(p2, headersFrom(1n));
    expect(raw.status).toBe(412);
  });

  it('the receiver checks each frame as a POST body: a forged sender, garbage, an oversized frame are refused and the stream closed', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2, { maxBodyBytes: 64 * 1024 }));
    // a message from 3 on a stream opened as 1: refused 400 (addressing), nothing delivered
    const forged = await rawStream(p2, headersFrom(1n));
    expect(forged.status).toBe(101);
    forged.socket.write(encodeFrame(encodeBatch([message(3n, 2n)])));
    await waitFor(() => forged.socket.destroyed || forged.socket.readableEnded, 3000, 'the stream closed');
    expect(replies(forged.received)).toEqual([{ kind: 'refusal', status: 400, text: expect.stringMatching(/message from 3 in a request from 1/) as unknown as string }]);
    const garbage = await rawStream(p2, headersFrom(1n));
    garbage.socket.write(encodeFrame(Buffer.from('not msgpack at all')));
    await waitFor(() => garbage.received.length > 0, 3000, 'a refusal');
    expect(replies(garbage.received)[0]).toMatchObject({ kind: 'refusal', status: 400 });
    const big = await rawStream(p2, headersFrom(1n));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 + 1, 0);
    big.socket.write(header);
    await waitFor(() => big.received.length > 0, 3000, 'a refusal');
    expect(replies(big.received)[0]).toMatchObject({ kind: 'refusal', status: 413 });
    expect(s2.received).toHaveLength(0);
    // a good frame is taken and acknowledged
    const good = await rawStream(p2, headersFrom(1n));
    good.socket.write(encodeFrame(encodeBatch([message(1n, 2n, { commit: 7 })])));
    await waitFor(() => good.received.length > 0, 3000, 'an ack');
    expect(replies(good.received)[0]).toMatchObject({ kind: 'ack', count: 1 });
    expect(s2.received.map((m) => m.commit)).toEqual([7]);
    // an upgrade without the headers of a member is refused as a POST would be
    expect((await rawStream(p2, { 'x-etcd-cluster-id': CLUSTER_ID.toString(16) })).status).toBe(400);
  });

  it('reconnect to a peer that restarted on the same port, and go on in order', async () => {
    const [p2] = (await freePorts(1)) as [number];
    let s2 = await startPeerServer(2n, p2);
    const t1 = track(transport(1n, { 2: p2 }, { streams: true, limits: { backoffInitialMs: 20, backoffMaxMs: 50 } }));
    for (let i = 1; i <= 10; i++) t1.send([message(1n, 2n, { commit: i })]);
    await waitFor(() => s2.received.length === 10, 3000, 'the first ten');
    await s2.close();
    s2 = track(await startPeerServer(2n, p2));
    // what is sent while the old stream is found dead may be lost (raft retransmits): send until delivered
    let i = 11;
    const deadline = Date.now() + 5000;
    while (s2.received.length === 0 && Date.now() < deadline) {
      t1.send([message(1n, 2n, { commit: i++ })]);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let k = 0; k < 5; k++) t1.send([message(1n, 2n, { commit: i++ })]);
    await waitFor(() => s2.received.length > 0 && (s2.received.at(-1) as Message).commit === i - 1, 3000, 'the last after the restart');
    const seqs = s2.received.map((m) => m.commit);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(s2.streamsOpened).toBe(1);
  });

  it("a member's listener cuts its streams when it closes (it does not wait for the peers to hang up)", async () => {
    const [port] = (await freePorts(1)) as [number];
    const url = parseMemberURL(`http://127.0.0.1:${port}`) as MemberURL;
    const received: Message[] = [];
    const upgrade = createPeerStreamHandler({ selfId: 2n, clusterId: CLUSTER_ID, serverVersion: '2.3.8', maxFrameBytes: 1 << 20, maxBatchMessages: 1024, onMessages: (m) => void received.push(...m) });
    const listeners = await listenAll([url], (_req, res) => res.end(), { onUpgrade: upgrade });
    const t1 = track(transport(1n, { 2: port }, { streams: true }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => received.length === 1 && upgrade.openStreams === 1, 3000, 'an open stream');
    const started = Date.now();
    await closeAll(listeners);
    expect(Date.now() - started).toBeLessThan(2000);
    await waitFor(() => upgrade.openStreams === 0, 1000, 'the stream closed');
  });
});
