// /v2/stats/self: etcd shows the rate fields only while append traffic flows (omitempty on a rate
// that falls to 0). The differential scripts leave them out of the shape comparison, since their
// presence depends on what other lanes wrote in the last second; this checks them here.
import { describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../src/raft/index.js';
import { MemberStats } from '../../src/server/member-stats.js';
import { TransportStats } from '../../src/transport/index.js';

const app = (): Message => ({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1 }) as Message;
const heartbeat = (): Message => ({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1 }) as Message;

describe('MemberStats.self', () => {
  it('shows send and receive rates only after a second with append traffic, in etcd key order', () => {
    let now = 1_700_000_000_000;
    const transport = new TransportStats();
    const stats = new MemberStats(transport, () => now);

    stats.sampleRates();
    const idle = stats.self('a', '1', 'StateLeader' as never, 1n);
    expect(Object.keys(idle)).toEqual(['name', 'id', 'state', 'startTime', 'leaderInfo', 'recvAppendRequestCnt', 'sendAppendRequestCnt']);

    transport.recordSent(2n, 300, [app(), app(), heartbeat()], 1);
    transport.recordReceived(2n, 120, [app()]);
    now += 1000;
    stats.sampleRates();
    const busy = stats.self('a', '1', 'StateLeader' as never, 1n);
    expect(Object.keys(busy)).toEqual([
      'name', 'id', 'state', 'startTime', 'leaderInfo',
      'recvAppendRequestCnt', 'recvPkgRate', 'recvBandwidthRate',
      'sendAppendRequestCnt', 'sendPkgRate', 'sendBandwidthRate',
    ]);
    expect(busy).toMatchObject({ sendAppendRequestCnt: 2, sendPkgRate: 2, sendBandwidthRate: 300, recvAppendRequestCnt: 1, recvPkgRate: 1, recvBandwidthRate: 120 });

    // a quiet second: the rates disappear again, the counters stay
    now += 1000;
    stats.sampleRates();
    const quiet = stats.self('a', '1', 'StateLeader' as never, 1n);
    expect(quiet).not.toHaveProperty('sendPkgRate');
    expect(quiet).not.toHaveProperty('recvPkgRate');
    expect(quiet).toMatchObject({ sendAppendRequestCnt: 2, recvAppendRequestCnt: 1 });
  });
});
