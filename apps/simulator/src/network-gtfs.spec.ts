// The simulated network exported as static GTFS reads back as the same network: same routes, types, stops and
// geometry (to GTFS's six decimals), so anything that reads operators' GTFS reads the simulator's too.

import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { generateNetwork } from './fleet.js';
import { networkFromGtfsZip } from './gtfs-network.js';
import { networkGtfsZip } from './network-gtfs.js';

describe('networkGtfsZip', () => {
  const network = generateNetwork({ vehicles: 300, seed: 7 });
  const zip = networkGtfsZip(network);

  it('holds the files a GTFS reader needs, with one stop row per distinct stop', () => {
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(
      [
        'agency.txt',
        'calendar.txt',
        'routes.txt',
        'shapes.txt',
        'stop_times.txt',
        'stops.txt',
        'trips.txt',
      ].sort(),
    );
    const stopRows = strFromU8(files['stops.txt']!).trim().split('\n').slice(1);
    const distinct = new Set(network.routes.flatMap((r) => r.stopIds));
    expect(stopRows).toHaveLength(distinct.size);
  });

  it('reads back as the same network', () => {
    const back = networkFromGtfsZip(zip);
    expect(back.routes.map((r) => [r.routeId, r.transportType]).sort()).toEqual(
      network.routes.map((r) => [r.routeId, r.transportType]).sort(),
    );
    for (const route of network.routes) {
      const read = back.routes.find((r) => r.routeId === route.routeId)!;
      expect(read.stopIds).toEqual(route.stopIds);
      // Same length to within the rounding of coordinates to 1e-6° (~0.1 m a point).
      expect(Math.abs(read.length - route.length)).toBeLessThan(route.xs.length * 0.5);
    }
  });
});
