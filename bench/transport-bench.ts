// Micro-benchmark of the peer transport on loopback: one-way MsgApp throughput (messages/s, MB/s)
// and the round trip of single small messages.
//   npx tsx bench/transport-bench.ts [--messages 200000] [--payload 128]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EntryType, MessageType, type Message } from '../src/raft/messages.js';
import { createPeerHandler, PeerTransport } from '../src/transport/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const total = arg('messages', 200_000);
const payloadBytes = arg('payload', 128);
const CLUSTER_ID = 0x1234n;

let received = 0;
let resolveDone: (() => void) | undefined;
let target = 0;
const handler = createPeerHandler({
  selfId: 2n,
  clusterId: CLUSTER_ID,
  onMessages: (msgs) => {
    received += msgs.length;
    if (received >= target) resolveDone?.();
  },
});
const server = http.createServer(handler);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as AddressInfo).port;
const t = new PeerTransport({ selfId: 1n, clusterId: CLUSTER_ID, peers: new Map([[2n, [`http://127.0.0.1:${port}`]]]), limits: { maxQueueMessages: 100_000 } });

function msgApp(i: number): Message {
  return {
    type: MessageType.MsgApp, to: 2n, from: 1n, term: 1, logTerm: 1, index: i, commit: i, reject: false, rejectHint: 0,
    entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: new Uint8Array(payloadBytes) }],
  };
}

async function runThroughput(): Promise<void> {
  received = 0;
  target = total;
  const done = new Promise<void>((r) => (resolveDone = r));
  const before = { ...t.stats.peer(2n)! };
  const started = performance.now();
  // Raft hands the transport a Ready's worth of messages at a time: send in chunks of 64, yielding between.
  for (let i = 0; i < total; i += 64) {
    const chunk: Message[] = [];
    for (let k = i; k < Math.min(total, i + 64); k++) chunk.push(msgApp(k));
    t.send(chunk);
    if (t.queuedMessages(2n) > 50_000) await new Promise((r) => setTimeout(r, 1));
    else await new Promise((r) => setImmediate(r));
  }
  await done;
  const s = (performance.now() - started) / 1000;
  const c = t.stats.peer(2n)!;
  const bytes = c.sentBytes - before.sentBytes;
  const requests = c.sentBatches - before.sentBatches;
  console.log(`one-way: ${total} MsgApp (${payloadBytes} B entries) in ${s.toFixed(2)} s = ${(total / s).toFixed(0)} msgs/s, ` +
    `${(bytes / s / 1e6).toFixed(1)} MB/s, ${requests} requests (avg ${(total / requests).toFixed(0)} msgs/request), dropped ${c.droppedMessages - before.droppedMessages}`);
}

async function runRoundTrips(n: number): Promise<void> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    received = 0;
    target = 1;
    const done = new Promise<void>((r) => (resolveDone = r));
    const started = performance.now();
    t.send([{ ...msgApp(i), type: MessageType.MsgHeartbeat, entries: [] }]);
    await done;
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  console.log(`single message delivery: p50 ${latencies[Math.floor(n / 2)]!.toFixed(3)} ms, p99 ${latencies[Math.floor(n * 0.99)]!.toFixed(3)} ms`);
}

await runThroughput();
await runThroughput();
await runRoundTrips(2000);
await t.close();
server.closeAllConnections();
server.close();
