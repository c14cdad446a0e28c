// Builders for pipeline tests: a small fleet keyed differently by four vendors, like the source system's A–D.

import type { VendorRecord, VendorSnapshot } from '@transit-fusion/model';
import { createFleetRegistry, type FleetEntry, type VendorRule } from '../src/index.js';

export const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);

export const fixedClock = (now = T0) => ({ now: () => now });

export const RULES: VendorRule[] = [
  { vendorId: 'A', match: { by: 'key' } }, // positions, keyed by GTFS vehicle id
  { vendorId: 'B', match: { by: 'attribute', attribute: 'tripId' } }, // delays, by trip
  { vendorId: 'C', match: { by: 'key' } }, // fuel, keyed by fleet number
  { vendorId: 'D', match: { by: 'key' } }, // speed, keyed by tracker IMEI
];

export const FLEET: FleetEntry[] = [
  { vehicleId: 'bus-1', label: '1001', transportType: 'bus', keys: { A: 'g1', C: '1001', D: '35000001' } },
  { vehicleId: 'bus-2', label: '1002', transportType: 'bus', keys: { A: 'g2', C: '1002', D: '35000002' } },
  { vehicleId: 'tram-7', transportType: 'tram', keys: { A: 'g7', D: '35000007' } },
  { vehicleId: 'ferry-9', keys: { A: 'g9' } },
];

export const registry = () => createFleetRegistry(FLEET);

export function rec(vendorId: string, vehicleKey: string, fields: Partial<VendorRecord> = {}): VendorRecord {
  return { vendorId, vehicleKey, observedAt: T0 - 1000, ...fields };
}

export function snap(vendorId: string, records: VendorRecord[], sequence = 1): VendorSnapshot {
  return { vendorId, sequence, collectedAt: T0 - 500, records };
}
