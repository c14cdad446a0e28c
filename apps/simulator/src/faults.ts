// Faults on request, so collectors, the receiver and the composer can be seen coping with real vendor trouble:
// slow answers, 5xx, garbage payloads, vehicles one vendor forgets, and a vendor whose clock is off.

import { hashUnit } from './random.js';
import type { VehicleTruth } from './fleet.js';
import { VENDOR_IDS, type VendorId } from './vendor-feeds.js';

export interface FaultSettings {
  /** Added to every answer of an affected vendor. */
  readonly latencyMs: number;
  /** Fraction of requests answered 503. */
  readonly errorRate: number;
  /** Fraction of requests answered with a corrupt body (and a 200). */
  readonly malformedRate: number;
  /** Fraction of vehicles the vendor never reports (the same vehicles every time). */
  readonly missingFraction: number;
  /** Added to the vendor's timestamps. */
  readonly clockSkewMs: number;
  /** Vendors the faults apply to. */
  readonly vendors: readonly VendorId[];
}

export const NO_FAULTS: FaultSettings = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  malformedRate: 0,
  missingFraction: 0,
  clockSkewMs: 0,
  vendors: VENDOR_IDS,
});

export function faultsFor(settings: FaultSettings, vendor: VendorId): FaultSettings {
  return settings.vendors.includes(vendor) ? settings : NO_FAULTS;
}

/** The vehicles a vendor reports: a stable per-vendor subset when some go missing. */
export function vendorVehicles(
  vehicles: readonly VehicleTruth[],
  vendor: VendorId,
  faults: FaultSettings,
): readonly VehicleTruth[] {
  const missing = faultsFor(faults, vendor).missingFraction;
  if (missing <= 0) return vehicles;
  const salt = VENDOR_IDS.indexOf(vendor) + 1;
  return vehicles.filter((v) => hashUnit(v.index, salt) >= missing);
}

/** A corrupt payload of the vendor's kind: random bytes for protobuf, truncated XML for SIRI. */
export function malformedBody(vendor: VendorId, random: () => number): Buffer {
  if (vendor === 'speed') {
    return Buffer.from('<?xml version="1.0"?><Siri><ServiceDelivery><VehicleMonitoringDelivery><VehicleAct');
  }
  const bytes = Buffer.alloc(64);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  // 0xff as the first byte is an invalid protobuf tag (field 31, wire type 7), so decoding always fails.
  bytes[0] = 0xff;
  return bytes;
}
