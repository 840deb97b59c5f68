// GET /debug/raft/status (issue 14's first step): this member's raft status as etcd prints
// `raft.status` in /debug/vars (etcd-io/raft's Status.MarshalJSON: the same keys in the same order,
// ids in hex, progress only on a leader), then what a live view also needs: the last index and
// term, the index the log starts after (a snapshot's), and how long until this member's election
// timer fires. Cheap (no I/O), read-only, and answered before the member is ready to serve clients,
// so a member that cannot find a leader can still be looked at.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProgressState } from '../raft/progress.js';
import type { Status } from '../raft/status.js';

export const RAFT_STATUS_PATH = '/debug/raft/status';

/** What beside raft's Status the view shows. */
export interface RaftStatusExtras {
  lastTerm: number;
  /** The index the in-memory log starts after (0 without a snapshot). */
  snapshotIndex: number;
  /** Milliseconds until this member's election timer fires; null on a leader (it has none running). */
  electionTimeoutRemainingMs: number | null;
}

const progressStateName: Record<ProgressState, string> = {
  [ProgressState.Probe]: 'StateProbe',
  [ProgressState.Replicate]: 'StateReplicate',
  [ProgressState.Snapshot]: 'StateSnapshot',
};

const hex = (id: number): string => id.toString(16);

/** etcd's raft.status JSON, with the extras appended after its own keys. */
export function raftStatusJSON(s: Status, x: RaftStatusExtras): string {
  const progress = [...s.progress].sort((a, b) => a.id - b.id).map((p) => `${JSON.stringify(hex(p.id))}:{"match":${p.match},"next":${p.next},"state":${JSON.stringify(progressStateName[p.state])}}`);
  return (
    `{"id":"${hex(s.id)}","term":${s.term},"vote":"${hex(s.vote)}","commit":${s.commit},"lead":"${hex(s.lead)}",` +
    `"raftState":${JSON.stringify(s.role)},"applied":${s.applied},"progress":{${progress.join(',')}},"leadtransferee":"${hex(s.leadTransferee)}",` +
    `"lastIndex":${s.lastIndex},"lastTerm":${x.lastTerm},"snapshotIndex":${x.snapshotIndex},"electionTimeoutRemainingMs":${x.electionTimeoutRemainingMs ?? 'null'}}`
  );
}

export interface RaftStatusSource {
  raftStatus(): Status;
  raftStatusExtras(): RaftStatusExtras;
}

/** The route: GET or HEAD only. */
export function raftStatusRoute(member: RaftStatusSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const body = raftStatusJSON(member.raftStatus(), member.raftStatusExtras()) + '\n';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
