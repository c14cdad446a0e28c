// The logging and metrics the messaging lib needs, as tiny interfaces: a pino logger fits MessagingLogger as is,
// and any metrics backend (OpenTelemetry counters, Prometheus) fits MessagingMetrics with a few lines. The lib
// depends on neither. It logs only what a caller cannot see in a return value or an error (a handler that
// threw inside the subscriber loop, a settlement that failed, a topology step skipped).

export interface MessagingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MessagingMetrics {
  /** Adds `n` to the counter `name` (e.g. `messaging.drain.completed`), with optional labels. */
  count(name: string, n: number, labels?: Readonly<Record<string, string>>): void;
}

/** The default logger: says nothing. */
export const silentLogger: MessagingLogger = Object.freeze({
  info: () => {},
  warn: () => {},
  error: () => {},
});

/** The default metrics: count nothing. */
export const noMetrics: MessagingMetrics = Object.freeze({ count: () => {} });
