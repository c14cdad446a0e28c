// SnapshotArchive through a real @grpc/grpc-js client built from our .proto, against snapshots stored on Azurite;
// plus the standard health service, server reflection and bearer-token auth.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  fromWireSnapshot,
  loadTransitFusionProto,
  SERVICE_NAMES,
  type WireSnapshot,
  type WireSnapshotDescriptor,
} from '@transit-fusion/grpc-api';
import type { TransportSnapshot } from '@transit-fusion/model';
import { Secret } from '@transit-fusion/service-kit';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerTokens } from '../src/bearer-tokens.js';
import { storeWith } from './helpers.js';
import { createGrpcServer, type GrpcServer } from '../src/grpc-server.js';
import { createSnapshotArchiveHandlers } from '../src/snapshot-archive.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
const TOKEN = 'grpc-test-token-0123456789abcdef';
const snapshot = (i: number): TransportSnapshot => ({
  sequence: 100 + i,
  generatedAt: T0 + i * 1000,
  sources: [{ vendorId: 'positions', sequence: i, collectedAt: T0 + i * 1000 - 300, recordCount: 1 }],
  vehicles: [
    {
      id: 'bus-1',
      transportType: 'bus',
      status: 'on_duty',
      position: { lat: 59.4 + i / 1000, lon: 24.7 },
      bearing: 90,
      sources: { position: { vendorId: 'positions', observedAt: T0 + i * 1000 - 500 } },
      quality: 0,
    },
  ],
});

const auth = () => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TOKEN}`);
  return metadata;
};

describe('SnapshotArchive over gRPC', () => {
  let grpcServer: GrpcServer;
  let address: string;
  const { SnapshotArchive } = loadTransitFusionProto();
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  beforeAll(async () => {
    const store = await storeWith(Array.from({ length: 5 }, (_, i) => snapshot(i)));
    const tokens = createBearerTokens([new Secret(TOKEN)]);
    grpcServer = createGrpcServer({
      archive: createSnapshotArchiveHandlers({
        store,
        maxRangeMs: 3_600_000,
        logger: { warn() {} },
        authorize: (metadata) => tokens.accepts(String(metadata.get('authorization')[0] ?? '')),
      }),
    });
    address = `127.0.0.1:${await grpcServer.listen('127.0.0.1', 0)}`;
    client = new SnapshotArchive(address, grpc.credentials.createInsecure()) as typeof client;
  });
  afterAll(async () => {
    client?.close();
    await grpcServer?.close(1_000);
  });

  const unary = <T>(method: string, request: object, metadata = auth()) =>
    new Promise<T>((resolve, reject) =>
      client[method]!(request, metadata, (error: grpc.ServiceError | null, response: T) =>
        error ? reject(error) : resolve(response),
      ),
    );
  const stream = <T>(method: string, request: object, metadata = auth()) =>
    new Promise<T[]>((resolve, reject) => {
      const items: T[] = [];
      const call = client[method]!(request, metadata) as grpc.ClientReadableStream<T>;
      call.on('data', (item: T) => items.push(item));
      call.on('end', () => resolve(items));
      call.on('error', reject);
    });

  it('GetSnapshotAt answers the closest snapshot, or the newest at or before, as the model stored it', async () => {
    const closest = await unary<WireSnapshot>('GetSnapshotAt', { atMs: T0 + 2_400 });
    expect(closest.descriptor).toMatchObject({ id: '2026-11-21T08:47:02.000Z', sequence: 102 });
    expect(fromWireSnapshot(closest)).toEqual(snapshot(2));
    const before = await unary<WireSnapshot>('GetSnapshotAt', { atMs: T0 + 2_900, atOrBefore: true });
    expect(before.descriptor.sequence).toBe(102);
    await expect(unary('GetSnapshotAt', { atMs: T0 - 3_600_000, atOrBefore: true })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('ListSnapshots streams descriptors in time order; Replay streams snapshots paced by speed', async () => {
    const listed = await stream<WireSnapshotDescriptor>('ListSnapshots', {
      fromMs: T0 + 1_000,
      toMs: T0 + 3_000,
    });
    expect(listed.map((d) => d.sequence)).toEqual([101, 102, 103]);

    const started = Date.now();
    const replayed = await stream<WireSnapshot>('Replay', { fromMs: T0, toMs: T0 + 4_000, speed: 10 });
    const elapsed = Date.now() - started;
    expect(replayed.map((s) => s.descriptor.sequence)).toEqual([100, 101, 102, 103, 104]);
    // Four seconds of history at 10×: about 400 ms (not asserted tightly: shared machines are noisy).
    expect(elapsed).toBeGreaterThanOrEqual(350);
    await expect(stream('Replay', { fromMs: T0, toMs: T0 + 4_000, speed: -1 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(stream('ListSnapshots', { fromMs: T0, toMs: T0 + 7_200_000 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'the range may span at most 3600000 ms',
    });
  });

  it('refuses calls without a known bearer token', async () => {
    await expect(unary('GetSnapshotAt', { atMs: T0 }, new grpc.Metadata())).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer not-the-token');
    await expect(stream('ListSnapshots', { fromMs: T0, toMs: T0 + 1_000 }, wrong)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
  });

  it('serves the standard health service and server reflection', async () => {
    const require = createRequire(import.meta.url);
    const healthProto = require.resolve('grpc-health-check/proto/health/v1/health.proto');
    const health = grpc.loadPackageDefinition(
      protoLoader.loadSync(healthProto, { enums: String }),
    ) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const healthClient = new health.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        healthClient['Check']!({ service }, (e: grpc.ServiceError | null, r: { status: string }) =>
          e ? reject(e) : resolve(r),
        ),
      );
    expect(await check(SERVICE_NAMES.snapshotArchive)).toEqual({ status: 'SERVING' });
    expect(await check(SERVICE_NAMES.vehicleFeed)).toEqual({ status: 'NOT_SERVING' });
    healthClient.close();

    const reflectionProto =
      require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const reflection = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto)) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const reflectionClient = new reflection.grpc.reflection.v1.ServerReflection(
      address,
      grpc.credentials.createInsecure(),
    );
    const services = await new Promise<string[]>((resolve, reject) => {
      const call = reflectionClient['ServerReflectionInfo']!() as grpc.ClientDuplexStream<
        object,
        { listServicesResponse?: { service: { name: string }[] } }
      >;
      call.on('data', (r: { listServicesResponse?: { service: { name: string }[] } }) => {
        resolve((r.listServicesResponse?.service ?? []).map((s) => s.name));
        call.end();
      });
      call.on('error', reject);
      call.write({ listServices: '' });
    });
    expect(services).toEqual(
      expect.arrayContaining([SERVICE_NAMES.snapshotArchive, SERVICE_NAMES.vehicleFeed]),
    );
    reflectionClient.close();
  });
});
