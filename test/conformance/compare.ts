// Compares two normalised transcripts. Tolerance tokens (ttl within ±1 s, expiration within a window)
// are first aligned: where the subject is within tolerance of the reference it takes the reference's
// value. Then both are rendered as text, so any remaining difference shows up as a line diff.
import { renderJson, type JsonNode } from './json-tree.js';
import type { NormBody, NormStep } from './normalise.js';

export const ttlToleranceSeconds = 1;
export const expirationToleranceMs = 1000;

/**
 * How far apart two expirations are, each seen relative to the server's clock: the server answered
 * between the request's send and receive times, so an expiration is (expiration - receive time)
 * plus anything up to that window. 0 when the two ranges overlap.
 */
export function expirationGapMs(a: { deltaMs: number; windowMs?: number }, b: { deltaMs: number; windowMs?: number }): number {
  const aHi = a.deltaMs + (a.windowMs ?? 0);
  const bHi = b.deltaMs + (b.windowMs ?? 0);
  return Math.max(0, a.deltaMs - bHi, b.deltaMs - aHi);
}

function alignJson(ref: JsonNode, sub: JsonNode): JsonNode {
  if (ref.t === 'ttl' && sub.t === 'ttl') return Math.abs(ref.n - sub.n) <= ttlToleranceSeconds ? ref : sub;
  if (ref.t === 'exp' && sub.t === 'exp') return expirationGapMs(ref, sub) <= expirationToleranceMs ? ref : sub;
  if (ref.t === 'obj' && sub.t === 'obj') {
    return {
      t: 'obj',
      entries: sub.entries.map(([k, v], i) => {
        const r = ref.entries[i];
        return r && r[0] === k ? [k, alignJson(r[1], v)] : [k, v];
      }),
    };
  }
  if (ref.t === 'arr' && sub.t === 'arr') {
    return { t: 'arr', items: sub.items.map((v, i) => (ref.items[i] ? alignJson(ref.items[i] as JsonNode, v) : v)) };
  }
  return sub;
}

function alignBody(ref: NormBody | undefined, sub: NormBody | undefined): NormBody | undefined {
  if (!ref || !sub) return sub;
  if (ref.t === 'json' && sub.t === 'json') return { ...sub, value: alignJson(ref.value, sub.value) };
  if (ref.t === 'events' && sub.t === 'events') {
    return { t: 'events', items: sub.items.map((b, i) => alignBody(ref.items[i], b) ?? b) };
  }
  return sub;
}

/** The subject with every tolerance token that is within tolerance of the reference's replaced by it. */
export function alignTolerances(reference: NormStep[], subject: NormStep[]): NormStep[] {
  return subject.map((s, i) => {
    const r = reference[i];
    return r && r.title === s.title ? { ...s, body: alignBody(r.body, s.body) } : s;
  });
}

function renderBody(body: NormBody, indent: string): string[] {
  switch (body.t) {
    case 'empty':
      return [`${indent}body: (empty)`];
    case 'text':
      return [`${indent}body (text): ${JSON.stringify(body.text)}`];
    case 'json':
      return [`${indent}body (${body.flags}):`, ...renderJson(body.value).split('\n').map((l) => indent + l)];
    case 'events':
      return body.items.flatMap((b, i) => [`${indent}event ${i + 1}:`, ...renderBody(b, `${indent}  `)]);
  }
}

export function renderTranscript(steps: NormStep[]): string {
  const out: string[] = [];
  for (const s of steps) {
    out.push(s.title);
    for (const l of s.lines) out.push(`  ${l}`);
    if (s.body) out.push(...renderBody(s.body, '  '));
  }
  return out.join('\n');
}

export interface Comparison {
  equal: boolean;
  reference: string;
  subject: string;
  /** 1-based step numbers whose rendering differs. */
  differingSteps: number[];
}

export function compareTranscripts(reference: NormStep[], subject: NormStep[]): Comparison {
  const aligned = alignTolerances(reference, subject);
  const differingSteps: number[] = [];
  const n = Math.max(reference.length, aligned.length);
  for (let i = 0; i < n; i++) {
    const r = reference[i] ? renderTranscript([reference[i] as NormStep]) : '';
    const s = aligned[i] ? renderTranscript([aligned[i] as NormStep]) : '';
    if (r !== s) differingSteps.push(i);
  }
  const ref = renderTranscript(reference);
  const sub = renderTranscript(aligned);
  return { equal: ref === sub, reference: ref, subject: sub, differingSteps };
}

/** A short, readable line diff (changed steps only) for failure messages. */
export function describeDifference(c: Comparison, reference: NormStep[], subject: NormStep[]): string {
  const aligned = alignTolerances(reference, subject);
  return c.differingSteps
    .map((i) => {
      const r = reference[i] ? renderTranscript([reference[i] as NormStep]).split('\n') : ['(no step)'];
      const s = aligned[i] ? renderTranscript([aligned[i] as NormStep]).split('\n') : ['(no step)'];
      return `step ${(reference[i] ?? aligned[i])?.title ?? i}\n${lineDiff(r, s).join('\n')}`;
    })
    .join('\n\n');
}

/** Minimal LCS line diff: '  ' same, '- ' reference only, '+ ' subject only. */
export function lineDiff(a: string[], b: string[]): string[] {
  const m = a.length;
  const n = b.length;
  const lcs: number[][] = Array.from({ length: m + 1 }, () => new Array<number>(n + 1).fill(0));
  for (let i = m - 1; i >= 0; i--) {
    for (let j = n - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < m && j < n) {
    if (a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  while (i < m) out.push(`- ${a[i++]}`);
  while (j < n) out.push(`+ ${b[j++]}`);
  return out;
}
