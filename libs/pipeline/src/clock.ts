// Time comes in through an interface so tests and replays control it; the libs never read the wall clock.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
