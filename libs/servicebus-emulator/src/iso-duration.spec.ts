import { describe, expect, it } from 'vitest';
import { parseIsoDuration } from './iso-duration.js';

describe('parseIsoDuration', () => {
  it.each([
    ['PT30S', 30_000],
    ['PT1M', 60_000],
    ['PT0.5S', 500],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1DT2H3M4.5S', 93_784_500],
  ])('%s is %i ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '30S', 'PT1X', 'P1M', 'PT-1S', '1 minute', 'P1DT'])('rejects %j', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });
});
