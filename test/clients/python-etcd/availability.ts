// Whether Debian's python-etcd (package python3-etcd 0.4.5) can run here, and which follower-write
// modes bin/etcd-ts offers. Used by the python-etcd vitest files; test/clients/python-etcd-suite.mjs
// makes the same checks for the integration suite.
//   PYTHON_ETCD_PYTHON   the interpreter (default /usr/bin/python3: Debian's, whose dist-packages hold
//                        python3-etcd; another python3 may come first on PATH)
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../helpers/etcd-ts.js';

export const python = process.env['PYTHON_ETCD_PYTHON'] ?? '/usr/bin/python3';

export const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';

export interface PythonEtcdAvailability {
  ok: boolean;
  /** Why not, or where the module was found. */
  detail: string;
}

/** python-etcd importable by `python` (with OpenSSL and nose, which its integration suite needs). */
export function pythonEtcdAvailability(): PythonEtcdAvailability {
  const r = spawnSync(python, ['-c', 'import etcd, etcd.lock, OpenSSL, nose; print(etcd.__file__)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return { ok: false, detail: `${python}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, detail: `${python} cannot import etcd, OpenSSL and nose: ${(r.stderr ?? '').trim().split('\n').pop()}` };
  return { ok: true, detail: r.stdout.trim() };
}

export const installHint = 'apt-get install -y python3-etcd python3-nose python3-openssl';

/** The --follower-writes modes `bin/etcd-ts --help` lists; ['redirect'] (its only behaviour) when it has no such flag. */
export function etcdTsFollowerWriteModes(): { modes: string[]; flag: boolean } {
  const r = spawnSync(process.execPath, ['bin/etcd-ts', '--help'], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  const help = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (!/--follower-writes\b/.test(help)) return { modes: ['redirect'], flag: false };
  return { modes: ['redirect', 'forward'], flag: true };
}
