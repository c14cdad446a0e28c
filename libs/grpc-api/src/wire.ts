// The model ↔ wire mapping, as plain objects in the shape @grpc/proto-loader reads and writes with
// PROTO_LOADER_OPTIONS (camelCase fields, enum names, int64 as numbers). Optional fields are present only when
// the vehicle has them, so "not reported" stays distinct from zero. fromWire* validates what it reads, so a
// client library (or a test) gets the model back or a GrpcApiError naming the field.

import {
  FUSED_FIELDS,
  qualityFlagNames,
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type FieldSources,
  type FusedField,
  type SnapshotSource,
  type TransportSnapshot,
  type TransportType,
  type Vehicle,
  type VehicleStatus,
} from '@transit-fusion/model';
import { GrpcApiError } from './grpc-api-error.js';

export interface WireFieldSource {
  vendorId: string;
  observedAtMs: number;
  stale?: boolean;
}

export interface WireVehicle {
  id: string;
  label?: string;
  transportType: string;
  status: string;
  position?: { lat: number; lon: number };
  bearing?: number;
  speed?: number;
  delay?: number;
  fuel?: number;
  routeId?: string;
  tripId?: string;
  sources: Record<string, WireFieldSource>;
  quality: number;
  qualityFlags: string[];
}

export interface WireSnapshotDescriptor {
  id: string;
  sequence: number;
  generatedAtMs: number;
  vehicleCount: number;
  bytes: number;
}

export interface WireSnapshot {
  descriptor: WireSnapshotDescriptor;
  sources: { vendorId: string; sequence: number; collectedAtMs: number; recordCount: number }[];
  vehicles: WireVehicle[];
}

const enumName = (prefix: string, value: string) => `${prefix}_${value.toUpperCase()}`;
const TRANSPORT_PREFIX = 'TRANSPORT_TYPE';
const STATUS_PREFIX = 'VEHICLE_STATUS';
/** The model's camelCase field names as the wire's map keys (the proto's field names). */
export const SOURCE_KEYS: Readonly<Record<FusedField, string>> = {
  position: 'position',
  bearing: 'bearing',
  speed: 'speed',
  delay: 'delay',
  fuel: 'fuel',
  routeId: 'route_id',
  tripId: 'trip_id',
  status: 'status',
};
const FIELD_OF_KEY = new Map(FUSED_FIELDS.map((f) => [SOURCE_KEYS[f], f]));

export function toWireVehicle(v: Vehicle): WireVehicle {
  const sources: Record<string, WireFieldSource> = {};
  for (const field of FUSED_FIELDS) {
    const source = v.sources[field];
    if (!source) continue;
    sources[SOURCE_KEYS[field]] = {
      vendorId: source.vendorId,
      observedAtMs: source.observedAt,
      ...(source.stale ? { stale: true } : {}),
    };
  }
  const wire: WireVehicle = {
    id: v.id,
    transportType: enumName(TRANSPORT_PREFIX, v.transportType),
    status: enumName(STATUS_PREFIX, v.status),
    sources,
    quality: v.quality,
    qualityFlags: qualityFlagNames(v.quality),
  };
  if (v.label !== undefined) wire.label = v.label;
  if (v.position) wire.position = { lat: v.position.lat, lon: v.position.lon };
  if (v.bearing !== undefined) wire.bearing = v.bearing;
  if (v.speed !== undefined) wire.speed = v.speed;
  if (v.delay !== undefined) wire.delay = v.delay;
  if (v.fuel !== undefined) wire.fuel = v.fuel;
  if (v.routeId !== undefined) wire.routeId = v.routeId;
  if (v.tripId !== undefined) wire.tripId = v.tripId;
  return wire;
}

export function fromWireVehicle(w: WireVehicle): Vehicle {
  const sources: FieldSources = {};
  for (const [key, source] of Object.entries(w.sources ?? {})) {
    const field = FIELD_OF_KEY.get(key);
    if (!field) throw new GrpcApiError('INVALID_MESSAGE', `vehicle ${w.id}: unknown source field "${key}"`);
    sources[field] = {
      vendorId: source.vendorId,
      observedAt: finite(source.observedAtMs, 'sources.observedAtMs'),
      ...(source.stale ? { stale: true } : {}),
    };
  }
  const vehicle: Vehicle = {
    id: w.id,
    transportType: fromEnum(
      TRANSPORT_PREFIX,
      w.transportType,
      TRANSPORT_TYPES,
      'transportType',
    ) as TransportType,
    status: fromEnum(STATUS_PREFIX, w.status, VEHICLE_STATUSES, 'status') as VehicleStatus,
    sources,
    quality: w.quality ?? 0,
  };
  if (w.label !== undefined) vehicle.label = w.label;
  if (w.position)
    vehicle.position = {
      lat: finite(w.position.lat, 'position.lat'),
      lon: finite(w.position.lon, 'position.lon'),
    };
  if (w.bearing !== undefined) vehicle.bearing = finite(w.bearing, 'bearing');
  if (w.speed !== undefined) vehicle.speed = finite(w.speed, 'speed');
  if (w.delay !== undefined) vehicle.delay = finite(w.delay, 'delay');
  if (w.fuel !== undefined) vehicle.fuel = finite(w.fuel, 'fuel');
  if (w.routeId !== undefined) vehicle.routeId = w.routeId;
  if (w.tripId !== undefined) vehicle.tripId = w.tripId;
  return vehicle;
}

export function toWireDescriptor(d: {
  id: string;
  sequence: number;
  generatedAt: number;
  vehicleCount: number;
  bytes: number;
}): WireSnapshotDescriptor {
  return {
    id: d.id,
    sequence: d.sequence,
    generatedAtMs: d.generatedAt,
    vehicleCount: d.vehicleCount,
    bytes: d.bytes,
  };
}

export function toWireSnapshot(
  snapshot: TransportSnapshot,
  descriptor: WireSnapshotDescriptor,
): WireSnapshot {
  return {
    descriptor,
    sources: snapshot.sources.map((s) => ({
      vendorId: s.vendorId,
      sequence: s.sequence,
      collectedAtMs: s.collectedAt,
      recordCount: s.recordCount,
    })),
    vehicles: snapshot.vehicles.map(toWireVehicle),
  };
}

export function fromWireSnapshot(w: WireSnapshot): TransportSnapshot {
  return {
    sequence: finite(w.descriptor.sequence, 'descriptor.sequence'),
    generatedAt: finite(w.descriptor.generatedAtMs, 'descriptor.generatedAtMs'),
    sources: (w.sources ?? []).map((s): SnapshotSource => ({
      vendorId: s.vendorId,
      sequence: s.sequence,
      collectedAt: s.collectedAtMs,
      recordCount: s.recordCount,
    })),
    vehicles: (w.vehicles ?? []).map(fromWireVehicle),
  };
}

function fromEnum(prefix: string, name: string, values: readonly string[], field: string): string {
  const value =
    typeof name === 'string' && name.startsWith(`${prefix}_`)
      ? name.slice(prefix.length + 1).toLowerCase()
      : '';
  if (!values.includes(value))
    throw new GrpcApiError('INVALID_MESSAGE', `${field}: unknown value ${JSON.stringify(name)}`);
  return value;
}

function finite(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new GrpcApiError('INVALID_MESSAGE', `${field} must be a finite number, got ${String(value)}`);
  }
  return value;
}
