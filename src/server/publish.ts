// Publishing a member's attributes (name, client URLs) through the log, as etcd's
// EtcdServer.publish, once per run: every start proposes them again, tagged with this run's id,
// and the member serves clients only once that very entry is applied (etcd's ReadyNotify). Then it
// has applied everything committed before it started, so its answers are at least as new as the
// cluster when it came up — attributes applied by an earlier run prove nothing of the kind.
//
// The leader proposes its own directly. A follower asks the leader (POST /members/publish on the
// leader's peer URL), and the leader proposes only what the member itself confirms at its own
// registered peer URL (GET /members/attributes): a stranger who knows the cluster id cannot point
// a member's client URLs, and so every 307 redirect, at an address of its choosing.
//
// Each run is published once: the leader answers a request for a run whose publish it already
// applied with that entry's index (200 {"index": N}) instead of proposing it again, which would
// move the etcd index (a follower asks again when its request timed out under load). The follower
// is then published once it has applied up to N, whether it applied the entry itself or a snapshot
// that covers it: either way it has applied everything committed before it started.
import type { Logger } from 'pino';
import type { ApplyResult } from '../store/store.js';
import { CLUSTER_ID_MISMATCH_TEXT, HEADER_CLUSTER_ID, HEADER_FROM } from '../transport/protocol.js';
import type { EntryCommand } from './entry-codec.js';
import { formatId, parseMemberId } from './ids.js';
import type { Membership } from './membership.js';
import { replyJson, type PeerApiRequest, type PeerApiResponse, type PeerClient } from './peer-api.js';
import type { MemberTimers, TimerHandle } from './timers.js';

export const PUBLISH_PATH = '/members/publish';
export const ATTRIBUTES_PATH = '/members/attributes';
/** The largest publish request body (attributes are small). */
export const PUBLISH_MAX_BODY_BYTES = 64 * 1024;
const MAX_CLIENT_URLS = 64;
const MAX_URL_LENGTH = 1024;

/** What a member publishes: its attributes and the id of this run. */
export interface PublishedAttributes {
  id: string;
  name: string;
  clientURLs: string[];
  /** Random per start: tells this run's publish from an earlier run's. */
  runId: number;
}

export interface PublisherOptions {
  memberId: bigint;
  clusterId: bigint;
  name: string;
  clientURLs: readonly string[];
  /** This run's id (random, below 2^53). */
  runId: number;
  membership: Membership;
  logger: Logger;
  leaderId: () => bigint;
  isLeader: () => boolean;
  proposeAttributes: (cmd: EntryCommand) => Promise<ApplyResult>;
  timers: MemberTimers;
  peerClient: PeerClient;
  intervalMs?: number;
  requestTimeoutMs?: number;
  /** This member's applied index (a follower is published once it reaches its publish's index). */
  appliedIndex?: () => number;
}

export class Publisher {
  private readonly o: PublisherOptions;
  private readonly clusterIdHex: string;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private timer: TimerHandle | null = null;
  private inFlight = false;
  private stopped = false;
  /** Whether this run's publish was applied. */
  private ownApplied = false;
  /** Follower: the index of this run's publish, as the leader answered it (null: not known yet). */
  private publishedAt: number | null = null;
  /**
   * Leader side: the publish of each member's run being proposed. A follower whose request timed
   * out asks again while it is in flight; its run's attributes are then proposed once, not once
   * per request (each would move the etcd index).
   */
  private readonly proposing = new Map<string, Promise<void>>();
  /** The last publish applied of each member: its run and index (one entry per member). */
  private readonly appliedRuns = new Map<bigint, { runId: number; index: number }>();

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

  /** A leader became known: ask it now rather than at the next interval (a restart serves sooner). */
  onLeaderKnown(): void {
    void this.tryPublish();
  }

  /** Whether this run's own publish has been applied (etcd's ReadyNotify). */
  published(): boolean {
    if (!this.ownApplied && this.publishedAt !== null && (this.o.appliedIndex?.() ?? 0) >= this.publishedAt) this.markPublished();
    return this.ownApplied;
  }

  /** Called for every applied attributes entry, with its index. */
  onApplied(memberId: bigint, runId: number | undefined, index?: number): void {
    if (runId !== undefined && index !== undefined && this.o.membership.has(memberId)) this.appliedRuns.set(memberId, { runId, index });
    if (memberId !== this.o.memberId || runId !== this.o.runId || this.ownApplied) return;
    this.markPublished();
  }

  private markPublished(): void {
    this.ownApplied = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** This member's attributes as it publishes them in this run. */
  attributes(): PublishedAttributes {
    return { id: formatId(this.o.memberId), name: this.o.name, clientURLs: [...this.o.clientURLs], runId: this.o.runId };
  }

  private async tryPublish(): Promise<void> {
    // (with the index known, the member only has to apply up to it)
    if (this.stopped || this.inFlight || this.published() || this.publishedAt !== null) return;
    this.inFlight = true;
    const attrs = this.attributes();
    try {
      if (this.o.isLeader()) {
        await this.o.proposeAttributes({ kind: 'attrs', memberId: this.o.memberId, name: attrs.name, clientURLs: attrs.clientURLs, runId: attrs.runId });
      } else {
        const lead = this.o.leaderId();
        const url = lead === 0n ? undefined : this.o.membership.peerURLs(lead)[0];
        if (url === undefined) return;
        const res = await this.o.peerClient.request(
          url,
          { method: 'POST', path: PUBLISH_PATH, headers: { [HEADER_CLUSTER_ID]: this.clusterIdHex, [HEADER_FROM]: attrs.id }, json: attrs },
          this.requestTimeoutMs,
        );
        const index = res.status === 200 ? (replyJson(res) as { index?: unknown } | undefined)?.index : undefined;
        if (typeof index === 'number' && Number.isSafeInteger(index) && index > 0) this.publishedAt = index;
        else if (res.status !== 204) this.o.logger.debug({ status: res.status, answer: replyJson(res) }, 'publish: the leader did not take our attributes yet');
      }
    } catch (err: unknown) {
      this.o.logger.debug({ err }, 'publish: attempt failed; will retry');
    } finally {
      this.inFlight = false;
    }
  }

  /** GET /members/attributes: what this member publishes in this run (the leader checks a publish with it). */
  handleAttributes(req: PeerApiRequest): PeerApiResponse {
    if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, json: { message: 'Method Not Allowed' } };
    if (req.headers[HEADER_CLUSTER_ID] !== this.clusterIdHex) return { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } };
    return { status: 200, headers: { [HEADER_CLUSTER_ID]: this.clusterIdHex }, json: this.attributes() };
  }

  /** The leader side of POST /members/publish. */
  async handle(req: PeerApiRequest): Promise<PeerApiResponse> {
    if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, json: { message: 'Method Not Allowed' } };
    if (req.headers[HEADER_CLUSTER_ID] !== this.clusterIdHex) return { status: 412, json: { message: CLUSTER_ID_MISMATCH_TEXT } };
    const claimed = parseAttributes(req.body);
    if (typeof claimed === 'string') return refuse(this.o.logger, 400, claimed);
    const id = parseMemberId(claimed.id) as bigint;
    if (!this.o.membership.has(id) || id === this.o.memberId) return refuse(this.o.logger, 400, `${claimed.id} is not another member of this cluster`);
    if (parseMemberId(req.headers[HEADER_FROM] ?? '') !== id) return refuse(this.o.logger, 400, `a member publishes only its own attributes (${HEADER_FROM} is ${req.headers[HEADER_FROM] ?? 'missing'})`);
    if (!this.o.isLeader()) return { status: 503, json: { message: 'not the leader' } };
    // Ask the member itself, at the peer URL the cluster knows for it, what it publishes.
    const peerURL = this.o.membership.peerURLs(id)[0];
    if (peerURL === undefined) return refuse(this.o.logger, 400, `no peer URL known for ${claimed.id}`);
    let confirmed: string | PublishedAttributes;
    try {
      const reply = await this.o.peerClient.request(peerURL, { method: 'GET', path: ATTRIBUTES_PATH, headers: { [HEADER_CLUSTER_ID]: this.clusterIdHex } }, this.requestTimeoutMs);
      confirmed = reply.status === 200 ? parseAttributes(reply.body) : `answered ${reply.status}`;
    } catch (err: unknown) {
      return { status: 503, json: { message: `could not confirm with ${claimed.id} at ${peerURL}: ${err instanceof Error ? err.message : String(err)}` } };
    }
    if (typeof confirmed === 'string' || !sameAttributes(confirmed, claimed)) {
      return refuse(this.o.logger, 400, `${claimed.id} at ${peerURL} does not publish these attributes`);
    }
    const appliedAt = (): PeerApiResponse | undefined => {
      const done = this.appliedRuns.get(id);
      return done?.runId === claimed.runId ? { status: 200, json: { index: done.index } } : undefined;
    };
    const done = appliedAt();
    if (done !== undefined) return done;
    const key = `${id}/${claimed.runId}`;
    let proposal = this.proposing.get(key);
    if (proposal === undefined) {
      proposal = this.o
        .proposeAttributes({ kind: 'attrs', memberId: id, name: claimed.name, clientURLs: claimed.clientURLs, runId: claimed.runId })
        .then(() => undefined)
        .finally(() => this.proposing.delete(key));
      this.proposing.set(key, proposal);
    }
    try {
      await proposal;
      return appliedAt() ?? { status: 204 };
    } catch {
      return { status: 503, json: { message: 'not committed' } };
    }
  }
}

function refuse(logger: Logger, status: number, message: string): PeerApiResponse {
  logger.warn({ reason: message }, 'refused a publish request');
  return { status, json: { message: `bad publish request: ${message}` } };
}

/** The attributes in a publish body, or why they are not acceptable. */
function parseAttributes(body: Uint8Array): PublishedAttributes | string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'not an object';
  const o = v as Record<string, unknown>;
  if (typeof o['id'] !== 'string' || parseMemberId(o['id']) === undefined) return 'bad id';
  if (typeof o['name'] !== 'string' || o['name'].length > MAX_URL_LENGTH) return 'bad name';
  const urls = o['clientURLs'];
  if (!Array.isArray(urls) || urls.length > MAX_CLIENT_URLS || !urls.every((u) => typeof u === 'string' && u.length < MAX_URL_LENGTH && /^https?:\/\/[^/\s]+\/?$/.test(u))) return 'bad clientURLs';
  const runId = o['runId'];
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 0) return 'bad runId';
  return { id: o['id'], name: o['name'], clientURLs: urls as string[], runId };
}

function sameAttributes(a: PublishedAttributes, b: PublishedAttributes): boolean {
  return a.id === b.id && a.name === b.name && a.runId === b.runId && a.clientURLs.length === b.clientURLs.length && a.clientURLs.every((u, i) => u === b.clientURLs[i]);
}
