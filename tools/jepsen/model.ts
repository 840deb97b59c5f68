// A model of one etcd v2 key as the checker sees it: absent, or a value with its modifiedIndex.
// modifiedIndex is the cluster-wide raft index of the write, so a per-key model cannot predict it;
// it learns it from results and checks what it can: an index observed by a read is exactly that of
// the write it saw, and every later write (or delete) of the key has a larger one. After an
// indeterminate write the index is unknown but larger than before ("exact: false": a lower bound,
// exclusive); the next observation binds it.
//
// The model is deterministic, which keeps the search simple: an indeterminate operation is either
// linearized with its effect (when its precondition can hold) or never linearized at all, and the
// search tries both. An indeterminate CAS that failed is the same as one never applied.
import { ERR_COMPARE_FAILED, ERR_KEY_NOT_FOUND, ERR_NODE_EXISTS, type Op } from './history.js';

export interface KeyState {
  /** null: the key does not exist. */
  value: string | null;
  /** The key's modifiedIndex when exact; else an exclusive lower bound (for an absent key, always a lower bound for the next write). */
  index: number;
  exact: boolean;
}

export const INITIAL_STATE: KeyState = { value: null, index: 0, exact: false };

export function stateKey(s: KeyState): string {
  return s.value === null ? `-${s.index}` : `${s.exact ? '=' : '>'}${s.index}:${s.value}`;
}

/** Whether the model (possibly) has modifiedIndex i. */
function indexMayBe(s: KeyState, i: number): boolean {
  return s.exact ? s.index === i : i > s.index;
}

/** Whether the model's index is certainly not i (for a compare that failed). */
function indexMayDiffer(s: KeyState, i: number): boolean {
  return !(s.exact && s.index === i);
}

/**
 * Whether the operation checks anything: indeterminate reads and failures without a known etcd code
 * had no effect and say nothing, so the checker drops them.
 */
export function isInformative(op: Op): boolean {
  if (op.outcome === 'info') return op.kind !== 'read';
  if (op.outcome === 'fail') return op.errorCode === ERR_KEY_NOT_FOUND || op.errorCode === ERR_COMPARE_FAILED || op.errorCode === ERR_NODE_EXISTS;
  return true;
}

/** The state after `op` takes effect in `s`, or null if it cannot take effect there with its outcome. */
export function step(s: KeyState, op: Op): KeyState | null {
  const v = op.value ?? null;
  const k = op.index ?? -1;
  if (op.outcome === 'ok') {
    switch (op.kind) {
      case 'read':
        return s.value !== null && s.value === op.readValue && indexMayBe(s, k) ? { value: s.value, index: k, exact: true } : null;
      case 'write':
        return v !== null && k > s.index ? { value: v, index: k, exact: true } : null;
      case 'cas-value':
        return v !== null && s.value !== null && s.value === op.prevValue && k > s.index ? { value: v, index: k, exact: true } : null;
      case 'cas-index': {
        const p = op.prevIndex ?? -1;
        return v !== null && s.value !== null && indexMayBe(s, p) && k > p ? { value: v, index: k, exact: true } : null;
      }
      case 'create':
        return v !== null && s.value === null && k > s.index ? { value: v, index: k, exact: true } : null;
      case 'delete':
        return s.value !== null && k > s.index ? { value: null, index: k, exact: false } : null;
    }
  }
  if (op.outcome === 'fail') {
    switch (op.errorCode) {
      case ERR_KEY_NOT_FOUND:
        return s.value === null && op.kind !== 'write' && op.kind !== 'create' ? s : null;
      case ERR_NODE_EXISTS:
        return s.value !== null && op.kind === 'create' ? s : null;
      case ERR_COMPARE_FAILED:
        if (s.value === null) return null;
        if (op.kind === 'cas-value') return s.value !== op.prevValue ? s : null;
        if (op.kind === 'cas-index') return indexMayDiffer(s, op.prevIndex ?? -1) ? s : null;
        return null;
      default:
        return null;
    }
  }
  // Indeterminate: the effect, if it can happen here (never linearizing it is the other choice).
  switch (op.kind) {
    case 'read':
      return s;
    case 'write':
      return v !== null ? { value: v, index: s.index, exact: false } : null;
    case 'cas-value':
      return v !== null && s.value !== null && s.value === op.prevValue ? { value: v, index: s.index, exact: false } : null;
    case 'cas-index': {
      const p = op.prevIndex ?? -1;
      return v !== null && s.value !== null && indexMayBe(s, p) ? { value: v, index: p, exact: false } : null;
    }
    case 'create':
      return v !== null && s.value === null ? { value: v, index: s.index, exact: false } : null;
    case 'delete':
      return s.value !== null ? { value: null, index: s.index, exact: false } : null;
  }
}
