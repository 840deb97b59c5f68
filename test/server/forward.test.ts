// --follower-writes forward (src/server/forward.ts): the leader's POST /members/propose trusts no
// peer input (only members, only well-formed client commands, never SYNC), and a follower answers
// a client only from the entry tagged with its own run and sequence.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { NotLeaderError, ProposalError } from '../../src/server/backend.js';
import { checkForwardable, decodeEntryCommand, encodeEntryCommand, type EntryCommand } from '../../src/server/entry-codec.js';
import { ForwardedProposals, Forwarder, FORWARD_TOKEN_PATH, PROPOSE_PATH } from '../../src/server/forward.js';
import type { PeerApiReply, PeerClient } from '../../src/server/peer-api.js';
import type { EntryResult } from '../../src/server/state-machine.js';
import { nodeTimers } from '../../src/server/timers.js';
import { v2Request } from '../../src/store/command.js';
import { HEADER_CLUSTER_ID, HEADER_FROM } from '../../src/transport/protocol.js';
import { peerJsonText } from '../../src/server/peer-api.js';

const logger = pino({ level: 'silent' });
const CLUSTER = 'c1';
const LEADER = 0xan;
const FOLLOWER = 0xbn;
const put = v2Request({ method: 'PUT', path: '/k', val: 'v', time: 1_700_000_000_000 });

const TOKEN = '0123456789abcdef0123456789abcdef';

function request(body: unknown, headers: Record<string, string> = {}) {
  return {
    method: 'POST',
    path: PROPOSE_PATH,
    headers: { [HEADER_CLUSTER_ID]: CLUSTER, [HEADER_FROM]: FOLLOWER.toString(16), ...headers },
    body: new TextEncoder().encode(typeof body === 'string' ? body : peerJsonText(body)),
  };
}

/** The leader's handler; the follower confirms TOKEN at its peer URL (counted). */
function leaderSide(propose: (cmd: EntryCommand) => Promise<EntryResult> = async () => ({ ok: true, event: null })) {
  const proposed: EntryCommand[] = [];
  const confirmations: string[] = [];
  const follower = new Forwarder({
    memberId: FOLLOWER, clusterIdHex: CLUSTER, runId: 42, token: TOKEN, leaderId: () => LEADER, peerURLs: () => [],
    peerClient: { request: () => Promise.reject(new Error('unused')) }, timers: nodeTimers, logger, timeoutMs: 1000, maxPending: 1,
  });
  const peerClient: PeerClient = {
    request: async (url, req) => {
      confirmations.push(`${url}${req.path}`);
      expect(url).toBe('http://follower:2380');
      const [path, query] = req.path.split('?');
      const reply = follower.handleTokenCheck({ method: req.method, path: path ?? '', query: query ?? '', headers: { [HEADER_CLUSTER_ID]: CLUSTER, ...(req.headers ?? {}) }, body: new Uint8Array() });
      return { status: reply.status, headers: {}, body: new Uint8Array() };
    },
  };
  const handler = new ForwardedProposals({
    clusterIdHex: CLUSTER,
    selfId: LEADER,
    isMember: (id: bigint) => id === LEADER || id === FOLLOWER,
    peerURLs: (id: bigint) => (id === FOLLOWER ? ['http://follower:2380'] : []),
    peerClient,
    timeoutMs: 1000,
    propose: (cmd: EntryCommand) => {
      proposed.push(cmd);
      return propose(cmd);
    },
    logger,
  });
  return { proposed, confirmations, handle: (req: ReturnType<typeof request>) => handler.handle(req) };
}

describe('POST /members/propose on the leader', () => {
  it('proposes a member\'s well-formed write tagged with that member, its run and sequence', async () => {
    const l = leaderSide();
    const reply = await l.handle(request({ runId: 42, seq: 7, token: TOKEN, cmd: { kind: 'v2', req: put } }));
    expect(reply.status).toBe(200);
    expect(l.proposed).toEqual([{ kind: 'forwarded', memberId: FOLLOWER, runId: 42, seq: 7, cmd: { kind: 'v2', req: put } }]);
    // the token was confirmed once at the follower's own peer URL, then remembered
    expect((await l.handle(request({ runId: 42, seq: 8, token: TOKEN, cmd: { kind: 'v2', req: put } }))).status).toBe(200);
    expect(l.confirmations).toEqual([`http://follower:2380${FORWARD_TOKEN_PATH}?token=${TOKEN}`]);
  });

  it('refuses a well-formed write from a stranger who claims to be a member but does not hold its token', async () => {
    const l = leaderSide();
    const forged = await l.handle(request({ runId: 42, seq: 1, token: 'ffffffffffffffffffffffffffffffff', cmd: { kind: 'v2', req: put } }));
    expect(forged.status).toBe(403);
    expect(l.proposed).toEqual([]);
    expect((await l.handle(request({ runId: 42, seq: 1, cmd: { kind: 'v2', req: put } }))).status).toBe(400); // no token at all
    expect(l.proposed).toEqual([]);
  });

  it.each([
    ['a stranger (not a member)', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }, { [HEADER_FROM]: 'ff' }), 403],
    ['the leader itself', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }, { [HEADER_FROM]: LEADER.toString(16) }), 403],
    ['another cluster', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }, { [HEADER_CLUSTER_ID]: 'c2' }), 412],
    ['not JSON', request('{"runId":'), 400],
    ['no sequence', request({ runId: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }), 400],
    ['a SYNC (only the leader expires TTLs, by its own clock)', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: { ...put, method: 'SYNC', path: '/' } } }), 400],
    ['a path that is not a canonical key', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: { ...put, path: '/a/../b' } } }), 400],
    ['an unknown field', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: { ...put, evil: 1 } } }), 400],
    ['a value that is not a string', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: { ...put, val: 5 } } }), 400],
    ['an infinite expiration', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: { ...put, expiration: -1 } } }), 400],
    ['a member publish (only the member itself, through /members/publish)', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'attrs', memberId: FOLLOWER, name: 'x', clientURLs: [] } }), 400],
    ['a cluster version', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'version', version: '9.9.9' } }), 400],
    ['a nested forward', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'forwarded', memberId: FOLLOWER, runId: 1, seq: 1, cmd: { kind: 'v2', req: put } } }), 400],
    ['a malformed auth change', request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'auth', change: { op: 'createUser' } } }), 400],
  ])('refuses %s without proposing anything', async (_what, req, status) => {
    const l = leaderSide();
    const reply = await l.handle(req);
    expect(reply.status).toBe(status);
    expect(l.proposed).toEqual([]);
  });

  it('answers 503 with etcd\'s reason when it cannot propose', async () => {
    const notLeader = leaderSide(() => Promise.reject(new NotLeaderError([])));
    expect(await notLeader.handle(request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }))).toMatchObject({ status: 503, json: { message: 'etcdserver: leader changed' } });
    const busy = leaderSide(() => Promise.reject(new ProposalError('etcdserver: too many requests')));
    expect(await busy.handle(request({ runId: 1, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }))).toMatchObject({ status: 503, json: { message: 'etcdserver: too many requests' } });
  });

  it('checkForwardable accepts what the HTTP layer builds, and it survives the log encoding', () => {
    const cmds: EntryCommand[] = [
      { kind: 'v2', req: v2Request({ method: 'DELETE', path: '/', time: 1, recursive: true, dir: true }) },
      { kind: 'v2', req: v2Request({ method: 'POST', path: '/q', val: 'ünï', time: 1.5, expiration: 2.5, prevExist: false, prevIndex: Number.MAX_SAFE_INTEGER, prevIndexText: '18446744073709551615' }) },
      { kind: 'peers', memberId: FOLLOWER, peerURLs: ['http://127.0.0.1:2380'] },
    ];
    for (const cmd of cmds) {
      const checked = checkForwardable(JSON.parse(peerJsonText(cmd)));
      expect(checked).toEqual(cmd);
      const entry = { kind: 'forwarded' as const, memberId: FOLLOWER, runId: 3, seq: 9, cmd: checked as Exclude<typeof checked, string> };
      expect(decodeEntryCommand(encodeEntryCommand(entry))).toEqual(entry);
    }
  });
});

describe('Forwarder (the follower)', () => {
  function follower(reply: () => Promise<PeerApiReply>) {
    const sent: unknown[] = [];
    const peerClient: PeerClient = {
      request: (_url, req) => {
        sent.push(req.json);
        return reply();
      },
    };
    const f = new Forwarder({
      memberId: FOLLOWER,
      clusterIdHex: CLUSTER,
      runId: 42,
      token: TOKEN,
      leaderId: () => LEADER,
      peerURLs: () => ['http://127.0.0.1:1'],
      peerClient,
      timers: nodeTimers,
      logger,
      timeoutMs: 2000,
      maxPending: 2,
    });
    return { f, sent };
  }
  const ok = (): Promise<PeerApiReply> => Promise.resolve({ status: 200, headers: {}, body: new TextEncoder().encode('{"ok":true}') });
  const notLeader = (): NotLeaderError => new NotLeaderError([]);

  it('answers from its own apply of the entry with its run and sequence, not from another run\'s', async () => {
    const { f, sent } = follower(ok);
    const answer = f.forward({ kind: 'v2', req: put }, notLeader);
    expect(sent).toEqual([{ runId: 42, seq: 1, token: TOKEN, cmd: { kind: 'v2', req: put } }]);
    let settled = false;
    void answer.then(() => (settled = true));
    const result: EntryResult = { ok: true, event: null };
    // the same sequence from an earlier run (replayed after a restart) and another member's: ignored
    f.onApplied({ kind: 'forwarded', memberId: FOLLOWER, runId: 41, seq: 1, cmd: { kind: 'v2', req: put } }, { ok: false } as never);
    f.onApplied({ kind: 'forwarded', memberId: LEADER, runId: 42, seq: 1, cmd: { kind: 'v2', req: put } }, { ok: false } as never);
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    f.onApplied({ kind: 'forwarded', memberId: FOLLOWER, runId: 42, seq: 1, cmd: { kind: 'v2', req: put } }, result);
    await expect(answer).resolves.toBe(result);
    expect(f.pending).toBe(0);
  });

  it('fails with the leader\'s reason, bounds what waits, and says not-leader when no leader is known', async () => {
    const refusing = follower(() => Promise.resolve({ status: 503, headers: {}, body: new TextEncoder().encode('{"message":"etcdserver: leader changed"}') }));
    await expect(refusing.f.forward({ kind: 'v2', req: put }, notLeader)).rejects.toMatchObject({ reason: 'etcdserver: leader changed' });

    const silent = follower(() => new Promise<PeerApiReply>(() => undefined));
    const a = silent.f.forward({ kind: 'v2', req: put }, notLeader);
    const b = silent.f.forward({ kind: 'v2', req: put }, notLeader);
    await expect(silent.f.forward({ kind: 'v2', req: put }, notLeader)).rejects.toMatchObject({ reason: 'etcdserver: too many requests' });
    silent.f.failAll('etcdserver: server stopped');
    await expect(a).rejects.toMatchObject({ reason: 'etcdserver: server stopped' });
    await expect(b).rejects.toBeInstanceOf(ProposalError);

    const leaderless = new Forwarder({
      memberId: FOLLOWER, clusterIdHex: CLUSTER, runId: 1, token: TOKEN, leaderId: () => 0n, peerURLs: () => [], peerClient: { request: ok },
      timers: nodeTimers, logger, timeoutMs: 1000, maxPending: 1,
    });
    await expect(leaderless.forward({ kind: 'v2', req: put }, notLeader)).rejects.toBeInstanceOf(NotLeaderError);
  });
});
