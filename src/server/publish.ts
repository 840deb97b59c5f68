// Publishing a member's attributes (name, client URLs) through the log, as etcd's
// EtcdServer.publish: until the applied membership shows this member with its current
// attributes, the member asks to have them committed, every intervalMs. The leader proposes its
// own directly; a follower POSTs them to the leader's peer URL (/members/publish), whose handler
// proposes them. Every member then answers /v2/members with the same client URLs, and a follower
// can redirect writes to the leader's client URL.
import type { Logger } from 'pino';
import type { ApplyResult } from '../store/store.js';
import { CLUSTER_ID_MISMATCH_TEXT, HEADER_CLUSTER_ID } from '../transport/protocol.js';
import type { EntryCommand } from './entry-codec.js';
import { formatId, parseMemberId } from './ids.js';
import type { Membership } from './membership.js';
import type { PeerApiRequest, PeerApiResponse, PeerClient } from './peer-api.js';
import type { MemberTimers, TimerHandle } from './timers.js';

export const PUBLISH_PATH = '/members/publish';
/** The largest publish request body (attributes are small). */
export const PUBLISH_MAX_BODY_BYTES = 64 * 1024;

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
  timers: MemberTimers;
  peerClient: PeerClient;
  intervalMs?: number;
  requestTimeoutMs?: number;
}

export class Publisher {
  private readonly o: PublisherOptions;
  private readonly clusterIdHex: string;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private timer: TimerHandle | null = null;
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
    this.timer = this.o.timers.setInterval(() => void this.tryPublish(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
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
        const res = await this.o.peerClient.request(
          url,
          { method: 'POST', path: PUBLISH_PATH, headers: { [HEADER_CLUSTER_ID]: this.clusterIdHex }, json: { id: formatId(cmd.memberId), name: cmd.name, clientURLs: cmd.clientURLs } },
          this.requestTimeoutMs,
        );
        if (res.status !== 204) this.o.logger.debug({ status: res.status }, 'publish: the leader did not take our attributes yet');
      }
    } catch (err: unknown) {
      this.o.logger.debug({ err }, 'publish: attempt failed; will retry');
    } finally {
      this.inFlight = false;
    }
  }

  /** The leader side of POST /members/publish. */
  async handle(req: PeerApiRequest): Promise<PeerApiResponse> {
    if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, json: { message: 'Method Not Allowed' } };
    if (req.headers[HEADER_CLUSTER_ID] !== this.clusterIdHex) return { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } };
    let body: { id?: unknown; name?: unknown; clientURLs?: unknown };
    try {
      body = JSON.parse(Buffer.from(req.body).toString('utf8')) as typeof body;
    } catch {
      return { status: 400, json: { message: 'bad publish request' } };
    }
    if (typeof body !== 'object' || body === null) return { status: 400, json: { message: 'bad publish request' } };
    const id = typeof body.id === 'string' ? parseMemberId(body.id) : undefined;
    const clientURLs = body.clientURLs;
    if (id === undefined || !this.o.membership.has(id) || typeof body.name !== 'string' || !Array.isArray(clientURLs) || clientURLs.length > 64 || !clientURLs.every((u) => typeof u === 'string' && u.length < 1024)) {
      return { status: 400, json: { message: 'bad publish request' } };
    }
    if (!this.o.isLeader()) return { status: 503, json: { message: 'not the leader' } };
    try {
      await this.o.proposeAttributes({ kind: 'attrs', memberId: id, name: body.name, clientURLs: clientURLs as string[] });
      return { status: 204 };
    } catch {
      return { status: 503, json: { message: 'not committed' } };
    }
  }
}
