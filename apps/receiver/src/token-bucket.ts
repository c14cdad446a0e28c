// Per-vendor rate limit as a token bucket: a vendor may push `burst` times at once and `perSecond` on average.
// One bucket per configured vendor, created up front (unknown vendors are turned away before they reach one),
// so memory does not grow with traffic.

export interface TokenBucket {
  /** Takes one token: 0 when granted, else the milliseconds until one will be available. */
  take(now: number): number;
}

export function createTokenBucket(options: { perSecond: number; burst: number }, now: number): TokenBucket {
  const { perSecond, burst } = options;
  let tokens = burst;
  let last = now;
  return {
    take(at) {
      tokens = Math.min(burst, tokens + (Math.max(0, at - last) * perSecond) / 1000);
      last = Math.max(last, at);
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - tokens) * 1000) / perSecond);
    },
  };
}
