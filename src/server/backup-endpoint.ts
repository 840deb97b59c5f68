// GET /members/backup on the peer port: a running member's consistent copy of its data dir, for
// `etcd-ts backup --endpoint` (LevelDB locks the data dir, so no other process can open it).
//
//   1. Unless ?quorum=false, the member confirms its commit index with a quorum (a ReadIndex round,
//      as a quorum=true read) and waits until it has applied it: every write acknowledged before
//      the request arrived is then in its log, durable (an entry is applied only after the batch
//      holding it was fsynced). No quorum within the member's request timeout: 503.
//   2. It opens one LevelDB iterator over the whole data dir: the iterator reads from the snapshot
//      LevelDB took when it was created, so the copy is the data dir as it was at one instant
//      (a batch is in it whole or not at all), while the member goes on writing.
//   3. It streams the records (backup-stream.ts) in chunks of BACKUP_CHUNK_RECORDS, waiting for
//      the socket to drain between chunks: memory stays bounded and the member is not stalled
//      (the event loop only serialises one chunk at a time).
// Only a caller that can read the data dir gets a copy: the request must carry the token the member
// wrote to <data-dir>/member/backup-token at start (HEADER_BACKUP_TOKEN), else 403.
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { sameToken } from './tokens.js';
import type { Logger } from 'pino';
import { HEADER_CLUSTER_ID } from '../transport/protocol.js';
import { BACKUP_CHUNK_RECORDS, type RaftLogStore } from '../storage/index.js';
import { BACKUP_PATH, HEADER_BACKUP_TOKEN, encodeEnd, encodeRecord, HEADER_BACKUP_DATA_DIR, HEADER_BACKUP_INDEX, HEADER_BACKUP_MEMBER, HEADER_BACKUP_QUORUM } from './backup-stream.js';

export interface BackupEndpointMember {
  readonly clusterId: string;
  readonly self: { id: string; name: string };
  readBarrier(): Promise<void>;
  raftStatus(): { applied: number };
}

export interface BackupEndpointOptions {
  member: BackupEndpointMember;
  log: () => RaftLogStore | undefined;
  dataDir: string;
  /** This run's token (written to the data dir); undefined until written: every copy is refused. */
  token: () => string | undefined;
  logger: Logger;
}

/** Serves GET /members/backup; returns false (touching nothing) for any other path. */
export function backupEndpoint(o: BackupEndpointOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== BACKUP_PATH) return false;
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return true;
    }
    const given = req.headers[HEADER_BACKUP_TOKEN];
    if (!sameToken(typeof given === 'string' ? given : undefined, o.token())) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('etcd-ts: a backup needs the token in the member\'s data dir (run etcd-ts backup where --data-dir is readable)\n');
      return true;
    }
    const quorum = new URLSearchParams(q === -1 ? '' : url.slice(q + 1)).get('quorum') !== 'false';
    void serve(o, quorum, req, res).catch((err: unknown) => {
      o.logger.warn({ err }, 'backup: the copy failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`etcd-ts: backup failed: ${(err as Error).message}\n`);
      else res.destroy();
    });
    return true;
  };
}

async function serve(o: BackupEndpointOptions, quorum: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  if (quorum) {
    try {
      await o.member.readBarrier();
    } catch (err: unknown) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(
        `etcd-ts: member ${o.member.self.name} could not confirm its commit index with a quorum (${(err as Error).message}); ` +
          'a copy now might miss writes acknowledged by the other members (--skip-quorum takes it anyway)\n',
      );
      return;
    }
  }
  // Read before the iterator takes its view: everything up to it is applied, so durable and in the view.
  const index = o.member.raftStatus().applied;
  const log = o.log();
  if (log === undefined) throw new Error('the log is not open');
  const chunks = log.exportAll(BACKUP_CHUNK_RECORDS)[Symbol.asyncIterator]();
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  try {
    // The first step creates the iterator (LevelDB's snapshot) before the answer's head leaves.
    let next = await chunks.next();
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      [HEADER_CLUSTER_ID]: o.member.clusterId,
      [HEADER_BACKUP_MEMBER]: `${o.member.self.id} ${encodeURIComponent(o.member.self.name)}`,
      [HEADER_BACKUP_INDEX]: String(index),
      [HEADER_BACKUP_QUORUM]: String(quorum),
      [HEADER_BACKUP_DATA_DIR]: encodeURIComponent(path.resolve(o.dataDir)),
    });
    let count = 0;
    while (!next.done) {
      if (closed) return;
      const frames = next.value.map(([k, v]) => encodeRecord(k, v));
      count += frames.length;
      if (!res.write(Buffer.concat(frames))) await drained(res);
      next = await chunks.next();
    }
    res.end(encodeEnd(count));
    o.logger.info({ index, quorum, records: count, ms: Math.round(performance.now() - started), from: req.socket.remoteAddress }, 'backup: copy sent');
  } finally {
    await chunks.return?.();
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
