// SnapshotArchive over gRPC: the stored snapshots by time, from the snapshot store (Blob + Table time index).
// GetSnapshotAt answers the closest snapshot (or the newest at or before a time), ListSnapshots streams
// descriptors in time order, Replay streams whole snapshots paced by a speed factor. Ranges are bounded, and a
// stream stops as soon as its client cancels. (A server stream ends with an error status through
// `emit('error', status)`: grpc-js sends the status from its final callback, which destroy() skips.)

import * as grpc from '@grpc/grpc-js';
import {
  toWireDescriptor,
  toWireSnapshot,
  type WireSnapshot,
  type WireSnapshotDescriptor,
} from '@transit-fusion/grpc-api';
import { isStorageError, type SnapshotDescriptor, type SnapshotStore } from '@transit-fusion/storage';

export interface SnapshotArchiveDeps {
  readonly store: SnapshotStore;
  /** Longest range ListSnapshots and Replay accept. */
  readonly maxRangeMs: number;
  /** Checks each call's credentials; a call it refuses ends UNAUTHENTICATED. */
  readonly authorize: (metadata: grpc.Metadata) => boolean;
  readonly logger: { warn(obj: object, msg: string): void };
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const MAX_SPEED = 3_600;

type Handlers = grpc.UntypedServiceImplementation;

export function createSnapshotArchiveHandlers(deps: SnapshotArchiveDeps): Handlers {
  const sleep =
    deps.sleep ??
    ((ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }));

  function refuse(metadata: grpc.Metadata): grpc.StatusObject | undefined {
    if (deps.authorize(metadata)) return undefined;
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: 'missing or unknown bearer token (metadata "authorization: Bearer <token>")',
      metadata: new grpc.Metadata(),
    };
  }

  function range(request: { fromMs?: number; toMs?: number }): { from: number; to: number } | string {
    const from = Number(request.fromMs ?? 0);
    const to = Number(request.toMs ?? 0);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from <= 0 || to < from) {
      return 'from_ms and to_ms must be epoch milliseconds with from_ms <= to_ms';
    }
    if (to - from > deps.maxRangeMs) return `the range may span at most ${deps.maxRangeMs} ms`;
    return { from, to };
  }

  function failure(error: unknown, what: string): grpc.StatusObject {
    if (isStorageError(error) && error.code === 'INVALID_ARGUMENT') {
      return { code: grpc.status.INVALID_ARGUMENT, details: error.message, metadata: new grpc.Metadata() };
    }
    deps.logger.warn({ err: error }, `${what} failed`);
    return {
      code: grpc.status.UNAVAILABLE,
      details: `${what} failed: storage unavailable`,
      metadata: new grpc.Metadata(),
    };
  }

  async function snapshotOf(d: SnapshotDescriptor): Promise<WireSnapshot> {
    return toWireSnapshot(await deps.store.read(d), toWireDescriptor(d));
  }

  return {
    GetSnapshotAt(
      call: grpc.ServerUnaryCall<{ atMs?: number; atOrBefore?: boolean }, WireSnapshot>,
      callback: grpc.sendUnaryData<WireSnapshot>,
    ) {
      const refused = refuse(call.metadata);
      if (refused) return callback(refused);
      const at = Number(call.request.atMs ?? 0);
      if (!Number.isSafeInteger(at) || at <= 0) {
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'at_ms must be epoch milliseconds' });
      }
      void (async () => {
        try {
          const d = call.request.atOrBefore
            ? await deps.store.latestAtOrBefore(at)
            : await deps.store.closestAt(at);
          if (!d) {
            return callback({
              code: grpc.status.NOT_FOUND,
              details: `no snapshot ${call.request.atOrBefore ? 'at or before' : 'near'} ${new Date(at).toISOString()}`,
            });
          }
          callback(null, await snapshotOf(d));
        } catch (error) {
          callback(failure(error, 'GetSnapshotAt'));
        }
      })();
    },

    ListSnapshots(
      call: grpc.ServerWritableStream<{ fromMs?: number; toMs?: number }, WireSnapshotDescriptor>,
    ) {
      const refused = refuse(call.metadata);
      if (refused) {
        call.emit('error', refused);
        return;
      }
      const r = range(call.request);
      if (typeof r === 'string') {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: r });
        return;
      }
      void (async () => {
        try {
          for await (const d of deps.store.between(r.from, r.to)) {
            if (call.cancelled) return;
            if (!call.write(toWireDescriptor(d))) await new Promise((resolve) => call.once('drain', resolve));
          }
          call.end();
        } catch (error) {
          const status = failure(error, 'ListSnapshots');
          call.emit('error', status);
        }
      })();
    },

    Replay(
      call: grpc.ServerWritableStream<{ fromMs?: number; toMs?: number; speed?: number }, WireSnapshot>,
    ) {
      const refused = refuse(call.metadata);
      if (refused) {
        call.emit('error', refused);
        return;
      }
      const r = range(call.request);
      const speed = Number(call.request.speed ?? 0);
      const invalid =
        typeof r === 'string'
          ? r
          : !(speed >= 0 && speed <= MAX_SPEED)
            ? `speed must be 0 (as fast as read) to ${MAX_SPEED}`
            : undefined;
      if (invalid || typeof r === 'string') {
        const details = invalid ?? 'invalid range';
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
        return;
      }
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      void (async () => {
        try {
          // Paced by the snapshots' own times: a second of history every 1/speed seconds of the stream.
          let clock: { wall: number; history: number } | undefined;
          for await (const d of deps.store.between(r.from, r.to)) {
            if (cancelled.signal.aborted) return;
            if (speed > 0) {
              clock ??= { wall: Date.now(), history: d.generatedAt };
              const wait = clock.wall + (d.generatedAt - clock.history) / speed - Date.now();
              if (wait > 0) await sleep(wait, cancelled.signal);
            }
            if (cancelled.signal.aborted) return;
            if (!call.write(await snapshotOf(d))) await new Promise((resolve) => call.once('drain', resolve));
          }
          call.end();
        } catch (error) {
          const status = failure(error, 'Replay');
          call.emit('error', status);
        }
      })();
    },
  };
}
