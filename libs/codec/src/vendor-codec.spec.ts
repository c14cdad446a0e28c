// Vendor snapshots: exact round trips, the vendor id written once and restored on every record, and decode
// refusing off-model values with a path.

import type { VendorRecord, VendorSnapshot } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { GENERATED_AT, craftBlob, rawPayload, vendorSnapshot } from '../test/fixtures.js';
import { decodeVendorSnapshot, encodeVendorSnapshot, isCodecError } from './index.js';

const roundTrip = (s: VendorSnapshot) => decodeVendorSnapshot(encodeVendorSnapshot(s));

const WIRE_RECORD_KEYS = 'key t type lat lon brg spd dly fuel route trip st'.split(' ');

describe('vendor snapshot round trip', () => {
  it('is exact for records with every mix of optional fields', () => {
    const snapshot = vendorSnapshot(90);
    expect(roundTrip(snapshot)).toEqual(snapshot);
  });

  it('handles a snapshot with no records', () => {
    const empty: VendorSnapshot = { vendorId: 'gtfs', sequence: 0, collectedAt: GENERATED_AT, records: [] };
    expect(roundTrip(empty)).toEqual(empty);
  });

  it('restores the vendor id on every record and leaves absent fields absent', () => {
    const record: VendorRecord = {
      vendorId: 'imei-feed',
      vehicleKey: '350000000000007',
      observedAt: GENERATED_AT,
    };
    const decoded = roundTrip({
      vendorId: 'imei-feed',
      sequence: 4,
      collectedAt: GENERATED_AT,
      records: [record],
    });
    expect(decoded.records[0]).toStrictEqual(record);
  });

  it('keeps unicode keys and ids', () => {
    const s: VendorSnapshot = {
      vendorId: 'Verkehrsverbund-Süd 🚌',
      sequence: 1,
      collectedAt: GENERATED_AT,
      records: [
        {
          vendorId: 'Verkehrsverbund-Süd 🚌',
          vehicleKey: '車両-42',
          observedAt: GENERATED_AT - 10,
          routeId: 'Linie Ü1',
          status: 'parked',
          transportType: 'ferry',
        },
      ],
    };
    expect(roundTrip(s)).toEqual(s);
  });

  it('writes one fixed-key record per vendor record and the vendor id once', () => {
    const blob = encodeVendorSnapshot(vendorSnapshot(40));
    const raw = rawPayload(blob);
    expect(Object.keys(raw)).toEqual(['vendor', 'seq', 'at', 'records']);
    for (const r of raw.records as object[]) expect(Object.keys(r)).toEqual(WIRE_RECORD_KEYS);
    expect(Buffer.from(blob).toString('latin1').split('gtfs-rt-city').length - 1).toBe(1);
  });
});

describe('encodeVendorSnapshot refuses what the wire cannot carry', () => {
  it('a record of another vendor (the wire keeps one vendor id per snapshot)', () => {
    const s = vendorSnapshot(5);
    s.records[3] = { ...s.records[3]!, vendorId: 'someone-else' };
    expect(() => encodeVendorSnapshot(s)).toThrow(
      `MALFORMED: records[3].vendorId must be the snapshot's vendor`,
    );
  });

  it('an unknown transport type or status, or a fractional observedAt', () => {
    const s = vendorSnapshot(3);
    expect(() =>
      encodeVendorSnapshot({ ...s, records: [{ ...s.records[0]!, transportType: 'blimp' as 'bus' }] }),
    ).toThrow(/^MALFORMED: records\[0\]\.transportType/);
    expect(() =>
      encodeVendorSnapshot({ ...s, records: [{ ...s.records[0]!, status: 'gone' as 'parked' }] }),
    ).toThrow(/^MALFORMED: records\[0\]\.status/);
    expect(() => encodeVendorSnapshot({ ...s, records: [{ ...s.records[0]!, observedAt: 1.5 }] })).toThrow(
      /^MALFORMED: records\[0\]\.observedAt/,
    );
  });
});

describe('decodeVendorSnapshot validates every value', () => {
  const valid = rawPayload(encodeVendorSnapshot(vendorSnapshot(12)));
  const record = (w: Record<string, unknown>, i: number) => (w.records as Record<string, unknown>[])[i]!;

  it.each([
    ['records[4].lat must be a number', (w: Record<string, unknown>) => (record(w, 4).lat = true)],
    ['records[0].key must be a string', (w: Record<string, unknown>) => (record(w, 0).key = null)],
    ['records[1].t must be whole epoch milliseconds', (w: Record<string, unknown>) => (record(w, 1).t = '1')],
    ['records[2].type must be null or an index', (w: Record<string, unknown>) => (record(w, 2).type = -1)],
    ['records[3].st must be null or an index', (w: Record<string, unknown>) => (record(w, 3).st = 3)],
    ['records[5].spd must be a number or null', (w: Record<string, unknown>) => delete record(w, 5).spd],
    ['records[6].trip must be a string or null', (w: Record<string, unknown>) => (record(w, 6).trip = 6)],
    ['records[7] must be an object', (w: Record<string, unknown>) => ((w.records as unknown[])[7] = 'x')],
    ['vendor must be a string', (w: Record<string, unknown>) => (w.vendor = 1)],
    ['at must be whole epoch milliseconds', (w: Record<string, unknown>) => (w.at = null)],
    ['records must be an array', (w: Record<string, unknown>) => delete w.records],
  ])('MALFORMED: %s', (message, patch) => {
    const w = structuredClone(valid);
    patch(w);
    expect(() => decodeVendorSnapshot(craftBlob('vendor', w))).toThrow(`MALFORMED: ${message}`);
  });

  it('every single-bit flip gives a CodecError or a snapshot that re-encodes exactly', () => {
    const blob = encodeVendorSnapshot(vendorSnapshot(4));
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const flipped = blob.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      let result: VendorSnapshot;
      try {
        result = decodeVendorSnapshot(flipped);
      } catch (error) {
        if (!isCodecError(error)) throw new Error(`bit ${bit}: ${String(error)}`, { cause: error });
        continue;
      }
      expect(roundTrip(result)).toEqual(result);
    }
  });
});
