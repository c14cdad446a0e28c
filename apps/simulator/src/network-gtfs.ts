// The simulated network as a static GTFS zip (agency, routes, trips, shapes, stops, stop_times, calendar), the
// format operators publish their networks in: the broadcaster reads it (TF_BROADCASTER_NETWORK_GTFS) to draw the
// routes and stops under the live map with no tile server, exactly as it reads a real operator's feed.

import { strToU8, zipSync } from 'fflate';
import { METRES_PER_DEGREE, segmentAt, type Network, type Route, type SimTransportType } from './fleet.js';

/** GTFS route_type of each simulated type (basic GTFS types; trolleybus is 11). */
const ROUTE_TYPES: Readonly<Record<SimTransportType, number>> = {
  tram: 0,
  rail: 2,
  bus: 3,
  ferry: 4,
  trolleybus: 11,
};

/** CSV with every field quoted only when it needs to be. */
function csv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): Uint8Array {
  const field = (value: string | number) => {
    const text = String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return strToU8([header, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n');
}

const round = (degrees: number) => Math.round(degrees * 1e6) / 1e6;

export function networkGtfsZip(network: Network): Uint8Array {
  const lat0 = network.centre.lat;
  const lonScale = METRES_PER_DEGREE * Math.cos((lat0 * Math.PI) / 180);
  const toLatLon = (x: number, y: number) => [
    round(lat0 + y / METRES_PER_DEGREE),
    round(network.centre.lon + x / lonScale),
  ];
  const pointAt = (route: Route, distance: number) => {
    const seg = segmentAt(route.cumulative, distance);
    const length = route.cumulative[seg + 1]! - route.cumulative[seg]!;
    const t = length > 0 ? (distance - route.cumulative[seg]!) / length : 0;
    return toLatLon(
      route.xs[seg]! + (route.xs[seg + 1]! - route.xs[seg]!) * t,
      route.ys[seg]! + (route.ys[seg + 1]! - route.ys[seg]!) * t,
    );
  };

  const routes: (string | number)[][] = [];
  const trips: (string | number)[][] = [];
  const shapes: (string | number)[][] = [];
  const stopTimes: (string | number)[][] = [];
  const stops = new Map<string, (string | number)[]>();
  for (const route of network.routes) {
    const shapeId = `${route.routeId}-shape`;
    routes.push([route.routeId, 'sim', route.routeId, ROUTE_TYPES[route.transportType]]);
    for (let i = 0; i < route.xs.length; i++) {
      const [lat, lon] = toLatLon(route.xs[i]!, route.ys[i]!);
      shapes.push([shapeId, lat!, lon!, i, Math.round(route.cumulative[i]!)]);
    }
    // One timetabled trip per route, so the stops are tied to the route the way GTFS ties them.
    const tripId = `${route.routeId}-T1`;
    trips.push([route.routeId, 'daily', tripId, shapeId, 0]);
    route.stops.forEach((distance, i) => {
      const stopId = route.stopIds[i]!;
      if (!stops.has(stopId)) {
        const [lat, lon] = pointAt(route, distance);
        stops.set(stopId, [stopId, `${route.routeId} stop ${i + 1}`, lat!, lon!]);
      }
      const at = `${String(6 + Math.floor(i / 30)).padStart(2, '0')}:${String((i * 2) % 60).padStart(2, '0')}:00`;
      stopTimes.push([tripId, at, at, stopId, i + 1, Math.round(distance)]);
    });
  }
  return zipSync({
    'agency.txt': csv(
      ['agency_id', 'agency_name', 'agency_url', 'agency_timezone'],
      [['sim', 'transit-fusion simulator', 'https://github.com/transit-fusion', 'UTC']],
    ),
    'calendar.txt': csv(
      [
        'service_id',
        'monday',
        'tuesday',
        'wednesday',
        'thursday',
        'friday',
        'saturday',
        'sunday',
        'start_date',
        'end_date',
      ],
      [['daily', 1, 1, 1, 1, 1, 1, 1, '20260101', '20361231']],
    ),
    'routes.txt': csv(['route_id', 'agency_id', 'route_short_name', 'route_type'], routes),
    'trips.txt': csv(['route_id', 'service_id', 'trip_id', 'shape_id', 'direction_id'], trips),
    'shapes.txt': csv(
      ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence', 'shape_dist_traveled'],
      shapes,
    ),
    'stops.txt': csv(['stop_id', 'stop_name', 'stop_lat', 'stop_lon'], [...stops.values()]),
    'stop_times.txt': csv(
      ['trip_id', 'arrival_time', 'departure_time', 'stop_id', 'stop_sequence', 'shape_dist_traveled'],
      stopTimes,
    ),
  });
}
