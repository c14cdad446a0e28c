// SignalR for the live feed with the official @microsoft/signalr client (Node): self-hosted with the JSON and
// MessagePack protocols (current view on connect, deltas, keyframe on request, groups per profile, automatic
// reconnect after the server drops the socket, bounded buffering), and the Azure SignalR Service mode against the
// local stand-in, which verifies every JWT.

import type { AddressInfo } from 'node:net';
import {
  HubConnectionBuilder,
  HubConnectionState,
  LogLevel,
  type HubConnection as ClientConnection,
} from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { TransportSnapshot, Vehicle } from '@transit-fusion/model';
import { createLogger, Secret, type ServiceApp } from '@transit-fusion/service-kit';
import {
  createAzureSignalRService,
  startAzureSignalRStandIn,
  type AzureSignalRStandIn,
} from '@transit-fusion/signalr-hub';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createBearerTokens } from '../src/bearer-tokens.js';
import { createFanOut, type FanOut } from '../src/fan-out.js';
import { createLiveViews, type LiveViews } from '../src/live-views.js';
import { profileFromQuery, profileKey, type Profile } from '../src/profile.js';
import {
  createAzureSignalR,
  createSelfHostedSignalR,
  splitUpdate,
  groupName,
} from '../src/signalr-outlet.js';
import { testApp } from './helpers.js';

const TOKEN = 'signalr-test-token-0123456789abcdef';
const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
const quiet = createLogger({ service: 'broadcaster', level: 'silent' });
const tokens = createBearerTokens([new Secret(TOKEN)]);

const vehicle = (id: string, lat: number, type: Vehicle['transportType'] = 'bus'): Vehicle => ({
  id,
  transportType: type,
  status: 'on_duty',
  position: { lat, lon: 24.75 },
  sources: { position: { vendorId: 'positions', observedAt: T0 + lat } },
  quality: 0,
});
const snapshot = (sequence: number, vehicles: Vehicle[]): TransportSnapshot => ({
  sequence,
  generatedAt: T0 + sequence * 1_000,
  sources: [],
  vehicles,
});

interface Update {
  sequence: number;
  previousSequence: number;
  keyframe: boolean;
  vehicles: Vehicle[];
  removed: string[];
  skipped: number;
  part?: number;
  parts?: number;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function listen(app: ServiceApp): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function client(
  url: string,
  protocol: 'json' | 'messagepack' = 'json',
): ClientConnection & { got: Update[] } {
  let builder = new HubConnectionBuilder()
    .withUrl(url, { accessTokenFactory: () => TOKEN })
    .withAutomaticReconnect([0, 100, 100])
    .configureLogging(LogLevel.None);
  if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build() as ClientConnection & { got: Update[] };
  connection.got = [];
  connection.on('vehicles', (update: Update) => connection.got.push(update));
  cleanups.push(() => connection.stop());
  return connection;
}

async function until(test: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('self-hosted hub', () => {
  async function start(options: { maxBufferedBytes?: number; maxLagTicks?: number } = {}) {
    const views = createLiveViews();
    const fanOut = createFanOut({ views, maxLagTicks: options.maxLagTicks ?? 30 });
    const hub = createSelfHostedSignalR({
      hub: 'vehicles',
      fanOut,
      tokens,
      maxConnections: 100,
      maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
      allowedOrigins: [],
      logger: quiet,
    });
    const app = testApp();
    hub.register(app);
    const base = await listen(app);
    return { views, fanOut, hub, base };
  }

  it.each(['json', 'messagepack'] as const)(
    'sends the current view on connect, then deltas, and a keyframe on request (%s)',
    async (protocol) => {
      const { fanOut, hub, base } = await start();
      fanOut.publish(
        snapshot(1, [vehicle('bus-1', 59.1), vehicle('bus-2', 59.2), vehicle('tram-3', 59.3, 'tram')]),
      );
      const connection = client(`${base}/hubs/vehicles?types=bus`, protocol);
      await connection.start();
      await until(() => connection.got.length === 1);
      expect(connection.got[0]).toMatchObject({ sequence: 1, keyframe: true, removed: [], skipped: 0 });
      expect(connection.got[0]!.vehicles.map((v) => v.id)).toEqual(['bus-1', 'bus-2']);
      expect(connection.got[0]!.vehicles[0]!.position).toEqual({ lat: 59.1, lon: 24.75 });

      // It joined its profile's group.
      const key = profileKey(profileFromQuery({ types: 'bus' }) as Profile);
      expect(hub.group(key).size).toBe(1);

      fanOut.publish(snapshot(2, [vehicle('bus-1', 59.15), vehicle('tram-3', 59.3, 'tram')]));
      await until(() => connection.got.length === 2);
      expect(connection.got[1]).toMatchObject({ sequence: 2, keyframe: false, removed: ['bus-2'] });
      expect(connection.got[1]!.vehicles.map((v) => v.id)).toEqual(['bus-1']);

      expect(await connection.invoke('RequestKeyframe')).toBe(true);
      fanOut.publish(snapshot(3, [vehicle('bus-1', 59.15), vehicle('tram-3', 59.3, 'tram')]));
      await until(() => connection.got.length === 3);
      expect(connection.got[2]).toMatchObject({ sequence: 3, keyframe: true });
      expect(connection.got[2]!.vehicles.map((v) => v.id)).toEqual(['bus-1']);
    },
  );

  it('refuses a bad profile and a missing token at negotiate', async () => {
    const { base } = await start();
    await expect(client(`${base}/hubs/vehicles?types=zeppelin`).start()).rejects.toThrow(/zeppelin/);
    const anonymous = new HubConnectionBuilder()
      .withUrl(`${base}/hubs/vehicles`)
      .configureLogging(LogLevel.None)
      .build();
    await expect(anonymous.start()).rejects.toThrow(/401/);
  });

  it('reconnects automatically after the server drops the socket, and gets the current view again', async () => {
    const { fanOut, hub, base } = await start();
    fanOut.publish(snapshot(1, [vehicle('bus-1', 59.1)]));
    const connection = client(`${base}/hubs/vehicles`);
    const reconnected = new Promise<string | undefined>((resolve) => connection.onreconnected(resolve));
    await connection.start();
    await until(() => connection.got.length === 1);
    const firstId = connection.connectionId;
    [...hub.connections.values()][0]!.close('maintenance', true);
    expect(await reconnected).not.toBe(firstId);
    expect(connection.state).toBe(HubConnectionState.Connected);
    await until(() => connection.got.length === 2);
    expect(connection.got[1]).toMatchObject({ sequence: 1, keyframe: true });
    expect(fanOut.subscribers).toBe(1);

    // hub.close() (shutdown) lets clients reconnect too: they start reconnecting rather than stop.
    const reconnecting = new Promise<void>((resolve) => connection.onreconnecting(() => resolve()));
    await hub.close('the server is shutting down');
    await reconnecting;
    expect(fanOut.subscribers).toBe(0);
  });

  it('drops updates for a socket that does not read and disconnects it past the lag bound', async () => {
    const { fanOut, base } = await start({ maxBufferedBytes: 64 * 1024, maxLagTicks: 3 });
    const big = (s: number) =>
      snapshot(
        s,
        Array.from({ length: 4_000 }, (_, i) => vehicle(`bus-${i}`, 59 + s / 1000 + i / 1e6)),
      );
    fanOut.publish(big(1));
    // A raw client that completes the handshake, then stops reading.
    const negotiate = (await (
      await fetch(`${base}/hubs/vehicles/negotiate?negotiateVersion=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { connectionToken: string };
    const socket = new WebSocket(
      `${base.replace('http', 'ws')}/hubs/vehicles?id=${negotiate.connectionToken}`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    cleanups.push(async () => socket.terminate());
    await new Promise((r) => socket.once('open', r));
    socket.send('{"protocol":"json","version":1}\u001e');
    await new Promise((r) => socket.once('message', r));
    await until(() => fanOut.subscribers === 1);
    socket.pause();
    for (let s = 2; s <= 30 && fanOut.subscribers > 0; s++) {
      fanOut.publish(big(s));
      await new Promise((r) => setTimeout(r, 30));
    }
    // The kernel's socket buffers took a few updates; then it was skipped, and dropped past 3 ticks behind.
    expect(fanOut.subscribers).toBe(0);
  });
});

describe('Azure SignalR Service mode (serverless) against the stand-in', () => {
  const ACCESS_KEY = 'YnJvYWRjYXN0ZXItc3RhbmQtaW4ta2V5LTAxMjM0NTY3';
  let standIn: AzureSignalRStandIn;

  async function start(
    options: { groupTtlMs?: number; groupCheckMs?: number; connectionString?: string } = {},
  ) {
    standIn = await startAzureSignalRStandIn({ accessKey: ACCESS_KEY, hub: 'vehicles' });
    cleanups.push(() => standIn.stop());
    const views: LiveViews = createLiveViews();
    const fanOut: FanOut = createFanOut({ views });
    const azure = createAzureSignalR({
      hub: 'vehicles',
      service: createAzureSignalRService({
        connectionString: options.connectionString ?? standIn.connectionString,
        hub: 'vehicles',
        requestTimeoutMs: 2_000,
      }),
      views,
      tokens,
      allowedOrigins: [],
      logger: quiet,
      ...(options.groupTtlMs ? { groupTtlMs: options.groupTtlMs } : {}),
      ...(options.groupCheckMs ? { groupCheckMs: options.groupCheckMs } : {}),
    });
    const app = testApp();
    azure.register(app);
    const base = await listen(app);
    const publish = async (s: TransportSnapshot) => {
      fanOut.publish(s);
      await azure.publish(s);
    };
    return { views, azure, base, publish };
  }

  it.each(['json', 'messagepack'] as const)(
    'redirects clients to the service, which delivers the welcome keyframe and group updates (%s)',
    async (protocol) => {
      const { azure, base, publish } = await start();
      await publish(snapshot(1, [vehicle('bus-1', 59.1), vehicle('tram-3', 59.3, 'tram')]));
      const connection = client(`${base}/hubs/vehicles?types=bus`, protocol);
      await connection.start();
      expect(azure.groups).toBe(1);
      await publish(
        snapshot(2, [vehicle('bus-1', 59.15), vehicle('bus-4', 59.4), vehicle('tram-3', 59.3, 'tram')]),
      );
      // The user's own keyframe of the current view, and the group's delta.
      await until(() => connection.got.some((u) => u.keyframe) && connection.got.some((u) => !u.keyframe));
      const keyframe = connection.got.find((u) => u.keyframe)!;
      expect(keyframe).toMatchObject({ sequence: 2 });
      expect(keyframe.vehicles.map((v) => v.id)).toEqual(['bus-1', 'bus-4']);
      const delta = connection.got.find((u) => !u.keyframe)!;
      expect(delta.vehicles.map((v) => v.id)).toEqual(['bus-1', 'bus-4']);

      const group = groupName(profileKey(profileFromQuery({ types: 'bus' }) as Profile));
      expect(standIn.calls.map((c) => `${c.method} ${c.path}`)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^PUT /api/v1/hubs/vehicles/groups/${group}/users/`)),
          `POST /api/v1/hubs/vehicles/groups/${group}`,
        ]),
      );
      // Every call carried a JWT the stand-in verified.
      expect(standIn.rejected).toBe(0);
    },
  );

  it('keeps a group while the service has connections in it, and lets it go once they are gone', async () => {
    const { views, azure, base, publish } = await start({ groupTtlMs: 100, groupCheckMs: 100 });
    await publish(snapshot(1, [vehicle('bus-1', 59.1)]));
    const connection = client(`${base}/hubs/vehicles?types=bus`);
    await connection.start();
    // Long past the negotiate's TTL the group lives on: the service says it has a connection.
    for (let s = 2; s <= 6; s++) {
      await new Promise((r) => setTimeout(r, 100));
      await publish(snapshot(s, [vehicle('bus-1', 59.1 + s / 100)]));
    }
    expect(azure.groups).toBe(1);
    await until(() => connection.got.some((u) => u.sequence === 6));
    const last = connection.got.find((u) => u.sequence === 6)!;
    expect(last).toMatchObject({ previousSequence: 5 });
    await connection.stop();
    for (let s = 7; s <= 12 && azure.groups > 0; s++) {
      await new Promise((r) => setTimeout(r, 100));
      await publish(snapshot(s, [vehicle('bus-1', 59.1)]));
    }
    expect(azure.groups).toBe(0);
    expect(views.size).toBe(0);
  });

  it('answers 503 when the service is unreachable, and keeps no view for it', async () => {
    const { views, base } = await start({
      connectionString: `Endpoint=http://127.0.0.1:9;AccessKey=${ACCESS_KEY};Version=1.0;`,
    });
    const response = await fetch(`${base}/hubs/vehicles/negotiate?negotiateVersion=1&types=tram`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'the SignalR service is unavailable; retry shortly' });
    expect(views.size).toBe(0);
  });

  it('refuses negotiate without our token or with a bad profile, before involving the service', async () => {
    const { base } = await start();
    const negotiate = (query: string, headers: Record<string, string>) =>
      fetch(`${base}/hubs/vehicles/negotiate?negotiateVersion=1${query}`, { method: 'POST', headers });
    expect((await negotiate('', {})).status).toBe(401);
    expect((await negotiate('&fields=colour', { authorization: `Bearer ${TOKEN}` })).status).toBe(400);
    expect(standIn.calls).toEqual([]);
  });

  it('splits an update under the service body limit, keyframe flag and removals on the first part', () => {
    const vehicles = Array.from({ length: 2_000 }, (_, i) => vehicle(`bus-${i}`, 59 + i / 1e5));
    const update = {
      sequence: 7,
      generatedAt: T0,
      previousSequence: 6,
      keyframe: true,
      vehicles,
      removed: ['gone'],
    };
    const parts = splitUpdate(update, 50_000);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(50_000);
    expect(parts.map((p) => p['keyframe'])).toEqual(parts.map((_, i) => i === 0));
    expect(parts[0]!['removed']).toEqual(['gone']);
    expect(parts.flatMap((p) => (p['vehicles'] as Vehicle[]).map((v) => v.id))).toEqual(
      vehicles.map((v) => v.id),
    );
    expect(splitUpdate(update, 10_000_000)).toHaveLength(1);
  });
});
