// The gRPC server: the live feed and the archive with the standard health service and server reflection,
// keepalive settings for long-lived streams behind load balancers, and TLS when certificates are configured.

import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { loadTransitFusionProto, SERVICE_NAMES } from '@transit-fusion/grpc-api';
import { HealthImplementation } from 'grpc-health-check';
import { vehicleFeedService } from './vehicle-feed.js';

export interface GrpcServerOptions {
  readonly archive: grpc.UntypedServiceImplementation;
  /** The live feed (VehicleFeed); absent: the service is not offered and health says NOT_SERVING. */
  readonly feed?: { readonly handlers: grpc.UntypedServiceImplementation; closeAll(): void };
  /** PEM certificate chain and key; absent: plaintext (behind a TLS-terminating ingress, or locally). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Server pings idle connections this often, so load balancers keep long streams open (default 30 s). */
  readonly keepaliveTimeMs?: number;
  readonly maxConnectionAgeMs?: number;
}

export interface GrpcServer {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  /** Binds and starts; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets calls end for `graceMs`, then cancels what is left. */
  close(graceMs: number): Promise<void>;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { SnapshotArchive, definition } = loadTransitFusionProto();
  const server = new grpc.Server({
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    // One client connection may not hold more streams than this (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
    'grpc.max_concurrent_streams': 1_000,
    ...(options.maxConnectionAgeMs ? { 'grpc.max_connection_age_ms': options.maxConnectionAgeMs } : {}),
  });
  server.addService(SnapshotArchive.service, options.archive);
  if (options.feed) server.addService(vehicleFeedService(), options.feed.handlers);
  const health = new HealthImplementation({
    '': 'SERVING',
    [SERVICE_NAMES.snapshotArchive]: 'SERVING',
    [SERVICE_NAMES.vehicleFeed]: options.feed ? 'SERVING' : 'NOT_SERVING',
  });
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  return {
    server,
    health,
    listen(host, port) {
      const credentials = options.tls
        ? grpc.ServerCredentials.createSsl(null, [
            { cert_chain: options.tls.cert, private_key: options.tls.key },
          ])
        : grpc.ServerCredentials.createInsecure();
      return new Promise((resolve, reject) =>
        server.bindAsync(`${host}:${port}`, credentials, (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
    },
    async close(graceMs) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(SERVICE_NAMES.vehicleFeed, 'NOT_SERVING');
      // Live streams never end by themselves: end them now, so clients reconnect elsewhere at once instead of
      // when the grace period runs out.
      options.feed?.closeAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
