// toVendorSnapshot: the step between a decoded feed and what the collector saves.

import { parseVendorSnapshot } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { isVendorFeedError, mapJsonRecords, parseJsonFieldMapping, toVendorSnapshot } from './index.js';

const mapping = parseJsonFieldMapping({ fields: { vehicleKey: 'id', fuel: 'f' } });
const result = mapJsonRecords(
  [
    { id: 'a', f: 1 },
    { id: 'b', f: 2 },
  ],
  mapping,
  { vendorId: 'C', now: 1_700_000_000_000 },
);

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('toVendorSnapshot', () => {
  it('wraps the records in a snapshot the model accepts', () => {
    const snapshot = toVendorSnapshot(result, { vendorId: 'C', sequence: 7, collectedAt: 1_700_000_001_000 });
    expect(snapshot).toEqual({
      vendorId: 'C',
      sequence: 7,
      collectedAt: 1_700_000_001_000,
      records: result.records,
    });
    expect(parseVendorSnapshot(snapshot)).toEqual(snapshot);
  });

  it.each([
    [
      'another vendor',
      { vendorId: 'D', sequence: 1, collectedAt: 1_700_000_001_000 },
      /belongs to vendor C, not D/,
    ],
    ['a negative sequence', { vendorId: 'C', sequence: -1, collectedAt: 1_700_000_001_000 }, /sequence/],
    ['collectedAt in seconds', { vendorId: 'C', sequence: 1, collectedAt: 1_700_000_001 }, /collectedAt/],
  ])('refuses %s with INVALID_ARGUMENT', (_name, options, message) => {
    const error = errorOf(() => toVendorSnapshot(result, options));
    expect(isVendorFeedError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(message);
  });
});
