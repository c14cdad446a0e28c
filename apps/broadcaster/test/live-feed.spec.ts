// The live path on real parts: announcements on the snapshots topic (the Service Bus emulator, the real
// @azure/service-bus client), snapshots downloaded from Azurite, and VehicleFeed.Subscribe through a real
// @grpc/grpc-js client built from our .proto: keyframe, deltas, auth, bounded views, backpressure, shutdown.

import * as grpc from '@grpc/grpc-js';
import type { ServiceBusClient } from '@azure/service-bus';
import { fromWireVehicle, loadTransitFusionProto, type WireVehicle } from '@transit-fusion/grpc-api';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
  type MessageSender,
} from '@transit-fusion/messaging';
import type { TransportSnapshot, Vehicle } from '@transit-fusion/model';
import { createLogger, createMetrics, Secret } from '@transit-fusion/service-kit';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import type { SnapshotStore } from '@transit-fusion/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnnouncementReceiver, type AnnouncementReceiver } from '../src/announcement-receiver.js';
import { createBearerTokens } from '../src/bearer-tokens.js';
import { createGrpcServer, type GrpcServer } from '../src/grpc-server.js';
import { createLiveFeed, type LiveFeed } from '../src/live-feed.js';
import { createSnapshotArchiveHandlers } from '../src/snapshot-archive.js';
import { createVehicleFeed, type VehicleFeed } from '../src/vehicle-feed.js';
import { announce, storeWith } from './helpers.js';

const TOKEN = 'live-feed-test-token-0123456789ab';
const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
const quiet = createLogger({ service: 'broadcaster', level: 'silent' });

const vehicle = (id: string, lat: number, type: Vehicle['transportType'] = 'bus'): Vehicle => ({
  id,
  transportType: type,
  status: 'on_duty',
  position: { lat, lon: 24.75 },
  sources: { position: { vendorId: 'positions', observedAt: T0 } },
  quality: 0,
});
const snapshot = (sequence: number, vehicles: Vehicle[]): TransportSnapshot => ({
  sequence,
  generatedAt: T0 + sequence * 1_000,
  sources: [],
  vehicles,
});
const auth = (token = TOKEN) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};

interface WireUpdate {
  sequence: number;
  keyframe?: boolean;
  vehicles?: WireVehicle[];
  removed?: string[];
  skipped?: number;
}

describe('the live feed over Service Bus, Azurite and gRPC', () => {
  let emulator: ServiceBusEmulator;
  let bus: ServiceBusClient;
  let sender: MessageSender;
  let store: SnapshotStore;
  let live: LiveFeed;
  let metrics: ReturnType<typeof createMetrics>;
  let receiver: AnnouncementReceiver;
  let grpcServer: GrpcServer;
  let feedService: VehicleFeed;
  let client: grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientReadableStream<WireUpdate>>;

  beforeAll(async () => {
    emulator = await startServiceBusEmulator({
      config: emulatorConfigOf({ topics: [{ name: 'snapshots', subscriptions: [{ name: 'broadcaster' }] }] }),
      port: 0,
    });
    bus = createServiceBusClient(
      messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
    );
    sender = createMessageSender({ client: bus, entity: 'snapshots' });
    store = await storeWith([]);
    metrics = createMetrics({ service: 'broadcaster', defaultMetrics: false });
    live = createLiveFeed({
      store,
      metrics,
      logger: quiet,
      maxViews: 3,
      keyframeEvery: 30,
      maxLagTicks: 3,
    });
    receiver = startAnnouncementReceiver({
      client: bus,
      topic: 'snapshots',
      subscription: 'broadcaster',
      onAnnouncement: (a, enqueuedAt) => live.offer(a, enqueuedAt),
      onInvalid: () => {},
      onError: () => {},
    });
    const tokens = createBearerTokens([new Secret(TOKEN)]);
    const authorize = (metadata: grpc.Metadata) =>
      tokens.accepts(String(metadata.get('authorization')[0] ?? ''));
    grpcServer = createGrpcServer({
      feed: (feedService = createVehicleFeed({ fanOut: live.fanOut, authorize, firstMessageMs: 300 })),
      archive: createSnapshotArchiveHandlers({ store, maxRangeMs: 3_600_000, logger: quiet, authorize }),
    });
    const port = await grpcServer.listen('127.0.0.1', 0);
    const { VehicleFeed } = loadTransitFusionProto();
    client = new VehicleFeed(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as typeof client;
  });

  afterAll(async () => {
    client?.close();
    await receiver?.close();
    await live?.close();
    await grpcServer?.close(100);
    await bus?.close();
    await emulator?.stop();
  });

  /** Stores a snapshot and announces it the way the composer does. */
  async function compose(s: TransportSnapshot): Promise<void> {
    const d = await store.write(s);
    await announce(sender, d);
  }

  function collect(
    stream: grpc.ClientReadableStream<WireUpdate> | grpc.ClientDuplexStream<object, WireUpdate>,
  ) {
    const updates: WireUpdate[] = [];
    let status: grpc.StatusObject | undefined;
    stream.on('data', (u: WireUpdate) => updates.push(u));
    stream.on('error', (e: grpc.ServiceError) => (status = e));
    const until = async (test: () => boolean, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!test()) {
        if (Date.now() > end)
          throw new Error(`timed out; got ${JSON.stringify(updates.map((u) => u.sequence))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { updates, status: () => status, until };
  }

  it('streams a keyframe, then per announced snapshot what changed or left, for the chosen profile', async () => {
    await compose(
      snapshot(1, [vehicle('bus-1', 59.1), vehicle('bus-2', 59.2), vehicle('tram-3', 59.3, 'tram')]),
    );
    await expect.poll(() => live.views.snapshot?.sequence, { timeout: 10_000 }).toBe(1);

    const stream = client['Subscribe']!(
      { transportTypes: ['TRANSPORT_TYPE_BUS'], fields: ['position'] },
      auth(),
    );
    const feed = collect(stream);
    await feed.until(() => feed.updates.length >= 1);
    expect(feed.updates[0]).toMatchObject({ sequence: 1, keyframe: true });
    expect(feed.updates[0]!.vehicles!.map((v) => v.id)).toEqual(['bus-1', 'bus-2']);

    await compose(snapshot(2, [vehicle('bus-1', 59.15), vehicle('tram-3', 59.35, 'tram')]));
    await compose(
      snapshot(3, [vehicle('bus-1', 59.15), vehicle('bus-4', 59.4), vehicle('tram-3', 59.4, 'tram')]),
    );
    await feed.until(() => feed.updates.at(-1)?.sequence === 3);
    const [, second, third] = feed.updates;
    // bus-1 moved, bus-2 left; then only bus-4 entered (the tram is not in this profile).
    expect(second).toMatchObject({ sequence: 2, removed: ['bus-2'] });
    expect(second!.keyframe ?? false).toBe(false);
    expect(fromWireVehicle(second!.vehicles![0]!).position).toEqual({ lat: 59.15, lon: 24.75 });
    expect(third!.vehicles!.map((v) => v.id)).toEqual(['bus-4']);
    stream.cancel();

    // Each announcement's delay from the broker and each download are measured.
    const text = await metrics.registry.metrics();
    const count = (name: string) =>
      Number(new RegExp(`^${name}_count(?:{[^}]*})? (\\d+)`, 'm').exec(text)?.[1]);
    expect(count('broadcaster_announcement_delay_seconds')).toBeGreaterThanOrEqual(3);
    expect(count('broadcaster_snapshot_download_seconds')).toBeGreaterThanOrEqual(3);
    // One keyframe and two deltas written, counted per subscriber.
    const delivered = (kind: string) =>
      Number(
        new RegExp(`^broadcaster_updates_delivered_total{kind="${kind}"[^}]*} (\\d+)`, 'm').exec(text)?.[1],
      );
    expect([delivered('keyframe'), delivered('delta')]).toEqual([1, 2]);
  });

  it('skips to the newest when announcements pile up, with strictly increasing sequences', async () => {
    const stream = client['Subscribe']!({}, auth());
    const feed = collect(stream);
    for (let s = 10; s < 16; s++) await compose(snapshot(s, [vehicle('bus-1', 59 + s / 100)]));
    await feed.until(() => feed.updates.at(-1)?.sequence === 15);
    const sequences = feed.updates.map((u) => u.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(new Set(sequences).size).toBe(sequences.length);
    stream.cancel();
  });

  it('refuses a missing token, a bad profile, and a profile past the bound on views', async () => {
    const statusOf = async (request: object, metadata: grpc.Metadata) => {
      const feed = collect(client['Subscribe']!(request, metadata));
      await feed.until(() => feed.status() !== undefined);
      return feed.status()!;
    };
    expect((await statusOf({}, auth('wrong-token-0123456789abcdef'))).code).toBe(grpc.status.UNAUTHENTICATED);
    const bad = await statusOf({ fields: ['colour'] }, auth());
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain('unknown field "colour"');
    // maxViews is 3: hold three distinct views, the fourth is refused.
    const held = ['TRANSPORT_TYPE_BUS', 'TRANSPORT_TYPE_TRAM', 'TRANSPORT_TYPE_RAIL'].map((t) => {
      const stream = client['Subscribe']!({ transportTypes: [t] }, auth());
      collect(stream);
      return stream;
    });
    await expect.poll(() => live.views.size).toBe(3);
    const refused = await statusOf({ transportTypes: ['TRANSPORT_TYPE_FERRY'] }, auth());
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    for (const s of held) s.cancel();
    await expect.poll(() => live.views.size).toBe(0);
    await expect.poll(() => feedService.streams).toBe(0);
  });

  it('drops updates for a client that does not read, and disconnects it past the lag bound', async () => {
    const many = (s: number) =>
      snapshot(
        s,
        Array.from({ length: 3_000 }, (_, i) => vehicle(`bus-${i}`, 59 + s / 1000 + i / 1e6)),
      );
    live.fanOut.publish(many(100));
    const stream = client['Subscribe']!({}, auth());
    const feed = collect(stream);
    stream.pause(); // reads nothing: the HTTP/2 window fills
    await new Promise((r) => setTimeout(r, 300));
    // The client library buffers 16 messages before it stops reading, then the HTTP/2 window fills.
    for (let s = 101; s <= 140; s++) {
      live.fanOut.publish(many(s));
      await new Promise((r) => setTimeout(r, 20));
    }
    stream.resume();
    await feed.until(() => feed.status() !== undefined);
    expect(feed.status()!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(feed.status()!.details).toMatch(/too slow: 4 updates behind/);
    // Of 41 ticks, only what fitted the client's buffer and the window was ever sent: nothing queued up.
    expect(feed.updates.length).toBeLessThan(25);
    // Counted against the stream limit until the call has really closed.
    await expect.poll(() => feedService.streams).toBe(0);
    const text = await metrics.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name}(?:{[^}]*})? (\\d+)`, 'm').exec(text)?.[1]);
    expect(value('broadcaster_updates_dropped_total')).toBe(4); // the 4 updates behind it was disconnected at
    expect(value('broadcaster_slow_subscribers_disconnected_total')).toBe(1);
  });

  it('Watch: the first message picks the profile, later ones ask for a keyframe', async () => {
    live.fanOut.publish(snapshot(200, [vehicle('bus-1', 59.1), vehicle('tram-3', 59.3, 'tram')]));
    const call = (
      client as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, WireUpdate>>
    )['Watch']!(auth());
    const feed = collect(call);
    call.write({ profile: { transportTypes: ['TRANSPORT_TYPE_TRAM'] } });
    await feed.until(() => feed.updates.length === 1);
    expect(feed.updates[0]).toMatchObject({ sequence: 200, keyframe: true });
    expect(feed.updates[0]!.vehicles!.map((v) => v.id)).toEqual(['tram-3']);
    live.fanOut.publish(snapshot(201, [vehicle('bus-1', 59.1), vehicle('tram-3', 59.31, 'tram')]));
    await feed.until(() => feed.updates.length === 2);
    expect(feed.updates[1]!.keyframe ?? false).toBe(false);
    call.write({ keyframe: true });
    await new Promise((r) => setTimeout(r, 100));
    live.fanOut.publish(snapshot(202, [vehicle('bus-1', 59.1), vehicle('tram-3', 59.31, 'tram')]));
    await feed.until(() => feed.updates.length === 3);
    expect(feed.updates[2]).toMatchObject({ sequence: 202, keyframe: true });
    call.cancel();

    const noProfile = (
      client as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, WireUpdate>>
    )['Watch']!(auth());
    const refused = collect(noProfile);
    noProfile.write({ keyframe: true });
    await refused.until(() => refused.status() !== undefined);
    expect(refused.status()!.code).toBe(grpc.status.INVALID_ARGUMENT);

    // Refused before any message without a token; given up on when the profile never comes.
    const watch = (metadata: grpc.Metadata) =>
      (
        client as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, WireUpdate>>
      )['Watch']!(metadata);
    const anonymous = collect(watch(new grpc.Metadata()));
    await anonymous.until(() => anonymous.status() !== undefined);
    expect(anonymous.status()!.code).toBe(grpc.status.UNAUTHENTICATED);
    const silent = collect(watch(auth()));
    await silent.until(() => silent.status() !== undefined);
    expect(silent.status()!.details).toMatch(/no WatchRequest with a profile within 300 ms/);
    await expect.poll(() => feedService.streams).toBe(0);
  });

  it('ends live streams UNAVAILABLE on shutdown, at once rather than after the grace period', async () => {
    const stream = client['Subscribe']!({}, auth());
    const feed = collect(stream);
    await feed.until(() => feed.updates.length > 0);
    const started = Date.now();
    await grpcServer.close(5_000);
    await feed.until(() => feed.status() !== undefined);
    expect(feed.status()!.code).toBe(grpc.status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
