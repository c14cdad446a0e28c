// The framing every Teltonika TCP packet shares, whatever its codec: 4 zero bytes, a 4-byte big-endian length of
// the data field, the data field (codec id .. second count), and a 4-byte field whose low 16 bits are the
// CRC-16/IBM of the data field. Decoders check a whole packet here, then parse only the data field; encoders
// write the data field in place and wrap it here, so no packet is ever copied.

import { crc16Ibm } from './crc16-ibm.js';
import { TeltonikaError } from './teltonika-error.js';

export const CODEC_8 = 0x08;
export const CODEC_8E = 0x8e;
export const CODEC_12 = 0x0c;

/** Preamble and data-field length. */
export const HEADER_BYTES = 8;
export const CRC_BYTES = 4;
/** Codec id and the two counts: the shortest data field any codec can have. */
export const MIN_DATA_BYTES = 3;
/** Default limit of a data field's length; real devices send at most a few kilobytes. */
export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024;

/** Reads bytes of a Uint8Array as a Buffer without copying them. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Checks preamble, length and CRC of the one packet that is exactly `bytes`; returns where its data field
 * starts and ends. Throws BAD_PREAMBLE, BAD_LENGTH, MALFORMED (the length disagrees with the bytes given) or
 * BAD_CRC.
 */
export function checkPacket(bytes: Buffer): { dataStart: number; dataEnd: number } {
  if (bytes.length < HEADER_BYTES + MIN_DATA_BYTES + CRC_BYTES) {
    throw new TeltonikaError('MALFORMED', `a packet is at least 15 bytes, got ${bytes.length}`);
  }
  const preamble = bytes.readUInt32BE(0);
  if (preamble !== 0) throw badPreamble(preamble);
  const length = bytes.readUInt32BE(4);
  if (length < MIN_DATA_BYTES) throw badLength(length);
  const expected = HEADER_BYTES + length + CRC_BYTES;
  if (expected !== bytes.length) {
    throw new TeltonikaError(
      'MALFORMED',
      `the data-field length ${length} makes a ${expected}-byte packet, but ${bytes.length} bytes were given`,
    );
  }
  const dataEnd = HEADER_BYTES + length;
  checkCrc(bytes, HEADER_BYTES, dataEnd);
  return { dataStart: HEADER_BYTES, dataEnd };
}

/** Throws BAD_CRC unless the 4 bytes at `dataEnd` hold the CRC-16/IBM of `[dataStart, dataEnd)`. */
export function checkCrc(bytes: Buffer, dataStart: number, dataEnd: number): void {
  const actual = crc16Ibm(bytes, dataStart, dataEnd);
  const declared = bytes.readUInt32BE(dataEnd);
  if (declared !== actual) {
    throw new TeltonikaError(
      'BAD_CRC',
      `CRC field is 0x${hex(declared, 8)} but the data field's CRC-16/IBM is 0x${hex(actual, 4)}`,
    );
  }
}

export function badPreamble(preamble: number): TeltonikaError {
  return new TeltonikaError('BAD_PREAMBLE', `a packet must start with 00000000, got ${hex(preamble, 8)}`);
}

export function badLength(length: number): TeltonikaError {
  return new TeltonikaError(
    'BAD_LENGTH',
    `data-field length ${length} is under the ${MIN_DATA_BYTES} bytes of codec id and counts`,
  );
}

export function tooLarge(length: number, max: number): TeltonikaError {
  return new TeltonikaError('TOO_LARGE', `data-field length ${length} is over the limit of ${max} bytes`);
}

/**
 * Allocates a packet for a data field of `dataLength` bytes, lets `writeData` fill it from HEADER_BYTES, and
 * writes the header and CRC around it.
 */
export function framePacket(dataLength: number, writeData: (packet: Buffer, offset: number) => void): Buffer {
  const packet = Buffer.alloc(HEADER_BYTES + dataLength + CRC_BYTES);
  packet.writeUInt32BE(dataLength, 4);
  writeData(packet, HEADER_BYTES);
  packet.writeUInt32BE(crc16Ibm(packet, HEADER_BYTES, HEADER_BYTES + dataLength), HEADER_BYTES + dataLength);
  return packet;
}

export function hex(value: number, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}
