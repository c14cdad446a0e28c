/**
 * Versioned MessagePack encoding of vendor and transport snapshots for storage and replay.
 *
 * @example
 * ```ts
 * import { decodeTransportSnapshot, encodeTransportSnapshot, isCodecError, peekHeader } from '@transit-fusion/codec';
 *
 * const blob = encodeTransportSnapshot(snapshot); // 'TF' | version | kind | payload length | MessagePack
 * peekHeader(blob.subarray(0, 8)); // { version: 1, kind: 'transport' }, from the first 8 bytes alone
 * try {
 *   const again = decodeTransportSnapshot(blob); // every value checked, never half-decoded
 * } catch (e) {
 *   if (!isCodecError(e)) throw e;
 *   console.warn(e.code, e.message); // 'TRUNCATED', 'TRUNCATED: 12 bytes, the header promises 5461508 ...'
 * }
 * ```
 */
export { CODEC_VERSION, peekHeader } from './header.js';
export type { CodecHeader, SnapshotKind } from './header.js';
export { CodecError, isCodecError } from './codec-error.js';
export type { CodecErrorCode } from './codec-error.js';
export { encodeTransportSnapshot, decodeTransportSnapshot } from './transport-codec.js';
export { encodeVendorSnapshot, decodeVendorSnapshot } from './vendor-codec.js';
