// Structured logs for every service: pino, one JSON object per line on stdout (what Azure Monitor and
// `kubectl logs` collect), with the service name on every line and credentials redacted wherever they may
// appear in a logged object (request headers, config, error details).

import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Added to every line as `service`. */
  readonly service: string;
  /** Default `info`. */
  readonly level?: LogLevel;
  /** More paths to redact (pino/fast-redact syntax), beyond {@link REDACTED_PATHS}. */
  readonly redact?: readonly string[];
  /** Where lines go; default stdout, written synchronously so nothing is lost when the process exits. */
  readonly destination?: DestinationStream;
}

const SECRET_KEYS = [
  'authorization',
  'apiKey',
  'apiKeys',
  'secret',
  'secrets',
  'signature',
  'password',
  'token',
  'accessToken',
  'connectionString',
  'sharedAccessKey',
];
const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'x-signature',
  'ocp-apim-subscription-key',
];

/**
 * Paths whose values are replaced by `[redacted]`: credential headers of logged requests, and credential-named
 * keys at the top level and up to two levels down (`{ config: { serviceBus: { connectionString } } }`).
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`, `request.headers["${h}"]`]),
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
