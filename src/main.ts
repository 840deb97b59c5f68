// Entry point: command line -> config -> a running member of a replicated cluster (raft, the
// durable log in --data-dir, the peer API on --listen-peer-urls, the client API on
// --listen-client-urls). A one-member --initial-cluster is a cluster of one.
import { parseCommandLine } from './cli.js';
import { DataDirError } from './storage/index.js';
import { startClusterMember, type RunningClusterMember } from './server/cluster-runtime.js';
import { createMemberLogger } from './server/logger.js';
import { runBackup } from './backup-command.js';

/**
 * What bin/etcd-ts runs. Resolves with the exit code for --help, --version and bad flags (2); for a
 * member, once it has started (the process then lives until SIGINT/SIGTERM).
 */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number | null> {
  const outcome = parseCommandLine(argv, env);
  switch (outcome.kind) {
    case 'help':
    case 'version':
      process.stdout.write(outcome.text);
      return 0;
    case 'error':
      process.stderr.write(outcome.message + '\n');
      return 2;
    case 'backup':
      if (outcome.options.withV3) process.stderr.write('etcd-ts backup: --with-v3 has no effect: etcd-ts has no v3 data, the backup holds everything\n');
      return runBackup(outcome.options);
    case 'run':
      break;
  }
  const config = outcome.config;
  const logger = createMemberLogger(config.name, config.logLevel);
  for (const warning of outcome.warnings) logger.warn(warning);
  let running: RunningClusterMember;
  try {
    running = await startClusterMember(config, {
      logger,
      // etcd: "the member has been permanently removed from the cluster", then the process exits.
      onRemoved: () => {
        logger.warn('the member has been permanently removed from the cluster; exiting');
        process.stderr.write('etcd-ts: the member has been permanently removed from the cluster\n');
        shutdown('removed');
      },
    });
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err, code: err instanceof DataDirError ? err.code : undefined }, 'could not start');
    process.stderr.write(`etcd-ts: could not start: ${message}\n`);
    return 1;
  }
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    // Ctrl-C reaches a whole process group and a supervisor may forward it again: one shutdown.
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    // A leader hands over before it stops (at most two election timeouts), then the rest finishes.
    const forceExit = setTimeout(() => process.exit(1), 5000 + 2 * config.electionTimeoutMs);
    forceExit.unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return null;
}
