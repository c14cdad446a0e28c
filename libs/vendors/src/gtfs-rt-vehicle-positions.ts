// GTFS-Realtime VehiclePositions → vendor records: where each vehicle is, which way it heads, how fast, on
// which trip. The usual feed of an AVL system ("vendor A" of the source system).

import type { VendorRecord, VehicleStatus } from '@transit-fusion/model';
import type { FeedResultBuilder } from './feed-result.js';
import { hasData, reject, type DecodeOptions, type FeedResult, type KeySource } from './feed-result.js';
import {
  decodeGtfsRtFeed,
  has,
  num,
  secondsToMs,
  text,
  VehicleStopStatus,
  type FeedEntity,
} from './gtfs-rt-feed.js';

/**
 * Decodes a VehiclePositions feed. Every entity becomes a record or a rejection; bytes that are not a
 * FeedMessage throw a VendorFeedError MALFORMED_FEED.
 */
export function decodeGtfsRtVehiclePositions(bytes: Uint8Array, options: DecodeOptions): FeedResult {
  return decodeGtfsRtFeed(bytes, options, vehicleRecord);
}

function vehicleRecord(
  entity: FeedEntity,
  builder: FeedResultBuilder,
  feedTimestamp: number | undefined,
): { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource } {
  if (entity.isDeleted) reject('NOT_APPLICABLE', 'entity is marked deleted');
  const vehicle = entity.vehicle;
  if (!has(entity, 'vehicle') || !vehicle) {
    reject('NOT_APPLICABLE', 'entity has no vehicle position (a trip update or alert?)');
  }
  const [vehicleKey, keySource] = keyOf(entity);

  const record: Omit<VendorRecord, 'vendorId' | 'vehicleKey' | 'observedAt'> = {};
  const position = has(vehicle, 'position') ? vehicle.position : undefined;
  if (position) {
    const lat = num(position, 'latitude');
    const lon = num(position, 'longitude');
    if (lat === undefined || lon === undefined)
      reject('INVALID_FIELD', 'position lacks latitude or longitude');
    record.position = { lat, lon };
    const bearing = num(position, 'bearing');
    if (bearing !== undefined) record.bearing = bearing;
    // GTFS-RT speed is metres per second already, as the model wants it.
    const speed = num(position, 'speed');
    if (speed !== undefined) record.speed = speed;
  }
  const trip = has(vehicle, 'trip') ? vehicle.trip : undefined;
  const tripId = text(trip, 'tripId');
  const routeId = text(trip, 'routeId');
  if (tripId !== undefined) record.tripId = tripId;
  if (routeId !== undefined) record.routeId = routeId;
  const status = statusOf(vehicle, tripId !== undefined || routeId !== undefined);
  if (status !== undefined) record.status = status;
  if (!hasData(record)) reject('NO_DATA', 'vehicle has no position, trip, route, speed or status');

  const observedAt = builder.observedAt(secondsToMs(vehicle, 'timestamp'), feedTimestamp);
  return { record: { vehicleKey, observedAt, ...record }, keySource };
}

function keyOf(entity: FeedEntity): [string, KeySource] {
  const descriptor = has(entity.vehicle, 'vehicle') ? entity.vehicle?.vehicle : undefined;
  const id = text(descriptor, 'id');
  if (id !== undefined) return [id, 'vehicle-id'];
  const label = text(descriptor, 'label');
  if (label !== undefined) return [label, 'vehicle-label'];
  const entityId = text(entity, 'id');
  if (entityId !== undefined) return [entityId, 'entity-id'];
  return reject('NO_VEHICLE_KEY', 'no vehicle id, vehicle label or entity id');
}

/**
 * Only a stop status on a vehicle running a trip says something: it is in service. Nothing in
 * VehiclePositions says "parked" reliably (occupancy NOT_BOARDING also covers deadheads and layovers), so
 * otherwise the status is left for the pipeline to infer.
 */
function statusOf(vehicle: NonNullable<FeedEntity['vehicle']>, onTrip: boolean): VehicleStatus | undefined {
  if (!onTrip || !has(vehicle, 'currentStatus')) return undefined;
  switch (vehicle.currentStatus) {
    case VehicleStopStatus.IN_TRANSIT_TO:
    case VehicleStopStatus.STOPPED_AT:
    case VehicleStopStatus.INCOMING_AT:
      return 'on_duty';
    default:
      return undefined;
  }
}
