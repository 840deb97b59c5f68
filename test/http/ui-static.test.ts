// GET /ui/: the live view's static files, served by the plain handler and by the Express app alike,
// read-only, and nothing outside the page's folder.
import http from 'node:http';
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uiStaticRoute } from '../../src/http/ui-static.js';
import { request, startTestMember, type TestMember } from './harness.js';

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

describe('/ui/ on the client port', () => {
  it.each([
    ['plain handler', () => plain],
    ['Express app', () => viaExpress],
  ])('%s serves the page, redirects /ui to /ui/ with the query, and refuses writes', async (_label, member) => {
    const m = member();
    const page = await request(m.url, '/ui/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="./browser/main.js">');
    const css = await request(m.url, '/ui/style.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const bare = await request(m.url, '/ui?control=x');
    expect(bare.status).toBe(301);
    expect(bare.headers['location']).toBe('/ui/?control=x');
    expect((await request(m.url, '/ui/', { method: 'POST' })).status).toBe(405);
    expect((await request(m.url, '/ui/nope.html')).status).toBe(404);
  });
});

describe('uiStaticRoute', () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ui-static-'));
    await fs.mkdir(path.join(dir, 'ui', 'browser'), { recursive: true });
    await fs.writeFile(path.join(dir, 'ui', 'index.html'), '<p>hi</p>');
    await fs.writeFile(path.join(dir, 'ui', 'browser', 'main.js'), 'export {}');
    await fs.writeFile(path.join(dir, 'ui', 'notes.txt'), 'not served');
    await fs.writeFile(path.join(dir, 'secret.html'), 'outside');
    const route = uiStaticRoute({ dir: path.join(dir, 'ui') });
    server = http.createServer((req, res) => void route(req, res, (req.url ?? '').split('?')[0] as string));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves html, js with their types, HEAD without a body', async () => {
    expect((await request(url, '/ui/')).body).toBe('<p>hi</p>');
    const js = await request(url, '/ui/browser/main.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const head = await request(url, '/ui/browser/main.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('9');
  });

  it.each(['/ui/notes.txt', '/ui/../secret.html', '/ui/%2e%2e/secret.html', '/ui/.hidden.html', '/ui/browser/', '/ui//index.html'])('404 for %s', async (p) => {
    expect((await request(url, p)).status).toBe(404);
  });
});
