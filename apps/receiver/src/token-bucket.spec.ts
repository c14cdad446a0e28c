import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './token-bucket.js';

describe('createTokenBucket', () => {
  it('grants a burst, then perSecond on average, and says how long to wait', () => {
    const bucket = createTokenBucket({ perSecond: 4, burst: 2 }, 0);
    expect([bucket.take(0), bucket.take(0)]).toEqual([0, 0]);
    expect(bucket.take(0)).toBe(250);
    expect(bucket.take(100)).toBe(150);
    expect(bucket.take(250)).toBe(0);
    // Idle time refills up to the burst, not beyond.
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([0, 0, 250]);
  });

  it('ignores a clock going backwards', () => {
    const bucket = createTokenBucket({ perSecond: 1, burst: 1 }, 5_000);
    expect(bucket.take(5_000)).toBe(0);
    expect(bucket.take(1_000)).toBe(1_000);
    expect(bucket.take(6_000)).toBe(0);
  });
});
