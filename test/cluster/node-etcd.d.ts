// Just enough of node-etcd 7 (CommonJS, untyped) for the cluster tests.
declare module 'node-etcd' {
  interface EtcdCallbackError extends Error {
    errorCode?: number;
    error?: unknown;
  }
  type EtcdCallback = (err: EtcdCallbackError | null, body: unknown, headers: Record<string, string>) => void;

  export default class Etcd {
    constructor(hosts?: string | string[], options?: Record<string, unknown>);
    set(key: string, value: string, options: Record<string, unknown>, callback: EtcdCallback): unknown;
    get(key: string, options: Record<string, unknown>, callback: EtcdCallback): unknown;
    del(key: string, options: Record<string, unknown>, callback: EtcdCallback): unknown;
  }
}
