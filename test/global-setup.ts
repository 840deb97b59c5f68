// Runs `npm run build` once per vitest run, so tests that start `node bin/etcd-ts` (which runs dist/)
// exercise the current sources. A failed build fails the run with the compiler's output.
// ETCD_TS_SKIP_BUILD=1 skips it (for quick runs of in-process unit tests while src/ does not build).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export default function setup(): void {
  if (process.env['ETCD_TS_SKIP_BUILD'] === '1') return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-60).join('\n');
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    throw new Error(
      `globalSetup: \`npm run build\` failed (${why}); tests that start bin/etcd-ts would run stale or missing dist/ (set ETCD_TS_SKIP_BUILD=1 to run in-process tests anyway).\n${output}`,
    );
  }
}
