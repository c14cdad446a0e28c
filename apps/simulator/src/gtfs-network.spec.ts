// Driving along a real static GTFS feed's shapes (reads ../shared/data; skipped when it is absent).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createFleet, snapshotAt, step, TRANSPORT_PROFILES } from './fleet.js';
import { networkFromGtfsZip } from './gtfs-network.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/gtfs/', import.meta.url));
const haveData = existsSync(`${DATA}caltrain-gtfs.zip`);

describe.skipIf(!haveData)('networkFromGtfsZip (needs ../shared/data/gtfs)', () => {
  it('turns Caltrain shapes into rail routes around the Bay Area, and drives a fleet along them', () => {
    const network = networkFromGtfsZip(readFileSync(`${DATA}caltrain-gtfs.zip`));
    expect(network.routes.length).toBeGreaterThan(0);
    expect(network.routes.every((r) => r.transportType === 'rail')).toBe(true);
    expect(network.centre.lat).toBeGreaterThan(37);
    expect(network.centre.lat).toBeLessThan(38);
    expect(network.routes.map((r) => r.routeId)).toContain('L1');
    for (const route of network.routes) expect(route.length).toBeGreaterThan(10_000); // Caltrain lines are long

    const fleet = createFleet({ vehicles: 30, seed: 2, network });
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

  it('types bus routes as buses (USF Bull Runner) and is deterministic', () => {
    const zip = readFileSync(`${DATA}bullrunner-gtfs.zip`);
    const network = networkFromGtfsZip(zip);
    expect(network.routes.every((r) => r.transportType === 'bus')).toBe(true);
    expect(networkFromGtfsZip(zip)).toEqual(network);
  });

  it('refuses a zip without shapes', () => {
    expect(() =>
      networkFromGtfsZip(new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)])),
    ).toThrow(/routes\.txt|shapes/);
  });
});
