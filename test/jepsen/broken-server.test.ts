// The jepsen tool catches a real violation end to end: a fake etcd v2 server (one member, in
// process) that answers some quorum reads from a stale copy of the store. The tool runs against it
// as against any URL target and must report 'not linearizable', naming a read it cannot place. Its
// watches are right (long polls from an event log), so the watch check passes.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJepsen } from '../../tools/jepsen/run.js';

interface Node {
  value: string;
  modifiedIndex: number;
}

let server: http.Server;
let url = '';
beforeAll(async () => {
  const store = new Map<string, Node>();
  let index = 1;
  // Snapshots of the store, one every 20 ms; a "stale" read answers from one 100-300 ms old.
  const snapshots: { at: number; store: Map<string, Node> }[] = [];
  const timer = setInterval(() => {
    snapshots.push({ at: Date.now(), store: new Map(store) });
    if (snapshots.length > 50) snapshots.shift();
  }, 20);
  timer.unref();
  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Etcd-Index': String(index) });
    res.end(JSON.stringify(body));
  };
  // Watches: every change is an event; a long poll waits for the first at or after its waitIndex.
  type Event = { action: string; node: { key: string; value?: string; modifiedIndex: number } };
  const events: Event[] = [];
  const polls = new Set<{ prefix: string; waitIndex: number; res: http.ServerResponse }>();
  const matches = (ev: Event, p: { prefix: string; waitIndex: number }): boolean => ev.node.modifiedIndex >= p.waitIndex && ev.node.key.startsWith(p.prefix + '/');
  const emit = (ev: Event): void => {
    events.push(ev);
    for (const p of polls) {
      if (!matches(ev, p)) continue;
      polls.delete(p);
      send(p.res, 200, ev);
    }
  };
  const err = (res: http.ServerResponse, status: number, code: number, message: string): void => send(res, status, { errorCode: code, message, index });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const key = u.pathname.replace(/^\/v2\/keys/, '');
      const form = new URLSearchParams(body);
      if (req.method === 'GET' && u.searchParams.get('wait') === 'true') {
        const p = { prefix: key, waitIndex: Number(u.searchParams.get('waitIndex') ?? index + 1), res };
        const ev = events.find((e) => matches(e, p));
        if (ev !== undefined) return send(res, 200, ev);
        polls.add(p);
        res.once('close', () => polls.delete(p));
        return;
      }
      if (req.method === 'GET' && u.searchParams.get('recursive') === 'true') {
        const nodes = [...store].filter(([k]) => k.startsWith(key + '/')).sort().map(([k, n]) => ({ key: k, ...n }));
        return send(res, 200, { action: 'get', node: { key, dir: true, nodes } });
      }
      if (req.method === 'GET') {
        const old = snapshots.find((s) => Date.now() - s.at < 300 && Date.now() - s.at > 100);
        const view = Math.random() < 0.3 && old !== undefined ? old.store : store;
        const n = view.get(key);
        return n === undefined ? err(res, 404, 100, 'Key not found') : send(res, 200, { action: 'get', node: { key, ...n } });
      }
      const cur = store.get(key);
      if (req.method === 'DELETE') {
        if (cur === undefined) return err(res, 404, 100, 'Key not found');
        store.delete(key);
        const ev = { action: 'delete', node: { key, modifiedIndex: ++index } };
        emit(ev);
        return send(res, 200, { ...ev, prevNode: { key, ...cur } });
      }
      const value = form.get('value') ?? '';
      const prevValue = form.get('prevValue');
      const prevIndex = form.get('prevIndex');
      if (form.get('prevExist') === 'false' && cur !== undefined) return err(res, 412, 105, 'Key already exists');
      if ((prevValue !== null || prevIndex !== null) && cur === undefined) return err(res, 404, 100, 'Key not found');
      if (prevValue !== null && cur!.value !== prevValue) return err(res, 412, 101, 'Compare failed');
      if (prevIndex !== null && cur!.modifiedIndex !== Number(prevIndex)) return err(res, 412, 101, 'Compare failed');
      const node = { value, modifiedIndex: ++index };
      store.set(key, node);
      const action = form.get('prevExist') === 'false' ? 'create' : prevValue !== null || prevIndex !== null ? 'compareAndSwap' : 'set';
      emit({ action, node: { key, ...node } });
      return send(res, cur === undefined ? 201 : 200, { action, node: { key, ...node } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('jepsen against a server with stale reads', () => {
  it('reports not linearizable, with the read it cannot place, in the JSON and the HTML', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepsen-broken-'));
    try {
      const result = await runJepsen({ target: [url], nemesis: [], timeS: 3, clients: 4, keys: 2, seed: 5, outDir, log: () => {} });
      expect(result.verdict).toBe('not linearizable');
      const v = result.checker.violation!;
      expect(v.failedOp).toBeDefined();
      expect(v.explanation.join('\n')).toContain('cannot place');
      const saved = JSON.parse(fs.readFileSync(result.files.result, 'utf8')) as { verdict: string };
      expect(saved.verdict).toBe('not linearizable');
      const html = fs.readFileSync(result.files.timeline, 'utf8');
      expect(html).toContain('Violation on');
      expect(html).toContain('#e02020');
      expect(fs.readFileSync(result.files.history, 'utf8').trim().split('\n').length).toBe(result.ops);
      expect(result.watch.ok, JSON.stringify(result.watch.problems.slice(0, 3))).toBe(true);
      expect(result.watch.members[new URL(url).host]!.events).toBeGreaterThan(0);
      expect(result.summary).toMatch(/^jepsen: NOT linearizable, \d+ ops, 0 faults/);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});
