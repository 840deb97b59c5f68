// Versions this member reports. /version answers etcd's numbers (clients pick their API from them);
// our own version appears only in --version and the logs.
import { readFileSync } from 'node:fs';

/** The etcd release whose v2 API we reproduce, as /version's `etcdserver`. */
export const ETCD_SERVER_VERSION = '3.4.23';
/** The cluster version a 3.4 cluster reports, as /version's `etcdcluster`. */
export const ETCD_CLUSTER_VERSION = '3.4.0';

let cachedVersion: string | null = null;

/** etcd-ts's own version, from package.json (one level above both src/ and dist/). */
export function etcdTsVersion(): string {
  if (cachedVersion === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}
