// AVL data packets, Codec 8 and Codec 8 Extended: what a tracker sends for every batch of positions. Decoding
// reads the bytes in place with Buffer's typed reads (no per-byte arrays, one object and one IO Map per record);
// encoding, for the simulator and tests, sizes the packet first and writes it into one allocation.

import {
  asBuffer,
  checkPacket,
  CODEC_8,
  CODEC_8E,
  framePacket,
  hex,
  MIN_DATA_BYTES,
} from './packet-framing.js';
import { TeltonikaError } from './teltonika-error.js';

export type AvlCodec = typeof CODEC_8 | typeof CODEC_8E;
/** 0 low, 1 high, 2 panic. */
export type AvlPriority = 0 | 1 | 2;
/**
 * An IO element's value. Fixed-size values (1, 2, 4 or 8 bytes) are read unsigned; an 8-byte value is a number
 * when it is at most `Number.MAX_SAFE_INTEGER`, a bigint above. Variable-length values (Codec 8 Extended's NX
 * group) are a Buffer of their own (a copy: it never pins the connection's read buffer).
 */
export type IoValue = number | bigint | Buffer;
/** Byte width of a fixed-size IO value: which group (N1, N2, N4, N8) it travels in. */
export type IoWidth = 1 | 2 | 4 | 8;

/** One AVL record as a tracker reported it. */
export interface AvlRecord {
  /** Epoch milliseconds (device clock, UTC). */
  timestamp: number;
  priority: AvlPriority;
  /** WGS-84 degrees (the wire carries degrees × 10^7 as a signed 32-bit integer). */
  longitude: number;
  latitude: number;
  /** Metres above sea level. */
  altitude: number;
  /** Heading, degrees clockwise from north. */
  angle: number;
  satellites: number;
  /** km/h, as the device sends it (0 when the GPS data is invalid). */
  speed: number;
  /**
   * False when the position is not a fix: no satellites, coordinates exactly 0,0, or out of range. Such a record
   * still decodes (its IO values are real); only its position, heading and speed mean nothing.
   */
  gpsValid: boolean;
  /** The IO id whose change triggered this record; 0 when the record is periodic. */
  eventIoId: number;
  /** IO id → value. A duplicated id keeps its last value. */
  io: Map<number, IoValue>;
}

export interface AvlPacket {
  codec: AvlCodec;
  records: AvlRecord[];
}

/** A record to encode: `gpsValid` is derived from the GPS element, and IO values are optional. */
export type AvlRecordInit = Omit<AvlRecord, 'gpsValid' | 'io'> & { io?: ReadonlyMap<number, IoValue> };

export interface EncodeAvlOptions {
  /**
   * Byte width per IO id, as a real device uses (ignition always 1 byte, say). An id not listed goes in the
   * smallest group its value fits; a bigint always in N8; a Buffer in NX (Codec 8 Extended only).
   */
  ioWidths?: ReadonlyMap<number, IoWidth>;
}

/** Timestamp (8), priority (1), GPS element (15). */
const RECORD_FIXED_BYTES = 24;
const WIDTHS: readonly IoWidth[] = [1, 2, 4, 8];
const TWO_32 = 2 ** 32;
/** The high 32 bits of an 8-byte value at or under which the value is a safe integer. */
const SAFE_HIGH = 0x1fffff;

/** Decodes one whole AVL packet (preamble to CRC field, nothing more): checks framing and CRC first. */
export function decodeAvlPacket(bytes: Uint8Array): AvlPacket {
  const buffer = asBuffer(bytes);
  const { dataStart, dataEnd } = checkPacket(buffer);
  return decodeAvlData(buffer, dataStart, dataEnd);
}

/**
 * Decodes a data field `[start, end)` (codec id .. second record count) whose framing and CRC were checked.
 * Throws UNKNOWN_CODEC, MALFORMED or COUNT_MISMATCH, never reads outside `[start, end)`.
 */
export function decodeAvlData(buf: Buffer, start: number, end: number): AvlPacket {
  if (end - start < MIN_DATA_BYTES) throw new TeltonikaError('MALFORMED', 'data field shorter than 3 bytes');
  const codec = buf[start]!;
  if (codec !== CODEC_8 && codec !== CODEC_8E) {
    throw new TeltonikaError('UNKNOWN_CODEC', `codec 0x${hex(codec, 2)} is not an AVL codec (0x08, 0x8E)`);
  }
  const extended = codec === CODEC_8E;
  const idBytes = extended ? 2 : 1;
  const count = buf[start + 1]!;
  // The second count is the data field's last byte: records must end exactly there.
  const last = end - 1;
  const records: AvlRecord[] = [];
  let pos = start + 2;
  for (let index = 0; index < count; index++) {
    if (pos + RECORD_FIXED_BYTES > last) throw truncated(index, 'timestamp, priority and GPS element');
    const high = buf.readUInt32BE(pos);
    if (high > SAFE_HIGH) {
      throw new TeltonikaError('MALFORMED', `record ${index}: timestamp 0x${hex(high, 8)}… exceeds 2^53 ms`);
    }
    const timestamp = high * TWO_32 + buf.readUInt32BE(pos + 4);
    const priority = buf[pos + 8]!;
    if (priority > 2) {
      throw new TeltonikaError('MALFORMED', `record ${index}: priority ${priority} is not 0, 1 or 2`);
    }
    const lonRaw = buf.readInt32BE(pos + 9);
    const latRaw = buf.readInt32BE(pos + 13);
    const altitude = buf.readInt16BE(pos + 17);
    const angle = buf.readUInt16BE(pos + 19);
    const satellites = buf[pos + 21]!;
    const speed = buf.readUInt16BE(pos + 22);
    pos += RECORD_FIXED_BYTES;

    const headBytes = 2 * idBytes;
    if (pos + headBytes > last) throw truncated(index, 'IO event id and total count');
    const eventIoId = extended ? buf.readUInt16BE(pos) : buf[pos]!;
    const declaredTotal = extended ? buf.readUInt16BE(pos + 2) : buf[pos + 1]!;
    pos += headBytes;

    const io = new Map<number, IoValue>();
    let total = 0;
    for (const width of WIDTHS) {
      if (pos + idBytes > last) throw truncated(index, `N${width} count`);
      const n = extended ? buf.readUInt16BE(pos) : buf[pos]!;
      pos += idBytes;
      const entryBytes = idBytes + width;
      if (pos + n * entryBytes > last) throw truncated(index, `${n} N${width} IO values`);
      for (let j = 0; j < n; j++, pos += entryBytes) {
        const id = extended ? buf.readUInt16BE(pos) : buf[pos]!;
        io.set(id, readValue(buf, pos + idBytes, width));
      }
      total += n;
    }
    if (extended) {
      if (pos + 2 > last) throw truncated(index, 'NX count');
      const n = buf.readUInt16BE(pos);
      pos += 2;
      for (let j = 0; j < n; j++) {
        if (pos + 4 > last) throw truncated(index, `NX IO value ${j} id and length`);
        const id = buf.readUInt16BE(pos);
        const length = buf.readUInt16BE(pos + 2);
        pos += 4;
        if (pos + length > last) throw truncated(index, `NX IO value ${j} (${length} bytes)`);
        io.set(id, Buffer.from(buf.subarray(pos, pos + length)));
        pos += length;
      }
      total += n;
    }
    if (total !== declaredTotal) {
      throw new TeltonikaError(
        'COUNT_MISMATCH',
        `record ${index}: IO total count is ${declaredTotal} but its groups hold ${total} values`,
      );
    }
    records.push({
      timestamp,
      priority: priority as AvlPriority,
      longitude: lonRaw / 1e7,
      latitude: latRaw / 1e7,
      altitude,
      angle,
      satellites,
      speed,
      gpsValid: isFix(lonRaw, latRaw, satellites),
      eventIoId,
      io,
    });
  }
  if (pos !== last) {
    throw new TeltonikaError(
      'MALFORMED',
      `${last - pos} bytes between the last of ${count} records and the second record count`,
    );
  }
  const count2 = buf[last]!;
  if (count2 !== count) {
    throw new TeltonikaError('COUNT_MISMATCH', `first record count is ${count}, second is ${count2}`);
  }
  return { codec, records };
}

function readValue(buf: Buffer, pos: number, width: IoWidth): number | bigint {
  switch (width) {
    case 1:
      return buf[pos]!;
    case 2:
      return buf.readUInt16BE(pos);
    case 4:
      return buf.readUInt32BE(pos);
    case 8: {
      const high = buf.readUInt32BE(pos);
      return high <= SAFE_HIGH ? high * TWO_32 + buf.readUInt32BE(pos + 4) : buf.readBigUInt64BE(pos);
    }
  }
}

function isFix(lonRaw: number, latRaw: number, satellites: number): boolean {
  return (
    satellites > 0 &&
    (lonRaw !== 0 || latRaw !== 0) &&
    Math.abs(lonRaw) <= 1_800_000_000 &&
    Math.abs(latRaw) <= 900_000_000
  );
}

function truncated(index: number, what: string): TeltonikaError {
  return new TeltonikaError('MALFORMED', `record ${index}: ${what} run past the end of the data field`);
}

/**
 * Encodes records as one AVL packet (preamble to CRC). Throws INVALID_ARGUMENT naming the record and field when
 * a value does not fit the codec: over 255 records, an IO id over 255 in Codec 8, a Buffer value in Codec 8,
 * a coordinate outside the signed 32-bit range once multiplied by 10^7, a negative or fractional integer field.
 */
export function encodeAvlPacket(
  codec: AvlCodec,
  records: readonly AvlRecordInit[],
  options: EncodeAvlOptions = {},
): Buffer {
  if (codec !== CODEC_8 && codec !== CODEC_8E) {
    throw new TeltonikaError('INVALID_ARGUMENT', `codec ${String(codec)} is not 0x08 or 0x8E`);
  }
  if (records.length > 255) {
    throw new TeltonikaError('INVALID_ARGUMENT', `${records.length} records: a packet holds at most 255`);
  }
  const extended = codec === CODEC_8E;
  const widths = options.ioWidths;
  let length = MIN_DATA_BYTES;
  records.forEach((record, index) => {
    length += recordBytes(record, index, extended, widths);
  });
  return framePacket(length, (packet, offset) => {
    packet[offset] = codec;
    packet[offset + 1] = records.length;
    let pos = offset + 2;
    for (const record of records) pos = writeRecord(packet, pos, record, extended, widths);
    packet[pos] = records.length;
  });
}

/** Validates a record for encoding and returns its size in bytes. */
function recordBytes(
  record: AvlRecordInit,
  index: number,
  extended: boolean,
  widths: ReadonlyMap<number, IoWidth> | undefined,
): number {
  const at = `record ${index}`;
  integer(record.timestamp, 0, Number.MAX_SAFE_INTEGER, `${at}: timestamp`);
  integer(record.priority, 0, 2, `${at}: priority`);
  integer(Math.round(record.longitude * 1e7), -(2 ** 31), 2 ** 31 - 1, `${at}: longitude × 10^7`);
  integer(Math.round(record.latitude * 1e7), -(2 ** 31), 2 ** 31 - 1, `${at}: latitude × 10^7`);
  integer(record.altitude, -32768, 32767, `${at}: altitude`);
  integer(record.angle, 0, 0xffff, `${at}: angle`);
  integer(record.satellites, 0, 0xff, `${at}: satellites`);
  integer(record.speed, 0, 0xffff, `${at}: speed`);
  const idBytes = extended ? 2 : 1;
  const maxCount = extended ? 0xffff : 0xff;
  integer(record.eventIoId, 0, maxCount, `${at}: event IO id`);
  let bytes = RECORD_FIXED_BYTES + 2 * idBytes + 4 * idBytes + (extended ? 2 : 0);
  const counts = { 1: 0, 2: 0, 4: 0, 8: 0, 0: 0 };
  for (const [id, value] of record.io ?? []) {
    integer(id, 0, maxCount, `${at}: IO id`);
    const width = widthOf(id, value, extended, widths, at);
    counts[width]++;
    bytes += width === 0 ? 4 + (value as Buffer).length : idBytes + width;
  }
  for (const width of [1, 2, 4, 8, 0] as const) {
    integer(counts[width], 0, maxCount, `${at}: count of ${width === 0 ? 'NX' : `N${width}`} IO values`);
  }
  integer(record.io?.size ?? 0, 0, maxCount, `${at}: total IO count`);
  return bytes;
}

function writeRecord(
  packet: Buffer,
  start: number,
  record: AvlRecordInit,
  extended: boolean,
  widths: ReadonlyMap<number, IoWidth> | undefined,
): number {
  let pos = start;
  packet.writeUInt32BE(Math.floor(record.timestamp / TWO_32), pos);
  packet.writeUInt32BE(record.timestamp % TWO_32, pos + 4);
  packet[pos + 8] = record.priority;
  packet.writeInt32BE(Math.round(record.longitude * 1e7), pos + 9);
  packet.writeInt32BE(Math.round(record.latitude * 1e7), pos + 13);
  packet.writeInt16BE(record.altitude, pos + 17);
  packet.writeUInt16BE(record.angle, pos + 19);
  packet[pos + 21] = record.satellites;
  packet.writeUInt16BE(record.speed, pos + 22);
  pos += RECORD_FIXED_BYTES;
  const io = record.io ?? new Map<number, IoValue>();
  const writeId = extended
    ? (value: number, at: number) => packet.writeUInt16BE(value, at)
    : (value: number, at: number) => packet.writeUInt8(value, at);
  const idBytes = extended ? 2 : 1;
  writeId(record.eventIoId, pos);
  writeId(io.size, pos + idBytes);
  pos += 2 * idBytes;
  for (const group of [1, 2, 4, 8, 0] as const) {
    if (group === 0 && !extended) break;
    const countAt = pos;
    let count = 0;
    pos += idBytes;
    for (const [id, value] of io) {
      if (widthOf(id, value, extended, widths, '') !== group) continue;
      count++;
      writeId(id, pos);
      pos += idBytes;
      if (group === 0) {
        const bytes = value as Buffer;
        packet.writeUInt16BE(bytes.length, pos);
        packet.set(bytes, pos + 2);
        pos += 2 + bytes.length;
      } else {
        writeValue(packet, pos, value as number | bigint, group);
        pos += group;
      }
    }
    writeId(count, countAt);
  }
  return pos;
}

/** The group a value travels in: 1, 2, 4, 8 bytes, or 0 for variable length (NX). */
function widthOf(
  id: number,
  value: IoValue,
  extended: boolean,
  widths: ReadonlyMap<number, IoWidth> | undefined,
  at: string,
): IoWidth | 0 {
  if (typeof value === 'object') {
    if (!extended) {
      throw new TeltonikaError(
        'INVALID_ARGUMENT',
        `${at}: IO ${id} is bytes, which only Codec 8 Extended carries`,
      );
    }
    integer(value.length, 0, 0xffff, `${at}: IO ${id} length`);
    return 0;
  }
  const declared = widths?.get(id);
  const max = declared === undefined || declared === 8 ? 2n ** 64n - 1n : 2n ** BigInt(8 * declared) - 1n;
  if (typeof value === 'bigint') {
    if (value < 0n || value > max) {
      throw new TeltonikaError('INVALID_ARGUMENT', `${at}: IO ${id} value ${value} does not fit its width`);
    }
    return declared ?? 8;
  }
  integer(value, 0, Math.min(Number.MAX_SAFE_INTEGER, Number(max)), `${at}: IO ${id} value`);
  if (declared !== undefined) return declared;
  return value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffff ? 4 : 8;
}

function writeValue(packet: Buffer, pos: number, value: number | bigint, width: IoWidth): void {
  if (typeof value === 'bigint') {
    if (width === 8) packet.writeBigUInt64BE(value, pos);
    else packet.writeUIntBE(Number(value), pos, width);
  } else if (width === 8) {
    packet.writeUInt32BE(Math.floor(value / TWO_32), pos);
    packet.writeUInt32BE(value % TWO_32, pos + 4);
  } else {
    packet.writeUIntBE(value, pos, width);
  }
}

function integer(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TeltonikaError('INVALID_ARGUMENT', `${what} is ${value}, must be an integer in ${min}..${max}`);
  }
}
