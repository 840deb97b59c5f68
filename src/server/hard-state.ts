// Which HardState a member writes, and when (the rule etcd's WAL keeps): the commit index on disk
// never covers an entry that is not durable in the same or an earlier write, so a member that
// restarts never applies an entry that was not committed.
//
//   - Every batch that carries entries (or a new term or vote) carries the whole HardState of its
//     Ready: raft leaves an unchanged HardState out of a Ready, so the member keeps the last one.
//     The Ready's commit index is at most its last entry, and once the batch is durable the disk
//     holds every entry up to it (a Ready carries every entry raft has not handed out yet).
//   - A Ready that only moves the commit index needs no write of its own (it need not be durable:
//     a restart learns the commit index again from the leader). It rides along with the next
//     batch; when none comes, a lone write (not fsynced) bounds the lag: at most
//     maxCommitLagEntries behind, or one heartbeat while idle.
//   - At a clean stop, the member writes the HardState of the last Ready whose write completed:
//     never raft's latest commit index, which may cover entries that live only in memory, where
//     they replaced a conflicting suffix that is still on disk.
import type { HardState } from '../raft/messages.js';
import type { Ready } from '../raft/rawnode.js';

export interface HardStateWrite {
  hardState: HardState;
  sync: boolean;
}

function same(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class HardStateKeeper {
  /** The HardState of the last Ready taken. */
  private ready: HardState;
  /** The HardState of the last Ready whose write completed (or that needed none). */
  private settled: HardState;
  /** The last HardState written. */
  private written: HardState;

  constructor(
    onDisk: HardState,
    private readonly maxCommitLagEntries: number,
  ) {
    this.ready = { ...onDisk };
    this.settled = { ...onDisk };
    this.written = { ...onDisk };
  }

  /**
   * A Ready was taken. Returns what its batch must carry: always the whole HardState when the
   * batch is written at all (entries, a snapshot, a new term or vote, or a commit index lagging
   * too far); undefined when the Ready needs no write.
   */
  onReady(rd: Pick<Ready, 'hardState' | 'entries' | 'snapshot' | 'mustSync'>): HardStateWrite | undefined {
    if (rd.hardState !== undefined) this.ready = { ...rd.hardState };
    const mustWrite = rd.entries.length > 0 || rd.snapshot !== undefined || rd.mustSync;
    if (mustWrite || this.ready.commit - this.written.commit >= this.maxCommitLagEntries) {
      // A leader's snapshot is acknowledged after this batch: it must survive a crash (etcd's
      // WAL.SaveSnapshot syncs), or the member would come back below what it acknowledged.
      return { hardState: this.ready, sync: rd.mustSync || (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0) };
    }
    return undefined;
  }

  /** The Ready's batch (if it had one) is on disk: its HardState matches the disk's log. */
  onReadyPersisted(wrote: HardStateWrite | undefined): void {
    if (wrote !== undefined) this.written = wrote.hardState;
    this.settled = this.ready;
  }

  /** While idle: the settled commit index, if the disk's lags behind it (a write without fsync). */
  lagging(): HardStateWrite | undefined {
    if (this.settled.commit <= this.written.commit) return undefined;
    return { hardState: this.settled, sync: false };
  }

  /** At a clean stop: the settled HardState, if the disk does not hold it yet. */
  atStop(): HardStateWrite | undefined {
    if (same(this.settled, this.written)) return undefined;
    return { hardState: this.settled, sync: true };
  }

  onWritten(w: HardStateWrite): void {
    this.written = w.hardState;
  }

  /** The commit index on disk (for tests and status). */
  get writtenCommit(): number {
    return this.written.commit;
  }
}
