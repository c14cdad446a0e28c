import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isModelError,
  type ModelError,
  parseInstant,
  parseVendorRecord,
  parseVendorSnapshot,
  vendorRecordSchema,
} from './index.js';

const valid = {
  vendorId: 'vendor-a',
  vehicleKey: 'gtfs-1042',
  observedAt: Date.UTC(2026, 10, 21, 8, 47),
  position: { lat: 59.437, lon: 24.7536 },
  speed: 11.5,
};

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(isModelError(error)).toBe(true);
    return (error as ModelError).issues;
  }
  throw new Error('expected a ModelError');
}

describe('parseVendorRecord', () => {
  it('accepts a record with any subset of fields and keeps them', () => {
    expect(parseVendorRecord(valid)).toEqual(valid);
    const minimal = { vendorId: 'c', vehicleKey: '7', observedAt: valid.observedAt, fuel: 40 };
    expect(parseVendorRecord(minimal)).toEqual(minimal);
  });

  it('normalises an ISO-8601 observedAt to epoch milliseconds', () => {
    const record = parseVendorRecord({ ...valid, observedAt: '2026-11-21T08:47:00Z' });
    expect(record.observedAt).toBe(Date.UTC(2026, 10, 21, 8, 47));
  });

  it('names the field and the problem', () => {
    const issues = issuesOf(() => parseVendorRecord({ ...valid, position: { lat: 'north', lon: 24 } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('position.lat');
    expect(issues[0]!.message).toMatch(/number/);
  });

  it('reports every bad field at once, in the message too', () => {
    const bad = { ...valid, vehicleKey: '', speed: Number.NaN, status: 'flying' };
    expect(() => parseVendorRecord(bad)).toThrow(/vehicleKey: must not be empty/);
    expect(issuesOf(() => parseVendorRecord(bad)).map((i) => i.path)).toEqual([
      'vehicleKey',
      'speed',
      'status',
    ]);
  });

  it('rejects seconds passed where milliseconds are expected', () => {
    const issues = issuesOf(() => parseVendorRecord({ ...valid, observedAt: 1_763_712_000 }));
    expect(issues[0]).toMatchObject({ path: 'observedAt' });
    expect(issues[0]!.message).toMatch(/seconds/);
  });

  it('rejects a date-time without a zone, infinite numbers and control characters', () => {
    expect(issuesOf(() => parseVendorRecord({ ...valid, observedAt: '2026-11-21T08:47:00' }))[0]!.path).toBe(
      'observedAt',
    );
    expect(issuesOf(() => parseVendorRecord({ ...valid, fuel: Infinity }))[0]!.path).toBe('fuel');
    expect(issuesOf(() => parseVendorRecord({ ...valid, vehicleKey: 'a\u0000b' }))[0]!.path).toBe(
      'vehicleKey',
    );
  });

  it('keeps out-of-range values: ranges are data quality, flagged by the pipeline', () => {
    expect(parseVendorRecord({ ...valid, position: { lat: 0, lon: 0 }, speed: 400 }).speed).toBe(400);
  });

  it('rejects non-objects with a root issue', () => {
    expect(issuesOf(() => parseVendorRecord('hello'))[0]!.path).toBe('');
    expect(issuesOf(() => parseVendorRecord(null))[0]!.path).toBe('');
  });
});

describe('parseVendorSnapshot', () => {
  const snapshot = { vendorId: 'vendor-a', sequence: 3, collectedAt: valid.observedAt, records: [valid] };

  it('accepts a snapshot, including one with no vehicles', () => {
    expect(parseVendorSnapshot(snapshot).records).toHaveLength(1);
    expect(parseVendorSnapshot({ ...snapshot, records: [] }).records).toEqual([]);
  });

  it('names the record index of a bad field', () => {
    const bad = { ...snapshot, records: [valid, { ...valid, speed: 'fast' }] };
    expect(issuesOf(() => parseVendorSnapshot(bad))[0]!.path).toBe('records[1].speed');
  });

  it('rejects a record that belongs to another vendor', () => {
    const bad = { ...snapshot, records: [{ ...valid, vendorId: 'vendor-b' }] };
    expect(issuesOf(() => parseVendorSnapshot(bad))[0]).toMatchObject({ path: 'records[0].vendorId' });
  });
});

describe('parseInstant', () => {
  it('parses epoch ms and ISO strings and names the argument on failure', () => {
    expect(parseInstant('2020-01-21T04:55:23Z')).toBe(Date.UTC(2020, 0, 21, 4, 55, 23));
    expect(parseInstant(1_600_000_000_000)).toBe(1_600_000_000_000);
    expect(() => parseInstant('yesterday', 'at')).toThrow(/^invalid input: at: /);
  });
});

describe('parseVendorRecord fast path', () => {
  // The fast path must accept exactly what the schema accepts unchanged and return what the schema returns;
  // everything else falls through to the schema. Random records near the edges of every rule check that.
  it('agrees with the schema on random records, valid and not', () => {
    const id = fc.oneof(
      fc.string({ minLength: 0, maxLength: 3 }),
      fc.constantFrom('bus-1', 'a'.repeat(128), 'a'.repeat(129), 'tab\there', ''),
    );
    const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity));
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const record = fc.record(
      {
        vendorId: fc.oneof(id, fc.integer()),
        vehicleKey: id,
        observedAt: fc.oneof(
          fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }),
          fc.double(),
          fc.constantFrom('2026-11-21T08:47:00Z', '2026-11-21', Date.UTC(2000, 0, 1), Date.UTC(2100, 0, 1)),
        ),
        transportType: maybe(fc.constantFrom('bus', 'tram', 'ufo', 3)),
        position: maybe(
          fc.oneof(fc.record({ lat: num, lon: num }), fc.constant(null), fc.record({ lat: num })),
        ),
        bearing: maybe(num),
        speed: maybe(fc.oneof(num, fc.constant('12'))),
        delay: maybe(num),
        fuel: maybe(num),
        routeId: maybe(id),
        tripId: maybe(fc.oneof(id, fc.integer())),
        status: maybe(fc.constantFrom('on_duty', 'parked', 'unknown', 'sleeping')),
        extra: maybe(fc.string()),
      },
      { requiredKeys: ['vendorId', 'vehicleKey', 'observedAt'] },
    );
    fc.assert(
      fc.property(record, (input) => {
        const schema = vendorRecordSchema.safeParse(input);
        let fast: unknown;
        let threw = false;
        try {
          fast = parseVendorRecord(input);
        } catch (error) {
          threw = isModelError(error);
        }
        expect(threw).toBe(!schema.success);
        // toEqual: the schema keeps keys given as `undefined`, the fast path leaves them out (same record).
        if (schema.success) expect(fast).toEqual(schema.data);
      }),
      { numRuns: 3_000 },
    );
  });
});
