// The teltonika lib's one error class. Codes are stable: the gateway branches on them (close the connection,
// or skip one packet and stay in sync), and messages name the byte or field that was wrong.

export type TeltonikaErrorCode =
  /** The login frame is not an IMEI: length 0 or over 20, or a character other than a digit. Fatal. */
  | 'BAD_LOGIN'
  /** A packet does not start with four zero bytes: the stream is not Teltonika, or lost sync. Fatal. */
  | 'BAD_PREAMBLE'
  /** A packet's data-field length is over `maxPacketBytes`; nothing of that size was allocated. Fatal. */
  | 'TOO_LARGE'
  /** A packet's data-field length is under 3 bytes, too short for any codec. Fatal. */
  | 'BAD_LENGTH'
  /** The CRC-16/IBM of the data field differs from the packet's CRC field. Recoverable: the device resends. */
  | 'BAD_CRC'
  /** A codec other than 8, 8 Extended (0x8E) and 12 (0x0C), or not the codec the caller asked for. Recoverable. */
  | 'UNKNOWN_CODEC'
  /** A well-framed packet whose content does not parse (truncated record, trailing bytes, bad priority). Recoverable. */
  | 'MALFORMED'
  /** The two record counts differ, or an IO element's total count is not the sum of its groups. Recoverable. */
  | 'COUNT_MISMATCH'
  /** A caller's argument is out of range: an encoder's record or IMEI, a reader option. */
  | 'INVALID_ARGUMENT'
  /** An IO mapping from configuration does not validate; the message names the entry. */
  | 'INVALID_MAPPING'
  /** A record's timestamp is outside 2000..2100, so it cannot become a vendor record. */
  | 'BAD_TIMESTAMP';

/**
 * Codes after which a connection's byte stream cannot be trusted: the frame reader stops, and the gateway closes
 * the connection. Every other code the reader reports leaves it in sync at the next packet.
 */
export const FATAL_CODES: ReadonlySet<TeltonikaErrorCode> = new Set<TeltonikaErrorCode>([
  'BAD_LOGIN',
  'BAD_PREAMBLE',
  'TOO_LARGE',
  'BAD_LENGTH',
]);

export class TeltonikaError extends Error {
  override readonly name = 'TeltonikaError';
  readonly code: TeltonikaErrorCode;
  /** True when the connection must be closed (see {@link FATAL_CODES}). */
  readonly fatal: boolean;

  constructor(code: TeltonikaErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.code = code;
    this.fatal = FATAL_CODES.has(code);
  }
}

export function isTeltonikaError(error: unknown): error is TeltonikaError {
  return error instanceof TeltonikaError;
}
