// What every command gets: the process's streams and environment (injected, so tests run the CLI in-process),
// the storage settings and clients (created on first use, so `--help` needs no configuration), and the small
// helpers commands share: time arguments, output with backpressure, and errors that never leak secrets.

import type { Writable } from 'node:stream';
import { isModelError, parseInstant } from '@transit-fusion/model';
import {
  StorageError,
  snapshotStoreFor,
  storageClientsFor,
  storageConfigFromEnv,
  type SnapshotStore,
  type StorageClients,
  type StorageConfig,
} from '@transit-fusion/storage';

export interface CliIo {
  /** Where the storage settings come from (process.env in production). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stderr is a terminal (progress bars are drawn only then); default: `stderr.isTTY`. */
  readonly isTTY?: boolean;
}

export interface CommandContext {
  readonly io: CliIo;
  /** True when progress may be drawn on stderr. */
  readonly interactive: boolean;
  /** The storage settings; throws StorageError INVALID_CONFIG naming the variable. */
  config(): StorageConfig;
  clients(): StorageClients;
  snapshotStore(): SnapshotStore;
  /** Writes to stdout, waiting when the reader is slower than we are. */
  out(text: string): Promise<void>;
  /** Writes one line to stderr, secrets removed. */
  warn(line: string): void;
  /** The exit code a command wants when it finishes without throwing (default 0). */
  exitCode: number;
}

export function createContext(io: CliIo): CommandContext {
  let config: StorageConfig | undefined;
  let clients: StorageClients | undefined;
  let store: SnapshotStore | undefined;
  const context: CommandContext = {
    io,
    interactive: io.isTTY ?? (io.stderr as Writable & { isTTY?: boolean }).isTTY === true,
    config: () => (config ??= storageConfigFromEnv(io.env)),
    clients: () => {
      clients ??= storageClientsFor(context.config());
      return clients;
    },
    snapshotStore: () => {
      if (!store) {
        const c = context.config();
        store = snapshotStoreFor(context.clients(), c);
      }
      return store;
    },
    out: (text) => writeTo(io.stdout, text),
    warn: (line) => {
      io.stderr.write(`${redact(line, io.env)}\n`);
    },
    exitCode: 0,
  };
  return context;
}

/**
 * A time argument: ISO-8601 with a zone (`2026-11-21T08:47:00Z`, `2026-11-21T10:47:00+02:00`) or epoch
 * milliseconds. Throws StorageError INVALID_ARGUMENT naming the argument.
 */
export function parseTimeArgument(value: string, name: string): number {
  const text = value.trim();
  try {
    return parseInstant(/^\d+$/.test(text) ? Number(text) : text, name);
  } catch (error) {
    if (!isModelError(error)) throw error;
    const specific = error.issues.find((i) => i.message !== 'Invalid input')?.message;
    throw new StorageError(
      'INVALID_ARGUMENT',
      `${name} ${specific ?? 'must be an ISO-8601 time with a zone (e.g. 2026-11-21T08:47:00Z) or epoch milliseconds'}, got "${value.slice(0, 60)}"`,
    );
  }
}

/** Both ends of a range, checked for order. */
export function parseRange(from: string, to: string): { from: number; to: number } {
  const range = { from: parseTimeArgument(from, '--from'), to: parseTimeArgument(to, '--to') };
  if (range.from > range.to) {
    throw new StorageError('INVALID_ARGUMENT', `--from (${from}) must not be after --to (${to})`);
  }
  return range;
}

/** Thrown when the reader of our output went away (e.g. `| head`); the CLI stops quietly. */
export class OutputClosedError extends Error {
  override readonly name = 'OutputClosedError';
}

/** Writes a chunk, waiting for 'drain' when the stream's buffer is full; rejects when the stream fails. */
export async function writeTo(stream: Writable, chunk: string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) throw new OutputClosedError('output closed');
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new OutputClosedError('output closed'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Removes credentials from a message before it is printed: the configured connection string itself, and
 * account keys, SAS signatures and SAS tokens wherever they appear (SDK errors may quote URLs).
 */
export function redact(message: string, env: Readonly<Record<string, string | undefined>>): string {
  let text = message;
  const connectionString = env['TF_STORAGE_CONNECTION_STRING'];
  if (connectionString && connectionString.length >= 8) {
    text = text.split(connectionString).join('<TF_STORAGE_CONNECTION_STRING>');
  }
  return text
    .replace(/(AccountKey|SharedAccessSignature)=[^;\s"']+/gi, '$1=<redacted>')
    .replace(/([?&]sig=)[^&\s"']+/gi, '$1<redacted>');
}
