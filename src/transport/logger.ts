// The logging surface the transport needs: a structural subset of pino's Logger, so the runtime
// passes its pino child logger and tests pass nothing (silent) or a recording stub.

export interface TransportLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const noop = (): void => undefined;

export const silentLogger: TransportLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
