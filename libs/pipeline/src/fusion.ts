// Fusing one vendor record into a vehicle, field by field. Conflicts resolve deterministically: the newest
// observation wins; on equal times the vendor with the better (lower) priority rank wins; on equal rank (duplicate
// records of one vendor) the first one seen stays. The winner of each field is recorded in `vehicle.sources`.
//
// This is the composer's hottest loop (fields × records × vehicles every second), so it is written for V8:
// vehicles come from the model's createVehicle (every key present, one hidden class, monomorphic access), fields
// are handled one by one instead of through keyed access, and the fields one record wins share one FieldSource
// object (mark-freshness copies before marking one stale).

import {
  QualityFlag,
  type FieldSource,
  type Position,
  type VendorRecord,
  type Vehicle,
} from '@transit-fusion/model';

export type RankOf = ReadonlyMap<string, number>;

/**
 * Whether the record's observation replaces the current one; flags a conflict when another vendor disagrees.
 * Ranks are only looked up on equal times, which are rare.
 */
function wins(
  vehicle: Vehicle,
  current: FieldSource | undefined,
  record: VendorRecord,
  rank: number,
  rankOf: RankOf,
  same: boolean,
): boolean {
  if (current === undefined) return true;
  if (!same && current.vendorId !== record.vendorId) vehicle.quality |= QualityFlag.Conflict;
  if (record.observedAt !== current.observedAt) return record.observedAt > current.observedAt;
  return rank < rankOf.get(current.vendorId)!;
}

function samePosition(a: Position | undefined, b: Position): boolean {
  return a !== undefined && a.lat === b.lat && a.lon === b.lon;
}

export function fuseRecord(v: Vehicle, r: VendorRecord, rank: number, rankOf: RankOf): void {
  const s = v.sources;
  // One source object for every field this record wins; no closure here (closures allocate per call).
  let src: FieldSource | undefined;
  if (
    r.position !== undefined &&
    wins(v, s.position, r, rank, rankOf, samePosition(v.position, r.position))
  ) {
    v.position = r.position;
    s.position = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.bearing !== undefined && wins(v, s.bearing, r, rank, rankOf, v.bearing === r.bearing)) {
    v.bearing = r.bearing;
    s.bearing = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.speed !== undefined && wins(v, s.speed, r, rank, rankOf, v.speed === r.speed)) {
    v.speed = r.speed;
    s.speed = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.delay !== undefined && wins(v, s.delay, r, rank, rankOf, v.delay === r.delay)) {
    v.delay = r.delay;
    s.delay = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.fuel !== undefined && wins(v, s.fuel, r, rank, rankOf, v.fuel === r.fuel)) {
    v.fuel = r.fuel;
    s.fuel = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.routeId !== undefined && wins(v, s.routeId, r, rank, rankOf, v.routeId === r.routeId)) {
    v.routeId = r.routeId;
    s.routeId = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.tripId !== undefined && wins(v, s.tripId, r, rank, rankOf, v.tripId === r.tripId)) {
    v.tripId = r.tripId;
    s.tripId = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
  if (r.status !== undefined && wins(v, s.status, r, rank, rankOf, v.status === r.status)) {
    v.status = r.status;
    s.status = src ??= { vendorId: r.vendorId, observedAt: r.observedAt };
  }
}
