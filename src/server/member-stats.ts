// /v2/stats/self and /v2/stats/leader for a raft member, from the transport's counters.
import type { Role } from '../raft/index.js';
import { formatExpiration } from '../store/event.js';
import type { TransportStats } from '../transport/index.js';
import type { FollowerStats, LeaderStats, SelfStats } from './backend.js';
import { formatGoDurationMs } from './go-duration.js';
import { formatId } from './ids.js';

export class MemberStats {
  private readonly transport: TransportStats;
  private readonly clock: () => number;
  private readonly startTimeMs: number;
  private leaderSinceMs: number;
  /** Append traffic over the last second, for the rate fields. */
  private rates = { sendPkg: 0, sendBytes: 0, recvPkg: 0, recvBytes: 0 };
  private lastTotals = { sentAppendRequests: 0, sentBytes: 0, receivedAppendRequests: 0, receivedBytes: 0 };

  constructor(transport: TransportStats, clock: () => number) {
    this.transport = transport;
    this.clock = clock;
    this.startTimeMs = clock();
    this.leaderSinceMs = this.startTimeMs;
  }

  onLeaderChange(): void {
    this.leaderSinceMs = this.clock();
  }

  /** Called every second: append requests and their bytes per second (etcd: over its last 200 requests). */
  sampleRates(): void {
    const t = this.transport.totals();
    const last = this.lastTotals;
    this.rates = {
      sendPkg: t.sentAppendRequests - last.sentAppendRequests,
      sendBytes: t.sentBytes - last.sentBytes,
      recvPkg: t.receivedAppendRequests - last.receivedAppendRequests,
      recvBytes: t.receivedBytes - last.receivedBytes,
    };
    this.lastTotals = t;
  }

  self(name: string, idHex: string, role: Role, leaderId: bigint): SelfStats {
    const totals = this.transport.totals();
    return {
      name,
      id: idHex,
      state: role,
      startTime: formatExpiration(this.startTimeMs),
      leaderInfo: {
        leader: leaderId === 0n ? '0' : formatId(leaderId),
        uptime: formatGoDurationMs(this.clock() - this.leaderSinceMs),
        startTime: formatExpiration(this.leaderSinceMs),
      },
      recvAppendRequestCnt: totals.receivedAppendRequests,
      // etcd shows a rate only when it is not zero
      ...(this.rates.recvPkg > 0 ? { recvPkgRate: this.rates.recvPkg, recvBandwidthRate: this.rates.recvBytes } : {}),
      sendAppendRequestCnt: totals.sentAppendRequests,
      ...(this.rates.sendPkg > 0 ? { sendPkgRate: this.rates.sendPkg, sendBandwidthRate: this.rates.sendBytes } : {}),
    };
  }

  /** The leader's view of its followers: round-trip latency (ms) and request outcomes. */
  leader(selfIdHex: string, followerIds: readonly bigint[]): LeaderStats {
    const followers: Record<string, FollowerStats> = {};
    for (const id of followerIds) {
      const c = this.transport.peer(id);
      const l = c?.latency;
      followers[formatId(id)] = {
        latency: {
          current: l?.current ?? 0,
          average: l?.average ?? 0,
          standardDeviation: l?.standardDeviation ?? 0,
          minimum: l?.minimum ?? 0,
          maximum: l?.maximum ?? 0,
        },
        counts: { fail: c?.sendFailures ?? 0, success: l?.count ?? 0 },
      };
    }
    return { leader: selfIdHex, followers };
  }
}
