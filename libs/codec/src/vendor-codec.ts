// Vendor snapshots to and from their wire form: one fixed-shape record per vendor record (null for missing),
// enums as indexes, and the vendor id written once for the snapshot instead of once per record.

import {
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type VendorRecord,
  type VendorSnapshot,
} from '@transit-fusion/model';
import { isCodecError } from './codec-error.js';
import { packFramed, unpackFramed } from './msgpack.js';
import {
  STATUS_INDEX,
  TYPE_INDEX,
  fail,
  isCount,
  isRecord,
  isTime,
  wrapUnexpected,
  type Unchecked,
} from './wire-checks.js';

/** One vendor record on the wire: always these keys in this order (one msgpackr record shape per blob). */
interface WireRecord {
  key: string;
  /** observedAt, epoch ms. */
  t: number;
  /** Index into TRANSPORT_TYPES, or null when the vendor does not say. */
  type: number | null;
  lat: number | null;
  lon: number | null;
  brg: number | null;
  spd: number | null;
  dly: number | null;
  fuel: number | null;
  route: string | null;
  trip: string | null;
  /** Index into VEHICLE_STATUSES, or null. */
  st: number | null;
}

interface WireVendorSnapshot {
  vendor: string;
  seq: number;
  at: number;
  records: WireRecord[];
}

/**
 * Encodes a vendor snapshot as a self-contained blob the caller owns. Throws CodecError `MALFORMED`, naming
 * the path, for a record of another vendor than the snapshot's, an unknown transport type or status, or a
 * time that is not whole epoch milliseconds; other values are trusted to match their types. -0 becomes 0.
 */
export function encodeVendorSnapshot(snapshot: VendorSnapshot): Uint8Array {
  const vendorId = snapshot.vendorId;
  if (typeof vendorId !== 'string') fail('vendorId', 'a string');
  if (!isCount(snapshot.sequence)) fail('sequence', 'a non-negative integer');
  if (!isTime(snapshot.collectedAt)) fail('collectedAt', 'whole epoch milliseconds');

  const input = snapshot.records;
  const count = input.length;
  const records: WireRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = input[i]!;
    // The wire keeps one vendor id per snapshot; a foreign record would silently change vendor on decode.
    if (r.vendorId !== vendorId) fail(`records[${i}].vendorId`, `the snapshot's vendor "${vendorId}"`);
    if (!isTime(r.observedAt)) fail(`records[${i}].observedAt`, 'whole epoch milliseconds');
    let type: number | null = null;
    if (r.transportType !== undefined) {
      const index = TYPE_INDEX.get(r.transportType);
      if (index === undefined) fail(`records[${i}].transportType`, `one of ${TRANSPORT_TYPES.join(', ')}`);
      type = index;
    }
    let status: number | null = null;
    if (r.status !== undefined) {
      const index = STATUS_INDEX.get(r.status);
      if (index === undefined) fail(`records[${i}].status`, `one of ${VEHICLE_STATUSES.join(', ')}`);
      status = index;
    }
    const position = r.position;
    records.push({
      key: r.vehicleKey,
      t: r.observedAt,
      type,
      lat: position === undefined ? null : position.lat,
      lon: position === undefined ? null : position.lon,
      brg: r.bearing ?? null,
      spd: r.speed ?? null,
      dly: r.delay ?? null,
      fuel: r.fuel ?? null,
      route: r.routeId ?? null,
      trip: r.tripId ?? null,
      st: status,
    });
  }

  const wire: WireVendorSnapshot = {
    vendor: vendorId,
    seq: snapshot.sequence,
    at: snapshot.collectedAt,
    records,
  };
  return packFramed('vendor', wire);
}

/**
 * Decodes a blob from {@link encodeVendorSnapshot}, checking every value and setting the snapshot's vendor id
 * on every record. Throws a CodecError (never another error, never a partial snapshot).
 */
export function decodeVendorSnapshot(bytes: Uint8Array): VendorSnapshot {
  const raw = unpackFramed(bytes, 'vendor');
  try {
    return fromWire(raw);
  } catch (error) {
    if (isCodecError(error)) throw error;
    throw wrapUnexpected(error);
  }
}

function fromWire(raw: unknown): VendorSnapshot {
  if (!isRecord(raw)) fail('the payload', 'an object');
  const { vendor, seq, at, records: wireRecords } = raw as Unchecked<WireVendorSnapshot>;
  if (typeof vendor !== 'string') fail('vendor', 'a string');
  if (!isCount(seq)) fail('seq', 'a non-negative integer');
  if (!isTime(at)) fail('at', 'whole epoch milliseconds');
  if (!Array.isArray(wireRecords)) fail('records', 'an array');

  const count = wireRecords.length;
  const records: VendorRecord[] = [];
  for (let i = 0; i < count; i++) {
    const w = wireRecords[i] as Unchecked<WireRecord>;
    if (!isRecord(w)) fail(`records[${i}]`, 'an object');
    records.push(recordFromWire(w, i, vendor));
  }
  return { vendorId: vendor, sequence: seq, collectedAt: at, records };
}

function recordFromWire(w: Unchecked<WireRecord>, i: number, vendorId: string): VendorRecord {
  const { key, t, type, lat, lon, brg, spd, dly, fuel, route, trip, st } = w;
  if (typeof key !== 'string') fail(`records[${i}].key`, 'a string');
  if (!isTime(t)) fail(`records[${i}].t`, 'whole epoch milliseconds');
  const record: VendorRecord = { vendorId, vehicleKey: key, observedAt: t };
  if (type !== null) {
    const transportType = typeof type === 'number' ? TRANSPORT_TYPES[type] : undefined;
    if (transportType === undefined)
      fail(`records[${i}].type`, `null or an index into ${TRANSPORT_TYPES.length} types`);
    record.transportType = transportType;
  }
  if (lat !== null || lon !== null) {
    if (typeof lat !== 'number') fail(`records[${i}].lat`, 'a number (or null together with lon)');
    if (typeof lon !== 'number') fail(`records[${i}].lon`, 'a number (or null together with lat)');
    record.position = { lat, lon };
  }
  if (brg !== null) {
    if (typeof brg !== 'number') fail(`records[${i}].brg`, 'a number or null');
    record.bearing = brg;
  }
  if (spd !== null) {
    if (typeof spd !== 'number') fail(`records[${i}].spd`, 'a number or null');
    record.speed = spd;
  }
  if (dly !== null) {
    if (typeof dly !== 'number') fail(`records[${i}].dly`, 'a number or null');
    record.delay = dly;
  }
  if (fuel !== null) {
    if (typeof fuel !== 'number') fail(`records[${i}].fuel`, 'a number or null');
    record.fuel = fuel;
  }
  if (route !== null) {
    if (typeof route !== 'string') fail(`records[${i}].route`, 'a string or null');
    record.routeId = route;
  }
  if (trip !== null) {
    if (typeof trip !== 'string') fail(`records[${i}].trip`, 'a string or null');
    record.tripId = trip;
  }
  if (st !== null) {
    const status = typeof st === 'number' ? VEHICLE_STATUSES[st] : undefined;
    if (status === undefined)
      fail(`records[${i}].st`, `null or an index into ${VEHICLE_STATUSES.length} statuses`);
    record.status = status;
  }
  return record;
}
