// /api/vehicles and the GTFS-Realtime feed from the live views: the feed decodes with
// gtfs-realtime-bindings and matches /api/vehicles; profiles filter and project; equal wishes share one key.

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import type { TransportSnapshot, Vehicle } from '@transit-fusion/model';
import { Secret, type ServiceApp } from '@transit-fusion/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerTokens } from '../src/bearer-tokens.js';
import { testApp } from './helpers.js';
import { createLiveViews } from '../src/live-views.js';
import { profileFromQuery, profileKey, type Profile } from '../src/profile.js';
import { registerVehiclesApi } from '../src/vehicles-api.js';

const T = Date.UTC(2026, 10, 21, 8, 47, 0);
const TOKEN = 'vehicles-api-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const vehicle = (id: string, fields: Partial<Vehicle>): Vehicle => ({
  id,
  transportType: 'bus',
  status: 'on_duty',
  sources: {},
  quality: 0,
  ...fields,
});
const SNAPSHOT: TransportSnapshot = {
  sequence: 9,
  generatedAt: T,
  sources: [],
  vehicles: [
    vehicle('bus-1', {
      label: '1001',
      position: { lat: 59.437, lon: 24.75 },
      bearing: 0,
      speed: 8.5,
      tripId: 'T1',
      routeId: '17',
      sources: { position: { vendorId: 'positions', observedAt: T - 2_000 } },
    }),
    vehicle('tram-2', { transportType: 'tram', position: { lat: 59.44, lon: 24.76 }, fuel: 55 }),
    vehicle('bus-3', { status: 'parked', position: { lat: 59.5, lon: 25.0 } }),
    vehicle('ferry-4', { transportType: 'ferry' }), // no position: not in the GTFS-RT feed
  ],
};

describe('current vehicles over HTTP', () => {
  let app: ServiceApp;
  beforeAll(async () => {
    const views = createLiveViews();
    views.publish(SNAPSHOT);
    app = testApp();
    registerVehiclesApi(app, { views, tokens: createBearerTokens([new Secret(TOKEN)]) });
    await app.ready();
  });
  afterAll(() => app?.close());

  it('serves a GTFS-RT VehiclePositions feed that decodes with gtfs-realtime-bindings and matches /api/vehicles', async () => {
    const api = (await app.inject({ url: '/api/vehicles', headers: AUTH })).json() as {
      count: number;
      vehicles: Vehicle[];
    };
    expect(api.count).toBe(4);
    const response = await app.inject({ url: '/gtfs-rt/vehicle-positions', headers: AUTH });
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    const feed = GtfsRealtimeBindings.transit_realtime.FeedMessage.decode(response.rawPayload);
    expect(Number(feed.header.timestamp)).toBe(T / 1000);
    const positioned = api.vehicles.filter((v) => v.position);
    expect(feed.entity.map((e) => e.id)).toEqual(positioned.map((v) => v.id));
    for (const [i, e] of feed.entity.entries()) {
      expect(e.vehicle!.position!.latitude).toBeCloseTo(positioned[i]!.position!.lat, 5);
      expect(e.vehicle!.position!.longitude).toBeCloseTo(positioned[i]!.position!.lon, 5);
    }
    expect(feed.entity[0]!.vehicle).toMatchObject({
      trip: { tripId: 'T1', routeId: '17' },
      vehicle: { id: 'bus-1', label: '1001' },
    });
    expect(Number(feed.entity[0]!.vehicle!.timestamp)).toBe((T - 2_000) / 1000);
    const json = (await app.inject({ url: '/gtfs-rt/vehicle-positions?format=json', headers: AUTH })).json();
    expect(json.entity).toHaveLength(3);
  });

  it('filters and projects by profile, and names a bad one', async () => {
    const view = (url: string) => app.inject({ url, headers: AUTH });
    const buses = (await view('/api/vehicles?types=bus&onDuty=true')).json();
    expect(buses.vehicles.map((v: Vehicle) => v.id)).toEqual(['bus-1']);
    const boxed = (await view('/api/vehicles?bbox=24.7,59.4,24.8,59.45&fields=fuel')).json();
    // Inside the box, with only the fuel field (plus identity, type, status and quality).
    expect(boxed.vehicles).toEqual([
      { id: 'bus-1', label: '1001', transportType: 'bus', status: 'on_duty', sources: {}, quality: 0 },
      { id: 'tram-2', transportType: 'tram', status: 'on_duty', fuel: 55, sources: {}, quality: 0 },
    ]);
    const bad = await view('/api/vehicles?types=zeppelin');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('unknown transport type "zeppelin"');
    expect((await app.inject({ url: '/gtfs-rt/vehicle-positions' })).statusCode).toBe(401);
  });

  it('gives equal wishes one profile key, however they are written', () => {
    const key = (q: Record<string, string>) => profileKey(profileFromQuery(q) as Profile);
    const keys = new Set([
      key({ types: 'tram,bus', fields: 'speed,delay' }),
      key({ types: 'bus,tram,bus', fields: 'delay,speed' }),
      key({ types: ' bus , tram ', fields: 'delay,speed,speed' }),
    ]);
    expect(keys.size).toBe(1);
    expect(key({ types: 'bus' })).not.toBe(key({ types: 'bus', onDuty: 'true' }));
    expect(key({ bbox: '24.700001,59.4,24.8,59.45' })).toBe(key({ bbox: '24.7,59.4,24.8,59.45' }));
  });
});
