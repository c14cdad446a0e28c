// Benchmark "broadcast": one broadcaster process (its main.ts, as deployed) following the snapshots topic, with
// 1,000 SignalR connections (the official client; half JSON, half MessagePack) and 1,000 gRPC VehicleFeed streams
// over 20 distinct profiles (a 5 × 4 grid of areas over the network), 10,000 vehicles at 1 Hz. This process plays
// the composer: each second it stores a snapshot in Azurite and announces it on the emulator. Each vehicle
// reports every ~7 s on average (15% change per tick, as AVL feeds do), so updates are deltas with a keyframe
// every 30 ticks per view. Target: delivery lag p99 ≤ 200 ms from the announcement to a client's receipt
// (`delivery_lag_p99_ms`).
//
// Also `hub_vs_raw_ws_ratio`: the hub's broadcast throughput over raw `ws` sends of the same bytes to the same
// number of sockets (aim ≥ 0.7), in this process.

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HubConnectionBuilder, LogLevel, type HubConnection } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { loadTransitFusionProto } from '@transit-fusion/grpc-api';
import {
  createMessageSender,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import type { TransportSnapshot, Vehicle } from '@transit-fusion/model';
import { spawnServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { createSignalRHub, encodeInvocation } from '@transit-fusion/signalr-hub';
import { createSnapshotStore, createStorageClients, ensureStorage } from '@transit-fusion/storage';
import { freePort, seededRandom, startAzurite, startChild } from '@transit-fusion/testing';
import Fastify from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';
import { createReporter, percentile, type Figure } from './reporter.js';

export interface BroadcastBenchOptions {
  readonly vehicles?: number;
  readonly signalrClients?: number;
  readonly grpcStreams?: number;
  /** Timed ticks (default 60, after 5 untimed). */
  readonly ticks?: number;
  /** Sockets and messages of the hub-versus-raw-ws comparison (default 1,000 × 200). */
  readonly rawSockets?: number;
  readonly rawMessages?: number;
  readonly write?: (line: string) => void;
}

const TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const GRID = { cols: 5, rows: 4 };
const BOX = { minLat: 59.3, maxLat: 59.5, minLon: 24.5, maxLon: 25.0 };
const TYPES: Vehicle['transportType'][] = [
  'bus',
  'bus',
  'bus',
  'trolleybus',
  'tram',
  'tram',
  'rail',
  'ferry',
];

export async function run(options: BroadcastBenchOptions = {}): Promise<Figure[]> {
  const reporter = createReporter('broadcast', options.write ?? console.log);
  const vehicles = options.vehicles ?? 10_000;
  const signalrClients = options.signalrClients ?? 1_000;
  const grpcStreams = options.grpcStreams ?? 1_000;
  const ticks = options.ticks ?? 60;

  const azurite = await startAzurite();
  const emulator = await spawnServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: 'snapshots', subscriptions: [{ name: 'broadcaster' }] }] }),
  });
  const clients = createStorageClients({ connectionString: azurite.connectionString });
  await ensureStorage(clients, ['snapshots'], ['snapshotindex']);
  const store = createSnapshotStore({
    clients,
    container: 'snapshots',
    table: 'snapshotindex',
    retentionMs: 86_400_000,
  });
  const bus = createServiceBusClient(
    messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
  );
  const announcements = createMessageSender({ client: bus, entity: 'snapshots' });

  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const broadcaster = startChild('apps/broadcaster/src/main.ts', {
    TF_STORAGE_CONNECTION_STRING: azurite.connectionString,
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_BROADCASTER_HOST: '127.0.0.1',
    TF_BROADCASTER_HTTP_PORT: String(httpPort),
    TF_BROADCASTER_GRPC_PORT: String(grpcPort),
    TF_BROADCASTER_TOKENS: TOKEN,
    TF_LOG_LEVEL: 'warn',
  });
  const figures: Figure[] = [];
  const connections: HubConnection[] = [];
  const streams: grpc.ClientReadableStream<unknown>[] = [];
  let grpcClient: grpc.Client | undefined;
  try {
    await waitForHealthy(`http://127.0.0.1:${httpPort}/readyz`, 60_000);

    // The fleet: fixed ids and types, random walks inside the box.
    const random = seededRandom(7);
    const fleet: Vehicle[] = Array.from({ length: vehicles }, (_, i) => ({
      id: `veh-${i}`,
      label: String(1000 + i),
      transportType: TYPES[i % TYPES.length]!,
      status: 'on_duty',
      position: {
        lat: BOX.minLat + random() * (BOX.maxLat - BOX.minLat),
        lon: BOX.minLon + random() * (BOX.maxLon - BOX.minLon),
      },
      bearing: Math.floor(random() * 360),
      speed: 8,
      routeId: `R${i % 120}`,
      tripId: `T${i}`,
      sources: {},
      quality: 0,
    }));
    let sequence = 0;
    const nextSnapshot = (now: number): TransportSnapshot => {
      sequence++;
      for (const v of fleet) {
        if (sequence > 1 && random() >= 0.15) continue;
        const p = v.position!;
        v.position = { lat: p.lat + (random() - 0.5) * 1e-4, lon: p.lon + (random() - 0.5) * 1e-4 };
        v.sources = {
          position: { vendorId: 'positions', observedAt: now },
          bearing: { vendorId: 'positions', observedAt: now },
        };
      }
      return { sequence, generatedAt: now, sources: [], vehicles: fleet.map((v) => ({ ...v })) };
    };
    const announcedAt = new Map<number, number>();
    const compose = async () => {
      const snapshot = nextSnapshot(Date.now());
      const d = await store.write(snapshot);
      announcedAt.set(d.sequence, performance.now());
      await announcements.send([
        {
          body: {
            snapshotId: d.id,
            blobName: d.blobName,
            sequence: d.sequence,
            generatedAt: d.generatedAt,
            vehicleCount: d.vehicleCount,
            bytes: d.bytes,
          },
        },
      ]);
    };
    await compose(); // the broadcaster has something to show subscribers at once

    // 20 profiles: a 5 × 4 grid of areas.
    const profiles = Array.from({ length: GRID.cols * GRID.rows }, (_, i) => {
      const col = i % GRID.cols;
      const row = Math.floor(i / GRID.cols);
      const w = (BOX.maxLon - BOX.minLon) / GRID.cols;
      const h = (BOX.maxLat - BOX.minLat) / GRID.rows;
      return {
        minLon: BOX.minLon + col * w,
        minLat: BOX.minLat + row * h,
        maxLon: BOX.minLon + (col + 1) * w,
        maxLat: BOX.minLat + (row + 1) * h,
      };
    });

    // Every client records when it received each sequence.
    const lags: number[] = [];
    let timing = false;
    const received = (sequence: number) => {
      const at = announcedAt.get(sequence);
      if (timing && at !== undefined) lags.push(performance.now() - at);
    };
    let updates = 0;

    for (let i = 0; i < signalrClients; i++) {
      const b = profiles[i % profiles.length]!;
      const url = `http://127.0.0.1:${httpPort}/hubs/vehicles?bbox=${b.minLon},${b.minLat},${b.maxLon},${b.maxLat}`;
      let builder = new HubConnectionBuilder()
        .withUrl(url, { accessTokenFactory: () => TOKEN, skipNegotiation: false })
        .configureLogging(LogLevel.None);
      if (i % 2 === 1) builder = builder.withHubProtocol(new MessagePackHubProtocol());
      const connection = builder.build();
      connection.on('vehicles', (update: { sequence: number }) => {
        updates++;
        received(Number(update.sequence));
      });
      connections.push(connection);
    }
    // Connect in batches so negotiate requests do not pile up all at once.
    for (let i = 0; i < connections.length; i += 50) {
      await Promise.all(connections.slice(i, i + 50).map((c) => c.start()));
    }

    const { VehicleFeed } = loadTransitFusionProto();
    grpcClient = new VehicleFeed(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    let streamErrors = 0;
    for (let i = 0; i < grpcStreams; i++) {
      const stream = (
        grpcClient as unknown as Record<
          string,
          (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<{ sequence: number }>
        >
      )['Subscribe']!({ boundingBox: profiles[i % profiles.length] }, metadata);
      stream.on('data', (update: { sequence: number }) => {
        updates++;
        received(Number(update.sequence));
      });
      stream.on('error', (error: grpc.ServiceError) => {
        if (error.code !== grpc.status.CANCELLED) streamErrors++;
      });
      streams.push(stream);
    }

    // 5 untimed ticks, then the timed ones, one a second.
    const started = performance.now();
    for (let t = 0; t < 5 + ticks; t++) {
      timing = t >= 5;
      const due = started + (t + 1) * 1_000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      await compose();
    }
    await new Promise((r) => setTimeout(r, 1_500));
    timing = false;

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const counter = (name: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const subscribers = signalrClients + grpcStreams;
    reporter.figure('subscribers', subscribers, subscribers, 'count');
    reporter.figure('views', subscribers, counter('broadcaster_views'), 'count');
    reporter.figure('delivery_lag_p50_ms', lags.length, percentile(lags, 0.5), 'ms');
    reporter.figure('delivery_lag_p99_ms', lags.length, percentile(lags, 0.99), 'ms', '≤ 200');
    reporter.figure('delivery_lag_max_ms', lags.length, Math.max(...lags), 'ms');
    reporter.figure('updates_received', subscribers, updates, 'count');
    reporter.figure('updates_dropped', subscribers, counter('broadcaster_updates_dropped_total'), 'count');
    reporter.figure('stream_errors', grpcStreams, streamErrors, 'count');
    figures.push(...reporter.flush());
  } finally {
    for (const s of streams) s.cancel();
    grpcClient?.close();
    await Promise.allSettled(connections.map((c) => c.stop()));
    broadcaster.child.kill('SIGTERM');
    await broadcaster.exited;
    await announcements.close();
    await bus.close();
    await emulator.stop();
    await azurite.stop();
  }

  figures.push(...(await hubVersusRawWs(reporter, options.rawSockets ?? 1_000, options.rawMessages ?? 200)));
  return figures;
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

/**
 * The hub's fan-out cost against the floor: the same 4 KB message to `sockets` connections `messages` times,
 * through the hub (one encoded message, `send` per connection) and through raw `ws` sends of the same bytes,
 * each until every socket received every message. Ratio = hub msgs/s ÷ raw msgs/s.
 */
async function hubVersusRawWs(
  reporter: ReturnType<typeof createReporter>,
  sockets: number,
  messages: number,
): Promise<Figure[]> {
  const payload = {
    sequence: 1,
    vehicles: Array.from({ length: 30 }, (_, i) => ({ id: `veh-${i}`, lat: 59.4, lon: 24.7 })),
  };

  // Raw ws: a server that sends the bytes to every socket.
  const raw = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => raw.once('listening', r));
  const rawPort = (raw.address() as AddressInfo).port;
  const message = encodeInvocation('vehicles', [payload]);
  const bytes = Buffer.from(message.json);
  const rawClients = await openSockets(sockets, () => new WebSocket(`ws://127.0.0.1:${rawPort}`));
  const rawRate = await timeFanOut(rawClients, messages, () => {
    for (const socket of raw.clients) socket.send(bytes);
  });
  for (const c of rawClients) c.terminate();
  raw.close();

  // The hub: real handshakes, then sendToGroup of the pre-encoded message.
  const app = Fastify();
  const hub = createSignalRHub({
    path: '/hubs/bench',
    authenticate: () => 'bench',
    maxConnections: sockets + 10,
    onConnected: (connection) => hub.addToGroup(connection, 'all'),
  });
  hub.register(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const hubPort = (app.server.address() as AddressInfo).port;
  const hubClients = await openSockets(
    sockets,
    () => {
      const socket = new WebSocket(`ws://127.0.0.1:${hubPort}/hubs/bench`);
      socket.once('open', () => socket.send('{"protocol":"json","version":1}\u001e'));
      return socket;
    },
    true,
  );
  await new Promise((r) => setTimeout(r, 200));
  const hubRate = await timeFanOut(hubClients, messages, () => {
    hub.sendToGroup('all', message);
  });
  for (const c of hubClients) c.terminate();
  await hub.close();
  await app.close();

  reporter.figure('raw_ws_msgs_per_s', sockets, rawRate, 'msg/s');
  reporter.figure('hub_msgs_per_s', sockets, hubRate, 'msg/s');
  reporter.figure('hub_vs_raw_ws_ratio', sockets, hubRate / rawRate, 'ratio', '≥ 0.7');
  return reporter.flush();
}

async function openSockets(n: number, open: () => WebSocket, handshake = false): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, open);
    await Promise.all(
      batch.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            s.once('error', reject);
            // A hub socket is ready once the handshake answer came back; a raw one once open.
            if (handshake) s.once('message', () => resolve());
            else s.once('open', () => resolve());
          }),
      ),
    );
    sockets.push(...batch);
  }
  return sockets;
}

/** Sends `messages` rounds and resolves with messages per second received over all sockets. */
async function timeFanOut(sockets: WebSocket[], messages: number, sendRound: () => void): Promise<number> {
  let received = 0;
  const total = sockets.length * messages;
  const done = new Promise<void>((resolve) => {
    for (const s of sockets) {
      s.on('message', () => {
        if (++received === total) resolve();
      });
    }
  });
  const started = performance.now();
  for (let m = 0; m < messages; m++) {
    sendRound();
    // Let the sockets drain between rounds, as ticks would.
    if (m % 10 === 9) await new Promise((r) => setImmediate(r));
  }
  await done;
  return total / ((performance.now() - started) / 1_000);
}
