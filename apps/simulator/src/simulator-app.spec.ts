// The simulator's HTTP contract through inject(): the feeds with ETag/304 and gzip, the registry, the probes, and
// every fault.

import { gunzipSync } from 'node:zlib';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveness, createLogger, createMetrics, type ServiceApp } from '@transit-fusion/service-kit';
import { createFleet, snapshotAt, step } from './fleet.js';
import { NO_FAULTS, type FaultSettings } from './faults.js';
import { networkFromGtfsZip } from './gtfs-network.js';
import { createRandom } from './random.js';
import { createSimulatorApp } from './simulator-app.js';

const { transit_realtime } = GtfsRealtimeBindings;
const VEHICLES = 120;

let app: ServiceApp | undefined;
let liveness: ReturnType<typeof createLiveness> | undefined;
afterEach(async () => {
  await app?.close();
  liveness?.stop();
  app = undefined;
});

function build(faults: Partial<FaultSettings> = {}) {
  const fleet = createFleet({ vehicles: VEHICLES, seed: 8 });
  const slept: number[] = [];
  liveness = createLiveness({ eventLoop: false });
  app = createSimulatorApp({
    fleet,
    logger: createLogger({ service: 'simulator', level: 'silent' }),
    metrics: createMetrics({ service: 'simulator', defaultMetrics: false }),
    liveness,
    faults: { ...NO_FAULTS, ...faults },
    random: createRandom(99),
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return { app, fleet, slept };
}

const decode = (body: Buffer) => transit_realtime.FeedMessage.decode(body);

describe('feeds', () => {
  it('serves vendor A as GTFS-RT protobuf, and as JSON with ?format=json', async () => {
    const { app, fleet } = build();
    const response = await app.inject({ url: '/vendors/positions/gtfs-rt' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    const feed = decode(response.rawPayload);
    expect(feed.entity).toHaveLength(VEHICLES);
    expect(Number(feed.header.timestamp)).toBe(Math.floor(fleet.nowMs / 1000));

    const json = await app.inject({ url: '/vendors/positions/gtfs-rt?format=json' });
    expect(json.statusCode).toBe(200);
    expect(json.json().entity).toHaveLength(VEHICLES);
    expect(json.json().entity[0].vehicle.vehicle.id).toMatch(/^gtfs-\d+$/);
  });

  it('serves vendor B as TripUpdates and vendor D as SIRI-VM XML', async () => {
    const { app, fleet } = build();
    const onTrip = snapshotAt(fleet).vehicles.filter((v) => v.tripId).length;
    const delays = await app.inject({ url: '/vendors/delays/gtfs-rt' });
    expect(decode(delays.rawPayload).entity).toHaveLength(onTrip);
    const speed = await app.inject({ url: '/vendors/speed/siri-vm' });
    expect(speed.headers['content-type']).toBe('application/xml; charset=utf-8');
    const parsed = new XMLParser({ isArray: (name) => name === 'VehicleActivity' }).parse(speed.body);
    expect(parsed.Siri.ServiceDelivery.VehicleMonitoringDelivery.VehicleActivity).toHaveLength(VEHICLES);
  });

  it('answers 304 to a matching If-None-Match until the clock ticks', async () => {
    const { app, fleet } = build();
    for (const url of ['/vendors/positions/gtfs-rt', '/vendors/delays/gtfs-rt', '/vendors/speed/siri-vm']) {
      const first = await app.inject({ url });
      const etag = first.headers['etag'] as string;
      expect(etag).toMatch(/^".+"$/);
      const again = await app.inject({ url, headers: { 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
      step(fleet, 1_000);
      const changed = await app.inject({ url, headers: { 'if-none-match': etag } });
      expect(changed.statusCode).toBe(200);
      expect(changed.headers['etag']).not.toBe(etag);
    }
  });

  it('gzips when the client accepts it', async () => {
    const { app } = build();
    const plain = await app.inject({ url: '/vendors/positions/gtfs-rt' });
    const zipped = await app.inject({
      url: '/vendors/positions/gtfs-rt',
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  it('serves the fleet registry', async () => {
    const { app } = build();
    const response = await app.inject({ url: '/fleet-registry.json' });
    expect(response.statusCode).toBe(200);
    const { vehicles } = response.json();
    expect(vehicles).toHaveLength(VEHICLES);
    expect(vehicles[0]).toEqual({
      vehicleId: 'veh-1000',
      label: '1000',
      transportType: expect.any(String),
      keys: { positions: 'gtfs-1000', fuel: '1000', speed: expect.stringMatching(/^\d{15}$/) },
    });
  });

  it('serves its network as static GTFS', async () => {
    const { app } = build();
    const response = await app.inject({ url: '/network/gtfs.zip' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    const network = networkFromGtfsZip(response.rawPayload);
    expect(network.routes.length).toBeGreaterThan(0);
    expect(network.routes.every((r) => r.stopIds.length >= 2)).toBe(true);
  });

  it('has the service-kit probes and metrics', async () => {
    const { app } = build();
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    await app.inject({ url: '/vendors/positions/gtfs-rt' });
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('simulator_feed_requests_total{vendor="positions",outcome="ok"');
  });
});

describe('faults', () => {
  it('answers 503 to about the configured fraction of requests', async () => {
    const { app } = build({ errorRate: 0.3 });
    let errors = 0;
    for (let i = 0; i < 200; i++) {
      const response = await app.inject({ url: '/vendors/delays/gtfs-rt' });
      if (response.statusCode === 503) errors++;
      else expect(response.statusCode).toBe(200);
    }
    expect(errors).toBeGreaterThan(40);
    expect(errors).toBeLessThan(80);
  });

  it('serves malformed payloads that fail to decode', async () => {
    const { app } = build({ malformedRate: 1 });
    const protobuf = await app.inject({ url: '/vendors/positions/gtfs-rt' });
    expect(protobuf.statusCode).toBe(200);
    expect(() => decode(protobuf.rawPayload)).toThrow();
    const xml = await app.inject({ url: '/vendors/speed/siri-vm' });
    expect(XMLValidator.validate(xml.body)).not.toBe(true);
  });

  it('adds latency to affected vendors only', async () => {
    const { app, slept } = build({ latencyMs: 2_500, vendors: ['speed'] });
    await app.inject({ url: '/vendors/positions/gtfs-rt' });
    expect(slept).toEqual([]);
    await app.inject({ url: '/vendors/speed/siri-vm' });
    expect(slept).toEqual([2_500]);
  });

  it('leaves the same vehicles out of one vendor', async () => {
    const { app, fleet } = build({ missingFraction: 0.25, vendors: ['positions'] });
    const ids = async () =>
      decode((await app.inject({ url: '/vendors/positions/gtfs-rt' })).rawPayload).entity.map((e) => e.id);
    const first = await ids();
    expect(first.length).toBeGreaterThan(VEHICLES * 0.6);
    expect(first.length).toBeLessThan(VEHICLES * 0.9);
    step(fleet, 1_000);
    expect(await ids()).toEqual(first);
    const siri = await app.inject({ url: '/vendors/speed/siri-vm' });
    expect(siri.body.match(/<VehicleActivity>/g)).toHaveLength(VEHICLES);
  });

  it('skews the vendor clock', async () => {
    const { app, fleet } = build({ clockSkewMs: -120_000, vendors: ['delays'] });
    const feed = decode((await app.inject({ url: '/vendors/delays/gtfs-rt' })).rawPayload);
    expect(Number(feed.header.timestamp)).toBe(Math.floor((fleet.nowMs - 120_000) / 1000));
    expect(Number(feed.entity[0]!.tripUpdate!.timestamp)).toBe(Math.floor((fleet.nowMs - 120_000) / 1000));
    const positions = decode((await app.inject({ url: '/vendors/positions/gtfs-rt' })).rawPayload);
    expect(Number(positions.header.timestamp)).toBe(Math.floor(fleet.nowMs / 1000));
  });
});
