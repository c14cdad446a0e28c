// The fused fleet as a GTFS-Realtime VehiclePositions feed, so trip planners (OpenTripPlanner, OneBusAway) can
// consume it: one entity per vehicle with a position, keyed by the canonical vehicle id, with its trip and route,
// bearing, speed (m/s, as GTFS-RT wants) and the position's observation time.

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import type { TransportSnapshot, Vehicle } from '@transit-fusion/model';

const { transit_realtime } = GtfsRealtimeBindings;

export function vehiclePositionsFeed(
  snapshot: Pick<TransportSnapshot, 'generatedAt'>,
  vehicles: readonly Vehicle[],
) {
  const entity = [];
  for (const v of vehicles) {
    const p = v.position;
    if (!p) continue;
    const observedAt = v.sources.position?.observedAt ?? snapshot.generatedAt;
    entity.push({
      id: v.id,
      vehicle: {
        vehicle: { id: v.id, ...(v.label !== undefined ? { label: v.label } : {}) },
        ...(v.tripId !== undefined || v.routeId !== undefined
          ? {
              trip: {
                ...(v.tripId !== undefined ? { tripId: v.tripId } : {}),
                ...(v.routeId !== undefined ? { routeId: v.routeId } : {}),
              },
            }
          : {}),
        position: {
          latitude: p.lat,
          longitude: p.lon,
          ...(v.bearing !== undefined ? { bearing: v.bearing } : {}),
          ...(v.speed !== undefined ? { speed: v.speed } : {}),
        },
        timestamp: Math.floor(observedAt / 1000),
      },
    });
  }
  return transit_realtime.FeedMessage.fromObject({
    header: {
      gtfsRealtimeVersion: '2.0',
      incrementality: transit_realtime.FeedHeader.Incrementality.FULL_DATASET,
      timestamp: Math.floor(snapshot.generatedAt / 1000),
    },
    entity,
  });
}

export function encodeFeed(message: GtfsRealtimeBindings.transit_realtime.FeedMessage): Uint8Array {
  return transit_realtime.FeedMessage.encode(message).finish();
}

/** The feed as JSON, for people (`?format=json`). */
export function feedAsJson(message: GtfsRealtimeBindings.transit_realtime.FeedMessage): unknown {
  return transit_realtime.FeedMessage.toObject(message, { longs: Number, enums: String });
}
