// Transport snapshots to and from their wire form: columns, not one record per vehicle. Numbers go into typed
// arrays (msgpackr writes each as one raw block, so encoding 50,000 vehicles costs a few loops and memcpys),
// vendor and route ids into dictionaries, enums into indexes, source times into ages relative to generatedAt.
// Measured against one msgpackr record per vehicle, columns encode ~4× faster at a similar size: see
// docs/decisions/0003-snapshot-wire-format.md. Runs once per second over every vehicle: plain loops only.

import {
  FUSED_FIELDS,
  TRANSPORT_TYPES,
  createVehicle,
  VEHICLE_STATUSES,
  type FieldSource,
  type SnapshotSource,
  type TransportSnapshot,
  type Vehicle,
} from '@transit-fusion/model';
import { isCodecError } from './codec-error.js';
import { packFramed, unpackFramed } from './msgpack.js';
import {
  FUSED_FIELD_COUNT,
  fail,
  isCount,
  isRecord,
  isTime,
  isUint32,
  popcount,
  wrapUnexpected,
  type Unchecked,
} from './wire-checks.js';

/** Bits of the `has` column: which optional values a vehicle carries. */
const HAS_POSITION = 1 << 0;
const HAS_BEARING = 1 << 1;
const HAS_SPEED = 1 << 2;
const HAS_DELAY = 1 << 3;
const HAS_FUEL = 1 << 4;
const HAS_ROUTE = 1 << 5;
const HAS_ALL = (1 << 6) - 1;

/** Reused by every encode (synchronous, never re-entered) for one vehicle's sources in FUSED_FIELDS order. */
const scratch: (FieldSource | undefined)[] = new Array<FieldSource | undefined>(8).fill(undefined);

/** The most vendors one snapshot's sources may name (vendor indexes are bytes). */
const MAX_VENDORS = 256;

interface WireSource {
  vendor: string;
  seq: number;
  at: number;
  n: number;
}

/** One snapshot on the wire; every column has one entry per vehicle unless said otherwise. */
interface WireTransportSnapshot {
  seq: number;
  gen: number;
  sources: WireSource[];
  /** Vehicle count. */
  n: number;
  id: string[];
  label: (string | null)[];
  /** Index into TRANSPORT_TYPES. */
  type: Uint8Array;
  /** Index into VEHICLE_STATUSES. */
  st: Uint8Array;
  /** Quality bits. */
  q: Uint32Array;
  /** HAS_* bits; a column's value is 0 where its bit is clear. */
  has: Uint8Array;
  lat: Float64Array;
  lon: Float64Array;
  brg: Float64Array;
  spd: Float64Array;
  dly: Float64Array;
  fuel: Float64Array;
  /** Route dictionary; `route` indexes into it where HAS_ROUTE is set. */
  routes: string[];
  route: Uint32Array;
  trip: (string | null)[];
  /** Vendor dictionary for `pv`. */
  vendors: string[];
  /** Bit f set: FUSED_FIELDS[f] has a source. */
  pm: Uint8Array;
  /** Bit f set: that source is stale (always within pm). */
  sm: Uint8Array;
  /** Per present source, vehicle by vehicle in FUSED_FIELDS order: index into `vendors`. */
  pv: Uint8Array;
  /** Per present source: generatedAt − observedAt in ms; Int32Array unless some age does not fit. */
  pa: Int32Array | Float64Array;
}

/**
 * Encodes a transport snapshot as a self-contained blob (header + MessagePack) the caller owns.
 *
 * Throws CodecError `MALFORMED`, naming the path, for what the wire form cannot carry: an unknown transport
 * type or status, a generatedAt or source observedAt that is not whole epoch milliseconds, a quality that is
 * not a uint32 bit set, a negative or fractional sequence or record count. Other values are trusted to match
 * their types (the decoder checks all of them). `stale: false` is dropped (only `stale: true` is written) and
 * a lone UTF-16 surrogate in a string becomes U+FFFD (UTF-8 cannot hold it).
 */
export function encodeTransportSnapshot(snapshot: TransportSnapshot): Uint8Array {
  const gen = snapshot.generatedAt;
  if (!isCount(snapshot.sequence)) fail('sequence', 'a non-negative integer');
  if (!isTime(gen)) fail('generatedAt', 'whole epoch milliseconds');
  const sources: WireSource[] = [];
  for (let i = 0; i < snapshot.sources.length; i++) {
    const s = snapshot.sources[i]!;
    if (!isCount(s.sequence)) fail(`sources[${i}].sequence`, 'a non-negative integer');
    if (!isTime(s.collectedAt)) fail(`sources[${i}].collectedAt`, 'whole epoch milliseconds');
    if (!isCount(s.recordCount)) fail(`sources[${i}].recordCount`, 'a non-negative integer');
    sources.push({ vendor: s.vendorId, seq: s.sequence, at: s.collectedAt, n: s.recordCount });
  }
  return packFramed('transport', toWire(snapshot.vehicles, snapshot.sequence, gen, sources));
}

function toWire(
  vehicles: readonly Vehicle[],
  seq: number,
  gen: number,
  sources: WireSource[],
): WireTransportSnapshot {
  const n = vehicles.length;
  const w: WireTransportSnapshot = {
    seq,
    gen,
    sources,
    n,
    id: new Array<string>(n),
    label: new Array<string | null>(n),
    type: new Uint8Array(n),
    st: new Uint8Array(n),
    q: new Uint32Array(n),
    has: new Uint8Array(n),
    lat: new Float64Array(n),
    lon: new Float64Array(n),
    brg: new Float64Array(n),
    spd: new Float64Array(n),
    dly: new Float64Array(n),
    fuel: new Float64Array(n),
    routes: [],
    route: new Uint32Array(n),
    trip: new Array<string | null>(n),
    vendors: [],
    pm: new Uint8Array(n),
    sm: new Uint8Array(n),
    pv: new Uint8Array(n * FUSED_FIELD_COUNT),
    pa: new Int32Array(n * FUSED_FIELD_COUNT),
  };
  const routeIndex = new Map<string, number>();
  const vendorIndex = new Map<string, number>();
  let ages: Int32Array | Float64Array = w.pa;
  let k = 0; // present sources so far
  for (let i = 0; i < n; i++) {
    const v = vehicles[i]!;
    const type = typeCode(v.transportType);
    if (type === -1) fail(`vehicles[${i}].transportType`, `one of ${TRANSPORT_TYPES.join(', ')}`);
    const status = statusCode(v.status);
    if (status === -1) fail(`vehicles[${i}].status`, `one of ${VEHICLE_STATUSES.join(', ')}`);
    if (!isUint32(v.quality)) fail(`vehicles[${i}].quality`, 'a uint32 bit set');
    w.id[i] = v.id;
    w.label[i] = v.label ?? null;
    w.type[i] = type;
    w.st[i] = status;
    w.q[i] = v.quality;
    let has = 0;
    if (v.position !== undefined) {
      has |= HAS_POSITION;
      w.lat[i] = v.position.lat;
      w.lon[i] = v.position.lon;
    }
    if (v.bearing !== undefined) {
      has |= HAS_BEARING;
      w.brg[i] = v.bearing;
    }
    if (v.speed !== undefined) {
      has |= HAS_SPEED;
      w.spd[i] = v.speed;
    }
    if (v.delay !== undefined) {
      has |= HAS_DELAY;
      w.dly[i] = v.delay;
    }
    if (v.fuel !== undefined) {
      has |= HAS_FUEL;
      w.fuel[i] = v.fuel;
    }
    if (v.routeId !== undefined) {
      has |= HAS_ROUTE;
      let r = routeIndex.get(v.routeId);
      if (r === undefined) routeIndex.set(v.routeId, (r = w.routes.push(v.routeId) - 1));
      w.route[i] = r;
    }
    w.has[i] = has;
    w.trip[i] = v.tripId ?? null;

    // The eight sources read by name into a reused scratch array (in FUSED_FIELDS order): direct property reads,
    // not keyed ones, 50,000× a tick.
    const s = v.sources;
    scratch[0] = s.position;
    scratch[1] = s.bearing;
    scratch[2] = s.speed;
    scratch[3] = s.delay;
    scratch[4] = s.fuel;
    scratch[5] = s.routeId;
    scratch[6] = s.tripId;
    scratch[7] = s.status;
    let pm = 0;
    let sm = 0;
    let previous: FieldSource | undefined;
    let vendor = 0;
    let age = 0;
    let stale = false;
    for (let f = 0; f < FUSED_FIELD_COUNT; f++) {
      const source = scratch[f];
      if (source === undefined) continue;
      // Fields one record won share one source object (see the pipeline's fusion): do its work once.
      if (source !== previous) {
        previous = source;
        let index = vendorIndex.get(source.vendorId);
        if (index === undefined) {
          if (typeof source.vendorId !== 'string') {
            fail(`vehicles[${i}].sources.${FUSED_FIELDS[f]}.vendorId`, 'a string');
          }
          if (w.vendors.length === MAX_VENDORS) {
            fail(`vehicles[${i}].sources`, `from at most ${MAX_VENDORS} vendors`);
          }
          vendorIndex.set(source.vendorId, (index = w.vendors.push(source.vendorId) - 1));
        }
        vendor = index;
        age = gen - source.observedAt;
        // Both checks: a fractional observedAt can still give a whole age once rounded, and then be lost.
        if (!isTime(source.observedAt) || !isTime(age)) {
          fail(`vehicles[${i}].sources.${FUSED_FIELDS[f]}.observedAt`, 'whole epoch milliseconds');
        }
        if ((age | 0) !== age && ages instanceof Int32Array) ages = Float64Array.from(ages);
        stale = source.stale === true;
      }
      pm |= 1 << f;
      if (stale) sm |= 1 << f;
      w.pv[k] = vendor;
      ages[k] = age;
      k++;
    }
    w.pm[i] = pm;
    w.sm[i] = sm;
  }
  w.pv = w.pv.subarray(0, k);
  w.pa = ages.subarray(0, k);
  return w;
}

// Switches, not Map lookups: comparing against a handful of internalised constants is the cheapest lookup V8
// has, and this runs for every vehicle every second. A test checks they agree with the model's lists.
export function typeCode(type: string): number {
  switch (type) {
    case 'bus':
      return 0;
    case 'trolleybus':
      return 1;
    case 'tram':
      return 2;
    case 'rail':
      return 3;
    case 'ferry':
      return 4;
    case 'other':
      return 5;
    default:
      return -1;
  }
}

export function statusCode(status: string): number {
  switch (status) {
    case 'on_duty':
      return 0;
    case 'parked':
      return 1;
    case 'unknown':
      return 2;
    default:
      return -1;
  }
}

/**
 * Decodes a blob from {@link encodeTransportSnapshot}, checking every value. Returns a fresh snapshot that
 * shares nothing with `bytes`, or throws a CodecError (never another error, never a partial snapshot).
 * Vehicles come back with every field key present (undefined where absent), in one shape, as the pipeline
 * makes them.
 */
export function decodeTransportSnapshot(bytes: Uint8Array): TransportSnapshot {
  const raw = unpackFramed(bytes, 'transport');
  try {
    return fromWire(raw);
  } catch (error) {
    if (isCodecError(error)) throw error;
    throw wrapUnexpected(error);
  }
}

function fromWire(raw: unknown): TransportSnapshot {
  if (!isRecord(raw)) fail('the payload', 'an object');
  const w = raw as Unchecked<WireTransportSnapshot>;
  const { seq, gen, n } = w;
  if (!isCount(seq)) fail('seq', 'a non-negative integer');
  if (!isTime(gen)) fail('gen', 'whole epoch milliseconds');
  if (!isCount(n)) fail('n', 'a non-negative integer');
  const sources = sourcesFromWire(w.sources);

  const id = strings(w.id, 'id', n, false) as string[];
  const label = strings(w.label, 'label', n, true);
  const trip = strings(w.trip, 'trip', n, true);
  const type = column(w.type, 'type', Uint8Array, n);
  const st = column(w.st, 'st', Uint8Array, n);
  const q = column(w.q, 'q', Uint32Array, n);
  const has = column(w.has, 'has', Uint8Array, n);
  const lat = column(w.lat, 'lat', Float64Array, n);
  const lon = column(w.lon, 'lon', Float64Array, n);
  const brg = column(w.brg, 'brg', Float64Array, n);
  const spd = column(w.spd, 'spd', Float64Array, n);
  const dly = column(w.dly, 'dly', Float64Array, n);
  const fuel = column(w.fuel, 'fuel', Float64Array, n);
  const route = column(w.route, 'route', Uint32Array, n);
  const routes = strings(w.routes, 'routes', undefined, false) as string[];
  const vendors = strings(w.vendors, 'vendors', undefined, false) as string[];
  const pm = column(w.pm, 'pm', Uint8Array, n);
  const sm = column(w.sm, 'sm', Uint8Array, n);
  let present = 0;
  for (let i = 0; i < n; i++) present += popcount(pm[i]!);
  const pv = column(w.pv, 'pv', Uint8Array, present);
  const pa = w.pa instanceof Float64Array ? w.pa : column(w.pa, 'pa', Int32Array, present);
  if (pa.length !== present) fail('pa', `${present} ages`);

  const vehicles = new Array<Vehicle>(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const transportType = TRANSPORT_TYPES[type[i]!];
    if (transportType === undefined) fail(`type[${i}]`, `an index into ${TRANSPORT_TYPES.length} types`);
    const status = VEHICLE_STATUSES[st[i]!];
    if (status === undefined) fail(`st[${i}]`, `an index into ${VEHICLE_STATUSES.length} statuses`);
    const bits = has[i]!;
    if ((bits & ~HAS_ALL) !== 0) fail(`has[${i}]`, 'a mask of known fields');
    let routeId: string | undefined;
    if ((bits & HAS_ROUTE) !== 0) {
      routeId = routes[route[i]!];
      if (routeId === undefined) fail(`route[${i}]`, `an index into ${routes.length} routes`);
    }
    const fieldMask = pm[i]!;
    const staleMask = sm[i]!;
    if ((staleMask & ~fieldMask) !== 0) fail(`sm[${i}]`, 'a bit mask within pm');
    const v = createVehicle(id[i]!, transportType, label[i] ?? undefined);
    v.status = status;
    v.quality = q[i]!;
    if ((bits & HAS_POSITION) !== 0) v.position = { lat: lat[i]!, lon: lon[i]! };
    if ((bits & HAS_BEARING) !== 0) v.bearing = brg[i]!;
    if ((bits & HAS_SPEED) !== 0) v.speed = spd[i]!;
    if ((bits & HAS_DELAY) !== 0) v.delay = dly[i]!;
    if ((bits & HAS_FUEL) !== 0) v.fuel = fuel[i]!;
    v.routeId = routeId;
    v.tripId = trip[i] ?? undefined;
    // Consecutive fields from the same observation share one source object, as the pipeline makes them.
    let previous: FieldSource | undefined;
    for (let f = 0; fieldMask >> f !== 0; f++) {
      if ((fieldMask & (1 << f)) === 0) continue;
      const vendorId = vendors[pv[k]!];
      if (vendorId === undefined) fail(`pv[${k}]`, `an index into ${vendors.length} vendors`);
      const observedAt = gen - pa[k]!;
      if (!isTime(observedAt)) fail(`pa[${k}]`, 'an age that leaves a whole epoch millisecond');
      const stale = (staleMask & (1 << f)) !== 0;
      let source = previous;
      if (
        source === undefined ||
        source.vendorId !== vendorId ||
        source.observedAt !== observedAt ||
        (source.stale === true) !== stale
      ) {
        source = stale ? { vendorId, observedAt, stale: true } : { vendorId, observedAt };
        previous = source;
      }
      v.sources[FUSED_FIELDS[f]!] = source;
      k++;
    }
    vehicles[i] = v;
  }
  return { sequence: seq, generatedAt: gen, sources, vehicles };
}

function sourcesFromWire(raw: unknown): SnapshotSource[] {
  if (!Array.isArray(raw)) fail('sources', 'an array');
  const sources: SnapshotSource[] = [];
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i] as Unchecked<WireSource>;
    if (!isRecord(s)) fail(`sources[${i}]`, 'an object');
    const { vendor, seq, at, n } = s;
    if (typeof vendor !== 'string') fail(`sources[${i}].vendor`, 'a string');
    if (!isCount(seq)) fail(`sources[${i}].seq`, 'a non-negative integer');
    if (!isTime(at)) fail(`sources[${i}].at`, 'whole epoch milliseconds');
    if (!isCount(n)) fail(`sources[${i}].n`, 'a non-negative integer');
    sources.push({ vendorId: vendor, sequence: seq, collectedAt: at, recordCount: n });
  }
  return sources;
}

type TypedArrayOf<T> = { new (length: number): T; readonly name: string };

function column<T extends ArrayLike<number>>(
  raw: unknown,
  name: string,
  kind: TypedArrayOf<T>,
  length: number,
): T {
  if (!(raw instanceof kind)) fail(name, `a ${kind.name}`);
  if ((raw as T).length !== length) fail(name, `${length} entries long`);
  return raw as T;
}

function strings(
  raw: unknown,
  name: string,
  length: number | undefined,
  nullable: boolean,
): (string | null)[] {
  if (!Array.isArray(raw)) fail(name, 'an array');
  if (length !== undefined && raw.length !== length) fail(name, `${length} entries long`);
  for (let i = 0; i < raw.length; i++) {
    const value: unknown = raw[i];
    if (typeof value !== 'string' && !(nullable && value === null)) {
      fail(`${name}[${i}]`, nullable ? 'a string or null' : 'a string');
    }
  }
  return raw as (string | null)[];
}
