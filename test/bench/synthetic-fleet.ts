// A synthetic fleet seen by four vendors keyed four ways, like the source system's A–D: A positions by GTFS
// vehicle id, B delays by trip, C fuel by fleet number, D speed by tracker IMEI. Deterministic from a seed.

import type { TransportSnapshot, TransportType, VendorRecord, VendorSnapshot } from '@transit-fusion/model';
import { seededRandom } from '@transit-fusion/testing';
import {
  createCompositionEngine,
  createFleetRegistry,
  defaultSteps,
  type FleetEntry,
  type FleetRegistry,
  type VendorRule,
} from '@transit-fusion/pipeline';

export const VENDOR_RULES: VendorRule[] = [
  { vendorId: 'positions', match: { by: 'key' } },
  { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
  { vendorId: 'fuel', match: { by: 'key' } },
  { vendorId: 'speed', match: { by: 'key' } },
];

export interface SyntheticFleet {
  registry: FleetRegistry;
  snapshots: VendorSnapshot[];
  now: number;
}

const TYPES: TransportType[] = [
  'bus',
  'bus',
  'bus',
  'bus',
  'bus',
  'bus',
  'trolleybus',
  'tram',
  'tram',
  'ferry',
];

export function syntheticFleet(n: number, seed = 1): SyntheticFleet {
  const random = seededRandom(seed);
  const now = Date.UTC(2026, 10, 21, 8, 47, 0);
  const entries: FleetEntry[] = [];
  const positions: VendorRecord[] = [];
  const delays: VendorRecord[] = [];
  const fuel: VendorRecord[] = [];
  const speed: VendorRecord[] = [];
  for (let i = 0; i < n; i++) {
    const type = TYPES[i % TYPES.length]!;
    const fleetNumber = String(10_000 + i);
    const imei = String(350_000_000_000_000 + i * 7);
    const tripId = `trip-${i}-${Math.floor(random() * 40)}`;
    const routeId = `${type[0]!.toUpperCase()}${1 + (i % 90)}`;
    entries.push({
      vehicleId: `${type}-${fleetNumber}`,
      label: fleetNumber,
      transportType: type,
      keys: { positions: `gtfs-${i}`, fuel: fleetNumber, speed: imei },
    });
    const seen = () => now - Math.floor(random() * 5000);
    // 2 % of vehicles are missing from one vendor: real fleets are never complete.
    if (i % 50 !== 1) {
      positions.push({
        vendorId: 'positions',
        vehicleKey: `gtfs-${i}`,
        observedAt: seen(),
        position: { lat: round6(59.3 + random() * 0.2), lon: round6(24.6 + random() * 0.3) },
        bearing: Math.floor(random() * 360),
        routeId,
        tripId,
      });
    }
    if (i % 50 !== 2)
      delays.push({
        vendorId: 'delays',
        vehicleKey: `tu-${i}`,
        observedAt: seen(),
        tripId,
        delay: Math.floor(random() * 600) - 120,
      });
    if (type !== 'tram' && type !== 'trolleybus')
      fuel.push({
        vendorId: 'fuel',
        vehicleKey: fleetNumber,
        observedAt: seen(),
        fuel: round1(random() * 100),
      });
    if (i % 50 !== 3)
      speed.push({ vendorId: 'speed', vehicleKey: imei, observedAt: seen(), speed: round1(random() * 16) });
  }
  const snapshot = (vendorId: string, records: VendorRecord[]): VendorSnapshot => ({
    vendorId,
    sequence: 1,
    collectedAt: now - 200,
    records,
  });
  return {
    registry: createFleetRegistry(entries),
    snapshots: [
      snapshot('positions', positions),
      snapshot('delays', delays),
      snapshot('fuel', fuel),
      snapshot('speed', speed),
    ],
    now,
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** A realistic composed snapshot of n vehicles: the synthetic fleet through the default pipeline. */
export async function createPipelineSnapshot(n: number): Promise<TransportSnapshot> {
  const fleet = syntheticFleet(n);
  const engine = createCompositionEngine({
    vendors: VENDOR_RULES,
    steps: defaultSteps(),
    clock: { now: () => fleet.now },
  });
  return (await engine.compose({ sequence: 1, snapshots: fleet.snapshots, registry: fleet.registry }))
    .snapshot;
}
