// What a script run observed on one target, before normalisation.
import type { ExchangeRequest } from './exchange.js';

export interface RawRecord {
  /** Step number (0-based) in the script. */
  step: number;
  /** Human-readable step line (templates unexpanded, so it reads the same on every target). */
  title: string;
  /** The request as sent (templates expanded); for await/events/pending: the watch's request. */
  request?: ExchangeRequest;
  status?: number;
  headers?: Record<string, string>;
  /** Body text (UTF-8), when the step records a body. */
  body?: string;
  /** Time the body (or the last chunk of it) arrived, ms since epoch. */
  t?: number;
  /**
   * A request step: the time the request was sent. The server answered between it and `t`, so an
   * expiration is compared with the server's clock within that window (a stalled test process or
   * machine delays the answer's arrival, not the expiration it carries).
   */
  sent?: number;
  /** Stream events, each a complete line (with its '\n'), with arrival times. */
  events?: Array<{ text: string; t: number }>;
  /** Something other than a response: '<pending>', '<timeout ...>', '<error ...>', bulk summaries. */
  note?: string;
}

export interface RawTranscript {
  script: string;
  target: string;
  /** X-Etcd-Index when the script started. */
  base: number;
  clientURLs: readonly string[];
  peerURLs: readonly string[];
  records: RawRecord[];
}
