// A member whose write path a test scripts: by default a follower that knows the leader at
// leaderMember's client URL, so every write and quorum read is answered with NotLeaderError.
import { NotLeaderError, type ClientBackend, type MemberInfo } from '../../src/server/backend.js';
import type { V2Request } from '../../src/store/command.js';
import { Store, type ApplyResult } from '../../src/store/store.js';

export const self: MemberInfo = { id: 'a1', name: 'follower', peerURLs: ['http://127.0.0.1:1'], clientURLs: ['http://127.0.0.1:2'] };
export const leaderMember: MemberInfo = { id: 'b2', name: 'leader', peerURLs: ['http://127.0.0.1:3'], clientURLs: ['http://127.0.0.1:22379'] };

/** A member whose write path is scripted by the test; reads use a real store. */
export class FakeBackend implements ClientBackend {
  readonly store = new Store();
  readonly clusterId = 'c1';
  readonly self = self;
  currentLeader: MemberInfo | null;
  proposeImpl: (req: V2Request) => Promise<ApplyResult>;
  barrierImpl: () => Promise<void>;
  proposals = 0;
  constructor(readonly leaderInfo: MemberInfo = leaderMember) {
    this.currentLeader = leaderInfo;
    this.proposeImpl = () => Promise.reject(new NotLeaderError(leaderInfo.clientURLs));
    this.barrierImpl = () => Promise.reject(new NotLeaderError(leaderInfo.clientURLs));
  }
  now(): number {
    return Date.now();
  }
  propose(req: V2Request): Promise<ApplyResult> {
    this.proposals++;
    return this.proposeImpl(req);
  }
  readBarrier(): Promise<void> {
    return this.barrierImpl();
  }
  raftIndex(): number {
    return 7;
  }
  raftTerm(): number {
    return 3;
  }
  members(): MemberInfo[] {
    return [self, this.leaderInfo];
  }
  leader(): MemberInfo | null {
    return this.currentLeader;
  }
  selfStats(): never {
    throw new Error('not used');
  }
  leaderStats(): null {
    return null;
  }
}

