// The history format of `npm run jepsen`: one record per client operation on one etcd v2 key, with
// its invocation and completion times (ms since the run started) and its outcome:
//   ok    the operation took effect and we saw its result (a read's value, a write's modifiedIndex);
//   fail  it definitely did not take effect; with etcd's errorCode (100 key not found, 101 compare
//         failed, 105 key exists) the failure is itself an observation the checker verifies;
//   info  indeterminate (timeout, connection error, 5xx): it may or may not have taken effect, at
//         any time after its invocation. Jepsen's :info, Porcupine's op that never returns.

export type OpKind = 'read' | 'write' | 'cas-value' | 'cas-index' | 'create' | 'delete';
export type Outcome = 'ok' | 'fail' | 'info';

/** etcd v2 error codes the model understands; any other definite failure carries no information. */
export const ERR_KEY_NOT_FOUND = 100;
export const ERR_COMPARE_FAILED = 101;
export const ERR_NODE_EXISTS = 105;

export interface Op {
  /** Unique within the history. */
  id: number;
  /** The client (lane) that issued it; a client has at most one operation in flight. */
  client: number;
  key: string;
  kind: OpKind;
  /** write, cas-value, cas-index, create: the value to set (unique per operation). */
  value?: string | undefined;
  /** cas-value: the value compared against. */
  prevValue?: string | undefined;
  /** cas-index: the modifiedIndex compared against. */
  prevIndex?: number | undefined;
  invokeMs: number;
  /** null when the outcome is indeterminate (the op may complete at +infinity). */
  completeMs: number | null;
  outcome: Outcome;
  /** read ok: the value seen. */
  readValue?: string | undefined;
  /** ok: node.modifiedIndex in the response (for a delete, the delete's own index). */
  index?: number | undefined;
  /** fail: etcd's errorCode. */
  errorCode?: number | undefined;
  /** Which member answered (after redirects), and why an op failed or is indeterminate. */
  member?: string | undefined;
  error?: string | undefined;
}

export function describeOp(op: Op): string {
  const args =
    op.kind === 'read' ? '' :
    op.kind === 'delete' ? '' :
    op.kind === 'cas-value' ? ` ${JSON.stringify(op.prevValue)}->${JSON.stringify(op.value)}` :
    op.kind === 'cas-index' ? ` @${op.prevIndex}->${JSON.stringify(op.value)}` :
    ` ${JSON.stringify(op.value)}`;
  const result =
    op.outcome === 'info' ? 'info' :
    op.outcome === 'fail' ? `fail ${op.errorCode ?? ''}`.trim() :
    op.kind === 'read' ? `ok ${JSON.stringify(op.readValue)}@${op.index}` :
    `ok @${op.index}`;
  const end = op.completeMs === null ? '∞' : op.completeMs.toFixed(1);
  return `#${op.id} c${op.client} ${op.kind} ${op.key}${args} -> ${result} [${op.invokeMs.toFixed(1)}, ${end}] ms`;
}
