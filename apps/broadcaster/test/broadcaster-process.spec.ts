// main.ts in a child process as deployed: gRPC health SERVING, the archive refusing anonymous calls, the .proto
// downloadable over HTTP; live updates from announcements on the emulator reach a gRPC stream and a SignalR
// client; SIGTERM ends live streams with "reconnect" and exits 0; missing tokens stop start-up with exit code 2.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadTransitFusionProto, PROTO_FILE, PROTO_ROOT } from '@transit-fusion/grpc-api';
import { randomBytes } from 'node:crypto';
import { HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import type { TransportSnapshot } from '@transit-fusion/model';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { createSnapshotStore, createStorageClients, ensureStorage } from '@transit-fusion/storage';
import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { announce } from './helpers.js';

let emulator: ServiceBusEmulator;
beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: 'snapshots', subscriptions: [{ name: 'broadcaster' }] }] }),
    port: 0,
  });
});
afterAll(() => emulator?.stop());

let service: ChildService | undefined;
afterEach(() => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  service = undefined;
});

describe('the broadcaster process (main.ts)', () => {
  it('serves gRPC health and the archive (token required), the .proto over HTTP, and exits 0 on SIGTERM', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    service = startChild('apps/broadcaster/src/main.ts', {
      TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      TF_BROADCASTER_HOST: '127.0.0.1',
      TF_BROADCASTER_HTTP_PORT: String(httpPort),
      TF_BROADCASTER_GRPC_PORT: String(grpcPort),
      TF_BROADCASTER_TOKENS: 'process-test-token-0123456789',
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    });
    await service.waitFor((l) => l.msg === 'broadcaster running');

    const proto = await fetch(`http://127.0.0.1:${httpPort}/proto/${PROTO_FILE}`);
    expect(proto.status).toBe(200);
    expect(await proto.text()).toBe(readFileSync(path.join(PROTO_ROOT, PROTO_FILE), 'utf8'));

    const require = createRequire(import.meta.url);
    const health = grpc.loadPackageDefinition(
      protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), {
        enums: String,
      }),
    ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const healthClient = new health.grpc.health.v1.Health(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const status = await new Promise((resolve, reject) =>
      healthClient['Check']!({ service: '' }, (e: grpc.ServiceError | null, r: unknown) =>
        e ? reject(e) : resolve(r),
      ),
    );
    expect(status).toEqual({ status: 'SERVING' });
    healthClient.close();

    const { SnapshotArchive } = loadTransitFusionProto();
    const archive = new SnapshotArchive(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const anonymous = await new Promise<grpc.ServiceError>((resolve) =>
      archive['GetSnapshotAt']!({ atMs: Date.now() }, (e: grpc.ServiceError) => resolve(e)),
    );
    expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    archive.close();
    expect(JSON.stringify(service.lines)).not.toContain('process-test-token');

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('follows announcements live to gRPC and SignalR subscribers, and on SIGTERM lets them reconnect elsewhere', async () => {
    const TOKEN = 'process-live-token-0123456789abcdef';
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const suffix = randomBytes(4).toString('hex');
    const names = { TF_SNAPSHOT_CONTAINER: `snap${suffix}`, TF_SNAPSHOT_INDEX_TABLE: `idx${suffix}` };
    const clients = createStorageClients({ connectionString: inject('azuriteConnectionString') });
    await ensureStorage(clients, [names.TF_SNAPSHOT_CONTAINER], [names.TF_SNAPSHOT_INDEX_TABLE]);
    const store = createSnapshotStore({
      clients,
      container: names.TF_SNAPSHOT_CONTAINER,
      table: names.TF_SNAPSHOT_INDEX_TABLE,
      retentionMs: 86_400_000,
    });
    const bus = createServiceBusClient(
      messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
    );
    const sender = createMessageSender({ client: bus, entity: 'snapshots' });
    const compose = async (sequence: number) => {
      const snapshot: TransportSnapshot = {
        sequence,
        generatedAt: Date.now(),
        sources: [],
        vehicles: [
          {
            id: 'bus-1',
            transportType: 'bus',
            status: 'on_duty',
            position: { lat: 59.4 + sequence / 1000, lon: 24.7 },
            sources: { position: { vendorId: 'positions', observedAt: Date.now() } },
            quality: 0,
          },
        ],
      };
      const d = await store.write(snapshot);
      await announce(sender, d);
    };
    await compose(1);
    service = startChild('apps/broadcaster/src/main.ts', {
      TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
      TF_BROADCASTER_HOST: '127.0.0.1',
      TF_BROADCASTER_HTTP_PORT: String(httpPort),
      TF_BROADCASTER_GRPC_PORT: String(grpcPort),
      TF_BROADCASTER_TOKENS: TOKEN,
      ...names,
    });
    await service.waitFor((l) => l.msg === 'broadcaster running');

    const signalr = new HubConnectionBuilder()
      .withUrl(`http://127.0.0.1:${httpPort}/hubs/vehicles?types=bus`, { accessTokenFactory: () => TOKEN })
      .withHubProtocol(new MessagePackHubProtocol())
      .withAutomaticReconnect([60_000])
      .configureLogging(LogLevel.None)
      .build();
    const hubSequences: number[] = [];
    signalr.on('vehicles', (u: { sequence: number }) => hubSequences.push(Number(u.sequence)));
    await signalr.start();

    const { VehicleFeed } = loadTransitFusionProto();
    const feed = new VehicleFeed(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const stream = feed['Subscribe']!({}, metadata) as grpc.ClientReadableStream<{ sequence: number }>;
    const grpcSequences: number[] = [];
    let ended: grpc.ServiceError | undefined;
    stream.on('data', (u: { sequence: number }) => grpcSequences.push(Number(u.sequence)));
    stream.on('error', (e: grpc.ServiceError) => (ended = e));

    // The newest stored snapshot at once (loaded at start), then one per announcement.
    await expect.poll(() => grpcSequences[0], { timeout: 10_000 }).toBe(1);
    // One at a time: announced faster than they are downloaded, the follower rightly skips to the newest (tested
    // on its own in live-feed-units.spec.ts), and this test is about every one reaching both transports.
    for (let s = 2; s <= 6; s++) {
      await compose(s);
      await expect.poll(() => grpcSequences.at(-1), { timeout: 10_000 }).toBe(s);
    }
    await expect.poll(() => hubSequences.at(-1), { timeout: 10_000 }).toBe(6);
    expect(grpcSequences).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hubSequences).toEqual([1, 2, 3, 4, 5, 6]);

    const reconnecting = new Promise<void>((resolve) => signalr.onreconnecting(() => resolve()));
    service.child.kill('SIGTERM');
    await reconnecting; // closed with allowReconnect, not stopped
    await expect.poll(() => ended?.code, { timeout: 10_000 }).toBe(grpc.status.UNAVAILABLE);
    expect(await service.exited).toBe(0);
    await signalr.stop();
    feed.close();
    await sender.close();
    await bus.close();
  });

  it('refuses to start without an API token, naming the variable, with exit code 2', async () => {
    service = startChild('apps/broadcaster/src/main.ts', {
      TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
      TF_BROADCASTER_TOKENS: '',
    });
    expect(await service.exited).toBe(2);
    expect(JSON.stringify(service.lines)).toContain('TF_BROADCASTER_TOKENS: no API token configured');
  });
});
