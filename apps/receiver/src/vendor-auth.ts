// Who is pushing: each vendor authenticates with an API key or an HMAC signature, per its config. Comparisons run
// in constant time over equal-length SHA-256 digests, so neither the timing nor the length of a guess tells an
// attacker anything. Credentials and signatures never leave this module: not in errors, not in logs.
//
// HMAC scheme (documented in the README for vendors):
//   x-timestamp: <unix seconds>
//   x-signature: sha256=<hex of HMAC-SHA256(secret, "<x-timestamp>.<raw body bytes>")>
// The timestamp is signed with the body and must be within ±5 minutes of the receiver's clock, so a captured
// request cannot be replayed later than that.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { VendorAuth } from './config.js';

/** How far an HMAC timestamp may be from the receiver's clock. */
export const HMAC_TOLERANCE_MS = 5 * 60_000;

export type AuthFailure =
  /** 401: no usable credentials (header missing or malformed). */
  | 'missing_credentials'
  /** 401: the signed timestamp is outside the tolerance (clock skew, or a replay). */
  | 'stale_timestamp'
  /** 403: credentials present but wrong. */
  | 'bad_credentials';

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface VendorAuthenticator {
  /**
   * What can be decided before the body is read: an API key vendor completely, an HMAC vendor's headers (shape,
   * timestamp age). Undefined when the request may go on.
   */
  checkHeaders(headers: Headers, now: number): AuthFailure | undefined;
  /** An HMAC vendor's signature over the raw body (true for API key vendors). Call after checkHeaders passed. */
  verifyBody(headers: Headers, body: Buffer): boolean;
}

export function createVendorAuthenticator(auth: VendorAuth): VendorAuthenticator {
  if (auth.type === 'api-key') {
    // Digests computed once: a request costs one SHA-256 of the presented key plus one comparison per key.
    const digests = auth.keys.map((key) => sha256(key.reveal()));
    return {
      checkHeaders(headers) {
        const key = single(headers['x-api-key']);
        if (!key) return 'missing_credentials';
        return matchesAny(sha256(Buffer.from(key, 'utf8')), digests) ? undefined : 'bad_credentials';
      },
      verifyBody: () => true,
    };
  }
  const secrets = auth.secrets;
  return {
    checkHeaders(headers, now) {
      const signature = parseSignature(single(headers['x-signature']));
      const timestamp = single(headers['x-timestamp']);
      if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing_credentials';
      if (Math.abs(Number(timestamp) * 1000 - now) > HMAC_TOLERANCE_MS) return 'stale_timestamp';
      return undefined;
    },
    verifyBody(headers, body) {
      const signature = parseSignature(single(headers['x-signature']));
      const timestamp = single(headers['x-timestamp']);
      if (!signature || !timestamp) return false;
      return matchesAny(
        signature,
        secrets.map((secret) => hmac(secret.reveal(), timestamp, body)),
      );
    },
  };
}

/** The `x-signature` value for a body: what a vendor computes (exported for tests, benchmarks and docs). */
export function signBody(secret: string | Buffer, timestamp: string, body: Buffer | string): string {
  return `sha256=${hmac(secret, timestamp, typeof body === 'string' ? Buffer.from(body, 'utf8') : body).toString('hex')}`;
}

function hmac(secret: string | Buffer, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest();
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Compares with every expected digest (no early exit), each in constant time; all are 32 bytes. */
function matchesAny(presented: Buffer, expected: readonly Buffer[]): boolean {
  let match = false;
  for (const digest of expected) {
    if (digest.length === presented.length && timingSafeEqual(digest, presented)) match = true;
  }
  return match;
}

/** `sha256=<64 hex>` → the 32 digest bytes; anything else → undefined. */
function parseSignature(header: string | undefined): Buffer | undefined {
  const match = header?.match(/^sha256=([0-9a-fA-F]{64})$/);
  return match ? Buffer.from(match[1]!, 'hex') : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
