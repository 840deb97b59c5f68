// The commands the v2 store applies, as etcd's etcdserverpb.Request for the v2 API.
// A command is built by the HTTP layer on the member that takes the write, proposed through raft
// (msgpackr-encoded), and applied in log order by every member. It carries everything apply needs:
// apply reads no clock and no randomness, so every member produces the same events at the same
// indexes.
import { packr } from './msgpack.js';

export type V2Method = 'PUT' | 'POST' | 'DELETE' | 'SYNC';

export interface V2Request {
  method: V2Method;
  /** Canonical key: starts with '/', no trailing '/', no empty or '.'/'..' segments; the root is '/'. */
  path: string;
  /** The value to store; '' when absent (etcd stores a missing value as ""). */
  val: string;
  dir: boolean;
  /** '' = no prevValue condition. */
  prevValue: string;
  /** 0 = no prevIndex condition. Indexes beyond 2^53 are clamped to Number.MAX_SAFE_INTEGER... */
  prevIndex: number;
  /** ...and then this holds the decimal etcd prints in a compare failure (a uint64). */
  prevIndexText?: string;
  /** null = no prevExist condition. */
  prevExist: boolean | null;
  /**
   * Absolute expiration as Unix time in milliseconds (fractional part allowed, sub-ms precision),
   * computed by the proposer from `ttl`; 0 = permanent.
   */
  expiration: number;
  refresh: boolean;
  recursive: boolean;
  /**
   * The proposer's clock (Unix ms) when the command was built. SYNC expires every node whose
   * expiration is <= time; every event uses it to compute the `ttl` it reports.
   */
  time: number;
}

/** Builds a request with the defaults of an absent form: every condition off. */
export function v2Request(fields: Partial<V2Request> & Pick<V2Request, 'method' | 'path' | 'time'>): V2Request {
  return {
    val: '',
    dir: false,
    prevValue: '',
    prevIndex: 0,
    prevExist: null,
    expiration: 0,
    refresh: false,
    recursive: false,
    ...fields,
  };
}

export function encodeV2Request(req: V2Request): Uint8Array {
  return packr.pack(req);
}

export function decodeV2Request(data: Uint8Array): V2Request {
  const req = packr.unpack(data) as V2Request;
  if (typeof req !== 'object' || req === null || typeof req.method !== 'string' || typeof req.path !== 'string') {
    throw new Error('decodeV2Request: not a v2 request');
  }
  return req;
}
