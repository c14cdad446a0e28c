// Deterministic, realistic snapshots for the codec specs and throwaway benchmarks: a seeded generator, so a
// failing size or round-trip assertion reproduces exactly.

import {
  FUSED_FIELDS,
  QualityFlag,
  TRANSPORT_TYPES,
  type FieldSource,
  type FieldSources,
  type TransportSnapshot,
  type Vehicle,
  type VendorRecord,
  type VendorSnapshot,
} from '@transit-fusion/model';
import { seededRandom } from '@transit-fusion/testing';
import { Packr, Unpackr } from 'msgpackr';

export { seededRandom };

export const GENERATED_AT = Date.UTC(2026, 10, 21, 8, 47, 0);
export const VENDORS = ['gtfs-rt-city', 'fleet-tracker', 'ticketing', 'depot-telemetry'] as const;

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export interface VehicleShape {
  position?: boolean;
  fuel?: boolean;
  label?: boolean;
}

/**
 * A fused vehicle built the way a composer would (fields added in order, no deletes): every field unless
 * `shape` leaves one out, sources from the four vendors, observed 0-5 s before generatedAt.
 */
export function fullVehicle(i: number, random: () => number, shape: VehicleShape = {}): Vehicle {
  const type = TRANSPORT_TYPES[i % 4]!;
  const hasPosition = shape.position ?? true;
  const hasFuel = shape.fuel ?? true;
  const sources: FieldSources = {};
  for (let f = 0; f < FUSED_FIELDS.length; f++) {
    const field = FUSED_FIELDS[f]!;
    if ((field === 'position' || field === 'status') && !hasPosition) continue;
    if (field === 'fuel' && !hasFuel) continue;
    const source: FieldSource = {
      vendorId: VENDORS[(i + f) % VENDORS.length]!,
      observedAt: GENERATED_AT - Math.floor(random() * 5000),
    };
    if (random() < 0.05) source.stale = true;
    sources[field] = source;
  }
  const v: Vehicle = {
    id: `${type}-${String(i).padStart(5, '0')}`,
    transportType: type,
    status: hasPosition ? 'on_duty' : 'parked',
    sources,
    quality: random() < 0.1 ? QualityFlag.Partial | QualityFlag.Stale : 0,
  };
  if (shape.label ?? i % 3 === 0) v.label = String(1000 + i);
  if (hasPosition) v.position = { lat: round6(52.3 + random() * 0.4), lon: round6(4.7 + random() * 0.4) };
  v.bearing = Math.round(random() * 3600) / 10;
  v.speed = Math.round(random() * 200) / 10;
  v.delay = Math.round(random() * 600) - 120;
  if (hasFuel) v.fuel = Math.round(random() * 1000) / 10;
  v.routeId = `R${(i % 120) + 1}`;
  v.tripId = `T${i % 120}-${Math.floor(random() * 90000) + 10000}`;
  return v;
}

/** A vehicle the registry knows but no vendor currently reports anything but its status for. */
export function minimalVehicle(i: number): Vehicle {
  return {
    id: `tram-${String(i).padStart(5, '0')}`,
    transportType: 'tram',
    status: 'unknown',
    sources: {},
    quality: 0,
  };
}

/** A realistic network: mostly full vehicles, some parked without position, some without fuel, a few bare. */
export function transportSnapshot(vehicleCount: number, seed = 42): TransportSnapshot {
  const random = seededRandom(seed);
  const vehicles: Vehicle[] = [];
  for (let i = 0; i < vehicleCount; i++) {
    vehicles.push(
      i % 50 === 49
        ? minimalVehicle(i)
        : fullVehicle(i, random, { position: i % 11 !== 0, fuel: i % 7 !== 0 }),
    );
  }
  return {
    sequence: 123_456,
    generatedAt: GENERATED_AT,
    sources: VENDORS.map((vendorId, k) => ({
      vendorId,
      sequence: 9000 + k,
      collectedAt: GENERATED_AT - 400 - k * 100,
      recordCount: Math.max(0, vehicleCount - k),
    })),
    vehicles,
  };
}

export function vendorSnapshot(recordCount: number, seed = 7): VendorSnapshot {
  const random = seededRandom(seed);
  const vendorId = VENDORS[0];
  const records: VendorRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    const record: VendorRecord = {
      vendorId,
      vehicleKey: `veh-${i}`,
      observedAt: GENERATED_AT - Math.floor(random() * 30_000),
    };
    if (i % 2 === 0) record.transportType = TRANSPORT_TYPES[i % TRANSPORT_TYPES.length]!;
    if (i % 5 !== 0) record.position = { lat: round6(52 + random()), lon: round6(4.5 + random()) };
    if (i % 3 !== 0) record.bearing = Math.round(random() * 359);
    if (i % 4 !== 0) record.speed = Math.round(random() * 150) / 10;
    if (i % 6 === 0) record.delay = -30 + Math.round(random() * 300);
    if (i % 9 === 0) record.fuel = 55.5;
    if (i % 2 === 1) record.routeId = `R${i % 40}`;
    if (i % 8 === 1) record.tripId = `T-${i}`;
    if (i % 10 === 3) record.status = 'parked';
    records.push(record);
  }
  return { vendorId, sequence: 77, collectedAt: GENERATED_AT, records };
}

/** The payload of a blob as plain data, read by a fresh Unpackr: what any other process would see. */
export function rawPayload(blob: Uint8Array): Record<string, unknown> {
  return new Unpackr().unpack(blob.subarray(8)) as Record<string, unknown>;
}

/**
 * A hand-made blob: a valid header (unless overridden) around `value` packed by a fresh Packr, so specs can
 * feed the decoders wire data the encoder would never write.
 */
export function craftBlob(
  kind: 'transport' | 'vendor',
  value: unknown,
  header: { magic?: string; version?: number; kindByte?: number } = {},
): Uint8Array {
  // moreTypes, as the codec packs: without it msgpackr truncates typed-array columns into bytes.
  const payload = new Packr({ moreTypes: true }).pack(value);
  const out = new Uint8Array(8 + payload.length);
  const magic = header.magic ?? 'TF';
  out[0] = magic.charCodeAt(0);
  out[1] = magic.charCodeAt(1);
  out[2] = header.version ?? 1;
  out[3] = header.kindByte ?? (kind === 'transport' ? 1 : 2);
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}
