// readBoundedBody (src/transport/body.ts): a peer request body under a byte bound, and a snapshot's
// read into one buffer of its declared length.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBoundedBody } from '../../src/transport/body.js';

/** A request whose body is `chunks`, declaring `declared` bytes (undefined: no Content-Length). */
function request(chunks: readonly Buffer[], declared?: number): IncomingMessage {
  const req = new PassThrough() as unknown as IncomingMessage & PassThrough;
  Object.assign(req, { headers: declared === undefined ? {} : { 'content-length': String(declared) }, complete: false });
  queueMicrotask(() => {
    for (const c of chunks) req.write(c);
    req.on('end', () => Object.assign(req, { complete: true }));
    req.end();
  });
  return req;
}

describe('readBoundedBody', () => {
  it('reads a declared body into one buffer of its length, whatever the chunks', async () => {
    const parts = [Buffer.from('snap'), Buffer.from('shot-'), Buffer.from('bytes')];
    const r = await readBoundedBody(request(parts, 14), 1024, { preallocate: true });
    expect(r).toEqual({ ok: true, body: Buffer.from('snapshot-bytes') });
  });

  it('refuses more bytes than declared, and a body that ends short of its declared length', async () => {
    expect(await readBoundedBody(request([Buffer.alloc(8), Buffer.alloc(4)], 10), 1024, { preallocate: true })).toEqual({ ok: false, reason: 'too-large' });
    expect(await readBoundedBody(request([Buffer.alloc(8)], 10), 1024, { preallocate: true })).toEqual({ ok: false, reason: 'aborted' });
  });

  it('refuses a declared length over the bound before reading, with or without preallocation', async () => {
    for (const preallocate of [true, false]) {
      expect(await readBoundedBody(request([Buffer.alloc(1)], 2048), 1024, { preallocate })).toEqual({ ok: false, reason: 'too-large' });
    }
  });

  it('without a declared length, counts the bytes against the bound', async () => {
    expect(await readBoundedBody(request([Buffer.alloc(600), Buffer.alloc(600)]), 1024, { preallocate: true })).toEqual({ ok: false, reason: 'too-large' });
    const r = await readBoundedBody(request([Buffer.from('a'), Buffer.from('b')]), 1024, { preallocate: true });
    expect(r).toEqual({ ok: true, body: Buffer.from('ab') });
  });
});
