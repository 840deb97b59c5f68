// Starts one member of a replicated cluster: opens its data dir, serves the client API on
// --listen-client-urls and the peer API on --listen-peer-urls, and runs raft. A one-member
// --initial-cluster is simply a cluster of one (it elects itself at once).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { requestTimeoutMs, type MemberConfig } from '../config.js';
import type { ExtraRoute } from '../http/context.js';
import { createClientHandler } from '../http/client-api.js';
import { closeAll, listenAll, type Listener } from './listen.js';
import { MEMBERS_PATH } from './bootstrap.js';
import { createHttpPeerClient, servePeerApi } from './peer-api.js';
import { loadMemberTLS } from './tls.js';
import { RaftMember } from './raft-member.js';
import { backupEndpoint } from './backup-endpoint.js';
import { RAFT_EVENTS_PATH, RAFT_LOG_PATH, RAFT_STATUS_PATH, raftEventsRoute, raftLogRoute, raftStatusRoute } from './raft-debug.js';
import { isUiPath, uiStaticRoute } from '../http/ui-static.js';
import { MIN_FAULTS_TOKEN_LENGTH, PEER_FAULTS_PATH, peerFaultsRoute } from './peer-faults.js';
import { BACKUP_TOKEN_FILE } from './backup-stream.js';
import { randomToken } from './tokens.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RaftLogStore } from '../storage/index.js';
import { refuseUpgrade, type PeerUpgradeHandler } from '../transport/index.js';
import { etcdTsVersion } from './version.js';

export interface RunningClusterMember {
  readonly config: MemberConfig;
  readonly member: RaftMember;
  readonly clientListeners: readonly Listener[];
  readonly peerListeners: readonly Listener[];
  /** Stops serving, fails pending requests, closes the data dir. Idempotent. */
  close(): Promise<void>;
}

export interface ClusterRuntimeOptions {
  logger: Logger;
  onFatal?: (err: unknown) => void;
  /** This member applied its own removal and stopped (RaftMemberOptions.onRemoved). */
  onRemoved?: () => void;
}

/** GET /metrics: the member's Prometheus metrics (etcd serves them on the client port too). */
function metricsRoute(member: RaftMember): ExtraRoute {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET');
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Method Not Allowed\n');
      return;
    }
    const { contentType, body } = await member.metricsText();
    res.statusCode = 200;
    res.setHeader('Content-Type', contentType);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export async function startClusterMember(config: MemberConfig, options: ClusterRuntimeOptions): Promise<RunningClusterMember> {
  const { logger } = options;
  // Certificates are read and checked before anything else: a bad one refuses the start, naming it.
  const tls = await loadMemberTLS(config);
  const onTLSError = (side: string) => (err: Error, remoteAddress: string | undefined): void => {
    logger.debug({ side, remoteAddress, err: err.message }, 'rejected connection (TLS handshake failed)');
  };
  const peerClient = tls.peerClient !== undefined ? createHttpPeerClient(tls.peerClient) : undefined;
  // The peer port listens first: while this member checks with its peers whether it was already
  // bootstrapped (an empty data dir), the peers that check too must get its answer.
  let serving: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let preStart: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  let streaming: PeerUpgradeHandler | null = null;
  const peerListeners: Listener[] = await listenAll(config.listenPeerURLs, (req, res) => {
    if (serving !== null) return serving(req, res);
    if (preStart !== null && preStart(req, res)) return;
    res.statusCode = 503;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('etcdserver: not ready\n');
  }, {
    ...(tls.peerServer !== undefined ? { tls: tls.peerServer } : {}),
    onTLSError: onTLSError('peer'),
    // raft streams (transport/stream.ts); before the member serves, refused like any peer request
    onUpgrade: (req, socket, head) => {
      if (streaming !== null) return streaming(req, socket, head);
      refuseUpgrade(socket, 503, 'Service Unavailable', 'etcdserver: not ready');
    },
  });
  let member: RaftMember;
  let log: RaftLogStore | undefined;
  try {
    member = await RaftMember.open({
      onLogOpened: (store) => {
        log = store;
      },
      config,
      logger,
      onFatal: options.onFatal,
      ...(peerClient !== undefined ? { peerClient } : {}),
      ...(tls.peerClient !== undefined ? { peerTLS: tls.peerClient } : {}),
      ...(options.onRemoved !== undefined ? { onRemoved: options.onRemoved } : {}),
      onBootstrapCheck: (api) => {
        preStart = api === null ? null : servePeerApi(api, new Set([MEMBERS_PATH]), 64 * 1024);
      },
    });
  } catch (err: unknown) {
    await closeAll(peerListeners);
    throw err;
  }
  let clientListeners: Listener[] = [];
  try {
    // GET /members/backup (etcd-ts backup --endpoint) beside the member's own peer API.
    const backupToken = await writeBackupToken(config.dataDir);
    const backup = backupEndpoint({ member, log: () => log, dataDir: config.dataDir, token: () => backupToken, logger });
    const peerHandler = member.peerHandler;
    serving = (req, res) => {
      if (!backup(req, res)) peerHandler(req, res);
    };
    streaming = member.peerUpgradeHandler;
    const handler = createClientHandler({
      backend: member,
      logger,
      maxRequestBytes: config.maxRequestBytes,
      requestTimeoutMs: requestTimeoutMs(config),
      leaderWaitMs: 2 * config.electionTimeoutMs,
      extraRoutes: new Map([['/metrics', metricsRoute(member)]]),
      clientCertAuth: tls.clientCertAuth,
    });
    // As etcd, client requests wait (bounded) until this member has published itself.
    const readyWaitMs = requestTimeoutMs(config);
    const debugRoutes = new Map([
      [RAFT_STATUS_PATH, raftStatusRoute(member)],
      [RAFT_LOG_PATH, raftLogRoute(member)],
      [RAFT_EVENTS_PATH, raftEventsRoute(member)],
    ]);
    if (member.faults !== null && config.debugFaultsTokenFile !== undefined) {
      debugRoutes.set(PEER_FAULTS_PATH, peerFaultsRoute(member.faults, await readFaultsToken(config.debugFaultsTokenFile)));
    }
    const ui = uiStaticRoute();
    clientListeners = await listenAll(config.listenClientURLs, (req, res) => {
      // /debug/raft/* and the live view's page (/ui/) answer at once, ready or not: a member that
      // finds no leader can be looked at.
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const urlPath = q < 0 ? url : url.slice(0, q);
      const debug = url.startsWith('/debug/raft/') ? debugRoutes.get(urlPath) : undefined;
      if (debug !== undefined) return debug(req, res);
      if (isUiPath(urlPath)) {
        ui(req, res, urlPath).catch(() => res.destroy());
        return;
      }
      if (member.isReady()) handler(req, res);
      else void member.whenReady(readyWaitMs).then(() => handler(req, res));
    }, { ...(tls.client !== undefined ? { tls: tls.client } : {}), onTLSError: onTLSError('client') });
  } catch (err: unknown) {
    await closeAll(peerListeners);
    await member.stop();
    throw err;
  }
  member.start();
  logger.info(
    {
      version: etcdTsVersion(),
      clientURLs: clientListeners.map((l) => `${l.url.scheme}://${l.address.address}:${l.address.port}`),
      peerURLs: peerListeners.map((l) => `${l.url.scheme}://${l.address.address}:${l.address.port}`),
      advertiseClientURLs: config.advertiseClientURLs,
      dataDir: config.dataDir,
    },
    'serving the client and peer APIs',
  );
  let closing: Promise<void> | null = null;
  return {
    config,
    member,
    clientListeners,
    peerListeners,
    close: () => {
      closing ??= (async () => {
        member.events.closeAll();
        await closeAll(clientListeners);
        await member.stop();
        await closeAll(peerListeners);
      })();
      return closing;
    },
  };
}

/** A fresh random token in <data-dir>/member/backup-token (0600): only who can read it may take a backup. */
async function writeBackupToken(dataDir: string): Promise<string> {
  const token = randomToken(24);
  const file = path.join(dataDir, ...BACKUP_TOKEN_FILE);
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, token + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
  return token;
}

/** The first line of --debug-faults-token-file; a short or missing token stops the start. */
async function readFaultsToken(file: string): Promise<string> {
  const token = (await fs.readFile(file, 'utf8')).split('\n')[0]?.trim() ?? '';
  if (token.length < MIN_FAULTS_TOKEN_LENGTH) throw new Error(`--debug-faults-token-file ${file}: the token (first line) must be at least ${MIN_FAULTS_TOKEN_LENGTH} characters`);
  return token;
}
