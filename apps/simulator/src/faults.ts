// Faults on request, so collectors, the receiver and the composer can be seen coping with real vendor trouble:
// slow answers, 5xx, garbage payloads, vehicles one vendor forgets, and a vendor whose clock is off. The polled
// vendors' faults shape their HTTP answers; the pushing vendor's shape its pushes (see fuel-pusher.ts).

import type { VendorRecord } from '@transit-fusion/model';
import { hashUnit } from './random.js';
import type { VehicleTruth } from './fleet.js';
import { VENDOR_IDS, type VendorId } from './vendor-feeds.js';

export interface FaultSettings {
  /** Added to every answer of an affected polled vendor; before every push of the pushing one. */
  readonly latencyMs: number;
  /** Fraction of requests answered 503 (polled vendors only: a client has no answers to fail). */
  readonly errorRate: number;
  /** Fraction of answers with a corrupt body (and a 200); of pushes with a corrupt body. */
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

/** The ways a corrupt push is corrupt: mistakes real pushing vendors make. */
export const MALFORMED_PUSH_KINDS = ['truncated_json', 'observed_at_in_seconds', 'fuel_as_text'] as const;
export type MalformedPushKind = (typeof MALFORMED_PUSH_KINDS)[number];

/**
 * A push body the receiver's validation must refuse (400): JSON cut off mid-way, or one record with an invalid field
 * (`observedAt` in seconds instead of milliseconds, `fuel` as text with its unit). Out-of-range values such as a
 * latitude of 123 are not used: the receiver checks structure and types only, and the pipeline flags ranges.
 */
export function malformedPushBody(
  records: readonly VendorRecord[],
  random: () => number,
): { kind: MalformedPushKind; body: string } {
  const kind = MALFORMED_PUSH_KINDS[Math.floor(random() * MALFORMED_PUSH_KINDS.length)]!;
  if (kind === 'truncated_json' || records.length === 0) {
    const whole = JSON.stringify({ records });
    // Any proper prefix of a JSON object is invalid JSON: the closing brace is missing.
    return {
      kind: 'truncated_json',
      body: whole.slice(0, Math.floor(whole.length * (0.2 + random() * 0.6))),
    };
  }
  const bad = Math.floor(random() * records.length);
  const corrupt = records.map((record, i) => {
    if (i !== bad) return record;
    return kind === 'observed_at_in_seconds'
      ? { ...record, observedAt: Math.floor(record.observedAt / 1000) }
      : { ...record, fuel: `${record.fuel ?? 0} %` };
  });
  return { kind, body: JSON.stringify({ records: corrupt }) };
}
