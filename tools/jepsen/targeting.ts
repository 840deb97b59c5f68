// How the nemesis picks its target and its timings. The leader is targeted only when a majority of
// the members name the same one (every member asked in parallel, each bounded), since one member's
// answer may be stale (a partitioned or just-restarted member still names the old leader); otherwise
// the nemesis falls back to a random member and records why. Fault durations and the gaps between
// faults come from the run's seeded PRNG over a range, so runs vary but a seed still repeats.
import { request, type Agent } from 'undici';
import type { MemberInfo } from './local-cluster.js';

export interface LeaderView {
  /** The leader a majority of members name, or null. */
  leader: string | null;
  /** Each member's answer: a member name, or `?` and why not. */
  views: Record<string, string>;
  /** Why there is no leader (when leader is null). */
  reason?: string;
}

/** Asks every member for /v2/members/leader (in parallel, each within timeoutMs); never throws. */
export async function leaderByMajority(agent: Agent, members: readonly MemberInfo[], timeoutMs = 1000): Promise<LeaderView> {
  const answers = await Promise.all(
    members.map(async (m): Promise<string> => {
      try {
        const res = await request(`${m.clientURL}/v2/members/leader`, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.body.text();
        if (res.statusCode !== 200) return `? HTTP ${res.statusCode}`;
        const body = JSON.parse(text) as { clientURLs?: string[]; name?: string };
        const byURL = members.find((x) => body.clientURLs?.includes(x.clientURL));
        return byURL?.name ?? `? unknown leader ${JSON.stringify(body.name ?? body.clientURLs ?? null)}`;
      } catch (err) {
        const e = err as Error & { code?: string };
        return `? ${e.name === 'TimeoutError' || e.name === 'AbortError' ? `timeout after ${timeoutMs} ms` : (e.code ?? e.message)}`;
      }
    }),
  );
  const views: Record<string, string> = {};
  members.forEach((m, i) => (views[m.name] = answers[i]!));
  return majorityLeader(views, members.length);
}

/** The name a majority of `members` members give (answers starting with `?` are not names). Pure. */
export function majorityLeader(views: Record<string, string>, members: number): LeaderView {
  const counts = new Map<string, number>();
  for (const v of Object.values(views)) if (!v.startsWith('?')) counts.set(v, (counts.get(v) ?? 0) + 1);
  const need = Math.floor(members / 2) + 1;
  for (const [name, n] of counts) if (n >= need) return { leader: name, views };
  const detail = Object.entries(views).map(([m, v]) => `${m}: ${v}`).join(', ');
  return { leader: null, views, reason: `no majority (${need} of ${members}) names one leader: ${detail}` };
}

/** Default range of fault durations and of the gaps before each fault, in ms. */
export const FAULT_DURATION_MS: readonly [number, number] = [1000, 5000];
export const FAULT_GAP_MS: readonly [number, number] = [1000, 5000];
/** The delay of a delay fault's peer traffic, each way (the local cluster's election timeout is 1 s). */
export const FAULT_DELAY_MS: readonly [number, number] = [50, 500];

/** A value in [lo, hi) from the seeded PRNG. */
export function between(rand: () => number, [lo, hi]: readonly [number, number]): number {
  return lo + rand() * (hi - lo);
}
