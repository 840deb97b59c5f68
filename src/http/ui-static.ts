// GET /ui/: the live view's static files (issue 14), served by every member on its client port, from
// the package's dist/ui (the build compiles src/ui/browser/*.ts there and copies index.html and
// style.css beside them). Read-only, GET and HEAD only, a fixed set of extensions, no directory
// listing, no path outside that folder; files are read once and kept (they are a few kilobytes,
// and at most maxCachedBytes of them are kept).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const UI_PATH = '/ui';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A file name below /ui/: lower-case words, dashes, dots and slashes; no `..`, no leading dot. */
const SAFE_NAME = /^(?:[a-z0-9][a-z0-9_-]*\/)*[a-z0-9][a-z0-9_.-]*$/;

export interface UiStaticOptions {
  /** The folder served (default: dist/ui beside this compiled file). */
  dir?: string;
  maxCachedBytes?: number;
}

/** `path` is `/ui` or below it. */
export function isUiPath(p: string): boolean {
  return p === UI_PATH || p.startsWith(UI_PATH + '/');
}

export function uiStaticRoute(options: UiStaticOptions = {}): (req: IncomingMessage, res: ServerResponse, urlPath: string) => Promise<void> {
  const dir = options.dir ?? fileURLToPath(new URL('../ui/', import.meta.url));
  const maxCachedBytes = options.maxCachedBytes ?? 2 * 1024 * 1024;
  const cache = new Map<string, Buffer>();
  let cachedBytes = 0;
  return async (req, res, urlPath) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    if (urlPath === UI_PATH) {
      const q = req.url?.indexOf('?') ?? -1;
      res.writeHead(301, { Location: '/ui/' + (q < 0 ? '' : (req.url as string).slice(q)) }).end();
      return;
    }
    let name = urlPath.slice(UI_PATH.length + 1);
    if (name === '') name = 'index.html';
    const type = CONTENT_TYPES[path.extname(name)];
    if (!SAFE_NAME.test(name) || name.includes('..') || type === undefined) {
      notFound(res);
      return;
    }
    let body = cache.get(name);
    if (body === undefined) {
      try {
        body = await fs.readFile(path.join(dir, name));
      } catch {
        notFound(res);
        return;
      }
      if (cachedBytes + body.byteLength <= maxCachedBytes) {
        cache.set(name, body);
        cachedBytes += body.byteLength;
      }
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': body.byteLength,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
}
