// How the jepsen client classifies what happened to an operation: a refused connection sent nothing
// (a definite failure the checker drops), but a connection broken after the request went out, or no
// answer in time, leaves the write's fate open (indeterminate).
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { makeAgent, runOp } from '../../tools/jepsen/client.js';
import { freePort } from '../helpers/ports.js';

const agent = makeAgent();
afterAll(() => agent.close());

async function server(onSocket: (s: net.Socket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = net.createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

describe('jepsen client outcomes', () => {
  it('a refused connection is a definite failure without an etcd code', async () => {
    const port = await freePort(); // nothing listens there
    const res = await runOp(agent, `http://127.0.0.1:${port}`, { kind: 'write', key: '/k', value: 'v' }, 2000);
    expect(res.outcome).toBe('fail');
    expect(res.errorCode).toBeUndefined();
    expect(res.error).toMatch(/ECONNREFUSED/);
  });

  it('a connection closed after the request arrived is indeterminate', async () => {
    const s = await server((sock) => sock.once('data', () => sock.destroy()));
    try {
      const res = await runOp(agent, s.url, { kind: 'write', key: '/k', value: 'v' }, 2000);
      expect(res.outcome).toBe('info');
    } finally {
      await s.close();
    }
  });

  it('no answer within the timeout is indeterminate', async () => {
    const sockets: net.Socket[] = [];
    const s = await server((sock) => void sockets.push(sock));
    try {
      const res = await runOp(agent, s.url, { kind: 'write', key: '/k', value: 'v' }, 300);
      expect(res.outcome).toBe('info');
      expect(res.error).toMatch(/timeout/);
    } finally {
      for (const x of sockets) x.destroy();
      await s.close();
    }
  });

  it('an etcd error with a 4xx status is a definite failure with its code', async () => {
    const body = '{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":7}';
    const s = await server((sock) =>
      sock.once('data', () => sock.end(`HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)),
    );
    try {
      const res = await runOp(agent, s.url, { kind: 'cas-value', key: '/k', value: 'v', prevValue: 'b' }, 2000);
      expect(res).toMatchObject({ outcome: 'fail', errorCode: 101 });
    } finally {
      await s.close();
    }
  });
});
