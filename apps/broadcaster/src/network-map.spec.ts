// The network under the map: a real agency's static GTFS (Caltrain, read in place from ../shared/data) and small
// made-up feeds become GeoJSON routes and stops; a broken feed is refused with a message naming the problem; the
// source loads from a file or over HTTP, keeps the last good network when a refresh fails, and /api/network
// serves it behind the bearer token with an ETag.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createLiveness,
  createLogger,
  createMetrics,
  createServiceApp,
  Secret,
} from '@transit-fusion/service-kit';
import { readSharedFile, sharedDataMissing } from '@transit-fusion/testing';
import { strToU8, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { createBearerTokens } from './bearer-tokens.js';
import {
  createNetworkSource,
  networkGeoJsonFromGtfs,
  registerNetworkApi,
  type NetworkGeoJson,
} from './network-map.js';

function gtfs(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
}

const SMALL = {
  'routes.txt': 'route_id,route_short_name,route_type,route_color\nT4,4,0,FF0000\nB1,1,3,\n',
  'trips.txt': 'route_id,service_id,trip_id,shape_id\nT4,wk,t1,s-tram\nB1,wk,t2,s-bus\n',
  'shapes.txt':
    'shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n' +
    's-tram,59.44,24.70,2\ns-tram,59.43,24.75,1\ns-bus,59.40,24.80,1\ns-bus,59.41,24.81,2\ns-bus,x,24.9,3\n',
  'stops.txt':
    'stop_id,stop_name,stop_lat,stop_lon,location_type\n' +
    'S1,"Viru, platform 1",59.436,24.755,0\nST,Viru station,59.436,24.756,1\nS2,Balti jaam,59.44,24.70,\nS3,Nowhere,,,0\n',
};

const silent = { info() {}, warn() {} };

describe('networkGeoJsonFromGtfs', () => {
  it('makes one line per shape, typed and coloured by its route, and one point per stop', () => {
    const network = networkGeoJsonFromGtfs(gtfs(SMALL));
    const lines = network.features.filter((f) => f.properties['kind'] === 'route');
    const tram = lines.find((f) => f.properties['shapeId'] === 's-tram')!;
    // Points in shape_pt_sequence order, not file order; the unparseable point is left out.
    expect(tram.geometry.coordinates).toEqual([
      [24.75, 59.43],
      [24.7, 59.44],
    ]);
    expect(tram.properties).toMatchObject({
      routeId: 'T4',
      name: '4',
      transportType: 'tram',
      colour: '#FF0000',
    });
    const bus = lines.find((f) => f.properties['shapeId'] === 's-bus')!;
    expect(bus.geometry.coordinates).toHaveLength(2);
    expect(bus.properties).toMatchObject({ transportType: 'bus', colour: '' });
    // Stations are not stops, and a stop with no position cannot be drawn.
    const stops = network.features.filter((f) => f.properties['kind'] === 'stop');
    expect(stops.map((s) => [s.properties['stopId'], s.properties['name']])).toEqual([
      ['S1', 'Viru, platform 1'],
      ['S2', 'Balti jaam'],
    ]);
    expect(network.bbox).toEqual([24.7, 59.4, 24.81, 59.44]);
  });

  it('refuses what is not a usable GTFS feed, saying what is wrong', () => {
    const { ['shapes.txt']: _shapes, ...withoutShapes } = SMALL;
    expect(() => networkGeoJsonFromGtfs(strToU8('route_id\n'))).toThrow(/not a zip file/);
    expect(() => networkGeoJsonFromGtfs(gtfs(withoutShapes))).toThrow(/has no shapes\.txt/);
    expect(() =>
      networkGeoJsonFromGtfs(
        gtfs({
          ...SMALL,
          'shapes.txt': 'shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n',
          'stops.txt': 'stop_id,stop_lat,stop_lon\n',
        }),
      ),
    ).toThrow(/no shapes and no located stops/);
  });

  it.skipIf(sharedDataMissing)("draws Caltrain's network from its published feed", () => {
    const network = networkGeoJsonFromGtfs(readSharedFile('gtfs/caltrain-gtfs.zip'));
    const lines = network.features.filter((f) => f.properties['kind'] === 'route');
    const stops = network.features.filter((f) => f.properties['kind'] === 'stop');
    expect(lines).toHaveLength(33);
    expect(
      lines.filter((f) => f.properties['routeId']).every((f) => f.properties['transportType'] !== 'other'),
    ).toBe(true);
    // 78 stops and platforms; the 31 stations (location_type 1) are left out.
    expect(stops).toHaveLength(78);
    expect(stops.find((s) => s.properties['stopId'] === '70011')).toMatchObject({
      geometry: { coordinates: [-122.394992, 37.77639] },
      properties: { name: 'San Francisco Caltrain Station' },
    });
    const [west, south, east, north] = network.bbox;
    expect(west).toBeGreaterThan(-122.5);
    expect(east).toBeLessThan(-121.5);
    expect(south).toBeGreaterThan(36.9);
    expect(north).toBeLessThan(37.9);
  });
});

describe('the network source and /api/network', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  async function serve(answer: () => { status: number; body: Uint8Array }): Promise<string> {
    const server = createServer((_request, response) => {
      const { status, body } = answer();
      response.writeHead(status, { 'content-type': 'application/zip' }).end(body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/network/gtfs.zip?sig=secret`;
  }

  function app(network: ReturnType<typeof createNetworkSource> | undefined) {
    const service = createServiceApp({
      service: 'broadcaster',
      logger: createLogger({ service: 'broadcaster', level: 'silent' }),
      registry: createMetrics({ service: 'broadcaster', defaultMetrics: false }).registry,
      liveness: createLiveness({ eventLoop: false }),
      readiness: async () => ({ ok: true, checks: {} }),
    });
    registerNetworkApi(service, { network, tokens: createBearerTokens([new Secret('t0ken')]) });
    return service;
  }
  const auth = { authorization: 'Bearer t0ken' };

  it('serves the network loaded from a file, with an ETag, behind the token', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'network-')), 'gtfs.zip');
    writeFileSync(file, gtfs(SMALL));
    const source = createNetworkSource({ location: file, logger: silent });
    const api = app(source);
    expect((await api.inject({ url: '/api/network', headers: auth })).statusCode).toBe(503);
    await source.start();
    source.stop();

    expect((await api.inject({ url: '/api/network' })).statusCode).toBe(401);
    const response = await api.inject({ url: '/api/network', headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/geo+json');
    const network = response.json<NetworkGeoJson>();
    expect(network.features).toHaveLength(4);
    const again = await api.inject({
      url: '/api/network',
      headers: { ...auth, 'if-none-match': String(response.headers['etag']) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('says when no network is configured', async () => {
    const response = await app(undefined).inject({ url: '/api/network', headers: auth });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toContain('TF_BROADCASTER_NETWORK_GTFS');
  });

  it('loads over HTTP, retries after a failure, and keeps the last good network when a refresh fails', async () => {
    let answers = [
      { status: 503, body: strToU8('busy') },
      { status: 200, body: gtfs(SMALL) },
      { status: 200, body: strToU8('not a zip') },
    ];
    const url = await serve(() => answers.shift() ?? { status: 500, body: new Uint8Array() });
    const warnings: object[] = [];
    const source = createNetworkSource({
      location: url,
      logger: { info() {}, warn: (obj) => warnings.push(obj) },
      retryMs: 20,
      refreshMs: 20,
    });
    await source.start();
    expect(source.current()).toBeUndefined();
    await expect.poll(() => source.current()?.features, { timeout: 2_000 }).toBe(4);
    await expect.poll(() => warnings.length, { timeout: 2_000 }).toBeGreaterThanOrEqual(2);
    source.stop();
    expect(source.current()?.features).toBe(4);
    // The query string (a SAS token, say) never reaches the logs.
    expect(JSON.stringify(warnings)).not.toContain('secret');
    answers = [];
  });
});
