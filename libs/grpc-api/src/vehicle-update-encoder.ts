// VehicleUpdate bytes written straight from the model, for the live feed. The general path (toWireVehicle, then
// @grpc/proto-loader's serializer: protobufjs fromObject + encode) builds two object graphs per vehicle and was
// the largest part of a broadcaster tick; this writes the same message in one pass over the model. The output
// decodes to exactly what the general path gives (grpc-api.spec.ts checks both ways against the .proto), and
// like protobufjs it writes every non-optional field even when it holds its default, so clients that decode
// with `defaults: false` see the same objects as before.

import {
  FUSED_FIELDS,
  qualityFlagNames,
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type Vehicle,
} from '@transit-fusion/model';
import { SOURCE_KEYS } from './wire.js';

/** The fields of a VehicleUpdate message, from the model. */
export interface VehicleUpdateFields {
  readonly sequence: number;
  readonly generatedAtMs: number;
  readonly keyframe: boolean;
  readonly vehicles: readonly Vehicle[];
  readonly removed: readonly string[];
  readonly previousSequence: number;
}

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

/** The sources' map keys (the proto's field names), in the order they are written. */
const SOURCE_ENTRIES = FUSED_FIELDS.map((f) => [f, SOURCE_KEYS[f]] as const);
/** Enum numbers: the proto lists the model's values in order after UNSPECIFIED = 0. */
const TRANSPORT_TYPE_NUMBER = new Map<string, number>(TRANSPORT_TYPES.map((t, i) => [t, i + 1]));
const STATUS_NUMBER = new Map<string, number>(VEHICLE_STATUSES.map((s, i) => [s, i + 1]));

/** A growable buffer with protobuf's primitives. One per process: encoding is synchronous. */
class ProtoWriter {
  buf = Buffer.allocUnsafe(256 * 1024);
  pos = 0;

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /**
   * An integer as int64 varint: non-negative ones up to 2^53 directly, others (negative, fractional, beyond
   * 2^53, not finite) as protobufjs writes them through Long.fromNumber: truncated, clamped to int64, NaN as 0.
   */
  varint(n: number): void {
    this.ensure(10);
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n))) {
      const int64 = Number.isNaN(n)
        ? 0n
        : n >= 2 ** 63
          ? 2n ** 63n - 1n
          : n <= -(2 ** 63)
            ? -(2n ** 63n)
            : BigInt(Math.trunc(n));
      let big = BigInt.asUintN(64, int64);
      while (big >= 0x80n) {
        this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.pos++] = Number(big);
      return;
    }
    // Shifts where the number fits 31 bits (counts, enums, lengths); division above (times in milliseconds).
    while (n > 0x7fffffff) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  tag(field: number, wireType: number): void {
    const key = (field << 3) | wireType;
    if (key >= 0x80) return this.varint(key);
    this.ensure(1);
    this.buf[this.pos++] = key; // every tag of this message: fields 1-15
  }

  double(field: number, x: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(x, this.pos);
  }

  string(field: number, s: string): void {
    this.tag(field, LENGTH_DELIMITED);
    const n = s.length;
    // Ids, vendors, routes and field names are short and ASCII: their bytes are their char codes, written here
    // with the length in front, instead of a call into Buffer.write (~20 strings a vehicle).
    if (n < 0x80) {
      this.ensure(n + 1);
      const buf = this.buf;
      const start = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === n) {
        buf[start] = n;
        this.pos = start + 1 + n;
        return;
      }
    }
    const at = this.begin();
    this.ensure(n * 3);
    this.pos += this.buf.write(s, this.pos);
    this.end(at);
  }

  /** Starts a length-delimited value: one byte reserved for its length, which fits most. */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the value begun at `at`, moving it along if its length needs more than the reserved byte. */
  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.buf[at] = length;
      return;
    }
    let extra = 0;
    for (let rest = length >>> 7; rest > 0; rest >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos = at;
    this.varint(length);
    this.pos += length;
  }
}

const writer = new ProtoWriter();

/** Encodes a transit_fusion.v1.VehicleUpdate. */
export function encodeVehicleUpdate(update: VehicleUpdateFields): Buffer {
  const w = writer;
  w.pos = 0;
  w.tag(1, VARINT);
  w.varint(update.sequence);
  w.tag(2, VARINT);
  w.varint(update.generatedAtMs);
  w.tag(3, VARINT);
  w.varint(update.keyframe ? 1 : 0);
  for (const vehicle of update.vehicles) {
    w.tag(4, LENGTH_DELIMITED);
    const at = w.begin();
    writeVehicle(w, vehicle);
    w.end(at);
  }
  for (const id of update.removed) w.string(5, id);
  w.tag(7, VARINT);
  w.varint(update.previousSequence);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function writeVehicle(w: ProtoWriter, v: Vehicle): void {
  w.string(1, v.id);
  if (v.label !== undefined) w.string(2, v.label);
  w.tag(3, VARINT);
  w.varint(TRANSPORT_TYPE_NUMBER.get(v.transportType) ?? 0);
  w.tag(4, VARINT);
  w.varint(STATUS_NUMBER.get(v.status) ?? 0);
  if (v.position) {
    w.tag(5, LENGTH_DELIMITED);
    const at = w.begin();
    w.double(1, v.position.lat);
    w.double(2, v.position.lon);
    w.end(at);
  }
  if (v.bearing !== undefined) w.double(6, v.bearing);
  if (v.speed !== undefined) w.double(7, v.speed);
  if (v.delay !== undefined) w.double(8, v.delay);
  if (v.fuel !== undefined) w.double(9, v.fuel);
  if (v.routeId !== undefined) w.string(10, v.routeId);
  if (v.tripId !== undefined) w.string(11, v.tripId);
  for (const [field, key] of SOURCE_ENTRIES) {
    const source = v.sources[field];
    if (!source) continue;
    // A map entry is a message {1: key, 2: value}.
    w.tag(12, LENGTH_DELIMITED);
    const entry = w.begin();
    w.string(1, key);
    w.tag(2, LENGTH_DELIMITED);
    const value = w.begin();
    w.string(1, source.vendorId);
    w.tag(2, VARINT);
    w.varint(source.observedAt);
    if (source.stale) {
      w.tag(3, VARINT);
      w.varint(1);
    }
    w.end(value);
    w.end(entry);
  }
  w.tag(13, VARINT);
  w.varint(v.quality >>> 0);
  if (v.quality !== 0) for (const name of qualityFlagNames(v.quality)) w.string(14, name);
}
