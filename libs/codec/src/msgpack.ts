// The one place msgpackr is configured. Records (msgpackr's default) write each object shape's key names once
// per blob; the definitions travel inside the blob, so any process can decode it without shared state.
// `moreTypes` writes typed arrays (the transport columns) as msgpackr's typed-array extension: one raw block
// each. Without it msgpackr copies a Float64Array element by element into bytes, silently truncating it.

import { Packr, RESET_BUFFER_MODE, Unpackr } from 'msgpackr';
import { CodecError } from './codec-error.js';
import { frame, unframe, type SnapshotKind } from './header.js';

// No `structures`/`saveStructures`: shared record definitions would make a blob unreadable anywhere the same
// structure list was not loaded. Floats stay float64 (no useFloat32): positions must round-trip exactly.
const packr = new Packr({ moreTypes: true });
// A separate, option-less Unpackr: without `structures` it starts every blob with an empty record table, so
// one blob's definitions never leak into the next, and it never touches the packer's table.
const unpackr = new Unpackr();

/** Packs a wire DTO and frames it. */
export function packFramed(kind: SnapshotKind, wire: object): Uint8Array {
  // RESET_BUFFER_MODE lets the packer reuse its scratch buffer: frame() copies out of it before the next pack.
  return frame(kind, packr.pack(wire, RESET_BUFFER_MODE));
}

/** Unframes and unpacks; anything msgpackr throws (bad bytes, trailing data) becomes MALFORMED. */
export function unpackFramed(bytes: Uint8Array, kind: SnapshotKind): unknown {
  const payload = unframe(bytes, kind);
  try {
    return unpackr.unpack(payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CodecError('MALFORMED', `payload is not valid MessagePack: ${reason.slice(0, 200)}`, {
      cause: error,
    });
  }
}
