// The codec's one error class. Storage and replay read blobs written by other processes and other releases, so
// every way a blob can be unreadable gets a stable code callers can branch on, and nothing else escapes decode.

/**
 * Why a blob could not be encoded or decoded.
 *
 * - `BAD_MAGIC`: the bytes do not start with `TF`; not a transit-fusion snapshot blob at all.
 * - `UNSUPPORTED_VERSION`: the format version byte is one this release cannot read (written by a newer one?).
 * - `WRONG_KIND`: a vendor snapshot blob given to the transport decoder, or the other way round.
 * - `TRUNCATED`: fewer bytes than the header (or its payload length) promises; a partial write or read.
 * - `MALFORMED`: the length is right but the content is not: trailing bytes, broken MessagePack, or a value
 *   that does not fit the model (the message names its path). Also thrown by encode for a value the wire
 *   form cannot carry (an unknown enum value, a fractional epoch millisecond...).
 */
export type CodecErrorCode = 'BAD_MAGIC' | 'UNSUPPORTED_VERSION' | 'WRONG_KIND' | 'TRUNCATED' | 'MALFORMED';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;

  /** `detail` names the problem; the message is `${code}: ${detail}`. */
  constructor(code: CodecErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
  }
}

export function isCodecError(error: unknown): error is CodecError {
  return error instanceof CodecError;
}
