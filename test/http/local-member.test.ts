// The single-member runtime behind the client API: proposals applied in order from their encoded
// bytes, a bounded queue, a read barrier behind earlier writes, expiry through SYNC commands.
import { afterEach, describe, expect, it } from 'vitest';
import { ProposalError } from '../../src/server/backend.js';
import { LocalMember, type LocalMemberOptions } from '../../src/server/local-member.js';
import { v2Request } from '../../src/store/command.js';
import { eventually, silentLogger } from './harness.js';

const members: LocalMember[] = [];
afterEach(() => {
  for (const m of members.splice(0)) m.stop();
});

function member(options: Partial<LocalMemberOptions> = {}): LocalMember {
  const m = new LocalMember({
    name: 'n1',
    memberId: 0x1e05c52164694dn,
    clusterId: 0x1818194e3a8c32n,
    peerURLs: ['http://127.0.0.1:2380'],
    clientURLs: ['http://127.0.0.1:2379'],
    logger: silentLogger,
    ...options,
  });
  members.push(m);
  m.start();
  return m;
}

const set = (path: string, val: string, time = Date.now()) => v2Request({ method: 'PUT', path, val, time });

describe('LocalMember', () => {
  it('applies proposals in order, each answered with its own event, one raft index each', async () => {
    const m = member();
    const results = await Promise.all([set('/a', '1'), set('/a', '2'), set('/b', '3')].map((r) => m.propose(r)));
    expect(results.map((r) => (r.ok ? r.event?.node.value : r.error.message))).toEqual(['1', '2', '3']);
    expect(m.raftIndex()).toBe(3);
    expect(m.store.index()).toBe(3);
  });

  it('applies the command as encoded at propose time (it travels as msgpackr bytes)', async () => {
    const m = member();
    const req = set('/enc', 'original');
    const pending = m.propose(req);
    req.val = 'mutated after propose';
    const result = await pending;
    expect(result.ok && result.event?.node.value).toBe('original');
  });

  it('refuses proposals beyond its queue bound with etcd\'s "too many requests"', async () => {
    const m = member({ maxPendingProposals: 2 });
    const first = [m.propose(set('/q', '1')), m.propose(set('/q', '2'))];
    await expect(m.propose(set('/q', '3'))).rejects.toEqual(new ProposalError('etcdserver: too many requests'));
    await Promise.all(first);
    await expect(m.propose(set('/q', '4'))).resolves.toMatchObject({ ok: true });
  });

  it('resolves the read barrier only after the writes proposed before it', async () => {
    const m = member();
    const write = m.propose(set('/rb', 'x'));
    await m.readBarrier();
    expect(m.store.get('/rb', false, false, Date.now()).ok).toBe(true);
    await write;
  });

  it('fails queued proposals with "server stopped" and reports no leader once stopped', async () => {
    const m = member();
    const pending = m.propose(set('/s', '1'));
    m.stop();
    await expect(pending).rejects.toEqual(new ProposalError('etcdserver: server stopped'));
    expect(m.leader()).toBeNull();
  });

  it('proposes a SYNC with its own clock once an expiration is due, which expires the key', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const m = member({ clock: () => nowMs, syncIntervalMs: 10 });
    const created = await m.propose(v2Request({ method: 'PUT', path: '/ttl', val: 'v', expiration: nowMs + 1000, time: nowMs }));
    expect(created.ok).toBe(true);
    const indexBefore = m.raftIndex();
    await new Promise((r) => setTimeout(r, 50));
    expect(m.raftIndex()).toBe(indexBefore); // nothing due: no SYNC proposed
    nowMs += 1001;
    await eventually(() => !m.store.get('/ttl', false, false, nowMs).ok, 2000, 10);
    expect(m.store.stats().expireCount).toBe(1);
  });
});
