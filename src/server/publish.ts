// Publishing a member's attributes (name, client URLs) through the log, as etcd's
// EtcdServer.publish: until the applied membership shows this member with its current
// attributes, the member asks to have them committed, every intervalMs. The leader proposes its
// own directly; a follower POSTs them to the leader's peer URL (/members/publish), whose handler
// proposes them. Every member then answers /v2/members with the same client URLs, and a follower
// can redirect writes to the leader's client URL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ApplyResult } from '../store/store.js';
import { readBoundedBody } from '../transport/body.js';
import { CLUSTER_ID_MISMATCH_TEXT, HEADER_CLUSTER_ID } from '../transport/protocol.js';
import type { EntryCommand } from './entry-codec.js';
import { formatId, parseMemberId } from './ids.js';
import type { Membership } from './membership.js';

export const PUBLISH_PATH = '/members/publish';
const MAX_BODY_BYTES = 64 * 1024;

export interface PublisherOptions {
  memberId: number;
  clusterId: number;
  name: string;
  clientURLs: readonly string[];
  membership: Membership;
  logger: Logger;
  leaderId: () => number;
  isLeader: () => boolean;
  proposeAttributes: (cmd: EntryCommand) => Promise<ApplyResult>;
  intervalMs?: number;
  requestTimeoutMs?: number;
}

export class Publisher {
  private readonly o: PublisherOptions;
  private readonly clusterIdHex: string;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private stopped = false;

  constructor(options: PublisherOptions) {
    this.o = options;
    this.clusterIdHex = formatId(options.clusterId);
    this.intervalMs = options.intervalMs ?? 500;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => void this.tryPublish(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  onBecameLeader(): void {
    void this.tryPublish();
  }

  published(): boolean {
    return this.o.membership.publishedAs(this.o.memberId, this.o.name, this.o.clientURLs);
  }

  private async tryPublish(): Promise<void> {
    if (this.stopped || this.inFlight || this.published()) return;
    this.inFlight = true;
    const cmd: EntryCommand = { kind: 'attrs', memberId: this.o.memberId, name: this.o.name, clientURLs: [...this.o.clientURLs] };
    try {
      if (this.o.isLeader()) {
        await this.o.proposeAttributes(cmd);
      } else {
        const lead = this.o.leaderId();
        const url = lead === 0 ? undefined : this.o.membership.peerURLs(lead)[0];
        if (url === undefined) return;
        const res = await fetch(`${url.replace(/\/$/, '')}${PUBLISH_PATH}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [HEADER_CLUSTER_ID]: this.clusterIdHex },
          body: JSON.stringify({ id: formatId(cmd.memberId), name: cmd.name, clientURLs: cmd.clientURLs }),
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
        await res.arrayBuffer();
        if (res.status !== 204) this.o.logger.debug({ status: res.status }, 'publish: the leader did not take our attributes yet');
      }
    } catch (err: unknown) {
      this.o.logger.debug({ err }, 'publish: attempt failed; will retry');
    } finally {
      this.inFlight = false;
    }
  }

  /** The leader side: returns false when the request is not for this handler. */
  handler(): (req: IncomingMessage, res: ServerResponse) => boolean {
    return (req, res) => {
      if ((req.url ?? '').split('?')[0] !== PUBLISH_PATH) return false;
      void this.servePublish(req, res);
      return true;
    };
  }

  private async servePublish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, message?: string): void => {
      if (res.headersSent) return;
      res.statusCode = status;
      if (message === undefined) {
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ message }));
    };
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      answer(405, 'Method Not Allowed');
      req.resume();
      return;
    }
    if (req.headers[HEADER_CLUSTER_ID] !== this.clusterIdHex) {
      answer(412, CLUSTER_ID_MISMATCH_TEXT);
      req.resume();
      return;
    }
    const read = await readBoundedBody(req, MAX_BODY_BYTES);
    if (!read.ok) {
      // Too large: the rest of the body is not worth reading; cut the connection.
      if (read.reason === 'too-large') req.destroy();
      answer(400, 'bad publish request');
      return;
    }
    let body: { id?: unknown; name?: unknown; clientURLs?: unknown };
    try {
      body = JSON.parse(read.body.toString('utf8')) as typeof body;
    } catch {
      answer(400, 'bad publish request');
      return;
    }
    const id = typeof body.id === 'string' ? parseMemberId(body.id) : undefined;
    const clientURLs = body.clientURLs;
    if (id === undefined || !this.o.membership.has(id) || typeof body.name !== 'string' || !Array.isArray(clientURLs) || clientURLs.length > 64 || !clientURLs.every((u) => typeof u === 'string' && u.length < 1024)) {
      answer(400, 'bad publish request');
      return;
    }
    if (!this.o.isLeader()) {
      answer(503, 'not the leader');
      return;
    }
    try {
      await this.o.proposeAttributes({ kind: 'attrs', memberId: id, name: body.name, clientURLs: clientURLs as string[] });
      answer(204);
    } catch {
      answer(503, 'not committed');
    }
  }
}
