// The part of node-etcd 7's API the client tests use (the package ships no types).
declare module 'node-etcd' {
  import type { EventEmitter } from 'node:events';

  export interface EtcdError extends Error {
    errorCode: number;
    error: { errorCode: number; message: string; cause?: string; index?: number };
  }
  export type Callback = (err: EtcdError | null, body: unknown, headers: Record<string, string>) => void;
  export type Options = Record<string, string | number | boolean>;

  export interface Watcher extends EventEmitter {
    stop(): void;
  }

  export default class Etcd {
    constructor(hosts?: string | string[], options?: Record<string, unknown>);
    get(key: string, options: Options, cb: Callback): unknown;
    set(key: string, value: string, options: Options, cb: Callback): unknown;
    create(dir: string, value: string, options: Options, cb: Callback): unknown;
    del(key: string, options: Options, cb: Callback): unknown;
    mkdir(dir: string, options: Options, cb: Callback): unknown;
    rmdir(dir: string, options: Options, cb: Callback): unknown;
    compareAndSwap(key: string, value: string, oldValue: string, options: Options, cb: Callback): unknown;
    compareAndDelete(key: string, oldValue: string, options: Options, cb: Callback): unknown;
    version(cb: Callback): unknown;
    selfStats(cb: Callback): unknown;
    getSync(key: string, options?: Options): { err: EtcdError | null; body: unknown; headers: Record<string, string> };
    setSync(key: string, value: string, options?: Options): { err: EtcdError | null; body: unknown; headers: Record<string, string> };
    watcher(key: string, index?: number | null, options?: Options): Watcher;
  }
}
