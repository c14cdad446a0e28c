import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QualityFlag } from '@transit-fusion/model';
import { createCompositionEngine, defaultSteps, parseFleetRegistry } from '@transit-fusion/pipeline';
import {
  decodeGtfsRtTripUpdates,
  decodeGtfsRtVehiclePositions,
  parseSiriVm,
  toVendorSnapshot,
  type FeedResult,
} from '@transit-fusion/vendors';
import { describe, expect, it } from 'vitest';
import {
  createFleet,
  encodeSiriVm,
  encodeTripUpdates,
  encodeVehiclePositions,
  fleetRegistryDocument,
  fuelRecords,
  networkFromGtfsZip,
  snapshotAt,
  step,
  type FleetState,
} from './index.js';

const CALTRAIN = fileURLToPath(new URL('../../../../shared/data/gtfs/caltrain-gtfs.zip', import.meta.url));
if (!existsSync(CALTRAIN)) console.log(`skipping the Caltrain round trip: no ${CALTRAIN}`);

// What the simulator serves must be what the adapters read and what the composer fuses: its four vendors, each
// keyed its own way, decoded by libs/vendors and composed by libs/pipeline with the registry the simulator wrote.
// Trip ids carry no vehicle identity (timetable or opaque ids) and the registry has no trip keys: vendor B's delays
// reach their vehicles only the way real ones do, through the trip vendor A reports for each vehicle.
describe('simulator → vendor adapters → composition', () => {
  it('fuses every vehicle from all four vendors, with no unknown key and no unmatched trip', async () => {
    const fleet = createFleet({ vehicles: 300, seed: 11 });
    for (let i = 0; i < 30; i++) step(fleet, 1_000);
    await expectFused(fleet);
  });

  it.skipIf(!existsSync(CALTRAIN))('does the same driving Caltrain, on its timetable trip ids', async () => {
    const network = networkFromGtfsZip(readFileSync(CALTRAIN));
    const fleet = createFleet({ vehicles: 120, seed: 11, network });
    for (let i = 0; i < 30; i++) step(fleet, 1_000);
    await expectFused(fleet);
  });
});

/** Encodes the fleet as the four vendors, decodes it with the adapters and checks the composer fuses it all. */
async function expectFused(fleet: FleetState): Promise<void> {
  const { vehicles, timestampMs } = snapshotAt(fleet);
  const registryDocument = fleetRegistryDocument(vehicles);
  const tripIds = new Set(vehicles.map((v) => v.tripId).filter((t) => t !== undefined));
  expect(tripIds.size).toBeGreaterThan(vehicles.length / 2);
  for (const entry of registryDocument.vehicles) {
    expect(Object.keys(entry.keys)).not.toContain('delays');
    for (const key of [entry.vehicleId, entry.label, ...Object.values(entry.keys)])
      expect(tripIds.has(key)).toBe(false);
  }

  const snapshot = (vendorId: string, result: FeedResult) => {
    expect(result.rejected).toEqual([]);
    return toVendorSnapshot(result, { vendorId, sequence: 1, collectedAt: timestampMs });
  };
  const positions = decodeGtfsRtVehiclePositions(encodeVehiclePositions(vehicles, timestampMs), {
    vendorId: 'positions',
  });
  const delays = decodeGtfsRtTripUpdates(encodeTripUpdates(vehicles, timestampMs), { vendorId: 'delays' });
  const speed = parseSiriVm(encodeSiriVm(vehicles, timestampMs), { vendorId: 'speed' });
  const fuel = fuelRecords(vehicles, timestampMs);

  const engine = createCompositionEngine({
    vendors: [
      { vendorId: 'positions', match: { by: 'key' } },
      { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
      { vendorId: 'fuel', match: { by: 'key' } },
      { vendorId: 'speed', match: { by: 'key' } },
    ],
    steps: defaultSteps(),
    clock: { now: () => timestampMs },
  });
  const { snapshot: fused, report } = await engine.compose({
    sequence: 1,
    registry: parseFleetRegistry(registryDocument),
    snapshots: [
      snapshot('positions', positions),
      snapshot('delays', delays),
      toVendorSnapshot({ records: fuel, keySources: [], rejected: [] } as unknown as FeedResult, {
        vendorId: 'fuel',
        sequence: 1,
        collectedAt: timestampMs,
      }),
      snapshot('speed', speed),
    ],
  });

  for (const vendor of report.vendors) {
    expect(vendor, vendor.vendorId).toMatchObject({
      present: true,
      unknownKeys: 0,
      unmatched: 0,
      ambiguous: 0,
    });
  }
  expect(fused.vehicles).toHaveLength(vehicles.length);
  const truth = new Map(vehicles.map((v) => [v.vehicleId, v]));
  for (const v of fused.vehicles) {
    const t = truth.get(v.id)!;
    expect(v.transportType).toBe(t.transportType);
    expect(v.position!.lat).toBeCloseTo(t.lat, 5);
    expect(v.sources.position?.vendorId).toBe('positions');
    expect(v.sources.speed?.vendorId).toBeDefined();
    expect(v.fuel).toBeCloseTo(t.fuel, 1);
    expect(v.quality & QualityFlag.Partial).toBe(0);
    if (t.tripId !== undefined) {
      expect(v.tripId).toBe(t.tripId);
      expect(v.delay).toBe(t.delay);
      expect(v.sources.delay?.vendorId).toBe('delays');
    }
  }
}
