// Two tiny HTTP servers that stand in for a follower and a leader, to check how clients (our
// KvClient, etcdctl v2, node-etcd) follow a follower's 307 without needing a cluster: the "follower"
// answers everything with 307 (absolute, relative, or to itself); the "leader" records each request
// and answers with an etcd-shaped event.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  body: string;
}

export type RedirectMode = 'absolute' | 'relative' | 'self';

export interface RedirectStub {
  followerURL: string;
  leaderURL: string;
  /** Requests the leader received, in order. */
  leaderReceived: RecordedRequest[];
  /** Requests the follower received, in order. */
  followerReceived: RecordedRequest[];
  mode: RedirectMode;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function etcdAnswer(method: string, url: URL, body: string, index: number): { status: number; json: unknown } {
  const key = decodeURIComponent(url.pathname.replace(/^\/v2\/keys/, '')) || '/';
  const node = { key, modifiedIndex: index, createdIndex: index };
  if (method === 'PUT') return { status: 201, json: { action: 'set', node: { ...node, value: new URLSearchParams(body).get('value') ?? '' } } };
  if (method === 'DELETE') return { status: 200, json: { action: 'delete', node, prevNode: { ...node, value: 'old' } } };
  return { status: 200, json: { action: 'get', node: { ...node, value: 'stub-value' } } };
}

export async function startRedirectStub(): Promise<RedirectStub> {
  let index = 10;
  const stub: RedirectStub = {
    followerURL: '',
    leaderURL: '',
    leaderReceived: [],
    followerReceived: [],
    mode: 'absolute',
    close: async () => undefined,
  };
  const leader = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      stub.leaderReceived.push({ method: req.method ?? '', url: req.url ?? '', body });
      const answer = etcdAnswer(req.method ?? 'GET', new URL(req.url ?? '/', stub.leaderURL), body, ++index);
      res.writeHead(answer.status, { 'Content-Type': 'application/json', 'X-Etcd-Index': String(index), 'X-Etcd-Cluster-Id': 'abcdef' });
      res.end(`${JSON.stringify(answer.json)}\n`);
    });
  });
  const follower = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      stub.followerReceived.push({ method: req.method ?? '', url: req.url ?? '', body });
      const path = req.url ?? '/';
      const location = stub.mode === 'absolute' ? `${stub.leaderURL}${path}` : stub.mode === 'self' ? `${stub.followerURL}${path}` : path;
      res.writeHead(307, { Location: location, 'Content-Length': '0' });
      res.end();
    });
  });
  stub.leaderURL = await listen(leader);
  stub.followerURL = await listen(follower);
  stub.close = async () => {
    for (const s of [leader, follower]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  };
  return stub;
}
