// The HTTP snapshot API on the real Fastify app and snapshot store (Azurite): time lookups, pages, the three
// representations, token checks and clear errors.

import type { TransportSnapshot } from '@transit-fusion/model';
import { Secret, type ServiceApp } from '@transit-fusion/service-kit';
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerTokens } from '../src/bearer-tokens.js';
import { storeWith, testApp } from './helpers.js';
import { registerSnapshotApi } from '../src/snapshot-api.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
const TOKEN = 'http-api-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const snapshot = (i: number): TransportSnapshot => ({
  sequence: 200 + i,
  generatedAt: T0 + i * 1000,
  sources: [],
  vehicles: [
    {
      id: 'bus-1',
      transportType: 'bus',
      status: 'on_duty',
      position: { lat: 59.4, lon: 24.7 + i / 1000 },
      sources: {},
      quality: 0,
    },
    { id: 'tram-2', transportType: 'tram', status: 'parked', sources: {}, quality: 1 },
  ],
});

describe('snapshot HTTP API', () => {
  let app: ServiceApp;
  beforeAll(async () => {
    const store = await storeWith(Array.from({ length: 5 }, (_, i) => snapshot(i)));
    app = testApp();
    registerSnapshotApi(app, {
      store,
      tokens: createBearerTokens([new Secret(TOKEN)]),
      maxRangeMs: 3_600_000,
    });
    await app.ready();
  });
  afterAll(() => app?.close());

  it('answers the closest snapshot (or the newest at or before) as JSON, with where it lives', async () => {
    const closest = await app.inject({ url: '/api/snapshots/at?t=2026-11-21T08:47:02.400Z', headers: AUTH });
    expect(closest.statusCode).toBe(200);
    expect(closest.headers['content-location']).toBe('/api/snapshots/2026-11-21T08%3A47%3A02.000Z');
    expect(closest.json()).toEqual({ id: '2026-11-21T08:47:02.000Z', ...snapshot(2) });
    const before = await app.inject({ url: `/api/snapshots/at?t=${T0 + 2_900}&before=true`, headers: AUTH });
    expect(before.json().sequence).toBe(202);
    const none = await app.inject({
      url: '/api/snapshots/at?t=2020-01-01T00:00:00Z&before=true',
      headers: AUTH,
    });
    expect(none.statusCode).toBe(404);
  });

  it('pages descriptors in time order', async () => {
    const first = await app.inject({
      url: '/api/snapshots?from=2026-11-21T08:47:00Z&to=2026-11-21T08:47:04Z&pageSize=3',
      headers: AUTH,
    });
    const page = first.json() as { descriptors: { sequence: number }[]; continuationToken?: string };
    expect(page.descriptors.map((d) => d.sequence)).toEqual([200, 201, 202]);
    expect(page.continuationToken).toEqual(expect.any(String));
    const second = await app.inject({
      url: `/api/snapshots?from=2026-11-21T08:47:00Z&to=2026-11-21T08:47:04Z&pageSize=3&continuationToken=${encodeURIComponent(page.continuationToken!)}`,
      headers: AUTH,
    });
    expect((second.json() as typeof page).descriptors.map((d) => d.sequence)).toEqual([203, 204]);
  });

  it('serves one snapshot as JSON, MessagePack or GeoJSON by Accept, and 406 for anything else', async () => {
    const url = '/api/snapshots/2026-11-21T08:47:01.000Z';
    const packed = await app.inject({ url, headers: { ...AUTH, accept: 'application/msgpack' } });
    expect(packed.headers['content-type']).toBe('application/msgpack');
    expect(unpack(packed.rawPayload)).toEqual({ id: '2026-11-21T08:47:01.000Z', ...snapshot(1) });
    const geo = await app.inject({ url, headers: { ...AUTH, accept: 'application/geo+json' } });
    expect(geo.json()).toMatchObject({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', id: 'bus-1', geometry: { type: 'Point', coordinates: [24.701, 59.4] } }],
    });
    expect((await app.inject({ url, headers: { ...AUTH, accept: 'text/csv' } })).statusCode).toBe(406);
    expect(
      (await app.inject({ url: '/api/snapshots/2026-11-21T09:00:00.000Z', headers: AUTH })).statusCode,
    ).toBe(404);
  });

  it('refuses requests without the token and names bad parameters; describes itself in OpenAPI', async () => {
    const anonymous = await app.inject({ url: '/api/snapshots/at?t=2026-11-21T08:47:00Z' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    const bad = await app.inject({ url: '/api/snapshots/at?t=yesterday', headers: AUTH });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe(
      't must be an ISO-8601 date-time with a zone (2026-11-21T08:47:00Z) or epoch milliseconds, got "yesterday"',
    );
    const tooLong = await app.inject({
      url: `/api/snapshots?from=${T0}&to=${T0 + 7_200_000}`,
      headers: AUTH,
    });
    expect(tooLong.statusCode).toBe(400);
    const openapi = await app.inject({ url: '/api/openapi.json' });
    expect(Object.keys(openapi.json().paths)).toEqual([
      '/api/snapshots/at',
      '/api/snapshots',
      '/api/snapshots/{id}',
      '/api/vehicles',
      '/api/network',
      '/gtfs-rt/vehicle-positions',
      '/hubs/vehicles/negotiate',
    ]);
  });
});
