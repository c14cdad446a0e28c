// The generic JSON adapter: mapping validation at start-up, nested paths, time formats, scaling, and items
// that must be reported rather than dropped.

import { describe, expect, it } from 'vitest';
import { isVendorFeedError, mapJsonRecords, parseJsonFieldMapping, type JsonFieldMapping } from './index.js';

const fuelMapping: JsonFieldMapping = {
  recordsPath: 'data.items',
  fields: {
    vehicleKey: 'unitId',
    observedAt: 'ts',
    fuel: 'fuelPct',
    'position.lat': 'gps.lat',
    'position.lon': 'gps.lon',
    status: 'state',
  },
  observedAtFormat: 'epoch-s',
  scale: { fuel: 0.1 },
};

describe('parseJsonFieldMapping', () => {
  it('accepts a valid mapping, defaults the time format, and freezes it', () => {
    const mapping = parseJsonFieldMapping({ fields: { vehicleKey: 'id', fuel: 'f' } });
    expect(mapping).toEqual({ fields: { vehicleKey: 'id', fuel: 'f' }, observedAtFormat: 'epoch-ms' });
    expect(Object.isFrozen(mapping)).toBe(true);
    expect(parseJsonFieldMapping(mapping)).toBe(mapping);
  });

  it.each([
    ['no vehicleKey', { fields: { fuel: 'f' } }, /must map vehicleKey/],
    [
      'half a position',
      { fields: { vehicleKey: 'id', 'position.lat': 'lat' } },
      /position.lat and position.lon together/,
    ],
    ['an unknown field', { fields: { vehicleKey: 'id', colour: 'c' } }, /fields/],
    ['an empty path segment', { fields: { vehicleKey: 'a..b' } }, /fields.vehicleKey: must be a dot path/],
    ['a bad time format', { fields: { vehicleKey: 'id' }, observedAtFormat: 'rfc2822' }, /observedAtFormat/],
    ['a scale on a text field', { fields: { vehicleKey: 'id' }, scale: { routeId: 2 } }, /scale/],
    ['an unknown setting', { fields: { vehicleKey: 'id' }, recordPath: 'x' }, /recordPath/],
    ['not an object', 'vehicleKey=id', /mapping/],
  ])('rejects %s with INVALID_MAPPING naming it', (_name, input, message) => {
    let caught: unknown;
    try {
      parseJsonFieldMapping(input);
    } catch (error) {
      caught = error;
    }
    expect(isVendorFeedError(caught) && caught.code).toBe('INVALID_MAPPING');
    expect((caught as Error).message).toMatch(message);
  });
});

describe('mapJsonRecords', () => {
  it('maps nested paths, epoch seconds and scale', () => {
    const json = {
      data: {
        items: [
          { unitId: 'U-1', ts: 1_700_000_000, fuelPct: 734, gps: { lat: 60.1, lon: 24.9 }, state: 'on_duty' },
          { unitId: 42, ts: '1700000001', fuelPct: '500' },
        ],
      },
    };
    const result = mapJsonRecords(json, fuelMapping, { vendorId: 'C' });
    expect(result.rejected).toEqual([]);
    expect(result.keySources).toEqual(['mapped', 'mapped']);
    expect(result.records).toEqual([
      {
        vendorId: 'C',
        vehicleKey: 'U-1',
        observedAt: 1_700_000_000_000,
        fuel: expect.closeTo(73.4, 9),
        position: { lat: 60.1, lon: 24.9 },
        status: 'on_duty',
      },
      { vendorId: 'C', vehicleKey: '42', observedAt: 1_700_000_001_000, fuel: 50 },
    ]);
  });

  it('reads a root array with ISO times and array-index paths', () => {
    const mapping = parseJsonFieldMapping({
      fields: { vehicleKey: 'ids.0', observedAt: 'at', speed: 'v', transportType: 'kind' },
      observedAtFormat: 'iso',
    });
    const result = mapJsonRecords(
      [{ ids: ['B7'], at: '2026-11-21T08:47:00Z', v: 11, kind: 'tram' }],
      mapping,
      {
        vendorId: 'C',
      },
    );
    expect(result.records).toEqual([
      {
        vendorId: 'C',
        vehicleKey: 'B7',
        observedAt: Date.parse('2026-11-21T08:47:00Z'),
        speed: 11,
        transportType: 'tram',
      },
    ]);
  });

  it('reports missing keys, missing data, bad types and missing times, item by item', () => {
    const items = [
      { ts: 1_700_000_000, fuelPct: 10 },
      { unitId: 'U-2', ts: 1_700_000_000 },
      { unitId: 'U-3', ts: 1_700_000_000, fuelPct: 'full' },
      { unitId: 'U-4', ts: 1_700_000_000, gps: { lat: 60 } },
      { unitId: 'U-5', fuelPct: 10 },
      { unitId: 'U-6', ts: 1_700_000_000, fuelPct: 10, state: 'asleep' },
      { unitId: 'U-7', ts: 1_700_000_000, fuelPct: 10, __proto__: { unitId: 'x' } },
      null,
      { unitId: 'U-9', ts: 1_700_000_000, fuelPct: 10 },
    ];
    const result = mapJsonRecords({ data: { items } }, fuelMapping, { vendorId: 'C' });
    expect(result.records.map((r) => r.vehicleKey)).toEqual(['U-7', 'U-9']);
    expect(result.rejected.map((r) => [r.index, r.entityId, r.code])).toEqual([
      [0, undefined, 'NO_VEHICLE_KEY'],
      [1, 'U-2', 'NO_DATA'],
      [2, 'U-3', 'INVALID_FIELD'],
      [3, 'U-4', 'INVALID_FIELD'],
      [4, 'U-5', 'NO_TIMESTAMP'],
      [5, 'U-6', 'INVALID_FIELD'],
      [7, undefined, 'NO_VEHICLE_KEY'],
    ]);
    expect(result.rejected[1]!.reason).toContain('fuel, position.lat, position.lon, status');
    expect(result.rejected[2]!.reason).toBe('fuel at "fuelPct" is not a number');
  });

  it('rejects epoch seconds given as milliseconds through the model validation', () => {
    const mapping = { fields: { vehicleKey: 'id', observedAt: 't', fuel: 'f' } };
    const result = mapJsonRecords([{ id: 'a', t: 1_700_000_000, f: 1 }], parseJsonFieldMapping(mapping), {
      vendorId: 'C',
    });
    expect(result.rejected[0]).toMatchObject({
      code: 'INVALID_FIELD',
      reason: expect.stringContaining('observedAt'),
    });
  });

  it.each([
    ['a records path to an object', { data: { items: {} } }, /"data.items" is not an array \(found object\)/],
    ['a missing records path', { other: [] }, /"data.items" is not an array \(found nothing\)/],
    ['null', null, /not an array/],
  ])('throws MALFORMED_FEED for %s', (_name, json, message) => {
    expect(() => mapJsonRecords(json, fuelMapping, { vendorId: 'C' })).toThrow(message);
  });

  it('validates an unparsed mapping before use', () => {
    expect(() => mapJsonRecords([], { fields: {} } as JsonFieldMapping, { vendorId: 'C' })).toThrow(
      /INVALID_MAPPING/,
    );
  });
});
