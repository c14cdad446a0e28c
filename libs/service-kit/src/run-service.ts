// The process lifecycle every service shares: start, then stop cleanly when the orchestrator says so. On
// SIGTERM or SIGINT it calls `stop` (the service stops accepting work, drains what is in flight and closes its
// connections) and exits 0; if stop fails or outlives the shutdown timeout, it exits 1 so the orchestrator
// knows the shutdown was not clean. Uncaught exceptions and unhandled rejections are logged, then the process
// exits 1: a service in an unknown state is restarted, never left running with a swallowed error.

import { isConfigError } from './config-error.js';
import { createLogger } from './logger.js';

export interface ServiceLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** The parts of `process` runService uses; tests pass a fake. */
export interface ServiceProcess {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  exit(code: number): void;
}

export interface RunServiceOptions {
  /** Resolves once the service is serving (e.g. listening). A failure is logged and exits 1. */
  readonly start: () => Promise<void>;
  /** Stops accepting work, finishes in-flight work, closes connections. */
  readonly stop: () => Promise<void>;
  readonly logger: ServiceLogger;
  /** Longest time `stop` may take before the process gives up and exits 1. */
  readonly shutdownTimeoutMs: number;
  /** Default: the real `process`. */
  readonly process?: ServiceProcess;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;

/** Installs the signal and error handlers, then starts the service. Resolves once started. */
export async function runService(options: RunServiceOptions): Promise<void> {
  const proc: ServiceProcess = options.process ?? process;
  const { logger } = options;
  let stopping = false;
  let exited = false;

  const exit = (code: number) => {
    if (exited) return;
    exited = true;
    proc.exit(code);
  };

  // Stops the service once; a second signal while stopping means "now", and exits 1 at once.
  const shutdown = (reason: string, code: number) => {
    if (stopping) {
      logger.error({ reason }, 'second shutdown request while stopping: exiting now');
      exit(EXIT_FAILURE);
      return;
    }
    stopping = true;
    logger.info({ reason, timeoutMs: options.shutdownTimeoutMs }, 'stopping');
    const started = Date.now();
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.shutdownTimeoutMs }, 'stop did not finish in time: exiting');
      exit(EXIT_FAILURE);
    }, options.shutdownTimeoutMs);
    options.stop().then(
      () => {
        clearTimeout(timer);
        logger.info({ durationMs: Date.now() - started }, 'stopped');
        exit(code);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, 'stop failed');
        exit(EXIT_FAILURE);
      },
    );
  };

  proc.on('SIGTERM', (signal) => shutdown(signal, EXIT_OK));
  proc.on('SIGINT', (signal) => shutdown(signal, EXIT_OK));
  proc.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    exit(EXIT_FAILURE);
  });
  proc.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    exit(EXIT_FAILURE);
  });

  try {
    await options.start();
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    // Release whatever start opened before failing; the exit code says it failed either way.
    shutdown('start failed', EXIT_FAILURE);
    return;
  }
  logger.info({}, 'started');
}

/** Exit code of a service whose configuration is invalid (nothing was started). */
export const EXIT_CONFIG = 2;

/**
 * Reads a service's configuration at start-up; on a ConfigError it logs every issue (never a secret's value) and
 * exits with {@link EXIT_CONFIG}, which orchestrators show as a crash loop with the reason in the log.
 */
export function readConfigOrExit<T>(
  service: string,
  read: () => T,
  proc: Pick<ServiceProcess, 'exit'> = process,
): T {
  try {
    return read();
  } catch (error) {
    if (!isConfigError(error)) throw error;
    createLogger({ service }).fatal({ issues: error.issues }, error.message);
    proc.exit(EXIT_CONFIG);
    throw error; // only reached when `proc.exit` returns (tests)
  }
}
