// The status endpoints: /v2/stats/{self,leader,store}, /version and /health, with etcd's shapes
// (json.Marshal bodies without a trailing newline, GET only).
import type { IncomingMessage } from 'node:http';
import type { LeaderStats } from '../server/backend.js';
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from '../server/version.js';
import type { HandlerContext } from './context.js';
import { goMarshal } from './go-json.js';
import { withTimeout } from './leader.js';
import { CONTENT_TYPE_TEXT, sendBody, sendGoTextError, sendMarshalled, sendMessageError, sendMethodNotAllowed, type Res } from './respond.js';

/** etcd's /health runs a quorum read with this timeout. */
const HEALTH_READ_TIMEOUT_MS = 1000;

export type StatsKind = 'self' | 'leader' | 'store';

export function serveStats(ctx: HandlerContext, req: IncomingMessage, res: Res, kind: StatsKind): void {
  if (req.method !== 'GET') {
    sendMethodNotAllowed(res, 'GET');
    return;
  }
  switch (kind) {
    case 'self':
      sendMarshalled(res, ctx.backend.selfStats());
      return;
    case 'store':
      sendMarshalled(res, ctx.backend.store.stats());
      return;
    case 'leader': {
      const stats = ctx.backend.leaderStats();
      if (stats === null) sendMessageError(res, 403, 'not current leader');
      else sendMarshalled(res, withSortedFollowers(stats));
      return;
    }
  }
}

/** Go marshals maps with sorted keys. */
function withSortedFollowers(stats: LeaderStats): LeaderStats {
  const followers: LeaderStats['followers'] = {};
  for (const id of Object.keys(stats.followers).sort()) followers[id] = stats.followers[id]!;
  return { leader: stats.leader, followers };
}

export function serveVersion(req: IncomingMessage, res: Res): void {
  if (req.method !== 'GET') {
    sendMethodNotAllowed(res, 'GET');
    return;
  }
  sendMarshalled(res, { etcdserver: ETCD_SERVER_VERSION, etcdcluster: ETCD_CLUSTER_VERSION });
}

/**
 * etcd's health check: false without a leader, else a quorum read that must finish within 1 s.
 * 200 {"health":"true"} as text/plain; 503 through Go's http.Error (newline, nosniff).
 */
export async function serveHealth(ctx: HandlerContext, req: IncomingMessage, res: Res): Promise<void> {
  if (req.method !== 'GET') {
    sendMethodNotAllowed(res, 'GET');
    return;
  }
  let healthy = ctx.backend.leader() !== null;
  if (healthy) {
    // readBarrier must work on any member (a follower asks the leader for the read index)
    healthy = await withTimeout(ctx.backend.readBarrier(), HEALTH_READ_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
  }
  if (res.destroyed) return;
  const body = goMarshal({ health: healthy ? 'true' : 'false' });
  if (healthy) sendBody(res, 200, { 'Content-Type': CONTENT_TYPE_TEXT }, body);
  else sendGoTextError(res, 503, body);
}
