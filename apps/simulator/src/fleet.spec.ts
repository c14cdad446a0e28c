// The fleet's movement: deterministic from a seed, realistic speeds per type, stops and dwells, parked vehicles
// that stay put, fuel that falls and is refilled.

import { describe, expect, it } from 'vitest';
import { createFleet, snapshotAt, step, TRANSPORT_PROFILES, type VehicleTruth } from './fleet.js';

function distanceMetres(a: VehicleTruth, b: VehicleTruth): number {
  const dLat = (b.lat - a.lat) * 111_320;
  const dLon = (b.lon - a.lon) * 111_320 * Math.cos((a.lat * Math.PI) / 180);
  return Math.hypot(dLat, dLon);
}

function run(fleet: ReturnType<typeof createFleet>, seconds: number): void {
  for (let s = 0; s < seconds; s++) step(fleet, 1_000);
}

describe('createFleet / step / snapshotAt', () => {
  it('is deterministic from the seed', () => {
    const a = createFleet({ vehicles: 300, seed: 42 });
    const b = createFleet({ vehicles: 300, seed: 42 });
    run(a, 120);
    run(b, 120);
    expect(snapshotAt(a)).toEqual(snapshotAt(b));
    const c = createFleet({ vehicles: 300, seed: 43 });
    run(c, 120);
    expect(snapshotAt(c).vehicles.map((v) => v.lat)).not.toEqual(snapshotAt(a).vehicles.map((v) => v.lat));
  });

  it('defaults to 500 vehicles of the four generated types around Tallinn, some parked', () => {
    const fleet = createFleet();
    const { vehicles } = snapshotAt(fleet);
    expect(vehicles).toHaveLength(500);
    expect(new Set(vehicles.map((v) => v.transportType))).toEqual(
      new Set(['bus', 'trolleybus', 'tram', 'ferry']),
    );
    const parked = vehicles.filter((v) => v.status === 'parked');
    expect(parked.length).toBeGreaterThan(5);
    expect(parked.length).toBeLessThan(60);
    for (const v of vehicles) {
      expect(Math.abs(v.lat - 59.437)).toBeLessThan(0.3);
      expect(Math.abs(v.lon - 24.7536)).toBeLessThan(0.3);
    }
    expect(new Set(vehicles.map((v) => v.vehicleId)).size).toBe(500);
  });

  it('moves on-duty vehicles at speeds within their type bounds, and never faster than the speed allows', () => {
    const fleet = createFleet({ vehicles: 400, seed: 5 });
    let before = snapshotAt(fleet).vehicles;
    let moved = 0;
    let stoppedOnDuty = 0;
    for (let s = 0; s < 60; s++) {
      step(fleet, 1_000);
      const after = snapshotAt(fleet).vehicles;
      for (const v of after) {
        const profile = TRANSPORT_PROFILES[v.transportType];
        expect(v.speed).toBeGreaterThanOrEqual(0);
        expect(v.speed).toBeLessThanOrEqual(profile.maxSpeed);
        // Straight-line displacement over one second is at most the distance driven.
        expect(distanceMetres(before[v.index]!, v)).toBeLessThanOrEqual(profile.maxSpeed + 0.5);
        if (v.status === 'on_duty' && v.speed > 0) {
          moved++;
          expect(v.speed).toBeGreaterThanOrEqual(profile.cruiseMin * 0.75 - 0.01);
        }
        if (v.status === 'on_duty' && v.speed === 0) stoppedOnDuty++;
      }
      before = after;
    }
    expect(moved).toBeGreaterThan(0);
    expect(stoppedOnDuty).toBeGreaterThan(0); // dwelling at stops
  });

  it('moves a vehicle along its route: positions change and stay on the route polyline', () => {
    const fleet = createFleet({ vehicles: 100, seed: 9 });
    const index = snapshotAt(fleet).vehicles.findIndex((v) => v.status === 'on_duty');
    const start = snapshotAt(fleet).vehicles[index]!;
    run(fleet, 600);
    const end = snapshotAt(fleet).vehicles[index]!;
    expect(distanceMetres(start, end)).toBeGreaterThan(100);
    expect(end.routeId).toBe(start.routeId);
    const route = fleet.network.routes[fleet.route[index]!]!;
    expect(fleet.distance[index]).toBeGreaterThanOrEqual(0);
    expect(fleet.distance[index]).toBeLessThanOrEqual(route.length);
  });

  it('keeps parked vehicles put, with no trip and speed 0', () => {
    const fleet = createFleet({ vehicles: 400, seed: 3 });
    const parked = snapshotAt(fleet).vehicles.filter((v) => v.status === 'parked');
    expect(parked.length).toBeGreaterThan(0);
    run(fleet, 300);
    const after = snapshotAt(fleet).vehicles;
    for (const v of parked) {
      const now = after[v.index]!;
      expect(now).toMatchObject({ lat: v.lat, lon: v.lon, speed: 0, tripId: undefined, status: 'parked' });
    }
  });

  it('burns fuel while driving and refuels at a terminus when low', () => {
    const fleet = createFleet({ vehicles: 50, seed: 11 });
    const index = snapshotAt(fleet).vehicles.findIndex(
      (v) => v.status === 'on_duty' && v.transportType === 'bus',
    );
    fleet.fuel[index] = 50;
    run(fleet, 600);
    expect(fleet.fuel[index]).toBeLessThan(50);
    fleet.fuel[index] = 5;
    // Long enough to reach a terminus (routes ≤ ~16 km at ≥ 5 m/s plus dwells).
    run(fleet, 7_200);
    expect(fleet.fuel[index]).toBeGreaterThan(50);
  });

  it('starts new trips at termini and keeps delays within bounds', () => {
    const fleet = createFleet({ vehicles: 100, seed: 4 });
    const trips = snapshotAt(fleet).vehicles.map((v) => v.tripId);
    run(fleet, 3_600);
    const after = snapshotAt(fleet).vehicles;
    expect(after.filter((v, i) => v.tripId !== trips[i]).length).toBeGreaterThan(10);
    for (const v of after) {
      expect(v.delay).toBeGreaterThanOrEqual(-300);
      expect(v.delay).toBeLessThanOrEqual(1800);
      expect(Number.isInteger(v.delay)).toBe(true);
    }
    // Trip ids are unique among vehicles on duty: vendor B's trip-only key is unambiguous.
    const onDuty = after.filter((v) => v.tripId);
    expect(new Set(onDuty.map((v) => v.tripId)).size).toBe(onDuty.length);
  });

  it('names trips like a timetable does: opaque ids of the route that say nothing of the vehicle', () => {
    const a = createFleet({ vehicles: 300, seed: 4 });
    // The same city with other fleet numbers: were any vehicle identity in the trip ids, they would differ.
    const b = createFleet({ vehicles: 300, seed: 4, firstFleetNumber: 7000 });
    run(a, 1_800);
    run(b, 1_800);
    const trips = snapshotAt(a).vehicles.map((v) => v.tripId);
    expect(snapshotAt(b).vehicles.map((v) => v.tripId)).toEqual(trips);
    for (const v of snapshotAt(a).vehicles) {
      if (v.status === 'parked') continue;
      expect(v.tripId).toMatch(new RegExp(`^${v.routeId}_[0-9a-z]{7}$`));
      expect(v.tripId).not.toContain(String(v.fleetNumber));
    }
  });

  it('steps 50,000 vehicles', () => {
    const fleet = createFleet({ vehicles: 50_000, seed: 1 });
    step(fleet, 1_000); // warm-up
    const started = performance.now();
    step(fleet, 1_000);
    const elapsed = performance.now() - started;
    console.log(`step of 50,000 vehicles: ${elapsed.toFixed(1)} ms`);
    const { vehicles } = snapshotAt(fleet);
    expect(vehicles).toHaveLength(50_000);
    expect(vehicles.every((v) => Number.isFinite(v.lat) && Number.isFinite(v.lon))).toBe(true);
    expect(new Set(vehicles.map((v) => v.vehicleId)).size).toBe(50_000);
  });
});
