// A differential script: a sequence of HTTP steps run against a fresh key space on each target.
//
// Paths, bodies and header values are sent byte for byte after template expansion:
//   {{i}}, {{i+N}}, {{i-N}}  the etcd index at the script's start (plus/minus N)
//   {{clientURL}} {{peerURL}} {{memberId}}  of the member the script talks to
//   {{n}}                     the iteration number inside a bulk step
// A script starts with an empty root (the runner removes everything a script created afterwards),
// or, with `fresh`, on a just-started server.

export interface RequestSpec {
  method: string;
  /** Path and query as sent on the request line, e.g. '/v2/keys/foo?wait=true'. */
  path: string;
  /** Body as `curl -d` sends it (curl joins several -d with '&'); absent = no body. */
  body?: string;
  /**
   * Extra request headers. A body gets `Content-Type: application/x-www-form-urlencoded` (as curl
   * sends it) unless this sets Content-Type; null removes it.
   */
  headers?: Record<string, string | null>;
}

/** How a response body is compared. */
export type CompareMode =
  | 'exact'
  /** Key order and types; ids, times, durations and counters become placeholders (§8). */
  | 'shape'
  /** Only these top-level fields of a JSON body, exactly. */
  | { pick: string[] };

export interface RequestStep extends RequestSpec {
  kind: 'request';
  compare?: CompareMode;
  /** Compare X-Etcd-Index and index fields as absolute numbers (fresh-server scripts). */
  absoluteIndexes?: boolean;
  timeoutMs?: number;
}

/** Starts a request that is completed by later steps (await/events/pending/close). Records its headers. */
export interface WatchStep extends RequestSpec {
  kind: 'watch';
  id: string;
  /** How long to wait for the response headers (etcd flushes them at registration). */
  headersTimeoutMs?: number;
}

/** Waits for watch `id` to finish and records its body. */
export interface AwaitStep {
  kind: 'await';
  id: string;
  timeoutMs?: number;
}

/** Waits `ms` and records whether watch `id` delivered anything meanwhile (it should not). */
export interface PendingStep {
  kind: 'pending';
  id: string;
  ms?: number;
}

/** Reads the next `count` newline-terminated events of a stream watch. */
export interface EventsStep {
  kind: 'events';
  id: string;
  count: number;
  timeoutMs?: number;
}

/** Closes watch `id` from the client side. */
export interface CloseStep {
  kind: 'close';
  id: string;
}

export interface SleepStep {
  kind: 'sleep';
  ms: number;
}

/** `count` requests, `concurrency` at a time; records how many got each status. */
export interface BulkStep {
  kind: 'bulk';
  count: number;
  concurrency: number;
  method: string;
  path: string;
  body?: string;
}

export type Step = RequestStep | WatchStep | AwaitStep | PendingStep | EventsStep | CloseStep | SleepStep | BulkStep;

export interface Script {
  /** Unique; the test name. */
  name: string;
  /** Where the behaviour is specified: 'seed 3', '§4.2', ... */
  ref: string;
  /** Needs a just-started server (absolute indexes, early history). */
  fresh?: boolean;
  /**
   * Not compared on three-member clusters, and why: the answer of a real etcd cluster depends on
   * timing there (e.g. member add answers 500 until every peer has been connected for 5 s).
   */
  singleMemberOnly?: string;
  steps: Step[];
}
