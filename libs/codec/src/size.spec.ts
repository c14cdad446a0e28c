// Size: records write key names once per blob, so a realistic network costs a fraction of its JSON.

import { describe, expect, it } from 'vitest';
import { transportSnapshot, vendorSnapshot } from '../test/fixtures.js';
import { encodeTransportSnapshot, encodeVendorSnapshot } from './index.js';

describe('encoded size', () => {
  it('a realistic 1,000-vehicle transport snapshot is at most half its JSON', () => {
    const snapshot = transportSnapshot(1_000);
    // The fixture is what the requirement describes: 4 vendors, 6-decimal positions, recent observations.
    expect(
      new Set(snapshot.vehicles.flatMap((v) => Object.values(v.sources).map((s) => s.vendorId))).size,
    ).toBe(4);
    const encoded = encodeTransportSnapshot(snapshot).byteLength;
    const json = Buffer.byteLength(JSON.stringify(snapshot));
    expect(encoded).toBeLessThanOrEqual(0.5 * json);
    // Today it is about 0.16; a jump means the records or the dictionaries stopped working.
    expect(encoded / json).toBeLessThan(0.25);
  });

  it('a vendor snapshot is at most half its JSON too', () => {
    const snapshot = vendorSnapshot(1_000);
    expect(encodeVendorSnapshot(snapshot).byteLength).toBeLessThanOrEqual(
      0.5 * Buffer.byteLength(JSON.stringify(snapshot)),
    );
  });
});
