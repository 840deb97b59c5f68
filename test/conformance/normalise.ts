// Turns a RawTranscript into target-independent steps: indexes relative to the script's starting
// index, URLs and ids as placeholders, `ttl` and `expiration` as tolerance tokens, unsorted
// listings in a canonical order. Everything else is kept byte for byte (JSON key order, string
// escapes, trailing newlines, plain-text bodies).
import { entry, mapJson, parseJson, type JsonNode } from './json-tree.js';
import type { CompareMode, Script } from './script.js';
import type { RawRecord, RawTranscript } from './transcript.js';

export type NormBody =
  | { t: 'empty' }
  | { t: 'text'; text: string }
  | { t: 'json'; value: JsonNode; flags: string }
  | { t: 'events'; items: NormBody[] };

export interface NormStep {
  title: string;
  lines: string[];
  body?: NormBody;
}

interface Context {
  base: number;
  absolute: boolean;
  urls: Array<[string, string]>;
  method: string;
  params: URLSearchParams;
  mode: CompareMode;
  isKeysPath: boolean;
}

/** RFC 3339 with Go's RFC3339Nano fraction (1-9 digits, trailing zeros trimmed), UTC. */
const rfc3339Nano = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;
const anyRfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const goDuration = /^(\d+(\.\d+)?(h|m|s|ms|µs|us|ns))+$/;
const hexId = /^[0-9a-f]{1,16}$/;

function relIndex(n: number, ctx: Context): string {
  if (ctx.absolute || n === 0) return String(n);
  const d = n - ctx.base;
  return d >= 0 ? `@+${d}` : `@${d}`;
}

function replaceURLs(s: string, ctx: Context): string {
  for (const [url, token] of ctx.urls) s = s.split(url).join(token);
  return s;
}

/** In-order key names (20 digits = an index) become relative: /queue/{@+3}. */
function normaliseKeyText(s: string, ctx: Context): string {
  return s.replace(/(^|\/)(\d{20})(?=\/|$|")/g, (_m, sep: string, digits: string) => `${sep}{${relIndex(Number(digits), ctx)}}`);
}

function rawString(node: JsonNode): string | undefined {
  return node.t === 'raw' && node.text.startsWith('"') ? (JSON.parse(node.text) as string) : undefined;
}

function rawNumber(node: JsonNode): number | undefined {
  return node.t === 'raw' && /^-?\d/.test(node.text) ? Number(node.text) : undefined;
}

/** Request parameters as etcd reads them: the urlencoded body (PUT/POST) first, then the query. */
function requestParams(record: RawRecord): URLSearchParams {
  const params = new URLSearchParams();
  const req = record.request;
  if (!req) return params;
  const add = (qs: string): void => {
    try {
      for (const [k, v] of new URLSearchParams(qs)) if (!params.has(k)) params.append(k, v);
    } catch {
      // malformed: etcd answers 210 and the parameters do not matter
    }
  };
  const ct = Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type');
  const formBody = req.body !== undefined && (!ct || ct[1]?.startsWith('application/x-www-form-urlencoded'));
  if (formBody && (req.method === 'PUT' || req.method === 'POST')) add(req.body ?? '');
  const q = req.path.indexOf('?');
  if (q >= 0) add(req.path.slice(q + 1));
  return params;
}

/** Exact value of a decimal string (no float rounding), or null. */
function decimal(s: string | null | undefined): bigint | null {
  return s !== null && s !== undefined && /^\d+$/.test(s) ? BigInt(s) : null;
}

const goTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

function exactLeaf(node: JsonNode, key: string | null, ctx: Context, t: number, windowMs: number): JsonNode {
  if (key === 'modifiedIndex' || key === 'createdIndex' || key === 'index') {
    const n = rawNumber(node);
    if (n !== undefined) return { t: 'tok', text: relIndex(n, ctx) };
  }
  if (key === 'ttl') {
    const n = rawNumber(node);
    if (n !== undefined) return { t: 'ttl', n };
  }
  if (key === 'expiration') {
    const s = rawString(node);
    if (s !== undefined && rfc3339Nano.test(s)) return { t: 'exp', deltaMs: Date.parse(s) - t, ...(windowMs > 0 ? { windowMs } : {}) };
  }
  if (node.t === 'raw' && node.text.startsWith('"')) {
    let text = replaceURLs(node.text, ctx);
    if (key === 'key') text = normaliseKeyText(text, ctx);
    return text === node.text ? node : { t: 'raw', text };
  }
  return node;
}

function shapeLeaf(node: JsonNode, ctx: Context): JsonNode {
  if (node.t === 'obj') {
    return {
      t: 'obj',
      entries: node.entries.map(([k, v]) => [hexId.test(JSON.parse(k) as string) ? '"<hex id>"' : k, v]),
    };
  }
  if (node.t !== 'raw') return node;
  if (rawNumber(node) !== undefined) return { t: 'tok', text: '<number>' };
  const s = rawString(node);
  if (s === undefined) return node;
  const withURLs = replaceURLs(node.text, ctx);
  if (withURLs !== node.text) return { t: 'raw', text: withURLs };
  if (anyRfc3339.test(s)) return { t: 'tok', text: '<time>' };
  if (goDuration.test(s)) return { t: 'tok', text: '<duration>' };
  if (hexId.test(s)) return { t: 'tok', text: '<hex id>' };
  return node;
}

/**
 * etcd's /v2/stats/self shows the four rate fields only while append traffic flowed in the last
 * second (omitempty on a rate that drops to 0), on both etcd and etcd-ts, so their presence depends
 * on what other lanes just wrote. Shape comparison leaves them out; test/server/member-stats.test.ts
 * checks when they appear.
 */
const trafficRates = new Set(['"recvPkgRate"', '"recvBandwidthRate"', '"sendPkgRate"', '"sendBandwidthRate"']);
function dropTrafficRates(doc: JsonNode): JsonNode {
  if (doc.t !== 'obj' || !doc.entries.some(([k]) => k === '"sendAppendRequestCnt"')) return doc;
  return { t: 'obj', entries: doc.entries.filter(([k]) => !trafficRates.has(k)) };
}

/** Error causes that embed indexes: 101 (prevIndex part) and 401 (history window). */
function normaliseCause(doc: JsonNode, ctx: Context): JsonNode {
  if (doc.t !== 'obj') return doc;
  const code = rawNumber(entry(doc, 'errorCode') ?? { t: 'raw', text: 'null' });
  return {
    t: 'obj',
    entries: doc.entries.map(([k, v]) => {
      const cause = JSON.parse(k) === 'cause' ? rawString(v) : undefined;
      if (cause === undefined) return [k, v];
      let text = cause;
      const prevIndex = decimal(ctx.params.get('prevIndex'));
      if (code === 101 && prevIndex !== null && prevIndex > 0n) {
        text = text.replace(/\[(\d+) != (\d+)\]$/, (_m, p: string, cur: string) =>
          `[${decimal(p) === prevIndex ? '<prevIndex>' : p} != ${relIndex(Number(cur), ctx)}]`,
        );
      }
      if (code === 401) {
        text = text.replace(/\[(\d+)\/(\d+)\]$/, (_m, oldest: string, requested: string) => {
          const asked = decimal(requested) === decimal(ctx.params.get('waitIndex')) ? '<waitIndex>' : requested;
          return `[${relIndex(Number(oldest), ctx)}/${asked}]`;
        });
      }
      text = normaliseKeyText(replaceURLs(text, ctx), ctx);
      return [k, { t: 'raw', text: JSON.stringify(text) }];
    }),
  };
}

function sortListings(node: JsonNode): JsonNode {
  return mapJson(node, (n, key) => {
    if (key !== 'nodes' || n.t !== 'arr') return n;
    const keyOf = (item: JsonNode): string => {
      const k = entry(item, 'key');
      return k && k.t === 'raw' ? k.text : '';
    };
    return { t: 'arr', items: [...n.items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)) };
  });
}

function normaliseBody(text: string, ctx: Context, t: number, windowMs = 0): NormBody {
  if (text === '') return { t: 'empty' };
  const parsed = parseJson(text);
  if (!parsed) return { t: 'text', text: replaceURLs(text, ctx) };
  const flags = `json${parsed.compact ? ', compact' : ', NOT compact'}${text.endsWith('\n') ? ', ends with \\n' : ', no trailing \\n'}`;
  let value = parsed.value;
  if (ctx.mode === 'shape') {
    value = mapJson(value, (n) => shapeLeaf(n, ctx));
    value = dropTrafficRates(value);
  } else if (typeof ctx.mode === 'object') {
    const keep = new Set(ctx.mode.pick);
    value = value.t === 'obj' ? { t: 'obj', entries: value.entries.filter(([k]) => keep.has(JSON.parse(k) as string)) } : value;
  } else {
    value = mapJson(value, (n, key) => exactLeaf(n, key, ctx, t, windowMs));
    value = normaliseCause(value, ctx);
    const sorted = goTrue.has(ctx.params.get('sorted') ?? '');
    if (ctx.isKeysPath && (ctx.method === 'GET' || ctx.method === 'HEAD') && !sorted) value = sortListings(value);
  }
  return { t: 'json', value, flags };
}

const exactHeaders = new Set([
  'content-type',
  'allow',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'x-content-type-options',
  'www-authenticate',
]);

function normaliseHeaders(headers: Record<string, string>, ctx: Context): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (exactHeaders.has(name)) out.push(`${name}: ${value}`);
    else if (name === 'x-etcd-index') out.push(`${name}: ${/^\d+$/.test(value) ? relIndex(Number(value), ctx) : value}`);
    else if (name === 'x-etcd-cluster-id') out.push(`${name}: ${hexId.test(value) ? '<hex id>' : value}`);
    else if (name === 'x-raft-index' || name === 'x-raft-term') out.push(`${name}: ${/^\d+$/.test(value) ? '<number>' : value}`);
    else if (name.startsWith('x-etcd-') || name.startsWith('x-raft-')) out.push(`${name}: <present>`);
    else if (name === 'location') out.push(`${name}: ${normaliseKeyText(replaceURLs(value, ctx), ctx)}`);
    else if (name === 'content-length' && (ctx.method === 'HEAD' || ctx.method === 'OPTIONS')) {
      out.push(`${name}: ${ctx.method === 'HEAD' ? '<present>' : value}`);
    }
  }
  return out.sort();
}

function modeOf(script: Script, record: RawRecord): { mode: CompareMode; absolute: boolean } {
  const step = script.steps[record.step];
  if (step?.kind === 'request') return { mode: step.compare ?? 'exact', absolute: step.absoluteIndexes ?? false };
  return { mode: 'exact', absolute: false };
}

export function normaliseRecord(raw: RawTranscript, script: Script, record: RawRecord): NormStep {
  const { mode, absolute } = modeOf(script, record);
  const path = record.request?.path ?? '';
  const ctx: Context = {
    base: raw.base,
    absolute,
    urls: [
      ...[...raw.clientURLs].sort().map((u, i): [string, string] => [u, raw.clientURLs.length > 1 ? `<clientURL#${i}>` : '<clientURL>']),
      ...[...raw.peerURLs].sort().map((u, i): [string, string] => [u, raw.peerURLs.length > 1 ? `<peerURL#${i}>` : '<peerURL>']),
    ],
    method: record.request?.method ?? 'GET',
    params: requestParams(record),
    mode,
    isKeysPath: /^\/v2\/keys(\/|\?|$)/.test(path),
  };
  const lines: string[] = [];
  if (record.status !== undefined) lines.push(`status: ${record.status}`);
  if (record.headers) lines.push(...normaliseHeaders(record.headers, ctx));
  if (record.note) lines.push(record.note);
  const step: NormStep = { title: record.title, lines };
  const t = record.t ?? Date.now();
  if (record.events) step.body = { t: 'events', items: record.events.map((e) => normaliseBody(e.text, ctx, e.t)) };
  else if (record.body !== undefined) step.body = normaliseBody(record.body, ctx, t, record.sent !== undefined && record.t !== undefined ? Math.max(0, record.t - record.sent) : 0);
  return step;
}

export function normaliseTranscript(raw: RawTranscript, script: Script): NormStep[] {
  return raw.records.map((r) => normaliseRecord(raw, script, r));
}
