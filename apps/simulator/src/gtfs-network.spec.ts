// Driving along a static GTFS feed's shapes, stopping at its real stops and serving its real trip ids: on a small
// made-up feed (exact geometry), and on real feeds read in place from ../shared/data (skipped when it is absent).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  createFleet,
  METRES_PER_DEGREE,
  snapshotAt,
  step,
  TRANSPORT_PROFILES,
  type Network,
  type Route,
} from './fleet.js';
import { networkFromGtfsZip } from './gtfs-network.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/gtfs/', import.meta.url));
const haveData = existsSync(`${DATA}caltrain-gtfs.zip`) && existsSync(`${DATA}bullrunner-gtfs.zip`);
if (!haveData) console.log(`skipping the real-feed GTFS tests: no feeds in ${DATA}`);

type Row = Record<string, string>;

function csv(zip: Uint8Array, name: string): Row[] {
  return parse(strFromU8(unzipSync(zip, { filter: (f) => f.name === name })[name]!), {
    columns: true,
    bom: true,
    trim: true,
  }) as Row[];
}

/** Where a distance along a route is, in metres from the network's centre. */
function pointAt(route: Route, distance: number): { x: number; y: number } {
  let s = 0;
  while (s < route.xs.length - 2 && route.cumulative[s + 1]! < distance) s++;
  const length = route.cumulative[s + 1]! - route.cumulative[s]!;
  const t = length > 0 ? (distance - route.cumulative[s]!) / length : 0;
  return {
    x: route.xs[s]! + t * (route.xs[s + 1]! - route.xs[s]!),
    y: route.ys[s]! + t * (route.ys[s + 1]! - route.ys[s]!),
  };
}

/** Metres between a route point and a lat/lon. */
function offset(network: Network, p: { x: number; y: number }, lat: number, lon: number): number {
  const lonScale = METRES_PER_DEGREE * Math.cos((network.centre.lat * Math.PI) / 180);
  return Math.hypot(
    p.x - (lon - network.centre.lon) * lonScale,
    p.y - (lat - network.centre.lat) * METRES_PER_DEGREE,
  );
}

// A made-up feed near Tallinn, in metres east (x) and north (y) of 59.4 N 24.7 E.
const LAT0 = 59.4;
const LON0 = 24.7;
const lonScale0 = METRES_PER_DEGREE * Math.cos((LAT0 * Math.PI) / 180);
const latOf = (y: number) => (LAT0 + y / METRES_PER_DEGREE).toFixed(7);
const lonOf = (x: number) => (LON0 + x / lonScale0).toFixed(7);

function madeUpFeed(): Uint8Array {
  const shape: string[] = ['shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence'];
  let seq = 0;
  // OB: out east 5 km along y = 0, then back west along y = 20 (an out-and-back, stops on both sides).
  for (let x = 0; x <= 5_000; x += 500) shape.push(`OB,${latOf(0)},${lonOf(x)},${++seq}`);
  for (let x = 5_000; x >= 0; x -= 500) shape.push(`OB,${latOf(20)},${lonOf(x)},${++seq}`);
  // NS: 3 km north; its trip's stops are 2 km off it, so they cannot be its stops.
  for (let y = 0; y <= 3_000; y += 500) shape.push(`NS,${latOf(y)},${lonOf(-2_000)},${++seq}`);
  const stops = [
    // A is nearer the way back (8 m) than the way out (12 m), but the trip serves it first, on the way out.
    ['A', 1_000, 12],
    ['B', 4_000, -10],
    ['C', 4_000, 30],
    ['D', 1_000, 30],
    ['FAR1', 0, 5_000],
    ['FAR2', 0, 6_000],
  ] as const;
  return zipSync({
    'routes.txt': strToU8('route_id,route_type\nR1,3\nR2,3\n'),
    'trips.txt': strToU8(
      'route_id,service_id,trip_id,direction_id,shape_id\n' +
        'R1,wk,ob-1,0,OB\nR1,wk,ob-2,0,OB\nR1,wk,back-1,1,\nR2,wk,ns-1,,NS\nR2,wk,ns-2,,NS\n',
    ),
    'stops.txt': strToU8(
      'stop_id,stop_lat,stop_lon\n' + stops.map(([id, x, y]) => `${id},${latOf(y)},${lonOf(x)}`).join('\n'),
    ),
    'stop_times.txt': strToU8(
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence\n' +
        'ob-1,06:00:00,06:00:00,A,1\nob-1,06:05:00,06:05:00,C,3\nob-1,06:04:00,06:04:00,B,2\n' +
        'ob-1,06:09:00,06:09:00,D,4\nob-2,07:00:00,07:00:00,A,1\nob-2,07:09:00,07:09:00,D,2\n' +
        'ns-1,06:00:00,06:00:00,FAR1,1\nns-1,06:10:00,06:10:00,FAR2,2\n',
    ),
    'shapes.txt': strToU8(shape.join('\n')),
  });
}

describe('networkFromGtfsZip on a made-up feed', () => {
  const network = networkFromGtfsZip(madeUpFeed());
  const outAndBack = network.routes.find((r) => r.routeId === 'R1')!;
  const northSouth = network.routes.find((r) => r.routeId === 'R2')!;

  it('places the stops of the trip with the most stop_times, in order, each on the pass that serves it', () => {
    expect(outAndBack.routeId).toBe('R1');
    expect(outAndBack.stopIds).toEqual(['A', 'B', 'C', 'D']);
    // The route runs from the first stop to the last: 1 km out, then 4 km out, 20 m across, 4 km back.
    const expected = [0, 3_000, 5_020, 8_020];
    expected.forEach((d, k) => expect(outAndBack.stops[k]).toBeCloseTo(d, -1));
    expect(outAndBack.length).toBeCloseTo(8_020, -1);
    const start = pointAt(outAndBack, 0);
    expect(offset(network, start, LAT0, LON0 + 1_000 / lonScale0)).toBeLessThan(2);
  });

  it('falls back to stops at the type spacing when the stops do not fit the shape', () => {
    expect(northSouth.stopIds[0]).toBe('R2-NS-S1');
    expect(northSouth.length).toBeCloseTo(3_000, -1);
    const gaps = [...northSouth.stops].slice(1).map((d, k) => d - northSouth.stops[k]!);
    for (const gap of gaps.slice(0, -1)) {
      expect(gap).toBeGreaterThanOrEqual(TRANSPORT_PROFILES.bus.stopSpacingMin - 1e-6);
      expect(gap).toBeLessThanOrEqual(TRANSPORT_PROFILES.bus.stopSpacingMax + 1e-6);
    }
  });

  it("pools the feed's trip ids by direction, and makes up opaque ones when more vehicles run than trips", () => {
    expect(outAndBack.trips).toEqual({ forward: ['ob-1', 'ob-2'], backward: ['back-1'] });
    // No direction_id: the shape's own trips serve both ways.
    expect(northSouth.trips).toEqual({ forward: ['ns-1', 'ns-2'], backward: ['ns-1', 'ns-2'] });
    const fleet = createFleet({ vehicles: 12, seed: 3, network, parkedFraction: 0 });
    const real = new Set(['ob-1', 'ob-2', 'back-1', 'ns-1', 'ns-2']);
    const served = new Set<string>();
    let madeUp = 0;
    for (let s = 0; s < 3_600; s++) {
      const onTrip = snapshotAt(fleet).vehicles.map((v) => v.tripId!);
      expect(new Set(onTrip).size).toBe(onTrip.length);
      for (const trip of onTrip) {
        if (real.has(trip)) served.add(trip);
        else if (madeUp++ < 1_000) expect(trip).toMatch(/^R[12]_[0-9a-z]{7}$/);
      }
      step(fleet, 1_000);
    }
    // Five timetabled trips for twelve vehicles: every one of them served, the rest extra trips.
    expect(served).toEqual(real);
    expect(madeUp).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveData)('networkFromGtfsZip on real feeds (needs ../shared/data/gtfs)', () => {
  const caltrain = haveData ? readFileSync(`${DATA}caltrain-gtfs.zip`) : new Uint8Array();
  const network = haveData ? networkFromGtfsZip(caltrain) : undefined;
  const stops = new Map(
    (haveData ? csv(caltrain, 'stops.txt') : []).map((s) => [
      s['stop_id']!,
      { lat: Number(s['stop_lat']), lon: Number(s['stop_lon']) },
    ]),
  );

  it('turns Caltrain shapes into rail routes around the Bay Area, and drives a fleet along them', () => {
    expect(network!.routes.length).toBeGreaterThan(0);
    expect(network!.routes.every((r) => r.transportType === 'rail')).toBe(true);
    expect(network!.centre.lat).toBeGreaterThan(37);
    expect(network!.centre.lat).toBeLessThan(38);
    expect(network!.routes.map((r) => r.routeId)).toContain('L1');
    for (const route of network!.routes) expect(route.length).toBeGreaterThan(10_000); // Caltrain lines are long

    const fleet = createFleet({ vehicles: 30, seed: 2, network: network! });
    for (let s = 0; s < 120; s++) step(fleet, 1_000);
    for (const v of snapshotAt(fleet).vehicles) {
      expect(v.transportType).toBe('rail');
      expect(v.speed).toBeLessThanOrEqual(TRANSPORT_PROFILES.rail.maxSpeed);
      expect(v.lat).toBeGreaterThan(36.9);
      expect(v.lat).toBeLessThan(37.9);
      expect(v.lon).toBeGreaterThan(-122.5);
      expect(v.lon).toBeLessThan(-121.5);
    }
  });

  it("puts Caltrain's real stations along each shape, in order, within tens of metres of the platforms", () => {
    for (const route of network!.routes) {
      expect(route.stopIds.length).toBeGreaterThanOrEqual(7); // a timetable's stops, not a spacing's
      route.stops.forEach((distance, k) => {
        const stop = stops.get(route.stopIds[k]!);
        expect(stop, route.stopIds[k]).toBeDefined();
        expect(offset(network!, pointAt(route, distance), stop!.lat, stop!.lon)).toBeLessThan(50);
        if (k > 0) expect(distance).toBeGreaterThan(route.stops[k - 1]!);
      });
    }
  });

  it('stops the trains at the real stations, on trips with the feed trip ids of their line', () => {
    const trips = new Map(csv(caltrain, 'trips.txt').map((t) => [t['trip_id']!, t['route_id']!]));
    const fleet = createFleet({ vehicles: 30, seed: 2, network: network! });
    let stopped = 0;
    for (let s = 0; s < 900; s++) {
      step(fleet, 1_000);
      const vehicles = snapshotAt(fleet).vehicles;
      for (const v of vehicles) {
        if (v.status === 'parked' || v.speed > 0) continue;
        stopped++;
        const route = network!.routes[fleet.route[v.index]!]!;
        const nearest = Math.min(
          ...route.stopIds.map((id) => {
            const stop = stops.get(id)!;
            const lonScale = METRES_PER_DEGREE * Math.cos((stop.lat * Math.PI) / 180);
            return Math.hypot((v.lat - stop.lat) * METRES_PER_DEGREE, (v.lon - stop.lon) * lonScale);
          }),
        );
        expect(nearest).toBeLessThan(50);
      }
      const onTrip = vehicles.filter((v) => v.tripId !== undefined);
      expect(new Set(onTrip.map((v) => v.tripId)).size).toBe(onTrip.length);
      // A feed trip of the train's line, or (more trains than timetabled trips on a shape) an extra one.
      for (const v of onTrip) {
        if (trips.has(v.tripId!)) expect(trips.get(v.tripId!)).toBe(v.routeId);
        else expect(v.tripId).toMatch(new RegExp(`^${v.routeId}_[0-9a-z]{7}$`));
      }
      if (s === 0) expect(onTrip.filter((v) => trips.has(v.tripId!)).length).toBeGreaterThan(20);
    }
    expect(stopped).toBeGreaterThan(100);
  });

  it('types bus routes as buses (USF Bull Runner), places stops on loops, and is deterministic', () => {
    const zip = readFileSync(`${DATA}bullrunner-gtfs.zip`);
    const bullrunner = networkFromGtfsZip(zip);
    expect(bullrunner.routes.every((r) => r.transportType === 'bus')).toBe(true);
    const known = new Set(csv(zip, 'stops.txt').map((s) => s['stop_id']));
    for (const route of bullrunner.routes) {
      expect(route.stopIds.every((id) => known.has(id))).toBe(true);
      // A loop: it starts and ends at one stop, and the stops between are in order along it.
      expect(route.stopIds.at(-1)).toBe(route.stopIds[0]);
      for (let k = 1; k < route.stops.length; k++)
        expect(route.stops[k]).toBeGreaterThan(route.stops[k - 1]!);
    }
    expect(networkFromGtfsZip(zip)).toEqual(bullrunner);
  });
});

describe('networkFromGtfsZip input checks', () => {
  it('refuses a zip without shapes', () => {
    expect(() =>
      networkFromGtfsZip(new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)])),
    ).toThrow(/routes\.txt|shapes/);
  });
});
