// Peer transports on loopback: delivery, ordering, refusals, dead and returning peers, bounds.
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, type Message, type NodeId } from '../../src/raft/messages.js';
import { createPeerHandler, encodeBatch, TransportStats } from '../../src/transport/index.js';
import { MAX_CONCURRENT_SNAPSHOT_RECEIVES } from '../../src/transport/handler.js';
import { MessageQueue } from '../../src/transport/message-queue.js';
import { messageSizeBytes } from '../../src/transport/wire.js';
import { freePorts } from '../helpers/ports.js';
import { append, closeServer, listen, message, recordingLogger, sendThreeMemberTraffic, seqOf, startPeerServer, transport, useCleanups, url, waitFor, type LogLine } from './helpers.js';

const { cleanups, track } = useCleanups();

/**
 * A peer that accepts connections and reads requests but never answers (closed by the test's
 * cleanup); `onData` sees every chunk received.
 */
async function startSilentPeer(onData: (chunk: Buffer) => void = () => undefined): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const [port] = (await freePorts(1)) as [number];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', onData);
  });
  await listen(server, port);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  });
  return { port, sockets };
}

/** A TCP proxy on `port` to `target` that forwards what the client sends at about `bytesPerMs`. */
async function startSlowProxy(port: number, target: number, bytesPerMs: number): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      client.pause();
      upstream.write(chunk);
      setTimeout(() => client.resume(), Math.ceil(chunk.length / bytesPerMs));
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await listen(server, port);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  });
}

describe('PeerTransport on loopback', () => {
  it('delivers every message of three members, in order per sender', async () => {
    const [p1, p2, p3] = (await freePorts(3)) as [number, number, number];
    const s1 = track(await startPeerServer(1n, p1));
    const s2 = track(await startPeerServer(2n, p2));
    const s3 = track(await startPeerServer(3n, p3));
    const t1 = track(transport(1n, { 2: p2, 3: p3 }));
    const t2 = track(transport(2n, { 1: p1, 3: p3 }));
    const count = 3000;
    await sendThreeMemberTraffic(t1, t2, [s1, s2, s3], count);
    // Counters of the sender move when the 204 arrives, just after the receiver handed over the batch.
    await waitFor(() => t1.stats.peer(2n)!.sentMessages === count, 2000, 'the last answer');
    const expected = Array.from({ length: count }, (_, i) => i + 1);
    expect(seqOf(s2.received, 1n)).toEqual(expected);
    expect(seqOf(s3.received, 1n)).toEqual(expected);
    expect(seqOf(s3.received, 2n)).toEqual(expected);
    expect(s2.received[9]).toEqual(append(1n, 2n, 10));
    // Batching: far fewer requests than messages.
    expect(s2.requestBytes.length).toBeLessThan(count);
    // Both directions' counters agree.
    const sent = t1.stats.peer(2n)!;
    const recv = s2.stats.peer(1n)!;
    expect(sent.sentMessages).toBe(count);
    expect(sent.sentAppendRequests).toBe(count);
    expect(recv.receivedAppendRequests).toBe(count);
    expect(sent.sentBytes).toBe(recv.receivedBytes);
    expect(sent.sentBatches).toBe(recv.receivedBatches);
    expect(sent.latency.count).toBe(sent.sentBatches);
    expect(sent.latency.maximum).toBeGreaterThanOrEqual(sent.latency.minimum);
    expect(sent.sendFailures).toBe(0);
    expect(sent.droppedMessages).toBe(0);
  });

  it('sends large batches split within the body bound, all delivered in order', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const maxBodyBytes = 1024 * 1024;
    const s2 = track(await startPeerServer(2n, p2, { maxBodyBytes }));
    const roundTrips: number[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { limits: { maxBatchBytes: 512 * 1024, maxBodyBytes, maxQueueBytes: 32 * 1024 * 1024 }, onRoundTrip: (_id, ms) => roundTrips.push(ms) }));
    const count = 2000;
    for (let i = 1; i <= count; i++) t1.send([append(1n, 2n, i, 4, 1024)]);
    await waitFor(() => s2.received.length === count, 15_000, 'all large messages');
    expect(seqOf(s2.received, 1n)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(s2.requestBytes.length).toBeGreaterThanOrEqual(16);
    for (const bytes of s2.requestBytes) expect(bytes).toBeLessThanOrEqual(512 * 1024);
    // The last round trip completes when its 204 arrives, after the server handed over the messages.
    await waitFor(() => roundTrips.length === s2.requestBytes.length, 2000, 'every round trip');
    expect(s2.received[count - 1]).toEqual(append(1n, 2n, count, 4, 1024));
  });

  it('refuses a peer of another cluster on both sides', async () => {
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const logs1: LogLine[] = [];
    const logs2: LogLine[] = [];
    const s1 = track(await startPeerServer(1n, p1, { logger: recordingLogger(logs1) }));
    const s2 = track(await startPeerServer(2n, p2, { clusterId: 0xbadn, logger: recordingLogger(logs2) }));
    const unreachable1: NodeId[] = [];
    const unreachable2: NodeId[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { logger: recordingLogger(logs1), onUnreachable: (id) => unreachable1.push(id) }));
    const t2 = track(transport(2n, { 1: p1 }, { clusterId: 0xbadn, logger: recordingLogger(logs2), onUnreachable: (id) => unreachable2.push(id) }));
    t1.send([message(1n, 2n)]);
    t2.send([message(2n, 1n)]);
    await waitFor(() => unreachable1.length > 0 && unreachable2.length > 0, 5000, 'both senders to see the refusal');
    expect(s1.received).toHaveLength(0);
    expect(s2.received).toHaveLength(0);
    expect(t1.stats.peer(2n)!.sendFailures).toBeGreaterThan(0);
    expect(t1.isPeerActive(2n)).toBe(false);
    for (const logs of [logs1, logs2]) {
      expect(logs.some((l) => l.level === 'error' && l.message === 'request cluster ID mismatch')).toBe(true); // sender side
      expect(logs.some((l) => l.level === 'warn' && l.message === 'request cluster ID mismatch')).toBe(true); // receiver side
    }
    const res = await request(`${url(p1)}/raft/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-msgpack', 'x-etcd-cluster-id': 'bad', 'x-server-from': '2' },
      body: encodeBatch([message(2n, 1n)]),
    });
    expect(res.statusCode).toBe(412);
    expect(await res.body.text()).toContain('etcdserver: cluster ID mismatch');
    expect(res.headers['x-etcd-cluster-id']).toBe((0xcdf818194e).toString(16));
    expect(s1.received).toHaveLength(0);
  });

  it('reports a dead peer unreachable and backs off instead of retrying in a hot loop', async () => {
    const [deadPort] = (await freePorts(1)) as [number];
    // A peer that accepts connections and answers every request with 503, counting them.
    let attemptsSeen = 0;
    const dead = http.createServer((req, res) => {
      attemptsSeen++;
      req.resume();
      res.statusCode = 503;
      res.end('unavailable');
    });
    await listen(dead, deadPort);
    cleanups.push(() => closeServer(dead));
    const unreachable: number[] = [];
    const t1 = track(transport(1n, { 2: deadPort }, { limits: { backoffInitialMs: 100, backoffMaxMs: 400 }, onUnreachable: () => unreachable.push(Date.now()) }));
    // Raft keeps sending heartbeats every 10 ms for 2 s: 200 sends.
    const windowMs = 2000;
    const started = Date.now();
    while (Date.now() - started < windowMs) {
      t1.send([message(1n, 2n)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    // Attempts at about 0, 100, 300, 700, 1100, 1500, 1900 ms: a handful, not hundreds.
    expect(attemptsSeen).toBeGreaterThanOrEqual(3);
    expect(attemptsSeen).toBeLessThanOrEqual(10);
    expect(t1.attempts(2n)).toBe(attemptsSeen);
    expect(unreachable.length).toBeGreaterThanOrEqual(3);
    expect(unreachable.length).toBeLessThanOrEqual(attemptsSeen);
    const c = t1.stats.peer(2n)!;
    expect(c.sendFailures).toBe(attemptsSeen);
    expect(c.sentMessages).toBe(0);
  });

  it('bounds attempts to a peer with nothing listening', async () => {
    const [closedPort] = (await freePorts(1)) as [number];
    const unreachable: number[] = [];
    const t1 = track(transport(1n, { 2: closedPort }, { limits: { backoffInitialMs: 100, backoffMaxMs: 400 }, onUnreachable: () => unreachable.push(Date.now()) }));
    const started = Date.now();
    while (Date.now() - started < 1500) {
      t1.send([message(1n, 2n)]);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(t1.attempts(2n)).toBeGreaterThanOrEqual(2);
    expect(t1.attempts(2n)).toBeLessThanOrEqual(8);
    expect(unreachable.length).toBeGreaterThanOrEqual(2);
  });

  it('fails a request to a peer that never answers after the request timeout', async () => {
    const { port: hangPort } = await startSilentPeer();
    const unreachable: number[] = [];
    const logs: LogLine[] = [];
    const started = Date.now();
    const t1 = track(transport(1n, { 2: hangPort }, { logger: recordingLogger(logs), limits: { requestTimeoutMs: 300 }, onUnreachable: () => unreachable.push(Date.now() - started) }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => unreachable.length > 0, 3000, 'the timeout');
    expect(unreachable[0]).toBeGreaterThanOrEqual(250);
    expect(t1.isPeerActive(2n)).toBe(false);
    expect(logs.find((l) => l.level === 'warn')?.fields).toMatchObject({ peer: '2', reason: 'timeout' });
  });

  it('arms no timer of its own per request: the deadline is undici\'s (one per connection)', async () => {
    const received: Buffer[] = [];
    const { port: hangPort } = await startSilentPeer((chunk) => received.push(chunk));
    const t1 = track(transport(1n, { 2: hangPort }, { limits: { requestTimeoutMs: 5000 } }));
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    t1.send([message(1n, 2n)]);
    await waitFor(() => received.length > 0, 3000, 'the first request');
    const afterOne = timers();
    // Three more requests pipelined on the same connection, none answered.
    for (let i = 0; i < 3; i++) t1.send([message(1n, 2n)]);
    await waitFor(() => Buffer.concat(received).toString('latin1').split('POST /raft/messages').length - 1 >= 4, 3000, 'four requests');
    expect(timers()).toBeLessThanOrEqual(afterOne);
  });

  it('gives a large body the time its bytes take on a slow link: delivered once, no timeout, no re-send', async () => {
    const [p2, proxyPort] = (await freePorts(2)) as [number, number];
    const s2 = track(await startPeerServer(2n, p2, { maxBodyBytes: 4 * 1024 * 1024 }));
    // A link of about 2 MB/s: 1.5 MB take about 750 ms, well beyond the 300 ms request timeout.
    await startSlowProxy(proxyPort, p2, 2000);
    const logs: LogLine[] = [];
    const unreachable: bigint[] = [];
    const t1 = track(transport(1n, { 2: proxyPort }, { logger: recordingLogger(logs), limits: { requestTimeoutMs: 300, maxBodyBytes: 4 * 1024 * 1024, maxBatchBytes: 4 * 1024 * 1024 }, onUnreachable: (id) => unreachable.push(id) }));
    const big = append(1n, 2n, 1, 1, 1_500_000);
    const started = Date.now();
    t1.send([big]);
    await waitFor(() => s2.received.length > 0, 10_000, 'the large append');
    expect(Date.now() - started).toBeGreaterThan(300); // the link really was slower than the request timeout
    t1.send([message(1n, 2n)]);
    await waitFor(() => s2.received.length === 2, 10_000, 'the heartbeat behind it');
    expect(s2.requestBytes.length).toBe(2); // never re-sent
    const got = s2.received[0]?.entries[0]?.data ?? new Uint8Array();
    expect(Buffer.compare(got, big.entries[0]?.data ?? new Uint8Array())).toBe(0); // (not toEqual: 1.5M elements)
    expect(unreachable).toEqual([]);
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
    expect(t1.isPeerActive(2n)).toBe(true);
  });

  it('a heartbeat or a vote never waits behind a large append: appends have a connection of their own (as etcd\'s two streams)', async () => {
    const [p2, proxyPort] = (await freePorts(2)) as [number, number];
    const s2 = track(await startPeerServer(2n, p2, { maxBodyBytes: 4 * 1024 * 1024 }));
    await startSlowProxy(proxyPort, p2, 2000); // 1.5 MB take about 750 ms
    const t1 = track(transport(1n, { 2: proxyPort }, { limits: { maxBodyBytes: 4 * 1024 * 1024, maxBatchBytes: 4 * 1024 * 1024 } }));
    const started = Date.now();
    t1.send([append(1n, 2n, 1, 1, 1_500_000)]);
    t1.send([message(1n, 2n, { type: MessageType.MsgHeartbeat, commit: 0 })]);
    t1.send([message(1n, 2n, { type: MessageType.MsgVote, term: 3 })]);
    await waitFor(() => s2.received.length === 3, 10_000, 'all three messages');
    // the heartbeat and the vote arrived first, long before the append's bytes were through
    expect(s2.received.map((m) => m.type)).toEqual([MessageType.MsgHeartbeat, MessageType.MsgVote, MessageType.MsgApp]);
    expect(Date.now() - started).toBeGreaterThan(300);
  });

  it('delivers again to a peer that comes back', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const logs: LogLine[] = [];
    const unreachable: NodeId[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { logger: recordingLogger(logs), limits: { backoffInitialMs: 50, backoffMaxMs: 200 }, onUnreachable: (id) => unreachable.push(id) }));
    t1.send([message(1n, 2n, { commit: 1 })]);
    await waitFor(() => unreachable.length > 0, 3000, 'unreachable report');
    expect(t1.isPeerActive(2n)).toBe(false);

    const s2 = track(await startPeerServer(2n, p2));
    let seq = 2;
    await waitFor(
      () => {
        t1.send([message(1n, 2n, { commit: seq++ })]);
        return s2.received.length > 0;
      },
      5000,
      'delivery after the peer came back',
    );
    await waitFor(() => t1.isPeerActive(2n), 2000, 'the peer to be active');
    expect(logs.some((l) => l.message === 'peer became inactive (message send to peer failed)')).toBe(true);
    expect(logs.some((l) => l.message === 'peer became active')).toBe(true);
    const received = seqOf(s2.received, 1n);
    expect([...received].sort((a, b) => a - b)).toEqual(received);
  });

  it('drops and counts messages beyond the queue bound while a request is in flight', async () => {
    const { port: hangPort } = await startSilentPeer();
    const logs: LogLine[] = [];
    const t1 = track(transport(1n, { 2: hangPort }, { logger: recordingLogger(logs), limits: { maxQueueMessages: 100, requestTimeoutMs: 10_000, maxInflightRequests: 1 } }));
    // The first message leaves at once (and hangs); of the next 150, 100 queue and 50 are dropped.
    t1.send([message(1n, 2n)]);
    t1.send(Array.from({ length: 150 }, (_, i) => message(1n, 2n, { commit: i })));
    expect(t1.queuedMessages(2n)).toBe(100);
    expect(t1.stats.peer(2n)!.droppedMessages).toBe(50);
    expect(logs.filter((l) => l.message.startsWith('dropped raft messages')).length).toBe(1);
  });

  it('pipelines up to maxInflightRequests batches on one connection before any answer returns', async () => {
    let requestLines = 0;
    const { port: hangPort, sockets } = await startSilentPeer((d) => (requestLines += d.toString('latin1').split('POST /raft/messages').length - 1));
    const t1 = track(transport(1n, { 2: hangPort }, { limits: { requestTimeoutMs: 10_000, maxInflightRequests: 3 } }));
    for (let i = 0; i < 5; i++) {
      t1.send([message(1n, 2n, { commit: i })]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => requestLines === 3, 2000, 'three pipelined requests');
    await new Promise((r) => setTimeout(r, 100));
    // Never more than three in flight, all on one connection; the other two wait in the queue.
    expect(requestLines).toBe(3);
    expect(sockets.size).toBe(1);
    expect(t1.queuedMessages(2n)).toBe(2);
  });

  it('drops messages beyond the queue byte bound', async () => {
    const { port: hangPort } = await startSilentPeer();
    const t1 = track(transport(1n, { 2: hangPort }, { limits: { maxQueueBytes: 64 * 1024, maxBatchBytes: 64 * 1024, requestTimeoutMs: 10_000, maxInflightRequests: 1 } }));
    for (let i = 0; i < 40; i++) t1.send([append(1n, 2n, i, 1, 4096)]);
    // One in flight, 15 of ~4.2 KB fit in 64 KiB, the rest dropped.
    expect(t1.queuedMessages(2n)).toBe(15);
    expect(t1.stats.peer(2n)!.droppedMessages).toBe(24);
    await t1.close();
  });

  it('sends a snapshot on its own path and reports its outcome', async () => {
    const [p2, deadPort] = (await freePorts(2)) as [number, number];
    const s2 = track(await startPeerServer(2n, p2));
    const statuses: string[] = [];
    const t1 = track(transport(1n, { 2: p2, 3: deadPort }, { onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));
    const data = new Uint8Array(3 * 1024 * 1024).fill(7);
    const snap = message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { data, metadata: { index: 500, term: 3, confState: { voters: [1n, 2n, 3n], learners: [] } } } });
    t1.send([snap, message(1n, 2n, { commit: 1 }), message(1n, 3n, { type: MessageType.MsgSnap, snapshot: snap.snapshot! })]);
    await waitFor(() => statuses.length === 2, 10_000, 'both snapshot statuses');
    expect(statuses.sort()).toEqual(['2:finish', '3:failure']);
    const got = s2.received.find((m) => m.type === MessageType.MsgSnap)!;
    expect(got.snapshot!.metadata).toEqual(snap.snapshot!.metadata);
    expect(Buffer.compare(got.snapshot!.data, data)).toBe(0);
    expect(s2.received.some((m) => m.type === MessageType.MsgHeartbeat)).toBe(true);
  });

  it('streams a snapshot over the old 256 MB bound (a million 256-byte values) and delivers it whole', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2));
    const statuses: string[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));
    const data = new Uint8Array(300 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4093) data[i] = (i >>> 12) & 0xff;
    t1.send([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { data, metadata: { index: 1_000_000, term: 3, confState: { voters: [1n, 2n], learners: [] } } } })]);
    await waitFor(() => statuses.length === 1, 60_000, 'the snapshot status');
    expect(statuses).toEqual(['2:finish']);
    const got = s2.received.find((m) => m.type === MessageType.MsgSnap);
    expect(got?.snapshot?.metadata.index).toBe(1_000_000);
    expect(got?.snapshot?.data.byteLength).toBe(data.byteLength);
    expect(Buffer.compare(got?.snapshot?.data as Uint8Array, data)).toBe(0);
    // declared up front (the receiver reads it into one buffer of that length), one attempt; the
    // rest is the message's head (its four ids are msgpack uint64s, 9 bytes each)
    expect(s2.requestBytes).toHaveLength(1);
    expect((s2.requestBytes[0] as number) - data.byteLength).toBeGreaterThan(0);
    expect((s2.requestBytes[0] as number) - data.byteLength).toBeLessThan(96);
    expect(t1.attempts(2n)).toBe(1);
  }, 90_000);

  it('fails a snapshot larger than the bound without sending it', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2));
    const statuses: string[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { limits: { maxSnapshotBytes: 64 * 1024 }, onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));
    const snapshot = { data: new Uint8Array(128 * 1024), metadata: { index: 9, term: 1, confState: { voters: [1n, 2n], learners: [] } } };
    t1.send([message(1n, 2n, { type: MessageType.MsgSnap, snapshot })]);
    // Reported after send() returns, never from inside it.
    expect(statuses).toEqual([]);
    await waitFor(() => statuses.length === 1, 2000, 'the snapshot status');
    expect(statuses).toEqual(['2:failure']);
    expect(t1.attempts(2n)).toBe(0);
    expect(s2.received).toHaveLength(0);
  });

  it('takes a pino logger as its logger', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const [deadPort] = (await freePorts(1)) as [number];
    const t1 = track(transport(1n, { 2: deadPort }, { logger }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => lines.some((l) => l.includes('peer became inactive')), 3000, 'the log line');
    const line = JSON.parse(lines.find((l) => l.includes('peer became inactive'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, peer: '2', reason: 'connection' });
  });

  it('drops and counts messages to ids that are not peers', async () => {
    const t1 = track(transport(1n, {}));
    t1.send([message(1n, 9n), message(1n, 9n)]);
    expect(t1.unknownPeerDrops).toBe(2);
  });

  it('refuses local message types and messages not from this member, loudly', async () => {
    const t1 = track(transport(1n, {}));
    expect(() => t1.send([message(1n, 2n, { type: MessageType.MsgHup })])).toThrow(/local message/);
    expect(() => t1.send([message(3n, 2n)])).toThrow(/not from this member/);
  });

  it('carries a ReadIndex or transfer request a follower forwards with its original sender (as etcd-io/raft)', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2));
    const t1 = track(transport(1n, { 2: p2 }));
    const ctx = new Uint8Array([1, 2, 3]);
    t1.send([message(3n, 2n, { type: MessageType.MsgReadIndex, context: ctx }), message(3n, 2n, { type: MessageType.MsgTransferLeader })]);
    await waitFor(() => s2.received.length === 2, 5000, 'the forwarded requests');
    expect(s2.received.map((m) => [m.type, m.from])).toEqual([
      [MessageType.MsgReadIndex, 3n],
      [MessageType.MsgTransferLeader, 3n],
    ]);
    // Any other type from another member is still refused.
    expect(() => t1.send([message(3n, 2n, { type: MessageType.MsgApp })])).toThrow(/not from this member/);
  });

  it('stops cleanly: no sockets or timers left, later sends ignored', async () => {
    const resources = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout');
    const before = resources().length;
    const [p2, deadPort] = (await freePorts(2)) as [number, number];
    const s2 = await startPeerServer(2n, p2);
    const t1 = transport(1n, { 2: p2, 3: deadPort });
    for (let i = 1; i <= 200; i++) t1.send([message(1n, 2n, { commit: i }), message(1n, 3n)]);
    await waitFor(() => s2.received.length === 200, 5000, 'delivery');
    await waitFor(() => t1.attempts(3n) >= 1 && !t1.isPeerActive(3n), 5000, 'the dead peer to fail');
    await t1.close();
    // The transport, not the server, must close its keep-alive connections.
    const openConnections = () => new Promise<number>((resolve) => s2.server.getConnections((_err, n) => resolve(n)));
    const deadline = Date.now() + 2000;
    while ((await openConnections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await openConnections()).toBe(0);
    await s2.close();
    t1.send([message(1n, 2n)]);
    await waitFor(() => resources().length <= before, 2000, `handles to close (${resources().join(',')})`);
    expect(s2.received).toHaveLength(200);
  });
});

describe('peer handler', () => {
  async function post(port: number, path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
    const res = await request(`${url(port)}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-msgpack', 'x-etcd-cluster-id': (0xcdf818194e).toString(16), 'x-server-from': '1', ...headers },
      body,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  it('answers garbage with 400 and keeps serving', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const stats = new TransportStats();
    const s2 = track(await startPeerServer(2n, p2, { stats }));
    expect((await post(p2, '/raft/messages', Uint8Array.of(1, 2, 3, 0xc1))).status).toBe(400);
    expect((await post(p2, '/raft/messages', 'not msgpack at all')).status).toBe(400);
    expect((await post(p2, '/raft/messages', new Uint8Array(0))).status).toBe(400);
    // Valid encoding, wrong addressing: a message from another member than the header says, or to another member.
    expect((await post(p2, '/raft/messages', encodeBatch([message(3n, 2n)]))).status).toBe(400);
    expect((await post(p2, '/raft/messages', encodeBatch([message(1n, 3n)]))).status).toBe(400);
    expect((await post(p2, '/raft/messages', encodeBatch([message(1n, 2n, { type: MessageType.MsgSnap })]))).status).toBe(400);
    expect((await post(p2, '/raft/snapshot', encodeBatch([message(1n, 2n)]))).status).toBe(400);
    expect((await post(p2, '/raft/messages', encodeBatch([message(1n, 2n)]), { 'x-server-from': 'zz' })).status).toBe(400);
    expect((await post(p2, '/raft/messages', encodeBatch([message(1n, 2n)]), { 'content-type': 'application/json' })).status).toBe(415);
    expect(s2.received).toHaveLength(0);
    const ok = await post(p2, '/raft/messages', encodeBatch([message(1n, 2n, { commit: 7 })]));
    expect(ok.status).toBe(204);
    expect(s2.received).toEqual([message(1n, 2n, { commit: 7 })]);
    expect(stats.peer(1n)!.receivedMessages).toBe(1);
  });

  it('refuses bodies over the bound with 413', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2, { maxBodyBytes: 1024 }));
    expect((await post(p2, '/raft/messages', encodeBatch([append(1n, 2n, 1, 1, 4096)]))).status).toBe(413);
    // Without a Content-Length (chunked), the bound is enforced while reading.
    const res = await request(`${url(p2)}/raft/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-msgpack', 'x-etcd-cluster-id': (0xcdf818194e).toString(16), 'x-server-from': '1' },
      body: Readable.from(Array.from({ length: 8 }, () => Buffer.alloc(512))),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
    expect(s2.received).toHaveLength(0);
  });

  it('reads at most MAX_CONCURRENT_SNAPSHOT_RECEIVES snapshot bodies at once; another is answered 503', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2));
    const snap = message(1n, 2n, { type: MessageType.MsgSnap, term: 2, snapshot: { data: new Uint8Array(4096).fill(1), metadata: { index: 50, term: 2, confState: { voters: [1n, 2n], learners: [] } } } });
    const body = encodeBatch([snap]);
    // two senders that declare the whole body, send part of it and stall
    const stalled: net.Socket[] = [];
    for (let i = 0; i < MAX_CONCURRENT_SNAPSHOT_RECEIVES; i++) {
      const sock = net.connect(p2, '127.0.0.1');
      stalled.push(sock);
      sock.write(
        `POST /raft/snapshot HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-msgpack\r\nX-Etcd-Cluster-ID: ${(0xcdf818194e).toString(16)}\r\nX-Server-From: 1\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      sock.write(body.subarray(0, 100));
    }
    try {
      await new Promise((r) => setTimeout(r, 200));
      const third = await post(p2, '/raft/snapshot', body);
      expect(third.status).toBe(503);
      expect(s2.received).toHaveLength(0);
      // one stalled sender gives up: the next snapshot is read and delivered
      (stalled[0] as net.Socket).destroy();
      await new Promise((r) => setTimeout(r, 200));
      const fourth = await post(p2, '/raft/snapshot', body);
      expect(fourth.status).toBe(204);
      expect(s2.received.map((m) => m.type)).toEqual([MessageType.MsgSnap]);
    } finally {
      for (const sock of stalled) sock.destroy();
    }
  });

  it('answers methods, paths and the probe', async () => {
    const [p2] = (await freePorts(1)) as [number];
    track(await startPeerServer(2n, p2));
    const get = await request(`${url(p2)}/raft/messages`);
    expect(get.statusCode).toBe(405);
    await get.body.dump();
    const missing = await request(`${url(p2)}/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
    const probe = await request(`${url(p2)}/raft/probe`);
    expect(probe.statusCode).toBe(200);
    expect(await probe.body.json()).toEqual({ memberId: '2', clusterId: (0xcdf818194e).toString(16) });
  });

  it('answers 500 when the consumer throws, and the sender counts a failure', async () => {
    const [p2] = (await freePorts(1)) as [number];
    track(
      await startPeerServer(2n, p2, {
        onMessages: () => {
          throw new Error('raft loop is gone');
        },
      }),
    );
    const t1 = track(transport(1n, { 2: p2 }));
    t1.send([message(1n, 2n)]);
    await waitFor(() => t1.stats.peer(2n)!.sendFailures === 1, 3000, 'the failure');
    expect(t1.isPeerActive(2n)).toBe(false);
  });
});

/**
 * The reproduced attack body: `messages` MsgApps from 1 to 2, each of `perMessage` empty entries
 * of 6 bytes ([1, 1, 0, bin0]), written byte by byte.
 */
function hostileEmptyEntriesBody(messages: number, perMessage: number): Buffer {
  const body = Buffer.alloc(8 + messages * (19 + 6 * perMessage));
  let p = 0;
  for (const b of [0x92, 1, 0xdd]) body[p++] = b;
  body.writeUInt32BE(messages, p);
  p += 4;
  for (let m = 0; m < messages; m++) {
    for (const b of [0x9d, MessageType.MsgApp, 2, 1, 1, 1, 0, 0, 0xc2, 0, 0xdd]) body[p++] = b;
    body.writeUInt32BE(perMessage, p);
    p += 4;
    for (let e = 0; e < perMessage; e++) for (const b of [0x94, 1, 1, EntryType.Normal, 0xc4, 0]) body[p++] = b;
    for (const b of [0xc0, 0xc0, 0xc0]) body[p++] = b;
  }
  return body.subarray(0, p);
}

describe('entry bound per batch', () => {
  async function postRaw(port: number, body: Uint8Array) {
    const res = await request(`${url(port)}/raft/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-msgpack', 'x-etcd-cluster-id': (0xcdf818194e).toString(16), 'x-server-from': '1' },
      body,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  it('answers the 11 MB body of empty entries with 400 (or 413 under the default body bound), never calling onMessages', async () => {
    const [p2, p3] = (await freePorts(2)) as [number, number];
    let calls = 0;
    const onMessages = () => void calls++;
    const logs: LogLine[] = [];
    // The server's peer listener accepts 16 MiB bodies: the entry bound is what refuses this one.
    track(await startPeerServer(2n, p2, { maxBodyBytes: 16 * 1024 * 1024, onMessages, logger: recordingLogger(logs) }));
    track(await startPeerServer(3n, p3, { onMessages }));
    const body = hostileEmptyEntriesBody(1024, 1790);
    expect(body.length).toBeGreaterThan(10_900_000);
    const refused = await postRaw(p2, body);
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/entries exceeds 131072 \(maxEntriesPerBatch\)/);
    expect(logs.some((l) => l.message === 'rejected a malformed raft message batch')).toBe(true);
    expect((await postRaw(p3, body)).status).toBe(413);
    expect(calls).toBe(0);
    // Both keep serving.
    expect((await postRaw(p2, encodeBatch([message(1n, 2n)]))).status).toBe(204);
    expect(calls).toBe(1);
  });

  it('takes the bound from the handler option and validates it', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2, { maxEntriesPerBatch: 10 }));
    expect((await postRaw(p2, encodeBatch([append(1n, 2n, 1, 6, 4), append(1n, 2n, 2, 5, 4)]))).status).toBe(400);
    expect((await postRaw(p2, encodeBatch([append(1n, 2n, 1, 6, 4), append(1n, 2n, 2, 4, 4)]))).status).toBe(204);
    expect(s2.received).toHaveLength(2);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => createPeerHandler({ selfId: 2n, clusterId: 1n, onMessages: () => undefined, maxEntriesPerBatch: bad })).toThrow(RangeError);
      expect(() => transport(1n, {}, { limits: { maxEntriesPerBatch: bad } })).toThrow(/maxEntriesPerBatch/);
    }
  });

  it('closes a batch before it would exceed maxEntriesPerBatch', () => {
    const q = new MessageQueue({ maxMessages: 100, maxBytes: 1 << 30 });
    const counts = [40, 50, 11, 10, 100, 1, 0, 99];
    for (const n of counts) {
      const m = append(1n, 2n, 1, n, 0);
      q.push({ message: m, sizeBytes: messageSizeBytes(m), entries: n });
    }
    const batches: number[][] = [];
    while (q.length > 0) batches.push(q.takeBatch(1024, 1 << 30, 100).map((b) => b.entries));
    expect(batches).toEqual([[40, 50], [11, 10], [100], [1, 0, 99]]);
  });

  it('never sends a batch above maxEntriesPerBatch, many small MsgApps queued', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const maxEntriesPerBatch = 100;
    const batches: Message[][] = [];
    // The receiver has the same bound: a batch over it would be refused and counted as a failure.
    track(await startPeerServer(2n, p2, { maxEntriesPerBatch, onMessages: (msgs) => void batches.push(msgs) }));
    const t1 = track(transport(1n, { 2: p2 }, { limits: { maxEntriesPerBatch, maxInflightRequests: 1 } }));
    const sent: Message[] = [];
    for (let i = 1; i <= 600; i++) sent.push(append(1n, 2n, i, 1 + (i % 9), i % 3));
    const total = sent.reduce((n, m) => n + m.entries.length, 0);
    t1.send(sent); // queued together, then drained in batches
    await waitFor(() => batches.flat().length === sent.length, 10_000, 'every message');
    const entriesPer = batches.map((b) => b.reduce((n, m) => n + m.entries.length, 0));
    expect(Math.max(...entriesPer)).toBeLessThanOrEqual(maxEntriesPerBatch);
    // The entry bound, not the byte or message bounds, closed them: full to within one message.
    expect(entriesPer.slice(1, -1).every((n) => n > maxEntriesPerBatch - 9)).toBe(true);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(total / maxEntriesPerBatch));
    expect(batches.flat()).toEqual(sent);
    expect(t1.stats.peer(2n)!.sendFailures).toBe(0);
    expect(t1.stats.peer(2n)!.droppedMessages).toBe(0);
  });

  it('splits a MsgApp with more entries than a batch carries into consecutive MsgApps; drops any other such message', async () => {
    const [p2] = (await freePorts(1)) as [number];
    const maxEntriesPerBatch = 100;
    const s2 = track(await startPeerServer(2n, p2, { maxEntriesPerBatch }));
    const logs: LogLine[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { logger: recordingLogger(logs), limits: { maxEntriesPerBatch } }));
    const big = append(1n, 2n, 7, 250, 3);
    big.logTerm = 1;
    big.entries.forEach((e, i) => (e.term = i < 120 ? 1 : 2)); // a term change inside the second piece
    const prop = message(1n, 2n, { type: MessageType.MsgProp, entries: append(1n, 2n, 1, 101, 1).entries });
    t1.send([big, prop, message(1n, 2n, { commit: 99 })]);
    await waitFor(() => s2.received.length === 4, 5000, 'the pieces and the heartbeat');
    const pieces = s2.received.slice(0, 3);
    expect(pieces.map((m) => [m.type, m.entries.length, m.commit, m.term])).toEqual([
      [MessageType.MsgApp, 100, 7, 2],
      [MessageType.MsgApp, 100, 7, 2],
      [MessageType.MsgApp, 50, 7, 2],
    ]);
    // Each piece appends right after the previous one, as a raft leader's next MsgApp would.
    expect([pieces[0]!.index, pieces[0]!.logTerm]).toEqual([big.index, big.logTerm]);
    for (let k = 1; k < 3; k++) {
      const prev = pieces[k - 1]!.entries.at(-1)!;
      expect([pieces[k]!.index, pieces[k]!.logTerm]).toEqual([prev.index, prev.term]);
    }
    expect([pieces[1]!.logTerm, pieces[2]!.logTerm]).toEqual([1, 2]);
    expect(pieces.flatMap((m) => m.entries)).toEqual(big.entries);
    expect(s2.received[3]).toEqual(message(1n, 2n, { commit: 99 }));
    // The MsgProp (raft never sends one to a peer) is dropped and counted, loudly.
    expect(t1.stats.peer(2n)!.droppedMessages).toBe(1);
    expect(logs.filter((l) => l.level === 'error').map((l) => [l.message, l.fields])).toEqual([
      ['dropped a raft message with more entries than a peer request carries', { peer: '2', type: 'MsgProp', entries: 101, maxEntriesPerBatch: 100 }],
    ]);
    expect(logs.filter((l) => l.message.startsWith('split a MsgApp'))).toHaveLength(1);
  });
});
