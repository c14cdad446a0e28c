// Lock tokens must read the same through a delivery tag (which the client byte-swaps) and through $management
// (plain uuid bytes).

import { describe, expect, it } from 'vitest';
import { lockTokenFromUuid, lockTokenUuid, newLockToken } from './lock-token.js';

/** What the client does with a delivery tag (@azure/service-bus reorderLockToken + rhea uuid_to_string). */
function asClientReadsIt(tag: Buffer): string {
  const b = Buffer.from([
    tag[3]!,
    tag[2]!,
    tag[1]!,
    tag[0]!,
    tag[5]!,
    tag[4]!,
    tag[7]!,
    tag[6]!,
    ...tag.subarray(8),
  ]);
  return lockTokenFromUuid(b);
}

describe('lock tokens', () => {
  it('carry the token in .NET GUID order in the delivery tag, as a version-4 UUID', () => {
    const { token, tag } = newLockToken();
    expect(tag).toHaveLength(16);
    expect(asClientReadsIt(tag)).toBe(token);
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('round-trip through the uuid bytes of $management requests', () => {
    const { token } = newLockToken();
    expect(lockTokenFromUuid(lockTokenUuid(token))).toBe(token);
  });

  it('are unique', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => newLockToken().token));
    expect(tokens.size).toBe(2000);
  });
});
