// A subscriber's profile — which transport types, where, on duty only or all, which fields — normalised so that
// equal wishes are equal profiles: sorted, de-duplicated, coordinates rounded. `profileKey` is the identity views
// are shared by (the source system reached 99% CPU when a broken equality made every subscriber its own view), so
// the number of distinct keys is the number of views computed per tick.

import { FUSED_FIELDS, TRANSPORT_TYPES, type TransportType, type Vehicle } from '@transit-fusion/model';

export interface Profile {
  /** Empty: every type. */
  readonly transportTypes: readonly TransportType[];
  /** [minLon, minLat, maxLon, maxLat]; absent: everywhere. */
  readonly bbox?: readonly [number, number, number, number];
  readonly onDutyOnly: boolean;
  /** Fused fields to send besides id, label, transport type and quality; empty: all. */
  readonly fields: readonly string[];
}

export const ALL_VEHICLES: Profile = Object.freeze({ transportTypes: [], onDutyOnly: false, fields: [] });

/** Coordinates are rounded to ~1 m: finer boxes would only multiply views. */
const round = (x: number) => Math.round(x * 1e5) / 1e5;

/** A profile from HTTP query parameters (`types=bus,tram&bbox=minLon,minLat,maxLon,maxLat&onDuty=true&fields=`). */
export function profileFromQuery(query: Readonly<Record<string, string | undefined>>): Profile | string {
  let bbox: number[] | undefined;
  if (query['bbox'] !== undefined) {
    bbox = query['bbox'].split(',').map(Number);
    if (bbox.length !== 4) return 'bbox must be minLon,minLat,maxLon,maxLat (degrees, min ≤ max)';
  }
  const onDuty = query['onDuty'];
  if (onDuty !== undefined && onDuty !== 'true' && onDuty !== 'false') return 'onDuty must be true or false';
  return checkedProfile({
    types: list(query['types']),
    ...(bbox ? { bbox } : {}),
    onDutyOnly: onDuty === 'true',
    fields: list(query['fields']),
  });
}

/** The proto's field names (route_id) for the model's (routeId); both are accepted. */
const SNAKE_FIELDS = new Map<string, string>(
  FUSED_FIELDS.map((f) => [f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), f]),
);

/** A profile from the gRPC `Profile` message (as @grpc/proto-loader reads it: enum names, camelCase). */
export function profileFromWire(wire: {
  transportTypes?: readonly string[];
  boundingBox?: { minLat?: number; minLon?: number; maxLat?: number; maxLon?: number } | null;
  onDutyOnly?: boolean;
  fields?: readonly string[];
}): Profile | string {
  const box = wire.boundingBox;
  return checkedProfile({
    types: (wire.transportTypes ?? []).map((t) => t.replace(/^TRANSPORT_TYPE_/, '').toLowerCase()),
    ...(box ? { bbox: [box.minLon ?? 0, box.minLat ?? 0, box.maxLon ?? 0, box.maxLat ?? 0] } : {}),
    onDutyOnly: wire.onDutyOnly === true,
    fields: (wire.fields ?? []).map((f) => SNAKE_FIELDS.get(f) ?? f),
  });
}

const MAX_LIST = 16;

/** The one validation every way in shares. */
function checkedProfile(p: {
  types: readonly string[];
  bbox?: readonly number[];
  onDutyOnly: boolean;
  fields: readonly string[];
}): Profile | string {
  if (p.types.length > MAX_LIST || p.fields.length > MAX_LIST) return 'too many types or fields';
  const unknownType = p.types.find((t) => !(TRANSPORT_TYPES as readonly string[]).includes(t));
  if (unknownType !== undefined)
    return `types: unknown transport type "${unknownType}" (known: ${TRANSPORT_TYPES.join(', ')})`;
  const unknownField = p.fields.find((f) => !(FUSED_FIELDS as readonly string[]).includes(f));
  if (unknownField !== undefined)
    return `fields: unknown field "${unknownField}" (known: ${FUSED_FIELDS.join(', ')})`;
  let bbox: Profile['bbox'];
  if (p.bbox) {
    const [minLon, minLat, maxLon, maxLat] = p.bbox as [number, number, number, number];
    if (
      !p.bbox.every(Number.isFinite) ||
      minLon > maxLon ||
      minLat > maxLat ||
      Math.abs(minLat) > 90 ||
      Math.abs(maxLat) > 90
    ) {
      return 'bbox must be minLon,minLat,maxLon,maxLat (degrees, min ≤ max)';
    }
    bbox = [round(minLon), round(minLat), round(maxLon), round(maxLat)];
  }
  return normalise({
    transportTypes: p.types as TransportType[],
    ...(bbox ? { bbox } : {}),
    onDutyOnly: p.onDutyOnly,
    fields: p.fields,
  });
}

export function normalise(p: Profile): Profile {
  return Object.freeze({
    transportTypes: [...new Set(p.transportTypes)].sort(),
    ...(p.bbox ? { bbox: p.bbox } : {}),
    onDutyOnly: p.onDutyOnly,
    fields: [...new Set(p.fields)].sort(),
  });
}

/** The identity of a normalised profile: equal wishes, equal keys. */
export function profileKey(p: Profile): string {
  return JSON.stringify([p.transportTypes, p.bbox ?? null, p.onDutyOnly, p.fields]);
}

/** The vehicles a profile sees, with only the fields it asked for. */
export function applyProfile(vehicles: readonly Vehicle[], p: Profile): Vehicle[] {
  const filter = profileFilter(p);
  const out: Vehicle[] = [];
  for (const v of vehicles) if (accepts(filter, v)) out.push(filter.fields ? project(v, filter.fields) : v);
  return out;
}

/**
 * A profile unpacked for a per-vehicle loop: every view runs it over every vehicle each tick, so the bounds are
 * plain numbers and one object shape serves every profile (the check below stays monomorphic).
 */
export interface ProfileFilter {
  readonly types: ReadonlySet<string> | undefined;
  readonly onDutyOnly: boolean;
  readonly boxed: boolean;
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
  /** The fields to keep; undefined: all (the vehicle is sent as it is). */
  readonly fields: ReadonlySet<string> | undefined;
}

export function profileFilter(p: Profile): ProfileFilter {
  const [minLon, minLat, maxLon, maxLat] = p.bbox ?? [0, 0, 0, 0];
  return {
    types: p.transportTypes.length > 0 ? new Set(p.transportTypes) : undefined,
    onDutyOnly: p.onDutyOnly,
    boxed: p.bbox !== undefined,
    minLon,
    minLat,
    maxLon,
    maxLat,
    fields: p.fields.length > 0 ? new Set(p.fields) : undefined,
  };
}

/** Whether the profile sees the vehicle. */
export function accepts(f: ProfileFilter, v: Vehicle): boolean {
  if (f.types !== undefined && !f.types.has(v.transportType)) return false;
  if (f.onDutyOnly && v.status !== 'on_duty') return false;
  if (f.boxed) {
    const pos = v.position;
    if (!pos) return false;
    if (pos.lon < f.minLon || pos.lon > f.maxLon || pos.lat < f.minLat || pos.lat > f.maxLat) return false;
  }
  return true;
}

/** The vehicle with only `fields` (and its identity). */
export function project(v: Vehicle, fields: ReadonlySet<string>): Vehicle {
  const projected: Vehicle = {
    id: v.id,
    transportType: v.transportType,
    status: v.status,
    sources: {},
    quality: v.quality,
  };
  if (v.label !== undefined) projected.label = v.label;
  for (const field of FUSED_FIELDS) {
    if (!fields.has(field)) continue;
    const value = v[field];
    if (value !== undefined) (projected as unknown as Record<string, unknown>)[field] = value;
    const source = v.sources[field];
    if (source) projected.sources[field] = source;
  }
  return projected;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
