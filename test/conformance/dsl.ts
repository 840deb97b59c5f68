// Short builders for writing scripts as data.
import type {
  AwaitStep,
  BulkStep,
  CloseStep,
  CompareMode,
  EventsStep,
  PendingStep,
  RequestStep,
  SleepStep,
  WatchStep,
} from './script.js';

export interface RequestOptions {
  headers?: Record<string, string | null>;
  compare?: CompareMode;
  absoluteIndexes?: boolean;
  timeoutMs?: number;
}

export function req(method: string, path: string, body?: string, opts: RequestOptions = {}): RequestStep {
  return { kind: 'request', method, path, ...(body === undefined ? {} : { body }), ...opts };
}

export const get = (path: string, opts?: RequestOptions): RequestStep => req('GET', path, undefined, opts);
export const head = (path: string, opts?: RequestOptions): RequestStep => req('HEAD', path, undefined, opts);
export const put = (path: string, body?: string, opts?: RequestOptions): RequestStep => req('PUT', path, body, opts);
export const post = (path: string, body?: string, opts?: RequestOptions): RequestStep => req('POST', path, body, opts);
export const del = (path: string, body?: string, opts?: RequestOptions): RequestStep => req('DELETE', path, body, opts);

export interface WatchOptions {
  method?: string;
  body?: string;
  headers?: Record<string, string | null>;
  headersTimeoutMs?: number;
}

export function watch(id: string, path: string, opts: WatchOptions = {}): WatchStep {
  const { method = 'GET', ...rest } = opts;
  return { kind: 'watch', id, method, path, ...rest };
}

/** Waits for the watch to complete (default bound 5 s). */
export const done = (id: string, timeoutMs?: number): AwaitStep => ({ kind: 'await', id, ...(timeoutMs ? { timeoutMs } : {}) });
export const pending = (id: string, ms?: number): PendingStep => ({ kind: 'pending', id, ...(ms ? { ms } : {}) });
export const events = (id: string, count: number, timeoutMs?: number): EventsStep => ({
  kind: 'events',
  id,
  count,
  ...(timeoutMs ? { timeoutMs } : {}),
});
export const close = (id: string): CloseStep => ({ kind: 'close', id });
export const sleep = (ms: number): SleepStep => ({ kind: 'sleep', ms });
export const bulk = (b: Omit<BulkStep, 'kind'>): BulkStep => ({ kind: 'bulk', ...b });

/** Go's strconv.ParseBool spellings. */
export const trueSpellings = ['1', 't', 'T', 'TRUE', 'true', 'True'] as const;
export const falseSpellings = ['0', 'f', 'F', 'FALSE', 'false', 'False'] as const;
/** Spellings Go rejects. */
export const badBoolSpellings = ['yes', 'TRue', '2', '', 'on', '%20true'] as const;
/** Forms ParseUint(s, 10, 64) rejects. */
export const badUintForms = ['-1', '%2B5', '0x10', '1.5', '%205', 'abc', '5%20', '1e3', '18446744073709551616'] as const;
