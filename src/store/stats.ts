// etcd's /v2/stats/store counters. They describe this member's store instance (they are not part of
// the replicated state's meaning) and reproduce etcd's own counting, quirks included.

export interface StoreStats {
  getsSuccess: number;
  getsFail: number;
  setsSuccess: number;
  setsFail: number;
  deleteSuccess: number;
  deleteFail: number;
  updateSuccess: number;
  updateFail: number;
  createSuccess: number;
  createFail: number;
  compareAndSwapSuccess: number;
  compareAndSwapFail: number;
  compareAndDeleteSuccess: number;
  compareAndDeleteFail: number;
  expireCount: number;
  watchers: number;
}

export type CountedStat = Exclude<keyof StoreStats, 'watchers'>;

/** The counters in etcd's JSON order, watchers (a live gauge) excluded. */
export const countedStats: readonly CountedStat[] = [
  'getsSuccess',
  'getsFail',
  'setsSuccess',
  'setsFail',
  'deleteSuccess',
  'deleteFail',
  'updateSuccess',
  'updateFail',
  'createSuccess',
  'createFail',
  'compareAndSwapSuccess',
  'compareAndSwapFail',
  'compareAndDeleteSuccess',
  'compareAndDeleteFail',
  'expireCount',
];

export type StatCounters = Record<CountedStat, number>;

/**
 * The counters that reads move (get, and every keys request's auth-flag read): each member counts
 * the reads it served, so they differ between members that applied the same log. Every other
 * counter is moved by apply alone.
 */
export const readStats: readonly CountedStat[] = ['getsSuccess', 'getsFail'];

export function zeroStats(): StatCounters {
  const out = {} as StatCounters;
  for (const name of countedStats) out[name] = 0;
  return out;
}

export function withWatchers(counters: StatCounters, watchers: number): StoreStats {
  const out = {} as StoreStats;
  for (const name of countedStats) out[name] = counters[name];
  out.watchers = watchers;
  return out;
}
