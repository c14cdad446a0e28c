// The error a call throws, for asserting its code and message (fails the test when nothing is thrown).

import type { TeltonikaError } from '../src/teltonika-error.js';

export function thrown(fn: () => unknown): TeltonikaError {
  try {
    fn();
  } catch (error) {
    return error as TeltonikaError;
  }
  throw new Error('expected a throw');
}
