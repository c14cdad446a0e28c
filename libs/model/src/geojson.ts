// A vehicle as a GeoJSON Feature (RFC 7946: coordinates are [lon, lat]), for map tools, exports and the HTTP API.
// Vehicles without a valid position have no feature.

import type { Vehicle } from './vehicle.js';

export interface VehicleFeature {
  type: 'Feature';
  id: string;
  geometry: { type: 'Point'; coordinates: [number, number] };
  properties: Record<string, string | number | boolean | null>;
}

/** The vehicle's feature, with `extra` properties first (a snapshot id, say); undefined without a position. */
export function toGeoJsonFeature(
  v: Vehicle,
  extra: Record<string, string | number | boolean | null> = {},
): VehicleFeature | undefined {
  const p = v.position;
  if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lon)) return undefined;
  return {
    type: 'Feature',
    id: v.id,
    geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
    properties: {
      ...extra,
      vehicleId: v.id,
      label: v.label ?? null,
      transportType: v.transportType,
      status: v.status,
      speed: v.speed ?? null,
      delay: v.delay ?? null,
      fuel: v.fuel ?? null,
      routeId: v.routeId ?? null,
      tripId: v.tripId ?? null,
      bearing: v.bearing ?? null,
      quality: v.quality,
    },
  };
}
