// The client API as an Express app, for either runtime to mount on its client listeners. Express
// only hosts the handler (one middleware, so routing costs nothing extra) and its error handler,
// which turns anything unexpected into an etcd-shaped 500: never a stack trace, never a hang.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ErrorCode, EtcdError } from '../store/errors.js';
import { createClientHandler } from './client-api.js';
import type { ClientApiOptions } from './context.js';
import { sendEtcdError, sendMessageError, setCorsHeaders, type Res } from './respond.js';

export type { ClientApiOptions } from './context.js';

export function createClientApp(options: ClientApiOptions): Express {
  const handle = createClientHandler(options);
  const logger = options.logger;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use((req: Request, res: Response, next: NextFunction) => {
    try {
      const pending = handle(req, res);
      if (pending !== undefined) pending.catch(next);
    } catch (err: unknown) {
      next(err);
    }
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    answerInternalError(logger, err, req, res);
  });
  return app;
}

interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/** The last resort: log everything, tell the client only what etcd would say. */
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
  const url = req.url ?? '';
  if (url.startsWith('/v2/keys')) {
    sendEtcdError(res, new EtcdError(ErrorCode.RaftInternal, 'etcd-ts: internal error', 0));
  } else {
    sendMessageError(res, 500, 'Internal Server Error');
  }
}
