// A bounded trace of the last events of a schedule, formatted only when a failure is reported:
//   t=1234ms 1->2 MsgApp term=3 log=3/17 commit=16 entries=[3/18]
import { MessageType, type Entry, type Message } from '../../src/raft/index.js';

export function formatEntries(ents: readonly Entry[]): string {
  if (ents.length === 0) return '[]';
  if (ents.length <= 4) return `[${ents.map((e) => `${e.term}/${e.index}`).join(' ')}]`;
  const first = ents[0] as Entry;
  const last = ents[ents.length - 1] as Entry;
  return `[${first.term}/${first.index} .. ${last.term}/${last.index} (${ents.length})]`;
}

export function formatMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} term=${m.term}`;
  switch (m.type) {
    case MessageType.MsgApp:
      s += ` log=${m.logTerm}/${m.index} commit=${m.commit} entries=${formatEntries(m.entries)}`;
      break;
    case MessageType.MsgAppResp:
      s += m.reject ? ` reject index=${m.index} hint=${m.logTermHint ?? 0}/${m.rejectHint}` : ` index=${m.index}`;
      break;
    case MessageType.MsgVote:
    case MessageType.MsgPreVote:
      s += ` log=${m.logTerm}/${m.index}`;
      break;
    case MessageType.MsgVoteResp:
    case MessageType.MsgPreVoteResp:
      s += m.reject ? ' reject' : ' grant';
      break;
    case MessageType.MsgHeartbeat:
      s += ` commit=${m.commit}`;
      break;
    case MessageType.MsgSnap:
      s += ` snap=${m.snapshot?.metadata.term}/${m.snapshot?.metadata.index}`;
      break;
    case MessageType.MsgReadIndexResp:
      s += ` index=${m.index}`;
      break;
  }
  if (m.context !== undefined && m.context.length > 0 && m.type !== MessageType.MsgVote && m.type !== MessageType.MsgPreVote) s += ' ctx';
  return s;
}

interface TraceRecord {
  timeMs: number;
  text: string | undefined;
  msg: Message | undefined;
  prefix: string;
}

/** Ring buffer of the last `capacity` events; messages are formatted lazily. */
export class Trace {
  private readonly records: TraceRecord[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  message(timeMs: number, prefix: string, msg: Message): void {
    this.put(timeMs, prefix, undefined, msg);
  }

  note(timeMs: number, text: string): void {
    this.put(timeMs, '', text, undefined);
  }

  private put(timeMs: number, prefix: string, text: string | undefined, msg: Message | undefined): void {
    if (this.capacity === 0) return;
    if (this.records.length < this.capacity) {
      this.records.push({ timeMs, prefix, text, msg });
      return;
    }
    const r = this.records[this.next] as TraceRecord;
    r.timeMs = timeMs;
    r.prefix = prefix;
    r.text = text;
    r.msg = msg;
    this.next = (this.next + 1) % this.capacity;
  }

  lines(): string[] {
    const ordered = this.records.length < this.capacity ? this.records : [...this.records.slice(this.next), ...this.records.slice(0, this.next)];
    return ordered.map((r) => `t=${r.timeMs}ms ${r.prefix}${r.msg !== undefined ? formatMessage(r.msg) : (r.text ?? '')}`);
  }
}
