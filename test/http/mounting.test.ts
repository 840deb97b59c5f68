// Mounting the client API: the Express flavour answers exactly as the plain handler the runtimes
// serve, and a runtime can add exact-path endpoints (e.g. /metrics).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from './fake-backend.js';
import { put, request, serveBackend, startTestMember, type TestMember, type TestServer } from './harness.js';

let plain: TestMember;
let viaExpress: TestMember;
beforeAll(async () => {
  plain = await startTestMember();
  viaExpress = await startTestMember({ serve: { express: true } });
});
afterAll(async () => {
  await plain.close();
  await viaExpress.close();
});

describe('createClientApp (Express)', () => {
  it.each([
    ['PUT', '/v2/keys/e?noValueOnSuccess=false', 'value=1'],
    ['GET', '/v2/keys/e', undefined],
    ['GET', '/v2/keys/e?recursive=bad', undefined],
    ['GET', '/v2/keys//e', undefined],
    ['PATCH', '/v2/keys/e', undefined],
    ['GET', '/nope', undefined],
    ['GET', '/version', undefined],
  ])('answers %s %s like the plain handler', async (method, path, form) => {
    const [a, b] = await Promise.all(
      [plain, viaExpress].map((m) => request(m.url, path, { method, ...(form !== undefined ? { form } : {}) })),
    );
    expect(b!.status).toBe(a!.status);
    expect(b!.body).toBe(a!.body);
    const headerNames = (r: typeof a) => r!.rawHeaderNames.filter((n) => !['Date', 'Connection', 'Keep-Alive'].includes(n));
    expect(headerNames(b)).toEqual(headerNames(a));
  });

  it('maps an unexpected failure to an etcd-shaped 500', async () => {
    const backend = new FakeBackend();
    backend.proposeImpl = () => Promise.reject(new Error('boom'));
    let s: TestServer | null = null;
    try {
      s = await serveBackend(backend, { express: true });
      const res = await put(s.url, '/v2/keys/x', 'value=1');
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ errorCode: 300, message: 'Raft Internal Error', cause: 'etcd-ts: internal error', index: 0 });
    } finally {
      await s?.close();
    }
  });
});

describe('extra routes', () => {
  it('serves an endpoint a runtime adds (e.g. /metrics) with CORS, and 404 elsewhere', async () => {
    const routes = new Map([['/metrics', (_req: unknown, res: import('node:http').ServerResponse) => void res.end('up 1\n')]]);
    const m = await startTestMember({ serve: { extraRoutes: routes } });
    try {
      const res = await request(m.url, '/metrics');
      expect(res.status).toBe(200);
      expect(res.body).toBe('up 1\n');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect((await request(m.url, '/metrics/')).status).toBe(404);
    } finally {
      await m.close();
    }
  });
});
