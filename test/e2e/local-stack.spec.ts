// End to end against the local stack started the way `npm start` starts it (with the web map in Debian's
// Chromium driven by playwright-core; screenshots in test-results/e2e/) (apps/local-stack/src/main.ts in a
// child process, on free ports and a fresh data folder): every service becomes ready; a gRPC stream and a
// SignalR client each receive at least five consecutive ticks with increasing sequences; /api/vehicles shows the
// simulated fleet, including vehicles only one vendor reports (flagged partial) and the trackers that reach it over
// TCP through the device gateway; a push through the receiver
// appears in the fused snapshot within two ticks; the map draws the network offline and replays a range; SIGINT stops
// everything and frees the ports; a port in use stops start-up with a message naming it.

import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { loadTransitFusionProto } from '@transit-fusion/grpc-api';
import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
/** Screenshots, kept as test artefacts (ignored by git). */
const ARTEFACTS = path.resolve(import.meta.dirname, '../../test-results/e2e');
mkdirSync(ARTEFACTS, { recursive: true });

const PORT_VARIABLES = [
  'TF_LOCAL_BLOB_PORT',
  'TF_LOCAL_TABLE_PORT',
  'TF_LOCAL_SERVICEBUS_PORT',
  'TF_LOCAL_SIMULATOR_PORT',
  'TF_LOCAL_RECEIVER_PORT',
  'TF_LOCAL_COLLECTOR_PORT',
  'TF_LOCAL_COMPOSER_PORT',
  'TF_LOCAL_BROADCASTER_PORT',
  'TF_LOCAL_GRPC_PORT',
  'TF_LOCAL_GATEWAY_PORT',
  'TF_LOCAL_GATEWAY_HTTP_PORT',
] as const;

async function portsEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const variable of PORT_VARIABLES) env[variable] = String(await freePort());
  return env;
}

const lineOf = (service: ChildService, pattern: RegExp) =>
  service.lines.map((l) => String(l['msg'] ?? '')).find((m) => pattern.test(m));

describe('the local stack (npm start)', () => {
  let stack: ChildService;
  let env: Record<string, string>;
  let token: string;
  let base: string;

  beforeAll(async () => {
    env = {
      ...(await portsEnv()),
      TF_LOCAL_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'tf-stack-')), 'data'),
      NO_COLOR: '1',
      // Three of the four vendors each forget a different 30% of the fleet (the simulator's missing-vehicles
      // fault, passed through to it): about 2.7% of vehicles are then known to the positions vendor only.
      TF_SIM_FAULT_MISSING_FRACTION: '0.3',
      TF_SIM_FAULT_VENDORS: 'delays,speed,fuel',
    };
    stack = startChild('apps/local-stack/src/main.ts', env);
    await stack.waitFor((l) => l['msg'] === 'READY', 150_000);
    token = lineOf(stack, /^\s*API token\s+/)!
      .trim()
      .split(/\s+/)[2]!;
    base = `http://127.0.0.1:${env['TF_LOCAL_BROADCASTER_PORT']}`;
  }, 180_000);

  afterAll(async () => {
    // Stopped the way a user stops it, so its services (in process groups of their own) go too.
    if (stack?.child.exitCode === null) {
      stack.child.kill('SIGINT');
      const timer = setTimeout(() => stack.child.kill('SIGKILL'), 45_000);
      await stack.exited;
      clearTimeout(timer);
    }
  }, 60_000);

  it('shows the simulated fleet at /api/vehicles', async () => {
    await expect
      .poll(
        async () => {
          const response = await fetch(`${base}/api/vehicles`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return response.ok ? ((await response.json()) as { count: number }).count : 0;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(500);
  });

  it('fuses the simulated trackers, connected to the device gateway over TCP, into the snapshot', async () => {
    type ApiVehicle = { id: string; sources: Record<string, { vendorId: string }> };
    const tracked = async () => {
      const response = await fetch(`${base}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } });
      const { vehicles } = (await response.json()) as { vehicles: ApiVehicle[] };
      return vehicles.filter((v) => Object.values(v.sources).some((s) => s.vendorId === 'trackers')).length;
    };
    // One vehicle in ten carries a tracker; its fuel and position compete with the other vendors' by freshness.
    await expect.poll(tracked, { timeout: 30_000, interval: 1_000 }).toBeGreaterThan(0);
    const gateway = await (
      await fetch(`http://127.0.0.1:${env['TF_LOCAL_GATEWAY_HTTP_PORT']}/metrics`)
    ).text();
    expect(gateway).toMatch(/gateway_connections\{[^}]*\} 50/);
    expect(lineOf(stack, /^\s*trackers\s+127\.0\.0\.1:/)).toContain('50 simulated trackers');
  }, 40_000);

  it('still shows a vehicle only one vendor reports, flagged partial', async () => {
    type ApiVehicle = { id: string; quality: number; sources: Record<string, { vendorId: string }> };
    const current = async () =>
      (
        (await (
          await fetch(`${base}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { vehicles: ApiVehicle[] }
      ).vehicles;
    // Until every vendor has been fused once (fuel is pushed every 10 s), every vehicle is partial.
    let vehicles: ApiVehicle[] = [];
    await expect
      .poll(async () => (vehicles = await current()).filter((v) => (v.quality & 1) === 0).length, {
        timeout: 30_000,
        interval: 1_000,
      })
      .toBeGreaterThan(0);
    const vendorsOf = (v: ApiVehicle) => new Set(Object.values(v.sources).map((s) => s.vendorId));
    const positionsOnly = vehicles.filter((v) => {
      const vendors = vendorsOf(v);
      return vendors.size === 1 && vendors.has('positions');
    });
    expect(positionsOnly.length).toBeGreaterThan(0);
    // QualityFlag.Partial is bit 0: a vendor that has a key for the vehicle did not report it.
    for (const vehicle of positionsOnly) expect(vehicle.quality & 1, vehicle.id).toBe(1);
    // The flag is not on everyone: the vehicles no vendor forgot (about half) are whole.
    const whole = vehicles.filter((v) => (v.quality & 1) === 0).length;
    expect(whole).toBeGreaterThan(vehicles.length / 4);
  }, 40_000);

  it('streams at least five consecutive ticks to a gRPC client and to a SignalR client', async () => {
    const { VehicleFeed } = loadTransitFusionProto();
    const client = new VehicleFeed(
      `127.0.0.1:${env['TF_LOCAL_GRPC_PORT']}`,
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const stream = client['Subscribe']!({ fields: ['position'] }, metadata) as grpc.ClientReadableStream<{
      sequence: number;
    }>;
    const grpcSequences: number[] = [];
    stream.on('data', (u: { sequence: number }) => grpcSequences.push(Number(u.sequence)));
    stream.on('error', () => {});

    const hub = new HubConnectionBuilder()
      .withUrl(`${base}/hubs/vehicles?types=bus`, { accessTokenFactory: () => token })
      .withHubProtocol(new MessagePackHubProtocol())
      .configureLogging(LogLevel.None)
      .build();
    const hubSequences: number[] = [];
    hub.on('vehicles', (u: { sequence: number }) => hubSequences.push(Number(u.sequence)));
    await hub.start();

    await expect
      .poll(() => Math.min(grpcSequences.length, hubSequences.length), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(6);
    for (const sequences of [grpcSequences, hubSequences]) {
      const ticks = sequences.slice(0, 6);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBeGreaterThan(ticks[i - 1]!);
    }
    stream.cancel();
    client.close();
    await hub.stop();
  }, 60_000);

  it('fuses a push through the receiver within two ticks', async () => {
    const [, pushUrl, , apiKey] = lineOf(stack, /^\s*vendor push\s+/)!
      .trim()
      .split(/\s+/)
      .slice(1);
    const registry = (await (
      await fetch(`http://127.0.0.1:${env['TF_LOCAL_SIMULATOR_PORT']}/fleet-registry.json`)
    ).json()) as { vehicles: { vehicleId: string; keys: Record<string, string> }[] };
    // A vehicle without a tracker: only the fuel vendor reports its fuel.
    const target = registry.vehicles.find((v) => v.keys['fuel'] && !v.keys['trackers'])!;
    const view = async () =>
      (await (
        await fetch(`${base}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        sequence: number;
        vehicles: {
          id: string;
          fuel?: number;
          sources: { fuel?: { vendorId: string; observedAt: number } };
        }[];
      };
    // The simulator pushes every vehicle's fuel every 10 s; a push of its landing between ours and the
    // snapshot that would show ours replaces our value (newer wins), and on a loaded machine that window is
    // seconds wide. So push right after one of the simulator's pushes has been fused.
    const fuelObservedAt = async () =>
      (await view()).vehicles.find((v) => v.id === target.vehicleId)?.sources.fuel?.observedAt;
    const simulators = await fuelObservedAt();
    await expect.poll(fuelObservedAt, { timeout: 15_000, interval: 200 }).not.toBe(simulators);
    const before = (await view()).sequence;
    const pushed = await fetch(pushUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey! },
      body: JSON.stringify({
        vehicleKey: target.keys['fuel'],
        observedAt: new Date().toISOString(),
        fuel: 12.5,
      }),
    });
    expect(pushed.status).toBe(202);
    let seenAt: number | undefined;
    await expect
      .poll(
        async () => {
          const current = await view();
          const vehicle = current.vehicles.find((v) => v.id === target.vehicleId);
          if (vehicle?.fuel === 12.5) seenAt ??= current.sequence;
          return vehicle?.fuel === 12.5 ? vehicle.sources.fuel?.vendorId : undefined;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe('fuel');
    // The collector drains it on its next tick, the composer fuses it on the one after.
    expect(seenAt! - before).toBeLessThanOrEqual(2);
  }, 45_000);

  it('shows the live map in Chromium: vehicles, a popup, the time machine and back to live', async (context) => {
    if (!existsSync(CHROMIUM)) {
      console.warn(`skipped: ${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`);
      context.skip();
    }
    const mapUrl = lineOf(stack, /^\s*map\s+http/)!
      .trim()
      .split(/\s+/)[1]!;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(mapUrl);
      await page.waitForSelector('#connection[data-state="live"]', { timeout: 20_000 });
      await page.waitForFunction(() => Number(document.getElementById('count')!.textContent) > 0);
      const api = (await (
        await fetch(`${base}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { vehicles: { position?: unknown }[] };
      const shown = Number(await page.textContent('#count'));
      expect(shown).toBe(api.vehicles.filter((v) => v.position).length);

      // The offline basemap: the routes and stops of the network the stack runs (the simulator's, published as
      // static GTFS and read by the broadcaster), drawn under the vehicles with no tile server.
      const network = (await (
        await fetch(`${base}/api/network`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { features: { properties: { kind: string } }[] };
      expect(network.features.filter((f) => f.properties.kind === 'route').length).toBeGreaterThan(0);
      expect(network.features.filter((f) => f.properties.kind === 'stop').length).toBeGreaterThan(0);
      await page.waitForFunction(
        () => {
          const map = (window as unknown as { transitFusionMap: { getLayer(id: string): unknown } })
            .transitFusionMap;
          return map.getLayer('network-routes') !== undefined && map.getLayer('network-stops') !== undefined;
        },
        undefined,
        { timeout: 20_000 },
      );
      await page.waitForFunction(() => {
        const map = (
          window as unknown as {
            transitFusionMap: { queryRenderedFeatures(o: { layers: string[] }): unknown[] };
          }
        ).transitFusionMap;
        return map.queryRenderedFeatures({ layers: ['network-routes'] }).length > 0;
      });

      // Zoom in past the clusters onto a vehicle and click it (again if it glided away under the pointer).
      const vehicleOnScreen = () =>
        page.evaluate(async () => {
          type Feature = { properties: Record<string, unknown> | null; geometry: unknown };
          const { transitFusionMap: map, transitFusionStore: store } = window as unknown as {
            transitFusionMap: {
              queryRenderedFeatures(options: { layers: string[] }): Feature[];
              jumpTo(options: { center: [number, number]; zoom: number }): void;
              getZoom(): number;
              project(lngLat: [number, number]): { x: number; y: number };
            };
            transitFusionStore: { vehicles: Map<string, { position?: { lat: number; lon: number } }> };
          };
          if (map.getZoom() < 16) {
            const { lat, lon } = [...store.vehicles.values()].find((v) => v.position)!.position!;
            map.jumpTo({ center: [lon, lat], zoom: 16 });
          }
          // Vehicles glide for a second after every update, so the map is rarely idle: poll instead.
          let feature: Feature | undefined;
          for (let i = 0; i < 50 && !feature; i++) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            feature = map.queryRenderedFeatures({ layers: ['vehicles'] })[0];
          }
          if (!feature) throw new Error('no vehicle drawn near the first vehicle');
          const [x, y] = (feature.geometry as { coordinates: [number, number] }).coordinates;
          const projected = map.project([x, y]);
          return { x: projected.x, y: projected.y };
        });
      for (let attempt = 0; attempt < 5; attempt++) {
        const point = await vehicleOnScreen();
        await page.mouse.click(point.x, point.y);
        const popup = await page
          .waitForSelector('.vehicle-popup table', { timeout: 2_000 })
          .catch(() => null);
        if (popup) break;
      }
      expect(await page.textContent('.vehicle-popup')).toMatch(/route/);
      await page.screenshot({ path: path.join(ARTEFACTS, 'map.png') });

      // Search and filters change what is shown, and the count says so.
      const first = api.vehicles.find((v) => v.position) as { id: string } | undefined;
      await page.fill('#search', first!.id);
      await page.waitForFunction(() => document.getElementById('count')!.textContent === '1');
      await page.fill('#search', '');
      await page.check('#types input[value="tram"]');
      const trams = (api.vehicles as { transportType?: string; position?: unknown }[]).filter(
        (v) => v.position && v.transportType === 'tram',
      ).length;
      await page.waitForFunction(
        (expected) => document.getElementById('count')!.textContent === String(expected),
        trams,
      );
      await page.uncheck('#types input[value="tram"]');

      // The time machine: the stored snapshot of a moment, then back to live.
      await page.click('#tm-load');
      await page.waitForSelector('#connection[data-state="history"]');
      await page.waitForFunction(() =>
        /^showing /.test(document.getElementById('tm-status')!.textContent ?? ''),
      );
      await page.screenshot({ path: path.join(ARTEFACTS, 'map-time-machine.png') });

      // Replay the last minute at 60×: the stored snapshots play in order, then the replay ends.
      await page.evaluate(() => {
        const seen: string[] = ((window as unknown as { replayStatuses: string[] }).replayStatuses = []);
        const status = document.getElementById('tm-status')!;
        new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.selectOption('#tm-speed', '60');
      await page.click('#tm-replay');
      await page.waitForFunction(
        () => document.getElementById('tm-status')!.textContent === 'replay finished',
        {
          timeout: 60_000,
        },
      );
      const statuses = await page.evaluate(
        () => (window as unknown as { replayStatuses: string[] }).replayStatuses,
      );
      const replayed = statuses.filter((s) => /^replaying .* at 60×$/.test(s));
      expect(new Set(replayed).size).toBeGreaterThanOrEqual(5);
      expect(Number(await page.textContent('#count'))).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(ARTEFACTS, 'map-replay.png') });
      await page.click('#tm-live');
      await page.waitForSelector('#connection[data-state="live"]');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 150_000);

  it('stops every service on SIGINT and frees its ports', async () => {
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(lineOf(stack, /nothing left running/)).toBeDefined();
    for (const variable of PORT_VARIABLES) {
      const port = Number(env[variable]);
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  }, 60_000);

  it('refuses to start when a port is in use, naming it and the setting that moves it', async () => {
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', () => resolve()));
    try {
      const refused = startChild('apps/local-stack/src/main.ts', {
        ...(await portsEnv()),
        TF_LOCAL_BROADCASTER_PORT: String(port),
        TF_LOCAL_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tf-stack-')),
      });
      let stderr = '';
      refused.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await refused.exited).toBe(1);
      expect(stderr).toContain(
        `port ${port} (the broadcaster (HTTP, SignalR, map)) is in use: stop what uses it, or choose another with TF_LOCAL_BROADCASTER_PORT=<port>`,
      );
    } finally {
      busy.close();
    }
  }, 60_000);
});
