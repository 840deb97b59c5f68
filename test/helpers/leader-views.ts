// Who leads, as the members themselves say it: each member's GET /v2/members/leader, and the
// member a majority of them name. Shared by the process and the container harnesses.
import type { HttpClient } from './cluster-http.js';

export interface LeaderView {
  member: string;
  leaderName?: string;
  status?: number;
  error?: string;
}

interface NamedMember {
  name: string;
  clientURL: string;
}

/** Asks each of `askMembers` who leads; the answer is mapped to a name of `allMembers` by client URL. */
export function askLeaderViews(http: HttpClient, askMembers: readonly NamedMember[], allMembers: readonly NamedMember[], timeoutMs: number): Promise<LeaderView[]> {
  return Promise.all(
    askMembers.map(async (m): Promise<LeaderView> => {
      try {
        const res = await http.send({ method: 'GET', url: `${m.clientURL}/v2/members/leader`, timeoutMs });
        if (res.status !== 200) return { member: m.name, status: res.status };
        const body = JSON.parse(res.body) as { name?: string; clientURLs?: string[] };
        const byURL = allMembers.find((x) => body.clientURLs?.includes(x.clientURL));
        return { member: m.name, status: 200, leaderName: byURL?.name ?? body.name };
      } catch (err) {
        return { member: m.name, error: (err as Error).message };
      }
    }),
  );
}

/** The member of `candidates` named by at least `majority` of the views, if any. */
export function majorityLeader<M extends { name: string }>(views: readonly LeaderView[], candidates: readonly M[], majority: number): M | undefined {
  const votes = new Map<string, number>();
  for (const v of views) if (v.leaderName) votes.set(v.leaderName, (votes.get(v.leaderName) ?? 0) + 1);
  for (const [name, count] of votes) {
    const m = candidates.find((x) => x.name === name);
    if (count >= majority && m !== undefined) return m;
  }
  return undefined;
}
