// The network under the live map: the operator's static GTFS (a file or an http(s) URL, the way agencies publish
// it) turned into GeoJSON — one line per shape, typed and coloured by its route, and one point per stop — served
// at `GET /api/network`. The web map draws it as its basemap when no tile or style URL is configured, so a
// deployment with no internet still shows where the vehicles run. Loaded in the background at start (the live
// feed never waits for it), retried while it fails, and refreshed periodically since operators republish.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TransportType } from '@transit-fusion/model';
import type { ServiceApp } from '@transit-fusion/service-kit';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import type { BearerTokens } from './bearer-tokens.js';

export interface NetworkFeature {
  readonly type: 'Feature';
  readonly geometry:
    | { readonly type: 'LineString'; readonly coordinates: readonly (readonly [number, number])[] }
    | { readonly type: 'Point'; readonly coordinates: readonly [number, number] };
  readonly properties: Readonly<Record<string, string>>;
}

export interface NetworkGeoJson {
  readonly type: 'FeatureCollection';
  /** [west, south, east, north] of every shape and stop. */
  readonly bbox: readonly [number, number, number, number];
  readonly features: readonly NetworkFeature[];
}

/** GTFS route_type (basic and extended ranges) → the model's transport types. */
export function transportTypeOfRouteType(routeType: number): TransportType {
  if (routeType === 3 || (routeType >= 700 && routeType < 800)) return 'bus';
  if (routeType === 11 || routeType === 800) return 'trolleybus';
  if (routeType === 0 || (routeType >= 900 && routeType < 1000)) return 'tram';
  if (routeType === 4 || (routeType >= 1000 && routeType < 1300)) return 'ferry';
  if ([1, 2, 12].includes(routeType) || (routeType >= 100 && routeType < 500)) return 'rail';
  return 'other';
}

const NEEDED = ['routes.txt', 'trips.txt', 'shapes.txt', 'stops.txt'];

type Row = Record<string, string>;

/**
 * The routes and stops of a static GTFS zip as GeoJSON. Only routes.txt, trips.txt, shapes.txt and stops.txt
 * are decompressed (stop_times.txt, usually most of a feed, is not needed). Throws an Error naming what is
 * wrong when the zip is not a usable GTFS feed.
 */
export function networkGeoJsonFromGtfs(zip: Uint8Array): NetworkGeoJson {
  let files: Record<string, Uint8Array>;
  // A zip starts with a local file header, "PK\x03\x04" (an empty archive with its end record, "PK\x05\x06").
  if (zip.byteLength < 4 || zip[0] !== 0x50 || zip[1] !== 0x4b) throw new Error('not a zip file');
  try {
    files = unzipSync(zip, { filter: (file) => NEEDED.includes(file.name) });
  } catch (error) {
    throw new Error(`not a zip file: ${(error as Error).message}`, { cause: error });
  }
  const rows = (name: string, onRecord: (row: Row) => Row | null = (row) => row): Row[] => {
    const file = files[name];
    if (!file) throw new Error(`the GTFS feed has no ${name}`);
    return parse(strFromU8(file), {
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      on_record: onRecord,
    }) as Row[];
  };

  const routes = new Map(rows('routes.txt').map((r) => [r['route_id']!, r]));
  const routeOfShape = new Map<string, string>();
  rows('trips.txt', (t) => {
    if (t['shape_id'] && t['route_id'] && !routeOfShape.has(t['shape_id'])) {
      routeOfShape.set(t['shape_id'], t['route_id']);
    }
    return null;
  });
  const points = new Map<string, { seq: number; lon: number; lat: number }[]>();
  rows('shapes.txt', (p) => {
    const lat = Number(p['shape_pt_lat']);
    const lon = Number(p['shape_pt_lon']);
    if (!p['shape_id'] || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
    let list = points.get(p['shape_id']);
    if (!list) points.set(p['shape_id'], (list = []));
    list.push({ seq: Number(p['shape_pt_sequence']), lon, lat });
    return null;
  });

  const bbox: [number, number, number, number] = [180, 90, -180, -90];
  const extend = (lon: number, lat: number) => {
    bbox[0] = Math.min(bbox[0], lon);
    bbox[1] = Math.min(bbox[1], lat);
    bbox[2] = Math.max(bbox[2], lon);
    bbox[3] = Math.max(bbox[3], lat);
  };
  const features: NetworkFeature[] = [];
  for (const [shapeId, list] of points) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.seq - b.seq);
    const route = routes.get(routeOfShape.get(shapeId) ?? '');
    const colour = /^[0-9a-f]{6}$/i.test(route?.['route_color'] ?? '') ? `#${route!['route_color']}` : '';
    features.push({
      type: 'Feature',
      geometry: {
        type: 'LineString',
        coordinates: list.map((p) => {
          extend(p.lon, p.lat);
          return [p.lon, p.lat] as const;
        }),
      },
      properties: {
        kind: 'route',
        shapeId,
        routeId: route?.['route_id'] ?? '',
        name: route?.['route_short_name'] || route?.['route_long_name'] || '',
        transportType: transportTypeOfRouteType(Number(route?.['route_type'] ?? -1)),
        colour,
      },
    });
  }
  for (const stop of rows('stops.txt')) {
    // Stops and platforms only: stations, entrances and nodes are not where vehicles stop.
    if (stop['location_type'] && stop['location_type'] !== '0') continue;
    const lat = Number(stop['stop_lat']);
    const lon = Number(stop['stop_lon']);
    if (!stop['stop_lat'] || !stop['stop_lon'] || !Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    extend(lon, lat);
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [lon, lat] },
      properties: { kind: 'stop', stopId: stop['stop_id'] ?? '', name: stop['stop_name'] ?? '' },
    });
  }
  if (features.length === 0) throw new Error('the GTFS feed has no shapes and no located stops');
  return { type: 'FeatureCollection', bbox, features };
}

export interface NetworkSourceDeps {
  /** A static GTFS zip: a file path or an http(s) URL. */
  readonly location: string;
  readonly logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
  /** Reload this often after a success (default one hour). */
  readonly refreshMs?: number;
  /** The first retry after a failure (default 2 s), doubling up to a minute while it keeps failing. */
  readonly retryMs?: number;
  /** Larger feeds are refused (default 256 MiB). */
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
}

export interface NetworkSource {
  /** The network as a GeoJSON document and its ETag, once loaded. */
  current(): { readonly body: string; readonly etag: string; readonly features: number } | undefined;
  /** Loads now, then keeps it fresh; resolves after the first attempt (failed or not). */
  start(): Promise<void>;
  stop(): void;
}

export function createNetworkSource(deps: NetworkSourceDeps): NetworkSource {
  const maxBytes = deps.maxBytes ?? 256 * 1024 * 1024;
  let loaded: ReturnType<NetworkSource['current']>;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;

  async function fetchZip(): Promise<Uint8Array> {
    if (!/^https?:\/\//i.test(deps.location)) {
      const bytes = await readFile(deps.location);
      if (bytes.byteLength > maxBytes)
        throw new Error(`${bytes.byteLength} bytes is over the ${maxBytes} limit`);
      return bytes;
    }
    const response = await fetch(deps.location, { signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(deps.location).origin}`);
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > maxBytes) throw new Error(`${length} bytes is over the ${maxBytes} limit`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > maxBytes)
      throw new Error(`${bytes.byteLength} bytes is over the ${maxBytes} limit`);
    return bytes;
  }

  async function load(): Promise<void> {
    // The URL may carry a SAS token or key in its query: logs get its origin and path only.
    const where = /^https?:\/\//i.test(deps.location)
      ? `${new URL(deps.location).origin}${new URL(deps.location).pathname}`
      : deps.location;
    let next = Math.min(60_000, (deps.retryMs ?? 2_000) * 2 ** failures);
    try {
      const network = networkGeoJsonFromGtfs(await fetchZip());
      const body = JSON.stringify(network);
      loaded = {
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        features: network.features.length,
      };
      deps.logger.info({ network: where, features: network.features.length }, 'network loaded');
      next = deps.refreshMs ?? 3_600_000;
      failures = 0;
    } catch (error) {
      failures++;
      deps.logger.warn(
        { network: where, err: error, retryInMs: next },
        loaded
          ? 'network refresh failed; keeping the one loaded'
          : 'network not loaded; the map has no basemap yet',
      );
    }
    if (!stopped) timer = setTimeout(() => void load(), next).unref();
  }

  return {
    current: () => loaded,
    start: () => load(),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** `GET /api/network`: the network as GeoJSON (bearer token like the rest of the API; ETag for revalidation). */
export function registerNetworkApi(
  app: ServiceApp,
  deps: { readonly network: NetworkSource | undefined; readonly tokens: BearerTokens },
): void {
  app.get('/api/network', async (request, reply) => {
    if (!deps.tokens.accepts(request.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'missing or unknown bearer token (Authorization: Bearer <token>)',
      });
    }
    if (!deps.network) {
      return reply.code(404).send({
        error: 'not_configured',
        message: 'no network is configured (TF_BROADCASTER_NETWORK_GTFS)',
      });
    }
    const current = deps.network.current();
    if (!current) {
      return reply
        .code(503)
        .header('retry-after', '30')
        .send({ error: 'not_loaded', message: 'the network has not been loaded yet' });
    }
    reply.header('etag', current.etag).header('cache-control', 'private, max-age=300');
    if (request.headers['if-none-match'] === current.etag) return reply.code(304).send();
    return reply.type('application/geo+json').send(current.body);
  });
}
