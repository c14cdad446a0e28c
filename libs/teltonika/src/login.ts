// The connection's first exchange and the server's answers: the device sends its IMEI (2-byte length, ASCII
// digits), the server accepts or rejects it with one byte, then acknowledges every AVL packet with the number of
// records it accepted.

import { TeltonikaError } from './teltonika-error.js';

/** An IMEI is 15 digits; a login frame of more than 20 is not a tracker talking. */
export const MAX_IMEI_LENGTH = 20;

/** The server's answer accepting a login. Shared: write it, never modify it. */
export const LOGIN_ACCEPT: Buffer = Buffer.from([0x01]);
/** The server's answer rejecting a login (an unknown device); the server then closes the connection. */
export const LOGIN_REJECT: Buffer = Buffer.from([0x00]);

/** The login frame a device opens its connection with. Throws INVALID_ARGUMENT unless 1..20 digits. */
export function encodeLogin(imei: string): Buffer {
  if (!isImei(imei)) {
    throw new TeltonikaError(
      'INVALID_ARGUMENT',
      `IMEI "${imei.slice(0, 32)}" must be 1 to ${MAX_IMEI_LENGTH} digits`,
    );
  }
  const frame = Buffer.alloc(2 + imei.length);
  frame.writeUInt16BE(imei.length, 0);
  frame.write(imei, 2, 'latin1');
  return frame;
}

/** The server's acknowledgement of an AVL packet: how many of its records it accepted, 4 bytes big-endian. */
export function encodeAck(accepted: number): Buffer {
  if (!Number.isInteger(accepted) || accepted < 0 || accepted > 0xffffffff) {
    throw new TeltonikaError('INVALID_ARGUMENT', `ack count ${accepted} must be an integer in 0..2^32-1`);
  }
  const ack = Buffer.alloc(4);
  ack.writeUInt32BE(accepted, 0);
  return ack;
}

/** Reads the IMEI of a login frame's body `[start, end)`; throws BAD_LOGIN unless every byte is a digit. */
export function readImei(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x30 || b > 0x39) {
      throw new TeltonikaError(
        'BAD_LOGIN',
        `IMEI byte ${i - start} is 0x${b.toString(16).padStart(2, '0')}, not an ASCII digit`,
      );
    }
  }
  return buf.toString('latin1', start, end);
}

function isImei(imei: string): boolean {
  return imei.length >= 1 && imei.length <= MAX_IMEI_LENGTH && /^[0-9]+$/.test(imei);
}
