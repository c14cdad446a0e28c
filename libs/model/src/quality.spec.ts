import { describe, expect, it } from 'vitest';
import { hasQualityFlag, QualityFlag, qualityFlagNames } from './index.js';

describe('quality flags', () => {
  it('are distinct bits', () => {
    const bits = Object.values(QualityFlag);
    expect(new Set(bits).size).toBe(bits.length);
    for (const bit of bits) expect(bit & (bit - 1)).toBe(0);
  });

  it('name the flags set, in declaration order', () => {
    const q = QualityFlag.Stale | QualityFlag.Partial | QualityFlag.FuelOutOfRange;
    expect(qualityFlagNames(q)).toEqual(['Partial', 'FuelOutOfRange', 'Stale']);
    expect(qualityFlagNames(0)).toEqual([]);
    expect(hasQualityFlag(q, QualityFlag.Stale)).toBe(true);
    expect(hasQualityFlag(q, QualityFlag.Calibrated)).toBe(false);
  });
});
