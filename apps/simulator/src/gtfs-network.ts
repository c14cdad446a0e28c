// Drives the fleet along a real static GTFS feed instead of the generated city: each shapes.txt polyline becomes a
// route, typed by its routes.txt route_type. Stops are placed at the type's spacing along the shape rather than
// read from stops.txt: the simulator needs plausible dwells, not the timetable.

import { parse } from 'csv-parse/sync';
import { unzipSync, strFromU8 } from 'fflate';
import { createRandom } from './random.js';
import { buildRoute, METRES_PER_DEGREE, type Network, type Route, type SimTransportType } from './fleet.js';

/** GTFS route_type (basic and extended ranges) → the simulator's types. */
function transportTypeOf(routeType: number): SimTransportType {
  if (routeType === 0 || (routeType >= 900 && routeType < 1000)) return 'tram';
  if (routeType === 11 || routeType === 800) return 'trolleybus';
  if (routeType === 4 || (routeType >= 1000 && routeType < 1300)) return 'ferry';
  if (routeType === 1 || routeType === 2 || routeType === 12 || (routeType >= 100 && routeType < 500))
    return 'rail';
  return 'bus';
}

type Row = Record<string, string>;

function readCsv(files: Record<string, Uint8Array>, name: string): Row[] {
  const file = files[name];
  if (!file) throw new Error(`the GTFS zip has no ${name}`);
  return parse(strFromU8(file), { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Row[];
}

/** A network from a static GTFS zip's shapes.txt, routes.txt and trips.txt. Deterministic from the seed. */
export function networkFromGtfsZip(zip: Uint8Array, seed = 1): Network {
  const files = unzipSync(zip, { filter: (f) => ['shapes.txt', 'routes.txt', 'trips.txt'].includes(f.name) });
  const routeTypes = new Map(
    readCsv(files, 'routes.txt').map((r) => [r['route_id']!, Number(r['route_type'])]),
  );
  const shapeRoute = new Map<string, string>();
  for (const trip of readCsv(files, 'trips.txt')) {
    if (trip['shape_id'] && !shapeRoute.has(trip['shape_id']))
      shapeRoute.set(trip['shape_id'], trip['route_id']!);
  }
  const shapes = new Map<string, { seq: number; lat: number; lon: number }[]>();
  let latSum = 0;
  let lonSum = 0;
  let count = 0;
  for (const row of readCsv(files, 'shapes.txt')) {
    const lat = Number(row['shape_pt_lat']);
    const lon = Number(row['shape_pt_lon']);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    const points = shapes.get(row['shape_id']!) ?? [];
    points.push({ seq: Number(row['shape_pt_sequence']), lat, lon });
    shapes.set(row['shape_id']!, points);
    latSum += lat;
    lonSum += lon;
    count++;
  }
  if (count === 0) throw new Error('the GTFS zip has no usable shapes');
  const centre = { lat: latSum / count, lon: lonSum / count };
  const lonScale = METRES_PER_DEGREE * Math.cos((centre.lat * Math.PI) / 180);
  const random = createRandom(seed ^ 0x6f75);
  const routes: Route[] = [];
  for (const [shapeId, points] of [...shapes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (points.length < 2) continue;
    points.sort((a, b) => a.seq - b.seq);
    const routeId = shapeRoute.get(shapeId) ?? shapeId;
    const type = transportTypeOf(routeTypes.get(routeId) ?? 3);
    const xs = points.map((p) => (p.lon - centre.lon) * lonScale);
    const ys = points.map((p) => (p.lat - centre.lat) * METRES_PER_DEGREE);
    const route = buildRoute(routeId, type, xs, ys, random, `${routeId}-${shapeId}`);
    if (route.length > 0) routes.push(route);
  }
  if (routes.length === 0) throw new Error('the GTFS zip has no usable shapes');
  return { centre, routes };
}
