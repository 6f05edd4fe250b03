import { pino, type DestinationStream, type Logger } from 'pino';

/** Where a bearer key could appear in a log line; each is replaced by `[redacted]`. */
export const REDACTED_PATHS = ['req.headers.authorization', 'request.headers.authorization', 'headers.authorization', 'authorization'];

/** The service's pino logger: JSON lines, API keys redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'reward-server' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
