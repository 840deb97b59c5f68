// Vitest wiring shared by the real-client suites: a real etcd and an etcd-ts, started together in
// beforeAll and stopped in afterAll. A test calls servers() and fails with the start error, if any.
import { afterAll, beforeAll } from 'vitest';
import { startEtcd } from '../helpers/etcd.js';
import { startEtcdTs } from '../helpers/etcd-ts.js';
import type { Target } from '../helpers/target.js';

export function useBothServers(): () => { etcd: Target; etcdTs: Target } {
  let etcd: Target | undefined;
  let etcdTs: Target | undefined;
  let startError: Error | undefined;
  beforeAll(async () => {
    const [a, b] = await Promise.allSettled([startEtcd(), startEtcdTs()]);
    if (a.status === 'fulfilled') etcd = a.value;
    if (b.status === 'fulfilled') etcdTs = b.value;
    const failed = [a, b].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) startError = failed.reason as Error;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([etcd?.stop(), etcdTs?.stop()]);
  }, 60_000);
  return () => {
    if (!etcd || !etcdTs) throw startError ?? new Error('servers not started');
    return { etcd, etcdTs };
  };
}
