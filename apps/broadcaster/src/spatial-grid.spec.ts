// The spatial grid only prunes: a boxed view filtering the grid's candidates must accept exactly what a scan of
// the whole fleet accepts, in the same order, for any positions and boxes (edges on vehicles, one place for all,
// boxes outside the fleet, positions missing or not finite).

import type { Vehicle } from '@transit-fusion/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLiveViews } from './live-views.js';
import { accepts, applyProfile, profileFilter, type Profile } from './profile.js';
import { spatialGridOf } from './spatial-grid.js';

const LONS = [24.5, 24.7, 24.75, 24.8, 25];
const LATS = [59.3, 59.4, 59.43, 59.5];
const coordinate = (values: number[], min: number, max: number) =>
  fc.oneof(fc.constantFrom(...values), fc.double({ min, max, noNaN: true }));
const position = fc.oneof(
  { weight: 8, arbitrary: fc.record({ lon: coordinate(LONS, 24, 25.5), lat: coordinate(LATS, 59, 60) }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant({ lon: Number.NaN, lat: 59.4 }) },
);
const box = fc
  .tuple(
    coordinate(LONS, 24, 25.5),
    coordinate(LONS, 24, 25.5),
    coordinate(LATS, 59, 60),
    coordinate(LATS, 59, 60),
  )
  .map(([a, b, c, d]) => [Math.min(a, b), Math.min(c, d), Math.max(a, b), Math.max(c, d)] as const);

const vehicleAt = (i: number, p: { lon: number; lat: number } | undefined): Vehicle => ({
  id: `v${i}`,
  transportType: 'bus',
  status: 'on_duty',
  ...(p ? { position: p } : {}),
  sources: {},
  quality: 0,
});

describe('spatial grid', () => {
  it('gives candidates whose filtering is exactly a full scan, in snapshot order', () => {
    fc.assert(
      fc.property(
        fc.array(position, { maxLength: 300 }),
        fc.array(box, { minLength: 1, maxLength: 5 }),
        (positions, boxes) => {
          const vehicles = positions.map((p, i) => vehicleAt(i, p));
          const grid = spatialGridOf(vehicles);
          for (const [minLon, minLat, maxLon, maxLat] of boxes) {
            const filter = profileFilter({
              transportTypes: [],
              onDutyOnly: false,
              fields: [],
              bbox: [minLon, minLat, maxLon, maxLat],
            });
            const candidates = [...grid.candidates(minLon, minLat, maxLon, maxLat)];
            expect(candidates).toEqual([...candidates].sort((a, b) => a - b));
            const scanned = vehicles.flatMap((v, i) => (accepts(filter, v) ? [i] : []));
            expect(candidates.filter((i) => accepts(filter, vehicles[i]!))).toEqual(scanned);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('looks at the cells a box overlaps, not the fleet', () => {
    // 10,000 vehicles over a city; a box of a 5 × 4 grid of areas holds about a twentieth of them.
    const vehicles = Array.from({ length: 10_000 }, (_, i) =>
      vehicleAt(i, {
        lon: 24.5 + ((i * 7919) % 10_000) / 20_000,
        lat: 59.3 + ((i * 104_729) % 10_000) / 50_000,
      }),
    );
    const candidates = spatialGridOf(vehicles).candidates(24.5, 59.3, 24.6, 59.35);
    const inside = vehicles.filter((v) => v.position!.lon <= 24.6 && v.position!.lat <= 59.35).length;
    expect(inside).toBeGreaterThan(400);
    expect(candidates.length).toBeGreaterThanOrEqual(inside);
    expect(candidates.length).toBeLessThan(2 * inside);
  });

  it('leaves boxed views with exactly the vehicles of the profile, as vehicles move between cells', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(position, { minLength: 40, maxLength: 40 }), { minLength: 3, maxLength: 3 }),
        box,
        (ticks, [minLon, minLat, maxLon, maxLat]) => {
          const views = createLiveViews();
          const boxed: Profile = {
            transportTypes: [],
            onDutyOnly: false,
            fields: [],
            bbox: [minLon, minLat, maxLon, maxLat],
          };
          const view = views.acquire(boxed)!;
          let held = new Map<string, Vehicle>();
          ticks.forEach((positions, t) => {
            const vehicles = positions.map((p, i) => vehicleAt(i, p));
            views.publish({ sequence: t + 1, generatedAt: t * 1_000, sources: [], vehicles });
            const expected = applyProfile(vehicles, boxed);
            expect(view.current()!.vehicles).toEqual(expected);
            // What a subscriber holds after applying the update is the view.
            const update = view.latest()!;
            if (update.keyframe) held = new Map();
            for (const id of update.removed) held.delete(id);
            for (const v of update.vehicles) held.set(v.id, v);
            expect([...held.keys()].sort()).toEqual(expected.map((v) => v.id).sort());
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
