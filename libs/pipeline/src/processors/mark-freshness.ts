// Post-processor: a field whose observation is older than the freshness age is marked stale on its source, and
// the vehicle flagged, so clients show it as old rather than current. The value is kept: an old position still
// says where the bus was last seen.

import { FUSED_FIELDS, QualityFlag, type FieldSource, type FusedField } from '@transit-fusion/model';
import type { Processor } from '../processor.js';

export interface FreshnessOptions {
  /** Default age limit, ms. Default 90 s (GTFS-Realtime's bound for vehicle positions). */
  readonly maxAgeMs?: number;
  /** Per-field overrides, e.g. fuel changes slowly: `{ fuel: 600_000 }`. */
  readonly fieldMaxAgeMs?: Readonly<Partial<Record<FusedField, number>>>;
}

export function markFreshness(options: FreshnessOptions = {}): Processor {
  const fallback = options.maxAgeMs ?? 90_000;
  const age = (field: FusedField) => options.fieldMaxAgeMs?.[field] ?? fallback;
  const [position, bearing, speed, delay, fuel, routeId, tripId, status] = FUSED_FIELDS.map(age) as number[];
  return {
    name: 'mark-freshness',
    process(vehicles, context) {
      // Oldest acceptable observation time per field. Unrolled per field: this runs for every vehicle every second.
      const now = context.now;
      const t = [
        now - position!,
        now - bearing!,
        now - speed!,
        now - delay!,
        now - fuel!,
        now - routeId!,
        now - tripId!,
        now - status!,
      ] as const;
      let staleVehicles = 0;
      for (const v of vehicles) {
        const s = v.sources;
        let stale = false;
        if (s.position !== undefined && s.position.observedAt < t[0]) {
          s.position = staled(s.position);
          stale = true;
        }
        if (s.bearing !== undefined && s.bearing.observedAt < t[1]) {
          s.bearing = staled(s.bearing);
          stale = true;
        }
        if (s.speed !== undefined && s.speed.observedAt < t[2]) {
          s.speed = staled(s.speed);
          stale = true;
        }
        if (s.delay !== undefined && s.delay.observedAt < t[3]) {
          s.delay = staled(s.delay);
          stale = true;
        }
        if (s.fuel !== undefined && s.fuel.observedAt < t[4]) {
          s.fuel = staled(s.fuel);
          stale = true;
        }
        if (s.routeId !== undefined && s.routeId.observedAt < t[5]) {
          s.routeId = staled(s.routeId);
          stale = true;
        }
        if (s.tripId !== undefined && s.tripId.observedAt < t[6]) {
          s.tripId = staled(s.tripId);
          stale = true;
        }
        if (s.status !== undefined && s.status.observedAt < t[7]) {
          s.status = staled(s.status);
          stale = true;
        }
        if (stale) {
          v.quality |= QualityFlag.Stale;
          staleVehicles++;
        }
      }
      if (staleVehicles > 0) context.count('mark-freshness.stale-vehicles', staleVehicles);
    },
  };
}

/**
 * A stale copy, never a mutation: the fields one record won share one source object (see fusion.ts) and
 * per-field ages may judge them differently.
 */
function staled(source: FieldSource): FieldSource {
  return source.stale ? source : { vendorId: source.vendorId, observedAt: source.observedAt, stale: true };
}
