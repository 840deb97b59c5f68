// /v2/keys over real HTTP: status codes, headers, framing, path handling and TTL expiry, each as
// etcd 3.4.23 answered the same requests (docs §3, §4; rows confirmed side by side with etcd).
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, put, request, startTestMember, type TestMember } from './harness.js';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember({ serve: { maxRequestBytes: 4096 } });
});
afterAll(() => m.close());

describe('writes and reads', () => {
  it('answers 201 for a new key and 200 with prevNode when replacing it', async () => {
    const created = await put(m.url, '/v2/keys/message', 'value=Hello+world');
    expect(created.status).toBe(201);
    const index = Number(created.headers['x-etcd-index']);
    expect(created.body).toBe(
      `{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":${index},"createdIndex":${index}}}\n`,
    );
    const replaced = await put(m.url, '/v2/keys/message', 'value=RECREATE');
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ action: 'set', prevNode: { value: 'Hello world', modifiedIndex: index } });
    expect(Number(replaced.headers['x-etcd-index'])).toBe(index + 1);
  });

  it('sends etcd headers on a success: CORS, cluster id, X-Etcd-Index, X-Raft-Index/Term', async () => {
    const res = await request(m.url, '/v2/keys/message');
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ ...CORS, 'content-type': 'application/json', 'x-etcd-cluster-id': '1818194e3a8c32' });
    expect(Number(res.headers['x-etcd-index'])).toBe(m.member.store.index());
    expect(Number(res.headers['x-raft-index'])).toBe(m.member.raftIndex());
    expect(res.headers['x-raft-term']).toBe('1');
    expect(res.rawHeaderNames).toContain('X-Etcd-Cluster-Id');
  });

  it('answers a store error with the current index and without X-Raft-*', async () => {
    const res = await request(m.url, '/v2/keys/nodir/child/deep');
    expect(res.status).toBe(404);
    const index = m.member.store.index();
    expect(res.body).toBe(`{"errorCode":100,"message":"Key not found","cause":"/nodir","index":${index}}\n`);
    expect(res.headers['x-etcd-index']).toBe(String(index));
    expect(res.headers['x-raft-index']).toBeUndefined();
    expect(res.headers['x-raft-term']).toBeUndefined();
  });

  it('creates with POST (201, 20-digit in-order name) and with prevExist=false', async () => {
    const posted = await request(m.url, '/v2/keys/queue', { method: 'POST', form: 'value=job1' });
    expect(posted.status).toBe(201);
    expect(posted.json).toMatchObject({ action: 'create', node: { key: expect.stringMatching(/^\/queue\/\d{20}$/), value: 'job1' } });
    const created = await put(m.url, '/v2/keys/fresh?prevExist=false', 'value=1');
    expect(created.status).toBe(201);
    const again = await put(m.url, '/v2/keys/fresh?prevExist=false', 'value=1');
    expect(again.status).toBe(412);
    expect(again.json).toMatchObject({ errorCode: 105, message: 'Key already exists', cause: '/fresh' });
  });

  it('drops node and prevNode with noValueOnSuccess on writes, not on deletes', async () => {
    const set = await put(m.url, '/v2/keys/nv?noValueOnSuccess=true', 'value=1');
    expect(set.status).toBe(201);
    expect(set.body).toBe('{"action":"set"}\n');
    const cas = await put(m.url, '/v2/keys/nv?noValueOnSuccess=true&prevValue=1', 'value=2');
    expect(cas.body).toBe('{"action":"compareAndSwap"}\n');
    const del = await request(m.url, '/v2/keys/nv?noValueOnSuccess=true', { method: 'DELETE' });
    expect(del.json).toMatchObject({ action: 'delete', node: { key: '/nv' } });
  });

  it('answers HEAD with the GET headers, Content-Length included, and no body', async () => {
    const get = await request(m.url, '/v2/keys/message');
    const head = await request(m.url, '/v2/keys/message', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['x-etcd-index']).toBe(get.headers['x-etcd-index']);
  });

  it('serves quorum=true reads after the read barrier, and ignores wait with quorum', async () => {
    const res = await request(m.url, '/v2/keys/message?quorum=true&wait=true');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ action: 'get', node: { key: '/message', value: 'RECREATE' } });
  });

  it('escapes <, > and & in values and causes as Go does', async () => {
    const res = await put(m.url, '/v2/keys/html', 'value=%3Cb%3E%26');
    expect(res.body).toContain('"value":"\\u003cb\\u003e\\u0026"');
    const missing = await request(m.url, '/v2/keys/%3Cnope%3E');
    expect(missing.body).toContain('"cause":"/\\u003cnope\\u003e"');
  });

  it('emits each invalid UTF-8 byte of a value as \\ufffd', async () => {
    const res = await put(m.url, '/v2/keys/bytes', 'value=%FFab%E2%9Cz');
    expect(res.body).toContain('"value":"\\ufffdab\\ufffd\\ufffdz"');
  });
});

describe('TTL', () => {
  it('reports expiration and ttl, and a SYNC expires the key (ttl=1 gone within ~2 s)', async () => {
    const res = await put(m.url, '/v2/keys/ttl1?ttl=1', 'value=t');
    expect(res.json).toMatchObject({ node: { ttl: 1, expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) } });
    await eventually(async () => (await request(m.url, '/v2/keys/ttl1')).status === 404, 3000, 100);
  });

  it('treats ttl=0 as "expire now": expiration present, no ttl field, gone after the next sweep', async () => {
    const res = await put(m.url, '/v2/keys/ttl0?ttl=0', 'value=t');
    const node = (res.json as { node: Record<string, unknown> }).node;
    expect(node['expiration']).toBeDefined();
    expect(node['ttl']).toBeUndefined();
    await eventually(async () => (await request(m.url, '/v2/keys/ttl0')).status === 404, 2000, 50);
  });

  it('treats an overflowing ttl as etcd does: permanent on a set', async () => {
    const res = await put(m.url, '/v2/keys/ttlhuge?ttl=99999999999', 'value=1');
    expect(res.status).toBe(201);
    expect(res.body).not.toContain('expiration');
  });
});

describe('response framing (Go buffers 2048 bytes)', () => {
  // body = {"action":"get","node":{"key":"/frame","value":"…","modifiedIndex":N,"createdIndex":N}}\n
  const bodyLength = async (valueLength: number): Promise<{ length: number; framing: string; headFraming: string }> => {
    await put(m.url, '/v2/keys/frame', `value=${'v'.repeat(valueLength)}`);
    const res = await request(m.url, '/v2/keys/frame');
    const head = await request(m.url, '/v2/keys/frame', { method: 'HEAD' });
    const framing = (h: Record<string, unknown>): string =>
      h['content-length'] !== undefined ? 'length' : h['transfer-encoding'] === 'chunked' ? 'chunked' : 'none';
    return { length: res.bodyBytes.length, framing: framing(res.headers), headFraming: framing(head.headers) };
  };

  it('uses Content-Length up to 2048 bytes and chunked above; HEAD of a large body has neither', async () => {
    const base = (await bodyLength(0)).length;
    const at = await bodyLength(2048 - base);
    expect(at).toEqual({ length: 2048, framing: 'length', headFraming: 'length' });
    const over = await bodyLength(2049 - base);
    expect(over).toEqual({ length: 2049, framing: 'chunked', headFraming: 'none' });
  });
});

describe('request bodies over --max-request-bytes', () => {
  it('refuses a too large form with 210 "http: POST too large" and Connection: close', async () => {
    const res = await put(m.url, '/v2/keys/big', `value=${'x'.repeat(4096)}`);
    expect(res.status).toBe(400);
    expect(res.body).toBe('{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}\n');
    expect(res.headers['connection']).toBe('close');
    expect((await request(m.url, '/v2/keys/big')).status).toBe(404);
  });

  it('refuses a chunked body once it passes the limit, and accepts one exactly at it', async () => {
    const over = await request(m.url, '/v2/keys/big', {
      method: 'PUT',
      body: `value=${'x'.repeat(4091)}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' },
    });
    expect(over.status).toBe(400);
    const at = await put(m.url, '/v2/keys/big', `value=${'x'.repeat(4090)}`);
    expect(at.status).toBe(201);
  });
});

describe('clients that go away', () => {
  it('drops a request whose client left mid-body, without an internal error, and keeps serving', async () => {
    const errors: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const s = await startTestMember({ serve: { logger } });
    try {
      const socket = net.connect(s.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('PUT /v2/keys/half HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nvalue=abc');
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect((await request(s.url, '/v2/keys/half')).status).toBe(404);
      expect(errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('paths (Go ServeMux and etcd key handling)', () => {
  it.each([
    ['GET', '/v2/keys/a//b?x=1', '/v2/keys/a/b?x=1'],
    ['PUT', "/v2/keys/x/../y%20z%C3%A9%3F%23+:@;,=$&'()*", '/v2/keys/y%20z%C3%A9%3F%23+:@;,=$&%27%28%29%2A'],
    ['DELETE', '/v2/keys/./q/', '/v2/keys/q/'],
    ['GET', '/v2/keys/a%2F%2Fb', '/v2/keys/a/b'],
    ['GET', '/v2/keys/..', '/v2'],
    ['POST', '/v2//stats/self', '/v2/stats/self'],
  ])('%s %s -> 301 to %s, without etcd headers, nothing written', async (method, path, location) => {
    const before = m.member.store.index();
    const res = await request(m.url, path, { method, ...(method === 'PUT' ? { form: 'value=1' } : {}) });
    expect(res.status).toBe(301);
    expect(res.headers['location']).toBe(location);
    expect(res.headers).toMatchObject(CORS);
    expect(res.headers['x-etcd-cluster-id']).toBeUndefined();
    expect(res.headers['x-etcd-index']).toBeUndefined();
    if (method === 'GET') {
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toBe(`<a href="${location}">Moved Permanently</a>.\n\n`);
    } else {
      expect(res.body).toBe('');
    }
    expect(m.member.store.index()).toBe(before);
  });

  it('answers HEAD of an unclean path with 301 and no Content-Length', async () => {
    const res = await request(m.url, '/v2/keys/a%2F%2Fb', { method: 'HEAD' });
    expect(res.status).toBe(301);
    expect(res.headers['content-length']).toBeUndefined();
  });

  it('decodes keys: %2F is a separator, %20 a space, + and %3F literal, UTF-8 kept raw', async () => {
    expect((await put(m.url, '/v2/keys/enc%2Fslash', 'value=e')).json).toMatchObject({ node: { key: '/enc/slash' } });
    expect((await request(m.url, '/v2/keys/enc?recursive=true')).json).toMatchObject({ node: { key: '/enc', dir: true } });
    expect((await put(m.url, '/v2/keys/with%20space+plus', 'value=s')).json).toMatchObject({ node: { key: '/with space+plus' } });
    expect((await put(m.url, '/v2/keys/q%3Fh%23', 'value=q')).json).toMatchObject({ node: { key: '/q?h#' } });
    const unicode = await put(m.url, '/v2/keys/%E2%9C%93ok', 'value=u');
    expect(unicode.body).toContain('"key":"/✓ok"');
  });

  it('drops a trailing slash from keys and treats /v2/keys and /v2/keys/ as the root', async () => {
    expect((await put(m.url, '/v2/keys/ts/', 'value=t')).json).toMatchObject({ node: { key: '/ts' } });
    const root = await request(m.url, '/v2/keys/');
    expect(root.json).toMatchObject({ action: 'get', node: { dir: true } });
    const ro = await put(m.url, '/v2/keys', 'value=r');
    expect(ro.status).toBe(400);
    expect(ro.json).toMatchObject({ errorCode: 107, message: 'Root is read only', cause: '/' });
  });

  it('answers Go 400 to a bad escape in the path, before CORS', async () => {
    const res = await request(m.url, '/v2/keys/%zz');
    expect(res.status).toBe(400);
    expect(res.body).toBe('400 Bad Request');
    expect(res.headers['connection']).toBe('close');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(['/v2/keysfoo', '/', '/v2', '/v2/stats', '/v2/stats/', '/v2/machines/', '/version/', '/v2/stats/self/'])(
    '404 page not found for %s',
    async (path) => {
      const res = await request(m.url, path);
      expect(res.status).toBe(404);
      expect(res.body).toBe('404 page not found\n');
      expect(res.headers).toMatchObject({ ...CORS, 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    },
  );

  it('405 with Allow for methods keys does not take, without cluster id', async () => {
    const res = await request(m.url, '/v2/keys/a', { method: 'PATCH' });
    expect(res.status).toBe(405);
    expect(res.body).toBe('Method Not Allowed\n');
    expect(res.headers['allow']).toBe('HEAD,GET,PUT,POST,DELETE');
    expect(res.headers['x-etcd-cluster-id']).toBeUndefined();
  });

  it('answers OPTIONS anywhere with a bare 200 preflight', async () => {
    for (const path of ['/v2/keys/a', '/whatever//x', '/v2/stats/self']) {
      const res = await request(m.url, path, { method: 'OPTIONS' });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('0');
      expect(res.headers).toMatchObject(CORS);
      expect(res.headers['content-type']).toBeUndefined();
    }
  });
});
