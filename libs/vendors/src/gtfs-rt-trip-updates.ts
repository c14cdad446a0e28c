// GTFS-Realtime TripUpdates → vendor records: how late each trip runs ("vendor B" of the source system).
// Keyed by the vehicle when the feed names one; otherwise by the trip id, which the record also carries as
// tripId so the composer can match it to a vehicle by trip.

import type { VendorRecord } from '@transit-fusion/model';
import type { FeedResultBuilder } from './feed-result.js';
import { hasData, reject, type DecodeOptions, type FeedResult, type KeySource } from './feed-result.js';
import {
  decodeGtfsRtFeed,
  has,
  num,
  secondsToMs,
  StopTimeScheduleRelationship,
  text,
  type FeedEntity,
} from './gtfs-rt-feed.js';

type TripUpdate = NonNullable<FeedEntity['tripUpdate']>;

/**
 * Decodes a TripUpdates feed. Every entity becomes a record or a rejection; bytes that are not a FeedMessage
 * throw a VendorFeedError MALFORMED_FEED.
 */
export function decodeGtfsRtTripUpdates(bytes: Uint8Array, options: DecodeOptions): FeedResult {
  return decodeGtfsRtFeed(bytes, options, tripRecord);
}

function tripRecord(
  entity: FeedEntity,
  builder: FeedResultBuilder,
  feedTimestamp: number | undefined,
): { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource } {
  if (entity.isDeleted) reject('NOT_APPLICABLE', 'entity is marked deleted');
  const update = entity.tripUpdate;
  if (!has(entity, 'tripUpdate') || !update) {
    reject('NOT_APPLICABLE', 'entity has no trip update (a vehicle position or alert?)');
  }
  const tripId = text(update.trip, 'tripId');
  const routeId = text(update.trip, 'routeId');
  const vehicleId = text(has(update, 'vehicle') ? update.vehicle : undefined, 'id');
  let key: [string, KeySource];
  if (vehicleId !== undefined) key = [vehicleId, 'vehicle-id'];
  else if (tripId !== undefined) key = [tripId, 'trip-id'];
  else return reject('NO_VEHICLE_KEY', 'trip update names neither a vehicle id nor a trip id');

  const record: Omit<VendorRecord, 'vendorId' | 'vehicleKey' | 'observedAt'> = {};
  if (tripId !== undefined) record.tripId = tripId;
  if (routeId !== undefined) record.routeId = routeId;
  const delay = delayOf(update);
  if (delay !== undefined) record.delay = delay;
  if (!hasData(record)) reject('NO_DATA', 'trip update has no trip id, route id or delay');

  const observedAt = builder.observedAt(secondsToMs(update, 'timestamp'), feedTimestamp);
  return { record: { vehicleKey: key[0], observedAt, ...record }, keySource: key[1] };
}

/**
 * The trip's delay in seconds: `trip_update.delay` when the feed sets it (the spec's own "current delay");
 * else the first stop-time update, in feed order, with a delay set — arrival before departure — skipping
 * SKIPPED and NO_DATA stops. Producers list upcoming stops first and drop passed ones, so that is the
 * prediction nearest the vehicle. Feeds that give only absolute times (Caltrain) yield no delay: turning
 * times into delays needs the static schedule, which is the composer's business, not a feed decoder's.
 */
function delayOf(update: TripUpdate): number | undefined {
  const own = num(update, 'delay');
  if (own !== undefined) return own;
  for (const stop of update.stopTimeUpdate ?? []) {
    const relationship = has(stop, 'scheduleRelationship') ? stop.scheduleRelationship : undefined;
    if (
      relationship === StopTimeScheduleRelationship.SKIPPED ||
      relationship === StopTimeScheduleRelationship.NO_DATA
    ) {
      continue;
    }
    const arrival = num(has(stop, 'arrival') ? stop.arrival : undefined, 'delay');
    if (arrival !== undefined) return arrival;
    const departure = num(has(stop, 'departure') ? stop.departure : undefined, 'delay');
    if (departure !== undefined) return departure;
  }
  return undefined;
}
