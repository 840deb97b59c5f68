// etcd's parseKeyRequest (v2http/client.go): reads and validates the /v2/keys form fields in etcd's
// order, so the first failure is the one etcd reports (docs §7.3): prevIndex, waitIndex, the
// booleans, wait-only-on-GET, empty prevValue, noValueOnSuccess, ttl, prevExist, refresh.
import { ErrorCode, EtcdError } from '../store/errors.js';
import type { Form } from './form.js';
import { goParseBool } from './go-text.js';

export type KeysMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

export interface KeyRequest {
  method: KeysMethod;
  /** Store path: '/' for the root, no trailing slash. */
  path: string;
  /** '' when absent (etcd stores a missing value as ""). */
  value: string;
  dir: boolean;
  /** '' = no condition (an explicitly empty prevValue is refused). */
  prevValue: string;
  /** 0 = no condition. */
  prevIndex: number;
  /** prevIndex as etcd prints it, when it is beyond 2^53 (a JS number cannot hold it exactly). */
  prevIndexText?: string;
  prevExist: boolean | null;
  wait: boolean;
  /** 0 = from the next event. */
  waitIndex: number;
  recursive: boolean;
  sorted: boolean;
  quorum: boolean;
  stream: boolean;
  refresh: boolean;
  /** The ttl's decimal digits as sent (up to 2^64-1, so not a JS number yet); null = no TTL. */
  ttl: string | null;
  noValueOnSuccess: boolean;
}

const decimalDigits = /^[0-9]+$/;
const maxUint64 = '18446744073709551615';

/** Go's strconv.ParseUint(s, 10, 64) acceptance: decimal digits only, at most 2^64-1. */
function isUint64(s: string): boolean {
  if (!decimalDigits.test(s)) return false;
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++;
  const digits = s.length - i;
  if (digits < maxUint64.length) return true;
  return digits === maxUint64.length && s.slice(i) <= maxUint64;
}

function invalid(code: number, cause: string): EtcdError {
  return new EtcdError(code, cause, 0);
}

/**
 * An index field: absent = 0. Values past 2^53 (valid uint64s no real index reaches) are clamped to
 * Number.MAX_SAFE_INTEGER, which behaves the same: never matched, never reached.
 */
function readIndex(form: Form, name: string): number | EtcdError {
  const text = form.get(name);
  if (text === undefined) return 0;
  if (!isUint64(text)) return invalid(ErrorCode.IndexNaN, `invalid value for "${name}"`);
  return Math.min(Number(text), Number.MAX_SAFE_INTEGER);
}

function readBool(form: Form, name: string, cause: string): boolean | EtcdError {
  const text = form.get(name);
  if (text === undefined) return false;
  const value = goParseBool(text);
  return value === undefined ? invalid(ErrorCode.InvalidField, cause) : value;
}

/** The store path of the key part of a clean request path (`''`, `/`, `/a/b/`...). */
function storePath(keyPart: string): string {
  if (keyPart.length <= 1) return '/';
  return keyPart.endsWith('/') ? keyPart.slice(0, -1) : keyPart;
}

/** Validates the form of a /v2/keys request; an EtcdError (index 0) names the first bad field. */
export function parseKeyRequest(method: KeysMethod, keyPart: string, form: Form): KeyRequest | EtcdError {
  const prevIndex = readIndex(form, 'prevIndex');
  if (prevIndex instanceof EtcdError) return prevIndex;
  const waitIndex = readIndex(form, 'waitIndex');
  if (waitIndex instanceof EtcdError) return waitIndex;

  const recursive = readBool(form, 'recursive', 'invalid value for "recursive"');
  if (recursive instanceof EtcdError) return recursive;
  const sorted = readBool(form, 'sorted', 'invalid value for "sorted"');
  if (sorted instanceof EtcdError) return sorted;
  const wait = readBool(form, 'wait', 'invalid value for "wait"');
  if (wait instanceof EtcdError) return wait;
  const dir = readBool(form, 'dir', 'invalid value for "dir"');
  if (dir instanceof EtcdError) return dir;
  const quorum = readBool(form, 'quorum', 'invalid value for "quorum"');
  if (quorum instanceof EtcdError) return quorum;
  const stream = readBool(form, 'stream', 'invalid value for "stream"');
  if (stream instanceof EtcdError) return stream;

  if (wait && method !== 'GET') return invalid(ErrorCode.InvalidField, '"wait" can only be used with GET requests');

  const prevValue = form.get('prevValue');
  if (prevValue === '') return invalid(ErrorCode.PrevValueRequired, '"prevValue" cannot be empty');

  const noValueOnSuccess = readBool(form, 'noValueOnSuccess', 'invalid value for "noValueOnSuccess"');
  if (noValueOnSuccess instanceof EtcdError) return noValueOnSuccess;

  // `ttl=` is the same as no ttl
  const ttlText = form.get('ttl');
  const ttl = ttlText === undefined || ttlText === '' ? null : ttlText;
  if (ttl !== null && !isUint64(ttl)) return invalid(ErrorCode.TTLNaN, 'invalid value for "ttl"');

  let prevExist: boolean | null = null;
  if (form.has('prevExist')) {
    const pe = readBool(form, 'prevExist', 'invalid value for prevExist');
    if (pe instanceof EtcdError) return pe;
    prevExist = pe;
  }

  let refresh = false;
  if (form.has('refresh')) {
    const r = readBool(form, 'refresh', 'invalid value for refresh');
    if (r instanceof EtcdError) return r;
    refresh = r;
    if (refresh) {
      const value = form.get('value');
      if (value !== undefined && value !== '') return invalid(ErrorCode.RefreshValue, 'A value was provided on a refresh');
      if (ttl === null) return invalid(ErrorCode.RefreshTTLRequired, 'No TTL value set');
    }
  }

  const kr: KeyRequest = {
    method,
    path: storePath(keyPart),
    value: form.get('value') ?? '',
    dir,
    prevValue: prevValue ?? '',
    prevIndex,
    prevExist,
    wait,
    waitIndex,
    recursive,
    sorted,
    quorum,
    stream,
    refresh,
    ttl,
    noValueOnSuccess,
  };
  if (prevIndex === Number.MAX_SAFE_INTEGER) kr.prevIndexText = BigInt(form.get('prevIndex') as string).toString();
  return kr;
}
