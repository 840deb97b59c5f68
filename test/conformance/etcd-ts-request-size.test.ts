// A deliberate difference from etcd, so not in the differential suite: etcd-ts bounds request bodies
// by --max-request-bytes (default 1.5 MiB, etcd's flag and default), where etcd 3.4's v2 API accepts
// forms up to 10 MiB. An oversize body gets etcd's oversize-form answer (400, errorCode 210,
// "http: POST too large") and nothing is written.
//   npx vitest run test/conformance/etcd-ts-request-size.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import type { Target } from '../helpers/target.js';
import { rawHttpRequest } from '../helpers/raw-http.js';
import { exchange } from './exchange.js';

const defaultLimitBytes = 1_572_864;

/**
 * Sends a form body over a raw socket that keeps reading after a failed write: the server may answer
 * an oversize body before reading it all and close the connection (as Go does).
 */
async function send(target: Target, method: string, key: string, body: string): Promise<{ status: number; json: unknown; etcdIndex?: string }> {
  const r = await rawHttpRequest(target.clientURL, method, `/v2/keys/${key}`, Buffer.from(body), {
    'Content-Type': 'application/x-www-form-urlencoded',
  });
  return { status: r.status, json: JSON.parse(r.body), etcdIndex: r.headers['x-etcd-index'] };
}

const put = (target: Target, key: string, body: string): ReturnType<typeof send> => send(target, 'PUT', key, body);

async function getStatus(target: Target, path: string): Promise<number | undefined> {
  return (await exchange(target.clientURL, { method: 'GET', path }, 10_000)).head?.status;
}

const tooLarge = { errorCode: 210, message: 'Invalid POST form', cause: 'http: POST too large', index: 0 };

describe('etcd-ts refuses request bodies over --max-request-bytes (default 1.5 MiB)', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startEtcdTs();
  }, 60_000);
  afterAll(async () => {
    await target?.stop();
  }, 30_000);

  it('accepts a body just under the limit', async () => {
    const body = `value=${'a'.repeat(defaultLimitBytes - 1024)}`;
    const r = await put(target, 'under', body);
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ action: 'set', node: { key: '/under' } });
  });

  it('answers a body over the limit with 400/210 and writes nothing', async () => {
    const body = `value=${'b'.repeat(defaultLimitBytes + 1024)}`;
    const r = await put(target, 'over', body);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(tooLarge);
    expect(r.etcdIndex).toBe('0');
    expect(await getStatus(target, '/v2/keys/over')).toBe(404);
    expect(await getStatus(target, '/health')).toBe(200);
  });

  it('refuses an oversize POST the same way', async () => {
    const r = await send(target, 'POST', 'q', `value=${'c'.repeat(defaultLimitBytes + 1)}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(tooLarge);
    expect(await getStatus(target, '/v2/keys/q')).toBe(404);
  });
});

describe('etcd-ts honours a lower --max-request-bytes', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startEtcdTs({ extraArgs: ['--max-request-bytes', '2048'] });
  }, 60_000);
  afterAll(async () => {
    await target?.stop();
  }, 30_000);

  it('accepts 1000 bytes and refuses 3000 bytes', async () => {
    expect((await put(target, 'small', `value=${'s'.repeat(1000)}`)).status).toBe(201);
    const r = await put(target, 'big', `value=${'x'.repeat(3000)}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(tooLarge);
    expect(await getStatus(target, '/v2/keys/big')).toBe(404);
  });
});
