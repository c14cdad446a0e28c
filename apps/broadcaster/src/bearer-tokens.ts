// Bearer-token authentication for the APIs: `authorization: Bearer <token>` (gRPC metadata or HTTP header),
// compared in constant time against every configured token (several during a rotation). Tokens are held as
// Secrets, never logged.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '@transit-fusion/service-kit';

export interface BearerTokens {
  /** True when `authorization` carries one of the tokens. */
  accepts(authorization: string | undefined): boolean;
}

export function createBearerTokens(tokens: readonly Secret[]): BearerTokens {
  // Hashes make every comparison the same length, so timingSafeEqual leaks neither content nor length.
  const digests = tokens.map((t) => createHash('sha256').update(t.reveal()).digest());
  return {
    accepts(authorization) {
      if (!authorization) return false;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match) return false;
      const digest = createHash('sha256').update(match[1]!, 'utf8').digest();
      let ok = false;
      for (const d of digests) ok = timingSafeEqual(d, digest) || ok;
      return ok;
    },
  };
}
