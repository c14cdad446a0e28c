// Drives the fleet along a real static GTFS feed instead of the generated city: each shapes.txt polyline becomes a
// route, typed by its routes.txt route_type, with the feed's own stops (projected onto the shape, so vehicles dwell
// where the real stops are) and the feed's own trip_ids (so vendor B's trips look like the operator's).

import { parse } from 'csv-parse/sync';
import { unzipSync, strFromU8 } from 'fflate';
import { createRandom } from './random.js';
import {
  buildRoute,
  METRES_PER_DEGREE,
  type Network,
  type Route,
  type RouteTrips,
  type SimTransportType,
} from './fleet.js';

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

const FILES = ['shapes.txt', 'routes.txt', 'trips.txt', 'stops.txt', 'stop_times.txt'];

function readCsv<T = Row>(
  files: Record<string, Uint8Array>,
  name: string,
  onRecord?: (row: Row) => T | null,
): T[] {
  const file = files[name];
  if (!file) throw new Error(`the GTFS zip has no ${name}`);
  return parse(strFromU8(file), {
    columns: true,
    bom: true,
    skip_empty_lines: true,
    trim: true,
    ...(onRecord ? { on_record: (row: Row) => onRecord(row) } : {}),
  }) as T[];
}

interface TripRow {
  readonly tripId: string;
  readonly routeId: string;
  readonly shapeId: string;
  readonly direction: string;
}

/** A point in metres east (x) and north (y) of the network's centre. */
interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * A network from a static GTFS zip's shapes.txt, routes.txt and trips.txt, with stops from stop_times.txt and
 * stops.txt when the feed has them. Deterministic from the seed.
 */
export function networkFromGtfsZip(zip: Uint8Array, seed = 1): Network {
  const files = unzipSync(zip, { filter: (f) => FILES.includes(f.name) });
  const routeTypes = new Map(
    readCsv(files, 'routes.txt').map((r) => [r['route_id']!, Number(r['route_type'])]),
  );
  const trips = readCsv<TripRow>(files, 'trips.txt', (t) => ({
    tripId: t['trip_id'] ?? '',
    routeId: t['route_id'] ?? '',
    shapeId: t['shape_id'] ?? '',
    direction: t['direction_id'] ?? '',
  })).filter((t) => t.tripId !== '');
  const shapeTrips = new Map<string, TripRow[]>();
  const routeTrips = new Map<string, TripRow[]>();
  for (const trip of trips) {
    if (trip.shapeId) push(shapeTrips, trip.shapeId, trip);
    push(routeTrips, trip.routeId, trip);
  }

  const shapes = new Map<string, { seq: number; lat: number; lon: number }[]>();
  let latSum = 0;
  let lonSum = 0;
  let count = 0;
  for (const row of readCsv(files, 'shapes.txt')) {
    const lat = Number(row['shape_pt_lat']);
    const lon = Number(row['shape_pt_lon']);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    push(shapes, row['shape_id']!, { seq: Number(row['shape_pt_sequence']), lat, lon });
    latSum += lat;
    lonSum += lon;
    count++;
  }
  if (count === 0) throw new Error('the GTFS zip has no usable shapes');
  const centre = { lat: latSum / count, lon: lonSum / count };
  const lonScale = METRES_PER_DEGREE * Math.cos((centre.lat * Math.PI) / 180);
  const toPoint = (lat: number, lon: number): Point => ({
    x: (lon - centre.lon) * lonScale,
    y: (lat - centre.lat) * METRES_PER_DEGREE,
  });
  const stopsOfShape = representativeStops(files, shapeTrips, toPoint);

  const random = createRandom(seed ^ 0x6f75);
  const routes: Route[] = [];
  for (const [shapeId, points] of [...shapes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (points.length < 2) continue;
    points.sort((a, b) => a.seq - b.seq);
    const ofShape = shapeTrips.get(shapeId) ?? [];
    const routeId = ofShape[0]?.routeId ?? shapeId;
    const type = transportTypeOf(routeTypes.get(routeId) ?? 3);
    const xs = points.map((p) => (p.lon - centre.lon) * lonScale);
    const ys = points.map((p) => (p.lat - centre.lat) * METRES_PER_DEGREE);
    const trips = tripPools(ofShape, routeTrips.get(routeId) ?? []);
    const stops = stopsOfShape.get(shapeId);
    const placed = stops && placeStops(xs, ys, stops);
    // The vehicles drive between the first and the last real stop (any shape beyond them is depot track). Only
    // when no trip of this shape has stop_times with located stops (or they do not fit the shape) are stops put
    // at the type's spacing instead, as the vehicles still need somewhere to dwell.
    const route = placed
      ? buildRoute(routeId, type, placed.xs, placed.ys, random, {
          stops: { distances: placed.distances, ids: stops.map((s) => s.stopId) },
          trips,
        })
      : buildRoute(routeId, type, xs, ys, random, { stopPrefix: `${routeId}-${shapeId}`, trips });
    if (route.length > 0) routes.push(route);
  }
  if (routes.length === 0) throw new Error('the GTFS zip has no usable shapes');
  return { centre, routes };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Forward: the trips drawn on this shape. Backward: the route's trips in the other direction_id (another shape
 * usually, driven here in reverse); the shape's own trips when the feed names no other direction (loops).
 */
function tripPools(ofShape: readonly TripRow[], ofRoute: readonly TripRow[]): RouteTrips {
  const forward = ofShape.map((t) => t.tripId);
  const direction = ofShape[0]?.direction ?? '';
  const backward =
    direction === '' ? [] : ofRoute.filter((t) => t.direction !== direction).map((t) => t.tripId);
  return { forward, backward: backward.length > 0 ? backward : forward };
}

interface ShapeStop extends Point {
  readonly stopId: string;
}

/**
 * Per shape, the stops of its representative trip in stop_sequence order: the trip drawn on that shape with the
 * most stop_times (a local rather than an express sharing the shape). Empty when the feed has no stop_times.txt
 * or stops.txt. stop_times.txt is read twice, counting then keeping only the chosen trips' rows, so a large feed's
 * timetable is never held in memory.
 */
function representativeStops(
  files: Record<string, Uint8Array>,
  shapeTrips: ReadonlyMap<string, readonly TripRow[]>,
  toPoint: (lat: number, lon: number) => Point,
): Map<string, ShapeStop[]> {
  const result = new Map<string, ShapeStop[]>();
  if (!files['stop_times.txt'] || !files['stops.txt']) return result;
  const counts = new Map<string, number>();
  readCsv(files, 'stop_times.txt', (row) => {
    const trip = row['trip_id']!;
    counts.set(trip, (counts.get(trip) ?? 0) + 1);
    return null;
  });
  const chosen = new Map<string, string>(); // trip id → shape id
  for (const [shapeId, ofShape] of shapeTrips) {
    let best: string | undefined;
    for (const t of ofShape) {
      if ((counts.get(t.tripId) ?? 0) > (best === undefined ? 1 : counts.get(best)!)) best = t.tripId;
    }
    if (best !== undefined) chosen.set(best, shapeId);
  }
  const rows = readCsv(files, 'stop_times.txt', (row) =>
    chosen.has(row['trip_id']!)
      ? { tripId: row['trip_id']!, stopId: row['stop_id']!, seq: Number(row['stop_sequence']) }
      : null,
  );
  const stops = new Map<string, Point>();
  for (const row of readCsv(files, 'stops.txt')) {
    const lat = Number(row['stop_lat']);
    const lon = Number(row['stop_lon']);
    // Stops without coordinates are allowed for some location types; they cannot be placed on a shape.
    if (row['stop_lat'] && row['stop_lon'] && Number.isFinite(lat) && Number.isFinite(lon))
      stops.set(row['stop_id']!, toPoint(lat, lon));
  }
  const byTrip = new Map<string, typeof rows>();
  for (const row of rows) push(byTrip, row.tripId, row);
  for (const [tripId, tripRows] of byTrip) {
    tripRows.sort((a, b) => a.seq - b.seq);
    const placed: ShapeStop[] = [];
    for (const row of tripRows) {
      const at = stops.get(row.stopId);
      if (at) placed.push({ stopId: row.stopId, x: at.x, y: at.y });
    }
    if (placed.length >= 2) result.set(chosen.get(tripId)!, placed);
  }
  return result;
}

/** Farther than this from its shape, a stop is taken to belong to another shape: the shape keeps even spacing. */
const MAX_STOP_OFFSET_M = 500;
/** Candidate places per stop: the nearest few passes of the shape by it. */
const MAX_CANDIDATES = 8;

/**
 * Projects the stops, in order, onto the polyline and cuts it to run from the first stop to the last. Undefined
 * when they do not fit it (a stop far off the shape, or all of them at one point).
 *
 * The nearest point of the whole shape is not enough: a shape that passes a place twice (a loop, an out-and-back
 * with stops on both sides of the road) would get a stop on the wrong pass, out of order. So each stop has as
 * candidates every pass of the shape by it (the local minima of its distance to the shape), and a small dynamic
 * programme picks one per stop, in order along the shape, with the least total offset.
 */
export function placeStops(
  xs: readonly number[],
  ys: readonly number[],
  stops: readonly Point[],
): { xs: number[]; ys: number[]; distances: number[] } | undefined {
  const cumulative = [0];
  for (let i = 1; i < xs.length; i++)
    cumulative.push(cumulative[i - 1]! + Math.hypot(xs[i]! - xs[i - 1]!, ys[i]! - ys[i - 1]!));
  const candidates = stops.map((stop) => passesBy(xs, ys, cumulative, stop));
  if (candidates.some((c) => c.length === 0)) return undefined;

  // cost[k][j]: least total offset of stops 0..k with stop k at its candidate j; from[k][j]: stop k-1's candidate.
  const cost: number[][] = [candidates[0]!.map((c) => c.offset)];
  const from: number[][] = [candidates[0]!.map(() => -1)];
  for (let k = 1; k < stops.length; k++) {
    const previous = candidates[k - 1]!;
    cost.push([]);
    from.push([]);
    for (const candidate of candidates[k]!) {
      let best = Infinity;
      let bestFrom = -1;
      previous.forEach((p, i) => {
        if (p.distance <= candidate.distance && cost[k - 1]![i]! < best) {
          best = cost[k - 1]![i]!;
          bestFrom = i;
        }
      });
      cost[k]!.push(best + candidate.offset);
      from[k]!.push(bestFrom);
    }
  }
  const last = cost[stops.length - 1]!;
  let j = last.indexOf(Math.min(...last));
  if (!Number.isFinite(last[j]!)) return undefined;
  const along = new Array<number>(stops.length);
  for (let k = stops.length - 1; k >= 0; k--) {
    along[k] = candidates[k]![j]!.distance;
    j = from[k]![j]!;
  }
  const start = along[0]!;
  const end = along[along.length - 1]!;
  if (end - start < 1) return undefined;
  const cut = cutPolyline(xs, ys, cumulative, start, end);
  return { ...cut, distances: along.map((d) => d - start) };
}

/**
 * The places the polyline passes by a point: its local minima of offset, nearest first, within reach. Per-segment
 * results go to typed arrays rather than objects: a big feed has thousands of shapes of hundreds of points.
 */
function passesBy(
  xs: readonly number[],
  ys: readonly number[],
  cumulative: readonly number[],
  p: Point,
): { distance: number; offset: number }[] {
  const n = xs.length - 1;
  const distances = new Float64Array(n);
  const offsets = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    const dx = xs[s + 1]! - xs[s]!;
    const dy = ys[s + 1]! - ys[s]!;
    const length = cumulative[s + 1]! - cumulative[s]!;
    const t =
      length > 0
        ? Math.min(1, Math.max(0, ((p.x - xs[s]!) * dx + (p.y - ys[s]!) * dy) / (length * length)))
        : 0;
    distances[s] = cumulative[s]! + t * length;
    offsets[s] = Math.hypot(xs[s]! + t * dx - p.x, ys[s]! + t * dy - p.y);
  }
  const passes: { distance: number; offset: number }[] = [];
  for (let s = 0; s < n; s++) {
    const offset = offsets[s]!;
    // A run of equal offsets (the segments either side of the nearest vertex) counts once.
    const isMinimum = (s === 0 || offsets[s - 1]! > offset) && (s === n - 1 || offsets[s + 1]! >= offset);
    if (isMinimum && offset <= MAX_STOP_OFFSET_M) passes.push({ distance: distances[s]!, offset });
  }
  return passes.sort((a, b) => a.offset - b.offset).slice(0, MAX_CANDIDATES);
}

/** The part of the polyline between two distances along it. */
function cutPolyline(
  xs: readonly number[],
  ys: readonly number[],
  cumulative: readonly number[],
  start: number,
  end: number,
): { xs: number[]; ys: number[] } {
  const at = (d: number): Point => {
    let s = 0;
    while (s < xs.length - 2 && cumulative[s + 1]! < d) s++;
    const length = cumulative[s + 1]! - cumulative[s]!;
    const t = length > 0 ? (d - cumulative[s]!) / length : 0;
    return { x: xs[s]! + t * (xs[s + 1]! - xs[s]!), y: ys[s]! + t * (ys[s + 1]! - ys[s]!) };
  };
  const first = at(start);
  const last = at(end);
  const outX = [first.x];
  const outY = [first.y];
  for (let i = 0; i < xs.length; i++) {
    if (cumulative[i]! > start && cumulative[i]! < end) {
      outX.push(xs[i]!);
      outY.push(ys[i]!);
    }
  }
  outX.push(last.x);
  outY.push(last.y);
  return { xs: outX, ys: outY };
}
