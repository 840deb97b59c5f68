import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, listenAll, type Listener } from '../../src/server/listen.js';
import { parseMemberURL, type MemberURL } from '../../src/server/urls.js';

/** Sends raw bytes and returns everything the server answered before closing. */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('member listeners', () => {
  let listeners: Listener[];
  let port: number;

  beforeAll(async () => {
    const url = parseMemberURL('http://127.0.0.1:0') as MemberURL;
    listeners = await listenAll([url], (_req, res) => res.end('ok'));
    port = (listeners[0] as Listener).address.port;
  });
  afterAll(() => closeAll(listeners));

  it('answers raw non-ASCII bytes in the request path with a 400 that says to percent-encode them', async () => {
    const answer = await rawExchange(port, Buffer.from('GET /v2/keys/ünï HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8'));
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(answer).toContain('Connection: close');
    expect(answer).toContain('Access-Control-Allow-Origin: *');
    expect(answer).toContain('percent-encode');
  });

  it("answers a malformed request line with Go's plain 400", async () => {
    const answer = await rawExchange(port, Buffer.from('NOT A REQUEST\r\n\r\n'));
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.endsWith('\r\n\r\n400 Bad Request')).toBe(true);
  });

  it('keeps serving well-formed requests', async () => {
    const answer = await rawExchange(port, Buffer.from('GET /v2/keys/%C3%BC HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer.endsWith('ok')).toBe(true);
  });
});
