// Lock tokens: 16 random bytes per peek-lock delivery. On the wire a delivery's tag carries them in .NET GUID byte
// order (the first three groups byte-swapped), which the client swaps back to print the UUID; $management requests
// carry that UUID as an AMQP uuid in plain order. Both resolve to the same string here, the key of the lock.
// One is made per delivery, so the bytes come from a pooled random buffer rather than a UUID parsed back to bytes.

import { randomBytes } from 'node:crypto';

export interface LockToken {
  /** The UUID the client shows as `lockToken`. */
  readonly token: string;
  /** The delivery tag: the same UUID's bytes in .NET order. */
  readonly tag: Buffer;
}

const POOL_TOKENS = 256;
let pool = Buffer.alloc(0);
let offset = 0;

export function newLockToken(): LockToken {
  if (offset + 16 > pool.length) {
    // A fresh pool each time, never refilled in place: earlier tags are views into the old one.
    pool = randomBytes(16 * POOL_TOKENS);
    offset = 0;
  }
  const tag = pool.subarray(offset, offset + 16);
  offset += 16;
  tag[7] = (tag[7]! & 0x0f) | 0x40; // RFC 4122 version 4 (byte 7 is the version byte in .NET order)
  tag[8] = (tag[8]! & 0x3f) | 0x80; // and variant
  const h = tag.toString('hex');
  const token =
    `${h.slice(6, 8)}${h.slice(4, 6)}${h.slice(2, 4)}${h.slice(0, 2)}-${h.slice(10, 12)}${h.slice(8, 10)}-` +
    `${h.slice(14, 16)}${h.slice(12, 14)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return { token, tag };
}

/** A lock token from an AMQP uuid (16 bytes, plain order) as the client sends it to $management. */
export function lockTokenFromUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The AMQP uuid bytes of a lock token (plain order), for $management responses. */
export function lockTokenUuid(token: string): Buffer {
  return Buffer.from(token.replace(/-/g, ''), 'hex');
}
