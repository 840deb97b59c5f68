// Snapshots sent as their files (peer-sender.ts sendSnapshotFile, handler.ts receiveFile): a
// MsgSnap whose data is a reference to its snapshot file (src/storage/snapshot-ref.ts) is sent as
// the MsgSnap without data followed by the file as it is on disk; the receiver writes the file as
// it arrives. Neither side holds the snapshot: a file of 256 MB crosses with the process's buffers
// growing by a fraction of it. A receiver of a release from before answers 415 and is sent the
// state in one body; a file that is not what the message announces is refused.
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../src/raft/messages.js';
import { crc32 } from '../../src/storage/crc32.js';
import { openSnapshotFiles, SNAPSHOT_HEADER_BYTES, snapFileName, type SnapshotFiles } from '../../src/storage/snap-files.js';
import { isSnapshotRef, snapshotRef } from '../../src/storage/snapshot-ref.js';
import { SnapshotReceiveError } from '../../src/storage/index.js';
import { encodeBatch, SnapshotFileRefused } from '../../src/transport/index.js';
import type { SnapshotFileSource } from '../../src/transport/peer-sender.js';
import { SNAPSHOT_FILE_CONTENT_TYPE } from '../../src/transport/protocol.js';
import { freePorts } from '../helpers/ports.js';
import { makeTempDir, removeDir } from '../storage/helpers.js';
import { CLUSTER_ID, message, recordingLogger, startPeerServer, transport, url, useCleanups, waitFor, type LogLine } from './helpers.js';

const MB = 1024 * 1024;
const META = { index: 150, term: 3, confState: { voters: [1n, 2n], learners: [] } };
let tmp: string;
const { track } = useCleanups();

beforeEach(async () => {
  tmp = await makeTempDir('etcd-ts-snapsend-');
});
afterEach(async () => {
  await removeDir(tmp);
});

/**
 * Writes a snapshot file of `chunks` MB of data straight to disk, a MB at a time (never the whole
 * in memory): only its header and checksum are checked on the way, as the transport does.
 */
async function writeLargeSnapFile(dir: string, term: number, index: number, chunks: number): Promise<number> {
  await fs.mkdir(dir, { recursive: true });
  const chunk = (i: number): Buffer => Buffer.alloc(MB, (i * 31) & 0xff);
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  header.write('ETCDTSNP', 0, 'latin1');
  header.writeUInt32BE(1, 8);
  header.writeBigUInt64BE(BigInt(term), 12);
  header.writeBigUInt64BE(BigInt(index), 20);
  header.writeBigUInt64BE(BigInt(chunks * MB), 28);
  let crc = crc32(header.subarray(0, SNAPSHOT_HEADER_BYTES - 4));
  for (let i = 0; i < chunks; i++) crc = crc32(chunk(i), crc);
  header.writeUInt32BE(crc, SNAPSHOT_HEADER_BYTES - 4);
  const handle = await fs.open(path.join(dir, snapFileName(term, index)), 'w');
  try {
    await handle.write(header);
    for (let i = 0; i < chunks; i++) await handle.write(chunk(i));
  } finally {
    await handle.close();
  }
  return SNAPSHOT_HEADER_BYTES + chunks * MB;
}

function source(files: SnapshotFiles): SnapshotFileSource {
  return {
    openRead: (term, index) => files.openRead(term, index),
    readData: async (term, index) => {
      const { loaded } = await files.load((i) => i.term === term && i.index === index);
      if (loaded === null) throw new Error('no such file');
      return loaded.data;
    },
  };
}

/** A receiver that writes the file to its own snapshot directory, as a member does, recording the largest chunk. */
function fileReceiver(files: SnapshotFiles, seen: { largest: number; refs: Uint8Array[] }) {
  return async (m: Message, bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<Message> => {
    const meta = m.snapshot?.metadata;
    if (meta === undefined) throw new Error('no snapshot');
    async function* watched(): AsyncGenerator<Uint8Array> {
      for await (const c of chunks) {
        seen.largest = Math.max(seen.largest, c.length);
        yield c;
      }
    }
    try {
      await files.receive(meta.term, meta.index, bytes, watched());
    } catch (err) {
      throw err instanceof SnapshotReceiveError ? new SnapshotFileRefused(err.message) : err;
    }
    const ref = snapshotRef(bytes - SNAPSHOT_HEADER_BYTES);
    seen.refs.push(ref);
    return { ...m, snapshot: { metadata: meta, data: ref } };
  };
}

async function sameFiles(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fs.open(a, 'r'), fs.open(b, 'r')]);
  try {
    const bx = Buffer.alloc(MB);
    const by = Buffer.alloc(MB);
    for (let at = 0; ; at += MB) {
      const [rx, ry] = await Promise.all([x.read(bx, 0, MB, at), y.read(by, 0, MB, at)]);
      if (rx.bytesRead !== ry.bytesRead) return false;
      if (rx.bytesRead === 0) return true;
      if (!bx.subarray(0, rx.bytesRead).equals(by.subarray(0, ry.bytesRead))) return false;
    }
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
}

describe('snapshots sent as their files', () => {
  it('a 256 MB snapshot file crosses without either side holding it', async () => {
    const senderDir = path.join(tmp, 'sender');
    const receiverDir = path.join(tmp, 'receiver');
    const fileBytes = await writeLargeSnapFile(senderDir, 3, 150, 256);
    const sender = await openSnapshotFiles(senderDir);
    const receiver = await openSnapshotFiles(receiverDir);
    const [p2] = (await freePorts(1)) as [number];
    const seen = { largest: 0, refs: [] as Uint8Array[] };
    const s2 = track(await startPeerServer(2n, p2, { receiveSnapshotFile: fileReceiver(receiver, seen) }));
    const statuses: string[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { snapshotFiles: source(sender), onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));

    const before = process.memoryUsage();
    let peakBuffers = before.arrayBuffers;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
      peakRss = Math.max(peakRss, now.rss);
    }, 10);
    try {
      t1.send([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: snapshotRef(fileBytes - SNAPSHOT_HEADER_BYTES) } })]);
      await waitFor(() => statuses.length === 1, 60_000, 'the snapshot status');
    } finally {
      clearInterval(sampler);
    }
    expect(statuses).toEqual(['2:finish']);
    // The receiver got the message with the reference it made, and the file, byte for byte.
    const got = s2.received.find((m) => m.type === MessageType.MsgSnap);
    expect(got?.snapshot?.metadata).toEqual(META);
    expect(got?.snapshot?.data).toBe(seen.refs[0]);
    expect(isSnapshotRef(got?.snapshot?.data as Uint8Array)).toBe(true);
    expect(await sameFiles(path.join(senderDir, snapFileName(3, 150)), path.join(receiverDir, `${snapFileName(3, 150)}.recv.tmp`))).toBe(true);
    // one request: the u32 length and the MsgSnap without data, then the file
    expect(s2.requestBytes).toHaveLength(1);
    expect((s2.requestBytes[0] as number) - fileBytes).toBeGreaterThan(4);
    expect((s2.requestBytes[0] as number) - fileBytes).toBeLessThan(128);
    // Memory: the chunks the receiver was handed are the request's (tens of KB), and the whole
    // process (sender and receiver) grew its buffers by a fraction of the file, not by the file.
    expect(seen.largest).toBeLessThanOrEqual(MB);
    const grownBuffers = peakBuffers - before.arrayBuffers;
    expect(grownBuffers, `buffers grew by ${Math.round(grownBuffers / MB)} MB for a ${Math.round(fileBytes / MB)} MB file`).toBeLessThan(96 * MB);
    expect(peakRss - before.rss, `RSS grew by ${Math.round((peakRss - before.rss) / MB)} MB`).toBeLessThan(160 * MB);
  }, 90_000);

  it('a receiver from before snapshot files answers 415: the next attempt sends the state in one body', async () => {
    const senderDir = path.join(tmp, 'sender');
    const sender = await openSnapshotFiles(senderDir);
    const state = Buffer.alloc(200_000, 5);
    await sender.save(3, 150, state);
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2)); // no receiveSnapshotFile: a release from before
    const statuses: string[] = [];
    const lines: LogLine[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { logger: recordingLogger(lines), snapshotFiles: source(sender), onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));
    const snap = message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: snapshotRef(state.length) } });
    t1.send([snap]);
    await waitFor(() => statuses.length === 1, 10_000, 'the first status');
    expect(statuses).toEqual(['2:failure']);
    expect(lines.some((l) => l.message === 'peer takes no snapshot files: sending it snapshots in one body')).toBe(true);
    t1.send([snap]);
    await waitFor(() => statuses.length === 2, 10_000, 'the second status');
    expect(statuses).toEqual(['2:failure', '2:finish']);
    const got = s2.received.find((m) => m.type === MessageType.MsgSnap);
    expect(got?.snapshot?.metadata).toEqual(META);
    expect(Buffer.from(got?.snapshot?.data as Uint8Array).equals(state)).toBe(true);
  });

  it('refuses a file that is not the one the message announces (400), and keeps nothing of it', async () => {
    const senderDir = path.join(tmp, 'sender');
    const receiverDir = path.join(tmp, 'receiver');
    const sender = await openSnapshotFiles(senderDir);
    await sender.save(3, 149, Buffer.alloc(50_000, 1)); // the message says 150
    await fs.rename(path.join(senderDir, snapFileName(3, 149)), path.join(senderDir, snapFileName(3, 150)));
    const receiver = await openSnapshotFiles(receiverDir);
    const [p2] = (await freePorts(1)) as [number];
    const lines: LogLine[] = [];
    const s2 = track(await startPeerServer(2n, p2, { receiveSnapshotFile: fileReceiver(receiver, { largest: 0, refs: [] }), logger: recordingLogger(lines) }));
    const statuses: string[] = [];
    const t1 = track(transport(1n, { 2: p2 }, { snapshotFiles: source(sender), onSnapshotStatus: (id, status) => statuses.push(`${id}:${status}`) }));
    t1.send([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: snapshotRef(50_000) } })]);
    await waitFor(() => statuses.length === 1, 10_000, 'the status');
    expect(statuses).toEqual(['2:failure']);
    expect(s2.received).toHaveLength(0);
    expect(lines.some((l) => l.message === 'rejected a malformed snapshot' && /index 149 \(term 3\), the message says index 150/.test(JSON.stringify(l.fields)))).toBe(true);
    expect(await fs.readdir(receiverDir)).toEqual([]);
  });

  it('answers a malformed snapshot-file request with etcd-style statuses and keeps serving', async () => {
    const receiver = await openSnapshotFiles(path.join(tmp, 'receiver'));
    const [p2] = (await freePorts(1)) as [number];
    const s2 = track(await startPeerServer(2n, p2, { receiveSnapshotFile: fileReceiver(receiver, { largest: 0, refs: [] }), maxSnapshotBytes: 1 * MB }));
    const headers = { 'content-type': SNAPSHOT_FILE_CONTENT_TYPE, 'x-etcd-cluster-id': CLUSTER_ID.toString(16), 'x-server-from': '1' };
    const post = async (body: Uint8Array | Readable, extra: Record<string, string> = {}): Promise<{ status: number; text: string }> => {
      const res = await request(`${url(p2)}/raft/snapshot`, { method: 'POST', headers: { ...headers, ...extra }, body });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const withHead = (head: Uint8Array, rest: Uint8Array): Uint8Array => {
      const out = new Uint8Array(4 + head.length + rest.length);
      new DataView(out.buffer).setUint32(0, head.length);
      out.set(head, 4);
      out.set(rest, 4 + head.length);
      return out;
    };
    const snapHead = encodeBatch([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: new Uint8Array(0) } })]);
    // another cluster
    expect((await post(withHead(snapHead, new Uint8Array(100)), { 'x-etcd-cluster-id': 'abc' })).status).toBe(412);
    // a length beyond the body, garbage for a message, a message that is not a MsgSnap, one with data, one to another member
    expect((await post(Uint8Array.of(0, 0, 0xff, 0xff, 1, 2, 3))).status).toBe(400);
    expect((await post(withHead(Uint8Array.of(0xc1, 0xc1), new Uint8Array(100)))).status).toBe(400);
    expect((await post(withHead(encodeBatch([message(1n, 2n)]), new Uint8Array(100)))).text).toMatch(/exactly one MsgSnap/);
    expect((await post(withHead(encodeBatch([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: Uint8Array.of(1) } })]), new Uint8Array(100)))).text).toMatch(/carries no data/);
    expect((await post(withHead(encodeBatch([message(1n, 3n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: new Uint8Array(0) } })]), new Uint8Array(100)))).status).toBe(400);
    // the file itself is not a snapshot file
    const refused = await post(withHead(snapHead, new Uint8Array(100)));
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/bad magic/);
    // no Content-Length (chunked): 411; over maxSnapshotBytes: 413
    async function* chunked(): AsyncGenerator<Uint8Array> {
      yield withHead(snapHead, new Uint8Array(10));
    }
    expect((await post(Readable.from(chunked()))).status).toBe(411);
    expect((await post(withHead(snapHead, new Uint8Array(2 * MB)))).status).toBe(413);
    expect(s2.received).toHaveLength(0);
    expect(await fs.readdir(receiver.dir)).toEqual([]);
  });

  it('a transfer cut off half way leaves nothing behind, and the next one is taken whole', async () => {
    const senderDir = path.join(tmp, 'sender');
    const sender = await openSnapshotFiles(senderDir);
    await sender.save(3, 150, Buffer.alloc(4 * MB, 9));
    const file = await fs.readFile(path.join(senderDir, snapFileName(3, 150)));
    const receiver = await openSnapshotFiles(path.join(tmp, 'receiver'));
    const [p2] = (await freePorts(1)) as [number];
    const seen = { largest: 0, refs: [] as Uint8Array[] };
    const lines: LogLine[] = [];
    const s2 = track(await startPeerServer(2n, p2, { receiveSnapshotFile: fileReceiver(receiver, seen), logger: recordingLogger(lines) }));
    const head = encodeBatch([message(1n, 2n, { type: MessageType.MsgSnap, term: 3, snapshot: { metadata: META, data: new Uint8Array(0) } })]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(head.length);
    const body = Buffer.concat([length, head, file]);
    const sock = net.connect(p2, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write(
      `POST /raft/snapshot HTTP/1.1\r\nHost: x\r\nContent-Type: ${SNAPSHOT_FILE_CONTENT_TYPE}\r\nX-Etcd-Cluster-ID: ${CLUSTER_ID.toString(16)}\r\nX-Server-From: 1\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    sock.write(body.subarray(0, body.length >> 1));
    await waitFor(() => seen.largest > 0, 5000, 'the receiver to start writing');
    sock.destroy();
    // the half-written file goes; nothing reaches raft
    const dir = receiver.dir;
    const deadline = Date.now() + 5000;
    while ((await fs.readdir(dir)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await fs.readdir(dir)).toEqual([]);
    expect(s2.received).toHaveLength(0);
    // the sender's raft sends it again: taken whole
    const res = await request(`${url(p2)}/raft/snapshot`, {
      method: 'POST',
      headers: { 'content-type': SNAPSHOT_FILE_CONTENT_TYPE, 'x-etcd-cluster-id': CLUSTER_ID.toString(16), 'x-server-from': '1' },
      body,
    });
    expect(res.statusCode).toBe(204);
    await res.body.dump();
    expect(s2.received.map((m) => m.type)).toEqual([MessageType.MsgSnap]);
    expect(await fs.readdir(dir)).toEqual([`${snapFileName(3, 150)}.recv.tmp`]);
  });
});
