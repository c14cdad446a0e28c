// `transit-fusion snapshot export`: a range of stored snapshots as NDJSON or GeoJSON, streamed one snapshot at
// a time (never the whole document in memory). Snapshots that cannot be read are reported and skipped; the
// export goes on.

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { toGeoJsonFeature, type TransportSnapshot } from '@transit-fusion/model';
import {
  isStorageError,
  type SkippedSnapshot,
  type SnapshotDescriptor,
  type SnapshotStore,
} from '@transit-fusion/storage';
import { redact, writeTo, type CommandContext } from './context.js';

export type ExportFormat = 'ndjson' | 'geojson';

export interface ExportOptions {
  readonly from: number;
  readonly to: number;
  readonly format: ExportFormat;
  /** A file to write; default stdout. */
  readonly out?: string | undefined;
}

/** Ranges with more snapshots than this get a progress bar (on a terminal only). */
export const PROGRESS_THRESHOLD = 50;

export async function exportSnapshots(context: CommandContext, options: ExportOptions): Promise<void> {
  const store = context.snapshotStore();
  // Counting reads only the index (1000 rows a request), a small price for a bar that knows its end.
  const total = context.interactive ? await countSnapshots(store, options.from, options.to) : 0;
  const target = options.out ? await fileTarget(options.out) : stdoutTarget(context);
  const progress = total > PROGRESS_THRESHOLD ? startProgress(context.io.stderr, total) : undefined;
  const report = (line: string) =>
    progress ? progress.log(redact(line, context.io.env)) : context.warn(line);
  const encoder = createEncoder(options.format);
  let exported = 0;
  let skipped = 0;
  const onSkip = ({ descriptor, error }: SkippedSnapshot) => {
    skipped++;
    progress?.tick();
    report(`skipped snapshot ${descriptor.id} (blob ${descriptor.blobName}): ${skipReason(error)}`);
  };
  try {
    await target.write(encoder.start());
    for await (const { descriptor, snapshot } of store.readRange(options.from, options.to, { onSkip })) {
      await target.write(encoder.snapshot(descriptor, snapshot));
      exported++;
      progress?.tick();
    }
    await target.write(encoder.end());
    await target.commit();
  } catch (error) {
    await target.abort();
    throw error;
  } finally {
    progress?.stop();
  }
  context.warn(
    `exported ${exported} snapshots, skipped ${skipped}${options.out ? ` to ${options.out}` : ''}`,
  );
  if (exported === 0 && skipped > 0) context.exitCode = 1;
}

/** `CORRUPT_BLOB: BAD_MAGIC: …`, `MISSING_BLOB`: the store's messages repeat the id and blob name said already. */
function skipReason(error: Error): string {
  if (!isStorageError(error)) return error.message;
  if (error.cause instanceof Error) return `${error.code}: ${error.cause.message}`;
  return error.code === 'MISSING_BLOB' ? 'MISSING_BLOB: indexed, but the blob does not exist' : error.message;
}

async function countSnapshots(store: SnapshotStore, from: number, to: number): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await store.listPage(from, to, {
      pageSize: 1000,
      ...(token ? { continuationToken: token } : {}),
    });
    count += page.descriptors.length;
    token = page.continuationToken;
  } while (token);
  return count;
}

interface Encoder {
  start(): string;
  snapshot(descriptor: SnapshotDescriptor, snapshot: TransportSnapshot): string;
  end(): string;
}

export function createEncoder(format: ExportFormat): Encoder {
  if (format === 'ndjson') {
    return {
      start: () => '',
      snapshot: (d, s) =>
        `${JSON.stringify({ id: d.id, sequence: s.sequence, generatedAt: s.generatedAt, vehicles: s.vehicles })}\n`,
      end: () => '',
    };
  }
  // One feature per line; the separator goes before every feature but the first of the whole document.
  let features = 0;
  return {
    start: () => '{"type":"FeatureCollection","features":[',
    snapshot: (d, s) => {
      let text = '';
      for (const v of s.vehicles) {
        const feature = toGeoJsonFeature(v, { snapshotId: d.id });
        if (!feature) continue;
        text += `${features++ === 0 ? '\n' : ',\n'}${JSON.stringify(feature)}`;
      }
      return text;
    },
    end: () => '\n]}\n',
  };
}

interface Target {
  write(chunk: string): Promise<void>;
  /** The export is complete: make it visible. */
  commit(): Promise<void>;
  /** The export failed: leave nothing half-written behind (a file), as far as possible. */
  abort(): Promise<void>;
}

function stdoutTarget(context: CommandContext): Target {
  return {
    write: (chunk) => (chunk ? context.out(chunk) : Promise.resolve()),
    commit: async () => {},
    abort: async () => {},
  };
}

/**
 * Writes next to the destination and renames on success, so an export that fails or is interrupted never
 * leaves a truncated file under the requested name.
 */
async function fileTarget(file: string): Promise<Target> {
  const partial = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(4).toString('hex')}.partial`,
  );
  const handle = await open(partial, 'wx');
  const stream = handle.createWriteStream();
  // A failure between writes must not become an unhandled 'error' event; it is rethrown by the next write.
  let failure: Error | undefined;
  stream.on('error', (error) => (failure ??= error));
  const check = () => {
    if (failure) throw failure;
  };
  return {
    write: async (chunk) => {
      check();
      if (chunk) await writeTo(stream, chunk);
    },
    commit: async () => {
      check();
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
      await rename(partial, file);
    },
    abort: async () => {
      stream.destroy();
      await rm(partial, { force: true }).catch(() => {});
    },
  };
}

interface Progress {
  tick(): void;
  /** Prints a line above the bar. */
  log(line: string): void;
  stop(): void;
}

function startProgress(stream: Writable, total: number): Progress {
  const bars = new cliProgress.MultiBar(
    {
      stream: stream as NodeJS.WriteStream,
      format: 'exporting [{bar}] {percentage}% | {value}/{total} snapshots | ETA {eta_formatted}',
      // We only get here when the caller says stderr is a terminal; draw even if the stream does not say so.
      noTTYOutput: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0);
  let done = 0;
  return {
    tick: () => {
      done++;
      // Snapshots written after the count was taken make the range longer than counted.
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.increment();
    },
    log: (line) => {
      bars.log(`${line}\n`);
      bars.update();
    },
    stop: () => {
      bars.update();
      bars.stop();
    },
  };
}
