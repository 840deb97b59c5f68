// Runs one script against one target and records what it observed (RawTranscript). Every wait is
// bounded; a step that times out is recorded as such and the script goes on.
import type { Target } from '../helpers/target.js';
import { Exchange, exchange, type ExchangeRequest } from './exchange.js';
import type { Script, Step } from './script.js';
import type { RawRecord, RawTranscript } from './transcript.js';

interface TemplateContext {
  base: number;
  clientURL: string;
  peerURL: string;
  memberId: () => Promise<string>;
}

const templatePattern = /\{\{(i|n|clientURL|peerURL|memberId)([+-]\d+)?\}\}/g;

async function expand(text: string, ctx: TemplateContext, n = 0): Promise<string> {
  const needsId = text.includes('{{memberId}}');
  const id = needsId ? await ctx.memberId() : '';
  return text.replace(templatePattern, (_m, name: string, offset: string | undefined) => {
    const delta = offset ? Number(offset) : 0;
    switch (name) {
      case 'i':
        return String(ctx.base + delta);
      case 'n':
        return String(n + delta);
      case 'clientURL':
        return ctx.clientURL;
      case 'peerURL':
        return ctx.peerURL;
      default:
        return id;
    }
  });
}

async function expandRequest(spec: ExchangeRequest, ctx: TemplateContext, n = 0): Promise<ExchangeRequest> {
  const headers: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k] = v === null ? null : await expand(v, ctx, n);
  return {
    method: spec.method,
    path: await expand(spec.path, ctx, n),
    ...(spec.body === undefined ? {} : { body: await expand(spec.body, ctx, n) }),
    headers,
  };
}

function describeRequest(spec: ExchangeRequest): string {
  let s = `${spec.method} ${spec.path}`;
  if (spec.body !== undefined) s += ` -d ${JSON.stringify(spec.body.length > 120 ? `${spec.body.slice(0, 100)}…(${spec.body.length} chars)` : spec.body)}`;
  for (const [k, v] of Object.entries(spec.headers ?? {})) s += ` -H ${JSON.stringify(`${k}: ${v ?? '(none)'}`)}`;
  return s;
}

export function stepTitle(step: Step, index: number): string {
  const n = `#${index}`;
  switch (step.kind) {
    case 'request':
      return `${n} ${describeRequest(step)}`;
    case 'watch':
      return `${n} WATCH ${step.id}: ${describeRequest(step)}`;
    case 'await':
      return `${n} AWAIT ${step.id}`;
    case 'pending':
      return `${n} STILL PENDING? ${step.id} (${step.ms ?? 300} ms)`;
    case 'events':
      return `${n} EVENTS ${step.id} x${step.count}`;
    case 'close':
      return `${n} CLOSE ${step.id}`;
    case 'sleep':
      return `${n} SLEEP ${step.ms} ms`;
    case 'bulk':
      return `${n} BULK ${step.count}x ${describeRequest(step)} (${step.concurrency} at a time)`;
  }
}

/** The store's current etcd index, from X-Etcd-Index of a GET on the root. */
export async function currentIndex(clientURL: string): Promise<number> {
  const ex = await exchange(clientURL, { method: 'GET', path: '/v2/keys/' }, 10_000);
  const header = ex.head?.headers['x-etcd-index'];
  const index = Number(header);
  if (ex.error || ex.head?.status !== 200 || !Number.isSafeInteger(index)) {
    throw new Error(`GET /v2/keys/ on ${clientURL} gave no usable X-Etcd-Index (status ${ex.head?.status}, header ${header}, ${ex.error ?? 'no error'})`);
  }
  return index;
}

async function memberIdOf(target: Target): Promise<string> {
  const ex = await exchange(target.clientURL, { method: 'GET', path: '/v2/members' }, 10_000);
  try {
    const parsed = JSON.parse(ex.body().toString('utf8')) as { members: Array<{ id: string; clientURLs: string[] }> };
    const me = parsed.members.find((m) => m.clientURLs.includes(target.clientURL));
    if (me) return me.id;
  } catch {
    // fall through
  }
  return 'unknown-member-id';
}

interface OpenWatch {
  ex: Exchange;
  request: ExchangeRequest;
  /** Body bytes already recorded by earlier steps. */
  consumed: number;
  headRecorded: boolean;
}

/** Arrival time of the chunk holding body byte `offset` (exclusive end). */
function timeAt(ex: Exchange, endOffset: number): number {
  let seen = 0;
  for (const c of ex.chunks) {
    seen += c.data.length;
    if (seen >= endOffset) return c.t;
  }
  return ex.lastChunkTime();
}

function withHead(record: RawRecord, ex: Exchange): RawRecord {
  if (ex.head) {
    record.status = ex.head.status;
    record.headers = ex.head.headers;
  }
  return record;
}

/**
 * A just-started server still applies its start-up entries after /health is true (its member's
 * publish, and the cluster version the leader then sets: etcd's /0/version). The script's start
 * index is read once they are in: /version says the cluster version is decided, and the index has
 * not moved for SETTLE_QUIET_MS. Bounded: after SETTLE_MAX_MS the index is taken as it is.
 */
const SETTLE_QUIET_MS = 300;
const SETTLE_MAX_MS = 5000;

async function settledIndex(clientURL: string): Promise<number> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let index = await currentIndex(clientURL);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await currentIndex(clientURL);
    if (now !== index) {
      index = now;
      since = Date.now();
      continue;
    }
    if (Date.now() - since < SETTLE_QUIET_MS) continue;
    const version = await exchange(clientURL, { method: 'GET', path: '/version' }, 10_000);
    if (!version.body().toString('utf8').includes('not_decided')) return index;
  }
  return index;
}

export async function runScript(target: Target, script: Script): Promise<RawTranscript> {
  const base = script.fresh === true ? await settledIndex(target.clientURL) : await currentIndex(target.clientURL);
  let memberId: Promise<string> | null = null;
  const ctx: TemplateContext = {
    base,
    clientURL: target.clientURL,
    peerURL: target.peerURLs[target.clientURLs.indexOf(target.clientURL)] ?? '',
    memberId: () => (memberId ??= memberIdOf(target)),
  };
  const records: RawRecord[] = [];
  const watches = new Map<string, OpenWatch>();
  const watchOf = (id: string): OpenWatch => {
    const w = watches.get(id);
    if (!w) throw new Error(`script ${script.name}: no watch named ${id}`);
    return w;
  };

  try {
    for (const [index, step] of script.steps.entries()) {
      const record: RawRecord = { step: index, title: stepTitle(step, index) };
      records.push(record);
      switch (step.kind) {
        case 'request': {
          const request = await expandRequest(step, ctx);
          record.request = request;
          record.sent = Date.now();
          const ex = await exchange(target.clientURL, request, step.timeoutMs ?? 10_000);
          withHead(record, ex);
          record.body = ex.body().toString('utf8');
          record.t = ex.lastChunkTime();
          if (ex.error) record.note = `<error: ${ex.error}>`;
          break;
        }
        case 'watch': {
          const request = await expandRequest(step, ctx);
          record.request = request;
          const ex = new Exchange(target.clientURL, request);
          const w: OpenWatch = { ex, request, consumed: 0, headRecorded: false };
          watches.set(step.id, w);
          const timeoutMs = step.headersTimeoutMs ?? 5000;
          if (await ex.waitUntil(() => ex.head !== null || ex.ended, timeoutMs)) {
            withHead(record, ex);
            w.headRecorded = ex.head !== null;
            if (ex.error) record.note = `<error: ${ex.error}>`;
          } else {
            record.note = `<no response headers within ${timeoutMs} ms>`;
          }
          break;
        }
        case 'await': {
          const w = watchOf(step.id);
          record.request = w.request;
          const timeoutMs = step.timeoutMs ?? 5000;
          const finished = await w.ex.waitUntil(() => w.ex.ended, timeoutMs);
          if (!w.headRecorded) withHead(record, w.ex);
          const body = w.ex.body();
          record.body = body.subarray(w.consumed).toString('utf8');
          record.t = w.ex.lastChunkTime();
          w.consumed = body.length;
          if (!finished) record.note = `<still open after ${timeoutMs} ms>`;
          else if (w.ex.error) record.note = `<error: ${w.ex.error}>`;
          break;
        }
        case 'pending': {
          const w = watchOf(step.id);
          record.request = w.request;
          await new Promise((r) => setTimeout(r, step.ms ?? 300));
          const body = w.ex.body();
          if (body.length === w.consumed && !w.ex.ended) {
            record.note = '<pending: nothing delivered>';
          } else {
            record.note = w.ex.ended ? '<delivered and ended>' : '<delivered>';
            if (!w.headRecorded) withHead(record, w.ex);
            record.body = body.subarray(w.consumed).toString('utf8');
            record.t = w.ex.lastChunkTime();
            w.consumed = body.length;
          }
          break;
        }
        case 'events': {
          const w = watchOf(step.id);
          record.request = w.request;
          const timeoutMs = step.timeoutMs ?? 5000;
          const lines = (): number => w.ex.body().subarray(w.consumed).toString('utf8').split('\n').length - 1;
          await w.ex.waitUntil(() => lines() >= step.count || w.ex.ended, timeoutMs);
          if (!w.headRecorded) withHead(record, w.ex);
          const body = w.ex.body();
          const text = body.subarray(w.consumed).toString('utf8');
          const parts = text.split('\n');
          const complete = parts.slice(0, Math.min(parts.length - 1, step.count));
          record.events = [];
          let offset = w.consumed;
          for (const line of complete) {
            offset += Buffer.byteLength(line, 'utf8') + 1;
            record.events.push({ text: `${line}\n`, t: timeAt(w.ex, offset) });
          }
          w.consumed = offset;
          if (complete.length < step.count) {
            record.note = `<${complete.length} of ${step.count} events within ${timeoutMs} ms${w.ex.ended ? ', response ended' : ''}>`;
          }
          break;
        }
        case 'close': {
          const w = watchOf(step.id);
          w.ex.close();
          record.note = 'closed by the client';
          break;
        }
        case 'sleep': {
          await new Promise((r) => setTimeout(r, step.ms));
          record.note = `slept ${step.ms} ms`;
          break;
        }
        case 'bulk': {
          const statuses = new Map<string, number>();
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < step.count) {
              const n = next++;
              const ex = await exchange(target.clientURL, await expandRequest(step, ctx, n), 10_000);
              const key = ex.error ? `error(${ex.error})` : String(ex.head?.status);
              statuses.set(key, (statuses.get(key) ?? 0) + 1);
            }
          };
          await Promise.all(Array.from({ length: Math.max(1, step.concurrency) }, worker));
          record.note = `statuses: ${[...statuses.entries()].sort().map(([s, c]) => `${s} x${c}`).join(', ')}`;
          break;
        }
      }
    }
  } finally {
    for (const w of watches.values()) w.ex.close();
  }
  return { script: script.name, target: target.label, base, clientURLs: target.clientURLs, peerURLs: target.peerURLs, records };
}
