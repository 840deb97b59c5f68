// The client API as an Express app, for code that wants to mount it inside Express. The runtimes
// serve createClientHandler directly: Express costs ~2.5x the throughput of a plain GET (measured:
// 5k vs 13.5k req/s on 2 cores; etcd itself ~15k), as it swaps the prototypes of every request and
// response. Express only hosts the handler here; the handler does its own routing and error mapping.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createClientHandler } from './client-api.js';
import type { ClientApiOptions } from './context.js';
import { answerInternalError } from './internal-error.js';

export type { ClientApiOptions } from './context.js';
export { createClientHandler } from './client-api.js';

export function createClientApp(options: ClientApiOptions): Express {
  const handle = createClientHandler(options);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use((req: Request, res: Response) => handle(req, res));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => answerInternalError(options.logger, err, req, res));
  return app;
}
