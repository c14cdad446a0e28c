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
  snapshotAt,
  step,
} from './index.js';

// What the simulator serves must be what the adapters read and what the composer fuses: its four vendors, each
// keyed its own way, decoded by libs/vendors and composed by libs/pipeline with the registry the simulator wrote.
describe('simulator → vendor adapters → composition', () => {
  it('fuses every vehicle from all four vendors, with no unknown key and no unmatched trip', async () => {
    const fleet = createFleet({ vehicles: 300, seed: 11 });
    for (let i = 0; i < 30; i++) step(fleet, 1_000);
    const { vehicles, timestampMs } = snapshotAt(fleet);

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
      registry: parseFleetRegistry(fleetRegistryDocument(vehicles)),
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
  });
});
