// The last resort for a client request that failed unexpectedly: log everything, tell the client only
// what etcd would say (an etcd-shaped 500), never a stack trace, and never leave it hanging.
import type { IncomingMessage } from 'node:http';
import { ErrorCode, EtcdError } from '../store/errors.js';
import { sendEtcdError, sendMessageError, setCorsHeaders, type Res } from './respond.js';

interface ErrorLogger {
  error(obj: object, msg: string): void;
}

export function answerInternalError(logger: ErrorLogger, err: unknown, req: IncomingMessage, res: Res): void {
  logger.error({ err, method: req.method, url: req.url }, 'internal error while serving a client request');
  if (res.headersSent) {
    // a response (e.g. a watch) is under way: the only honest ending left is to cut it
    res.destroy();
    return;
  }
  // drop headers a handler may have set (Content-Length of a body that will not come, ...)
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  setCorsHeaders(res);
  if ((req.url ?? '').startsWith('/v2/keys')) {
    sendEtcdError(res, new EtcdError(ErrorCode.RaftInternal, 'etcd-ts: internal error', 0));
  } else {
    sendMessageError(res, 500, 'Internal Server Error');
  }
}
