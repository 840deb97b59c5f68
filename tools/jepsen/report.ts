// The self-contained HTML timeline of a jepsen run: one lane per client, a bar from invoke to
// completion coloured by outcome (an indeterminate op's bar fades out to the end of the run), the
// nemesis's fault intervals shaded; on a violation, the offending key's own timeline below with the
// longest linearizable prefix outlined and the first op that cannot be placed in red, plus a red
// line at that op on the main timeline.
import fs from 'node:fs';
import type { CheckResult } from './checker.js';
import { describeOp, type Op } from './history.js';

interface FaultBand {
  kind: string;
  target: string;
  startMs: number;
  endMs: number | null;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const COLOURS: Record<string, string> = { ok: '#3a9d5d', fail: '#e0a030', info: '#6b6bd6' };
const FAULT_COLOURS: Record<string, string> = { kill: 'rgba(220,60,60,0.13)', pause: 'rgba(60,120,220,0.13)', partition: 'rgba(160,80,200,0.13)' };
const PX_PER_S = 120;
const LANE_PX = 16;
/** Bound on the bars drawn per timeline (the history JSON has all of them). */
const MAX_BARS = 30_000;

function svg(ops: readonly Op[], faults: readonly FaultBand[], endMs: number, lanes: number, mark: { prefix: Set<number>; failed: number | null; failedAtMs: number | null }): string {
  const width = Math.max(400, Math.ceil((endMs / 1000) * PX_PER_S) + 60);
  const height = lanes * LANE_PX + 30;
  const x = (ms: number): number => 50 + (ms / 1000) * PX_PER_S;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="10">`];
  for (const f of faults) {
    const x1 = x(f.startMs);
    const x2 = x(f.endMs ?? endMs);
    parts.push(`<rect x="${x1.toFixed(1)}" y="0" width="${(x2 - x1).toFixed(1)}" height="${height}" fill="${FAULT_COLOURS[f.kind] ?? 'rgba(0,0,0,0.1)'}"><title>${esc(`${f.kind} ${f.target}`)}</title></rect>`);
    parts.push(`<text x="${(x1 + 2).toFixed(1)}" y="${height - 4}" fill="#555">${esc(`${f.kind} ${f.target}`)}</text>`);
  }
  for (let s = 0; s <= endMs / 1000; s += 5) parts.push(`<text x="${x(s * 1000)}" y="${height - 16}" fill="#999">${s}s</text>`);
  for (let l = 0; l < lanes; l++) parts.push(`<text x="2" y="${l * LANE_PX + 11}" fill="#333">c${l}</text>`);
  for (const op of ops.slice(0, MAX_BARS)) {
    const x1 = x(op.invokeMs);
    const x2 = op.completeMs === null ? x(endMs) : Math.max(x(op.completeMs), x1 + 1.5);
    const y = op.client * LANE_PX + 2;
    const failed = op.id === mark.failed;
    const fill = failed ? '#e02020' : COLOURS[op.outcome]!;
    const stroke = failed ? ' stroke="#900" stroke-width="2"' : mark.prefix.has(op.id) ? ' stroke="#111" stroke-width="1"' : '';
    const opacity = op.outcome === 'info' ? ' fill-opacity="0.35"' : '';
    parts.push(`<rect x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${LANE_PX - 4}" fill="${fill}"${opacity}${stroke}><title>${esc(describeOp(op))}</title></rect>`);
  }
  if (mark.failedAtMs !== null) parts.push(`<line x1="${x(mark.failedAtMs)}" y1="0" x2="${x(mark.failedAtMs)}" y2="${height}" stroke="#e02020" stroke-width="2"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeTimeline(file: string, history: readonly Op[], faults: readonly FaultBand[], checker: CheckResult, opts: { title: string; endMs: number; clients: number }): void {
  const v = checker.violation;
  const failed = v?.failedOp ?? null;
  const mark = { prefix: new Set(v?.longestPrefix ?? []), failed: failed?.id ?? null, failedAtMs: failed?.invokeMs ?? null };
  const verdictColour = checker.verdict === 'linearizable' ? '#3a9d5d' : checker.verdict === 'unknown' ? '#c08000' : '#e02020';
  const keyLines = checker.keys.map((k) => `<tr><td>${esc(k.key)}</td><td>${esc(k.verdict)}</td><td>${k.ops}</td><td>${k.steps}</td><td>${k.elapsedMs} ms</td><td>${esc(k.reason ?? '')}</td></tr>`).join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>body{font-family:sans-serif;margin:16px}div.tl{overflow-x:auto;border:1px solid #ccc;margin:8px 0}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;font-size:13px}
.legend span{display:inline-block;padding:1px 6px;margin-right:6px;color:#fff;font-size:12px}pre{background:#f6f6f6;padding:8px}</style></head>
<body>
<h1>${esc(opts.title)}</h1>
<p style="font-size:20px;color:${verdictColour}"><b>${esc(checker.verdict)}</b> — ${history.length} ops, ${faults.length} faults, checker ${checker.elapsedMs} ms</p>
<p class="legend"><span style="background:${COLOURS['ok']}">ok</span><span style="background:${COLOURS['fail']}">definite failure</span><span style="background:${COLOURS['info']};opacity:.5">indeterminate</span><span style="background:#e02020">cannot be placed</span>
faults shaded: <span style="background:rgba(220,60,60,.5)">kill</span><span style="background:rgba(60,120,220,.5)">pause</span><span style="background:rgba(160,80,200,.5)">partition</span> (hover a bar for the op)</p>
${v !== undefined ? `<h2>Violation on ${esc(v.key)}</h2><pre>${esc(v.explanation.join('\n'))}</pre>
<div class="tl">${svg(history.filter((o) => o.key === v.key), faults, opts.endMs, opts.clients, mark)}</div>
<p>The offending key alone: outlined bars are the longest linearizable prefix; the red bar is the first op that cannot be placed after it.</p>` : ''}
<h2>All operations</h2>
<div class="tl">${svg(history, faults, opts.endMs, opts.clients, mark)}</div>
<h2>Keys</h2>
<table><tr><th>key</th><th>verdict</th><th>ops checked</th><th>search steps</th><th>time</th><th></th></tr>
${keyLines}</table>
</body></html>
`;
  fs.writeFileSync(file, html);
}
