// The Location of a write redirected to the leader: the leader's client URL, the same path and
// query, and `redirectedBy=<id of the member that redirected it>` (read-your-writes: the leader
// answers once that member has applied the write).
export function leaderRedirect(leaderClientURL: string, pathAndQuery: string): RegExp {
  const escaped = `${leaderClientURL}${pathAndQuery}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}[?&]redirectedBy=[0-9a-f]+$`);
}
