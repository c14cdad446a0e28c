// VehicleFeed over gRPC: `Subscribe(Profile)` streams a keyframe, then one update per tick. Each update is
// serialised once per view and tick and the same bytes are written to every stream sharing the view (the
// service definition's serializer passes pre-encoded buffers through). A stream whose HTTP/2 window is full is a
// slow client: `write()` returns false, and until 'drain' the fan-out skips it (see fan-out.ts).

import * as grpc from '@grpc/grpc-js';
import { encodeVehicleUpdate, loadTransitFusionProto } from '@transit-fusion/grpc-api';
import type { FanOut, Subscription } from './fan-out.js';
import type { LiveView, ViewUpdate } from './live-views.js';
import { profileFromWire } from './profile.js';

export interface VehicleFeedDeps {
  readonly fanOut: FanOut;
  readonly authorize: (metadata: grpc.Metadata) => boolean;
  /** Streams open at once (default 5,000); more are refused RESOURCE_EXHAUSTED. */
  readonly maxStreams?: number;
  /** A Watch call must send its profile within this (default 10 s). */
  readonly firstMessageMs?: number;
  readonly onStream?: (delta: 1 | -1) => void;
}

/** The VehicleFeed service definition, with a serializer that lets pre-encoded updates through. */
export function vehicleFeedService(): grpc.ServiceDefinition {
  const { VehicleFeed } = loadTransitFusionProto();
  const passThrough = (method: grpc.MethodDefinition<unknown, unknown>) => ({
    ...method,
    responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value)),
  });
  return {
    ...VehicleFeed.service,
    Subscribe: passThrough(VehicleFeed.service['Subscribe']!),
    Watch: passThrough(VehicleFeed.service['Watch']!),
  };
}

/** One update as VehicleUpdate bytes (written straight from the model: the fan-out's hot path). */
export function encodeUpdate(update: ViewUpdate): Buffer {
  return encodeVehicleUpdate({
    sequence: update.sequence,
    previousSequence: Math.max(0, update.previousSequence),
    generatedAtMs: update.generatedAt,
    keyframe: update.keyframe,
    vehicles: update.vehicles,
    removed: update.removed,
  });
}

/**
 * `skipped` (field 6, varint) appended to encoded bytes: protobuf parsers merge concatenated messages, so a
 * shared keyframe becomes one subscriber's catch-up keyframe without encoding it again.
 */
export function withSkipped(bytes: Buffer, skipped: number): Buffer {
  const varint: number[] = [0x30];
  let n = skipped >>> 0;
  while (n > 0x7f) {
    varint.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  varint.push(n);
  return Buffer.concat([bytes, Buffer.from(varint)]);
}

export interface VehicleFeed {
  readonly handlers: grpc.UntypedServiceImplementation;
  readonly streams: number;
  /** Ends every stream UNAVAILABLE (shutdown: clients reconnect, to another replica). */
  closeAll(): void;
}

export function createVehicleFeed(deps: VehicleFeedDeps): VehicleFeed {
  const maxStreams = deps.maxStreams ?? 5_000;
  const firstMessageMs = deps.firstMessageMs ?? 10_000;
  /** Shutdown callbacks of the streams being served. */
  const open = new Set<() => void>();
  /**
   * Calls holding server resources, counted until their 'close': a stream ended for lagging may still hold
   * unsent frames while its client keeps its window shut, and a Watch waiting for its first message holds a
   * call. Both count against maxStreams.
   */
  let held = 0;
  /** Counts a call until it closes; false (and the call refused) when the server is full. */
  function hold(call: FeedCall): boolean {
    if (held >= maxStreams) {
      fail(call, grpc.status.RESOURCE_EXHAUSTED, `this server holds its maximum of ${maxStreams} streams`);
      return false;
    }
    held++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held--;
    };
    call.on('close', release);
    call.on('cancelled', release);
    return true;
  }
  const fail = (
    call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
    code: grpc.status,
    details: string,
  ) => call.emit('error', { code, details, metadata: new grpc.Metadata() });

  type WireProfile = Parameters<typeof profileFromWire>[0];
  type FeedCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

  /** Serves one live stream for a profile; returns its subscription, or undefined when it was refused. */
  function serve(call: FeedCall, wire: WireProfile): Subscription | undefined {
    const profile = profileFromWire(wire);
    if (typeof profile === 'string') {
      fail(call, grpc.status.INVALID_ARGUMENT, `profile: ${profile}`);
      return undefined;
    }
    let blocked = false;
    let ended = false;
    const subscription = deps.fanOut.subscribe(profile, {
      // grpc-js streams are object-mode Writables (write() says false only after 16 queued updates): count
      // what is queued instead, so a stream blocked by HTTP/2 flow control holds at most one update.
      ready: () => !blocked && !ended && call.writableLength <= 1,
      deliver(update: ViewUpdate, view: LiveView, skipped: number) {
        const bytes = view.encoded('grpc', update, encodeUpdate);
        if (!call.write(skipped > 0 ? withSkipped(bytes, skipped) : bytes)) {
          blocked = true;
          call.once('drain', () => {
            blocked = false;
          });
        }
      },
      disconnect(reason) {
        end();
        fail(call, grpc.status.RESOURCE_EXHAUSTED, reason);
      },
    });
    if (!subscription) {
      fail(
        call,
        grpc.status.RESOURCE_EXHAUSTED,
        'too many distinct profiles are being served; use a common profile (e.g. fewer fields or a coarser box)',
      );
      return undefined;
    }
    const shutdown = () => {
      end();
      fail(call, grpc.status.UNAVAILABLE, 'the server is shutting down; subscribe again');
    };
    open.add(shutdown);
    deps.onStream?.(1);
    function end(): void {
      if (ended) return;
      ended = true;
      open.delete(shutdown);
      deps.onStream?.(-1);
      subscription!.unsubscribe();
    }
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
    return subscription;
  }

  function authorized(call: FeedCall): boolean {
    if (deps.authorize(call.metadata)) return true;
    fail(call, grpc.status.UNAUTHENTICATED, 'missing or unknown bearer token (metadata "authorization")');
    return false;
  }

  const handlers: grpc.UntypedServiceImplementation = {
    Subscribe(call: grpc.ServerWritableStream<WireProfile, Buffer>) {
      if (!authorized(call) || !hold(call)) return;
      serve(call, call.request ?? {});
    },
    // The first message chooses the profile; each later one may ask for a keyframe on the next tick.
    Watch(call: grpc.ServerDuplexStream<{ profile?: WireProfile; keyframe?: boolean }, Buffer>) {
      if (!authorized(call) || !hold(call)) return;
      let subscription: Subscription | undefined;
      let first = true;
      const waiting = setTimeout(() => {
        first = false;
        fail(
          call,
          grpc.status.INVALID_ARGUMENT,
          `no WatchRequest with a profile within ${firstMessageMs} ms`,
        );
      }, firstMessageMs);
      call.on('close', () => clearTimeout(waiting));
      call.on('cancelled', () => clearTimeout(waiting));
      call.on('data', (request: { profile?: WireProfile; keyframe?: boolean }) => {
        if (first) {
          first = false;
          clearTimeout(waiting);
          if (!request.profile) {
            fail(call, grpc.status.INVALID_ARGUMENT, 'the first WatchRequest must carry a profile');
            return;
          }
          subscription = serve(call, request.profile);
          return;
        }
        if (request.keyframe) subscription?.requestKeyframe();
      });
    },
  };
  return {
    handlers,
    get streams() {
      return held;
    },
    closeAll() {
      for (const shutdown of [...open]) shutdown();
    },
  };
}
