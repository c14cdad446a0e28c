// The .proto and the mapping through the real @grpc/grpc-js, server and client over a socket: what a server
// maps to the wire is what a client maps back, including absent-versus-zero optional fields.

import * as grpc from '@grpc/grpc-js';
import { QualityFlag, type TransportSnapshot } from '@transit-fusion/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fromWireSnapshot,
  fromWireVehicle,
  isGrpcApiError,
  loadTransitFusionProto,
  toWireDescriptor,
  toWireSnapshot,
  toWireVehicle,
  type WireSnapshot,
  type WireSnapshotDescriptor,
} from './index.js';

const T = Date.UTC(2026, 10, 21, 8, 47, 0);
const SNAPSHOT: TransportSnapshot = {
  sequence: 42,
  generatedAt: T,
  sources: [{ vendorId: 'positions', sequence: 7, collectedAt: T - 400, recordCount: 2 }],
  vehicles: [
    {
      id: 'bus-1042',
      label: '1042',
      transportType: 'bus',
      status: 'on_duty',
      position: { lat: 59.437, lon: 24.7536 },
      bearing: 0, // north: present, not "absent"
      speed: 8.5,
      delay: -30,
      routeId: '5',
      tripId: 'T5-0847',
      sources: {
        position: { vendorId: 'positions', observedAt: T - 1_000 },
        delay: { vendorId: 'delays', observedAt: T - 95_000, stale: true },
      },
      quality: QualityFlag.Stale,
    },
    { id: 'tram-7', transportType: 'tram', status: 'parked', sources: {}, quality: QualityFlag.Partial },
  ],
};
const DESCRIPTOR = toWireDescriptor({
  id: '2026-11-21T08:47:00.000Z',
  sequence: 42,
  generatedAt: T,
  vehicleCount: 2,
  bytes: 1234,
});

describe('the transit-fusion proto over @grpc/grpc-js', () => {
  let server: grpc.Server;
  let address: string;
  const { SnapshotArchive } = loadTransitFusionProto();

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(SnapshotArchive.service, {
      GetSnapshotAt: (
        call: grpc.ServerUnaryCall<{ atMs: number }, WireSnapshot>,
        callback: grpc.sendUnaryData<WireSnapshot>,
      ) => {
        if (call.request.atMs !== T)
          return callback({ code: grpc.status.NOT_FOUND, details: 'no snapshot then' });
        callback(null, toWireSnapshot(SNAPSHOT, DESCRIPTOR));
      },
      ListSnapshots: (
        call: grpc.ServerWritableStream<{ fromMs: number; toMs: number }, WireSnapshotDescriptor>,
      ) => {
        for (let i = 0; i < 3; i++) {
          call.write({ ...DESCRIPTOR, sequence: 42 + i, generatedAtMs: call.request.fromMs + i * 1000 });
        }
        call.end();
      },
      Replay: (call: grpc.ServerWritableStream<unknown, WireSnapshot>) => call.end(),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => server?.forceShutdown());

  it('a snapshot mapped to the wire comes back as the same model, absent fields absent and zeros zero', async () => {
    const client = new SnapshotArchive(address, grpc.credentials.createInsecure());
    const wire = await new Promise<WireSnapshot>((resolve, reject) =>
      client['GetSnapshotAt']!({ atMs: T }, (error: grpc.ServiceError | null, response: WireSnapshot) =>
        error ? reject(error) : resolve(response),
      ),
    );
    expect(wire.descriptor).toEqual(DESCRIPTOR);
    expect(wire.vehicles[0]).toMatchObject({
      transportType: 'TRANSPORT_TYPE_BUS',
      status: 'VEHICLE_STATUS_ON_DUTY',
      qualityFlags: ['Stale'],
      sources: { delay: { vendorId: 'delays', stale: true } },
    });
    expect(fromWireSnapshot(wire)).toEqual(SNAPSHOT);
    const tram = fromWireVehicle(wire.vehicles[1]!);
    expect('bearing' in tram || 'position' in tram || 'label' in tram).toBe(false);
    client.close();
  });

  it('streams descriptors with int64 times as numbers, and reports a status for a missing snapshot', async () => {
    const client = new SnapshotArchive(address, grpc.credentials.createInsecure());
    const received: WireSnapshotDescriptor[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client['ListSnapshots']!({
        fromMs: T,
        toMs: T + 60_000,
      }) as grpc.ClientReadableStream<WireSnapshotDescriptor>;
      stream.on('data', (d: WireSnapshotDescriptor) => received.push(d));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(received.map((d) => [d.sequence, d.generatedAtMs])).toEqual([
      [42, T],
      [43, T + 1000],
      [44, T + 2000],
    ]);
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      client['GetSnapshotAt']!({ atMs: 1 }, (e: grpc.ServiceError) => resolve(e)),
    );
    expect(error).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'no snapshot then' });
    client.close();
  });

  it('refuses a wire vehicle that does not map to the model, naming the field', () => {
    const wire = toWireVehicle(SNAPSHOT.vehicles[0]!);
    for (const [bad, message] of [
      [
        { ...wire, transportType: 'TRANSPORT_TYPE_ZEPPELIN' },
        'transportType: unknown value "TRANSPORT_TYPE_ZEPPELIN"',
      ],
      [{ ...wire, speed: Number.NaN }, 'speed must be a finite number, got NaN'],
      [{ ...wire, sources: { colour: { vendorId: 'x', observedAtMs: T } } }, 'unknown source field "colour"'],
    ] as const) {
      try {
        fromWireVehicle(bad);
        throw new Error('expected a GrpcApiError');
      } catch (error) {
        expect(isGrpcApiError(error) && error.message).toContain(message);
      }
    }
  });
});
