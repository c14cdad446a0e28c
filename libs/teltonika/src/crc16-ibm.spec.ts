// CRC-16/IBM: the catalogue's check value, bounds, and agreement with a bit-by-bit reference (property).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16Ibm } from './index.js';

/** The textbook bitwise algorithm, to check the table-driven one against. */
function reference(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

describe('crc16Ibm', () => {
  it('has the check value 0xBB3D for "123456789" and 0 for nothing', () => {
    expect(crc16Ibm(Buffer.from('123456789'))).toBe(0xbb3d);
    expect(crc16Ibm(new Uint8Array())).toBe(0);
  });

  it('covers [start, end) only, clamped to the array', () => {
    const bytes = Buffer.from('xx123456789yy');
    expect(crc16Ibm(bytes, 2, 11)).toBe(0xbb3d);
    expect(crc16Ibm(bytes, -5, 100)).toBe(crc16Ibm(bytes));
  });

  it('agrees with the bitwise reference on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc16Ibm(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 300 },
    );
  });
});
