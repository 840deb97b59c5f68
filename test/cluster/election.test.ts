// A fresh three-member cluster elects exactly one leader, every member agrees on it, and the
// operations endpoints (§8 of the API notes) describe the same cluster from every member.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../helpers/cluster.js';
import { useCluster } from './use-cluster.js';

interface SelfStats {
  name: string;
  id: string;
  state: string;
  leaderInfo: { leader: string };
}

interface MemberInfo {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

async function getJson<T>(cluster: Cluster, url: string): Promise<{ status: number; body: T }> {
  const res = await cluster.client.http.send({ method: 'GET', url, timeoutMs: 3000 });
  return { status: res.status, body: JSON.parse(res.body) as T };
}

describe('election in a three-member cluster', () => {
  const cluster = useCluster({ label: 'election' });

  it('elects exactly one leader, and every member names it in /v2/stats/self', async () => {
    const c = cluster();
    const stats = await Promise.all(c.members.map((m) => getJson<SelfStats>(c, `${m.clientURL}/v2/stats/self`)));
    for (const s of stats) expect(s.status).toBe(200);
    const leaders = stats.filter((s) => s.body.state === 'StateLeader');
    expect(leaders).toHaveLength(1);
    expect(stats.filter((s) => s.body.state === 'StateFollower')).toHaveLength(2);
    const leaderId = leaders[0]?.body.id;
    for (const s of stats) expect(s.body.leaderInfo.leader).toBe(leaderId);
    expect(stats.map((s) => s.body.name).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('every member answers /v2/members/leader with the same member, the one in StateLeader', async () => {
    const c = cluster();
    const views = await Promise.all(c.members.map((m) => getJson<MemberInfo>(c, `${m.clientURL}/v2/members/leader`)));
    for (const v of views) expect(v.status).toBe(200);
    expect(new Set(views.map((v) => v.body.id)).size).toBe(1);
    const leader = await c.waitLeader();
    expect(views[0]?.body.name).toBe(leader.name);
    expect(views[0]?.body.clientURLs).toEqual([leader.clientURL]);
    const self = await getJson<SelfStats>(c, `${leader.clientURL}/v2/stats/self`);
    expect(self.body.state).toBe('StateLeader');
    expect(self.body.id).toBe(views[0]?.body.id);
  });

  it('/health is "true" on every member', async () => {
    const c = cluster();
    for (const m of c.members) {
      const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/health`, timeoutMs: 3000 });
      expect(res.status, m.name).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ health: 'true' });
    }
  });

  it('/v2/members lists the three members with their names, peer URLs and client URLs, from every member', async () => {
    const c = cluster();
    const expected = c.members.map((m) => ({ name: m.name, peerURLs: [m.peerURL], clientURLs: [m.clientURL] }));
    const ids = new Set<string>();
    for (const m of c.members) {
      const { status, body } = await getJson<{ members: MemberInfo[] }>(c, `${m.clientURL}/v2/members`);
      expect(status).toBe(200);
      expect(body.members).toHaveLength(3);
      const seen = body.members.map(({ name, peerURLs, clientURLs }) => ({ name, peerURLs, clientURLs }));
      expect(seen.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected);
      for (const x of body.members) {
        expect(x.id).toMatch(/^[0-9a-f]{1,16}$/);
        ids.add(x.id);
      }
    }
    expect(ids.size).toBe(3);
  });

  it('/v2/machines lists the three client URLs on every member', async () => {
    const c = cluster();
    const expected = c.members.map((m) => m.clientURL).sort().join(', ');
    for (const m of c.members) {
      const res = await c.client.http.send({ method: 'GET', url: `${m.clientURL}/v2/machines`, timeoutMs: 3000 });
      expect(res.status).toBe(200);
      expect(res.body).toBe(expected);
    }
  });

  it('/v2/stats/leader lists both followers on the leader and is 403 "not current leader" on a follower', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const members = await getJson<{ members: MemberInfo[] }>(c, `${leader.clientURL}/v2/members`);
    const followerIds = members.body.members.filter((x) => x.name !== leader.name).map((x) => x.id).sort();
    const onLeader = await getJson<{ leader: string; followers: Record<string, unknown> }>(c, `${leader.clientURL}/v2/stats/leader`);
    expect(onLeader.status).toBe(200);
    expect(Object.keys(onLeader.body.followers).sort()).toEqual(followerIds);
    for (const f of c.live().filter((m) => m !== leader)) {
      const onFollower = await getJson<{ message: string }>(c, `${f.clientURL}/v2/stats/leader`);
      expect(onFollower.status, f.name).toBe(403);
      expect(onFollower.body).toEqual({ message: 'not current leader' });
    }
  });

  it('no member exited on its own', () => {
    expect(cluster().crashes()).toEqual([]);
  });
});
