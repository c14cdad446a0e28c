// The 8-byte frame in front of every MessagePack payload: magic 'TF', format version, snapshot kind and the
// payload length (big-endian uint32). Storage can check a blob from its first 8 bytes alone, and a partial
// write is told apart from a corrupt one by the length.

import { CodecError } from './codec-error.js';

/** The format version this release writes; the only one it reads. */
export const CODEC_VERSION = 1;

export type SnapshotKind = 'transport' | 'vendor';

export interface CodecHeader {
  version: number;
  kind: SnapshotKind;
}

export const HEADER_LENGTH = 8;

const MAGIC_0 = 0x54; // 'T'
const MAGIC_1 = 0x46; // 'F'
const KIND_BYTES: Readonly<Record<SnapshotKind, number>> = { transport: 1, vendor: 2 };
const MAX_PAYLOAD_LENGTH = 0xffffffff;

/**
 * Frames a packed payload into a fresh array the caller owns (never a view into the packer's scratch buffer).
 * A plain Uint8Array, not a Buffer: Buffer#slice returns a view, which would surprise code treating the blob
 * as the Uint8Array it is typed as.
 */
export function frame(kind: SnapshotKind, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  if (length > MAX_PAYLOAD_LENGTH) {
    throw new CodecError('MALFORMED', `payload of ${length} bytes does not fit the 4-byte length`);
  }
  // allocUnsafeSlow: its own ArrayBuffer (no pool sharing) and no zero-filling of bytes about to be written.
  const out = new Uint8Array(
    Buffer.allocUnsafeSlow(HEADER_LENGTH + length).buffer,
    0,
    HEADER_LENGTH + length,
  );
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = CODEC_VERSION;
  out[3] = KIND_BYTES[kind];
  out[4] = length >>> 24;
  out[5] = (length >>> 16) & 0xff;
  out[6] = (length >>> 8) & 0xff;
  out[7] = length & 0xff;
  out.set(payload, HEADER_LENGTH);
  return out;
}

/**
 * Reads and checks the header from the first 8 bytes; the payload need not be there yet, so storage can check
 * a blob before reading all of it. Throws CodecError: BAD_MAGIC, UNSUPPORTED_VERSION, TRUNCATED (fewer than
 * 8 bytes) or MALFORMED for an unknown kind byte (WRONG_KIND is for decoders, which expect a kind).
 */
export function peekHeader(bytes: Uint8Array): CodecHeader {
  const kindByte = readHeader(bytes);
  const kind =
    kindByte === KIND_BYTES.transport ? 'transport' : kindByte === KIND_BYTES.vendor ? 'vendor' : null;
  if (kind === null) {
    throw new CodecError('MALFORMED', `kind byte ${kindByte} is neither 1 (transport) nor 2 (vendor)`);
  }
  return { version: CODEC_VERSION, kind };
}

/**
 * Checks the whole frame for a decoder that expects `kind` and returns the payload as a Buffer view (no copy):
 * msgpackr decodes strings fastest from a Buffer, and a view leaves the caller's array untouched.
 */
export function unframe(bytes: Uint8Array, kind: SnapshotKind): Buffer {
  const kindByte = readHeader(bytes);
  if (kindByte !== KIND_BYTES[kind]) {
    throw new CodecError(
      'WRONG_KIND',
      `expected a ${kind} snapshot (kind ${KIND_BYTES[kind]}), got kind ${kindByte}`,
    );
  }
  const available = bytes.length;
  const payloadLength = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
  const end = HEADER_LENGTH + payloadLength;
  if (available < end) {
    throw new CodecError(
      'TRUNCATED',
      `${available} bytes, the header promises ${end} (${payloadLength} of payload)`,
    );
  }
  if (available > end) {
    throw new CodecError(
      'MALFORMED',
      `${available - end} trailing bytes after the ${payloadLength}-byte payload`,
    );
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_LENGTH, payloadLength);
}

/**
 * Checks magic and version on whatever prefix is there, so a short read of a foreign or newer blob is reported
 * as such rather than as merely truncated; returns the kind byte.
 */
function readHeader(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodecError('MALFORMED', 'the blob must be a Uint8Array (or a Buffer)');
  }
  const available = bytes.length;
  if ((available > 0 && bytes[0] !== MAGIC_0) || (available > 1 && bytes[1] !== MAGIC_1)) {
    throw new CodecError('BAD_MAGIC', 'not a transit-fusion snapshot blob (it must start with "TF")');
  }
  if (available > 2 && bytes[2] !== CODEC_VERSION) {
    throw new CodecError(
      'UNSUPPORTED_VERSION',
      `format version ${bytes[2]} is not supported (this release reads version ${CODEC_VERSION})`,
    );
  }
  if (available < HEADER_LENGTH) {
    throw new CodecError('TRUNCATED', `${available} bytes, the header alone needs ${HEADER_LENGTH}`);
  }
  return bytes[3]!;
}
