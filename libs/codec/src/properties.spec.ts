// Property-based checks: whatever bytes arrive, decode either returns a valid snapshot or throws a CodecError;
// and every valid snapshot survives encode/decode exactly (and re-encodes to the same bytes).

import {
  FUSED_FIELDS,
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type FieldSource,
  type FieldSources,
  type TransportSnapshot,
  type Vehicle,
  type VendorRecord,
  type VendorSnapshot,
} from '@transit-fusion/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { craftBlob, rawPayload, transportSnapshot, vendorSnapshot } from '../test/fixtures.js';
import {
  decodeTransportSnapshot,
  decodeVendorSnapshot,
  encodeTransportSnapshot,
  encodeVendorSnapshot,
  isCodecError,
  peekHeader,
} from './index.js';

/** Runs `decode` and re-encodes what it returns; anything thrown must be a CodecError. */
function decodesOrRejects(bytes: Uint8Array): void {
  for (const [decode, encode] of [
    [decodeTransportSnapshot, encodeTransportSnapshot],
    [decodeVendorSnapshot, encodeVendorSnapshot],
  ] as const) {
    let result: unknown;
    try {
      result = decode(bytes);
    } catch (error) {
      if (isCodecError(error)) continue;
      throw error;
    }
    // A lucky input decoded: it must then be a snapshot the encoder accepts and reproduces.
    const again = (encode as (s: unknown) => Uint8Array)(result);
    expect((decode as (b: Uint8Array) => unknown)(again)).toEqual(result);
  }
  try {
    peekHeader(bytes);
  } catch (error) {
    if (!isCodecError(error)) throw error;
  }
}

function withHeader(kind: number, payload: Uint8Array, declaredLength = payload.length): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out.set([0x54, 0x46, 1, kind]);
  new DataView(out.buffer).setUint32(4, declaredLength >>> 0);
  out.set(payload, 8);
  return out;
}

describe('decode never throws anything but CodecError', () => {
  it('for random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrRejects), { numRuns: 1000 });
  });

  it('for random payloads behind a valid header, with the right length or a random one', () => {
    const payload = fc.uint8Array({ maxLength: 300 });
    fc.assert(
      fc.property(fc.constantFrom(1, 2), payload, fc.option(fc.nat()), (kind, bytes, length) => {
        decodesOrRejects(withHeader(kind, bytes, length ?? bytes.length));
      }),
      { numRuns: 1000 },
    );
  });

  it('for well-formed MessagePack of any shape behind a valid header', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('transport', 'vendor') as fc.Arbitrary<'transport' | 'vendor'>,
        fc.anything(),
        (kind, value) => {
          decodesOrRejects(craftBlob(kind, value));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('for a valid wire payload with one value replaced by anything', () => {
    const transportWire = rawPayload(encodeTransportSnapshot(transportSnapshot(4)));
    const vendorWire = rawPayload(encodeVendorSnapshot(vendorSnapshot(4)));
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.nat(), fc.anything(), (transport, pick, pickKey, value) => {
        const wire = structuredClone(transport ? transportWire : vendorWire);
        if (transport) {
          // Replace a whole column, or one entry of one.
          const key = Object.keys(wire)[pickKey % Object.keys(wire).length]!;
          const column = wire[key];
          // A typed array only holds numbers (assigning an object would throw in the test itself), so a
          // non-number replaces the whole column instead.
          const entryFits =
            Array.isArray(column) || (ArrayBuffer.isView(column) && typeof value === 'number');
          if (pick % 2 === 1 && entryFits) {
            const entries = column as unknown as Record<number, unknown> & { length: number };
            if (entries.length > 0) entries[pick % entries.length] = value;
          } else {
            wire[key] = value;
          }
        } else {
          const list = wire.records as Record<string, unknown>[];
          const target = pick % 3 === 0 ? wire : list[pick % list.length]!;
          const keys = Object.keys(target);
          target[keys[pickKey % keys.length]!] = value;
        }
        decodesOrRejects(craftBlob(transport ? 'transport' : 'vendor', wire));
      }),
      { numRuns: 1000 },
    );
  });

  it('and leaves the decoder working for the next valid blob', () => {
    const snapshot = transportSnapshot(5);
    const blob = encodeTransportSnapshot(snapshot);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 9, maxLength: 100 }), (bytes) => {
        decodesOrRejects(withHeader(1, bytes.subarray(8)));
        expect(decodeTransportSnapshot(blob)).toEqual(snapshot);
      }),
      { numRuns: 300 },
    );
  });
});

// -0 is left out: vendor records (msgpack numbers) write it as the integer 0; transport columns keep it.
const double = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
const text = fc.string({ unit: 'binary', maxLength: 24 });
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });
const count = fc.maxSafeNat();
const position = fc.record({ lat: double, lon: double });

const fieldSource: fc.Arbitrary<FieldSource> = fc.record(
  {
    vendorId: fc.constantFrom('gtfs', 'fleet', 'ticketing', 'depot', 'ü-vendor'),
    observedAt: instant,
    stale: fc.constant(true),
  },
  { requiredKeys: ['vendorId', 'observedAt'], noNullPrototype: true },
);
const fieldSources = fc.record(
  Object.fromEntries(FUSED_FIELDS.map((f) => [f, fieldSource])) as Record<
    keyof FieldSources,
    typeof fieldSource
  >,
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<FieldSources>;

const vehicle: fc.Arbitrary<Vehicle> = fc.record(
  {
    id: text,
    label: text,
    transportType: fc.constantFrom(...TRANSPORT_TYPES),
    status: fc.constantFrom(...VEHICLE_STATUSES),
    position,
    bearing: double,
    speed: double,
    delay: double,
    fuel: double,
    routeId: text,
    tripId: text,
    sources: fieldSources,
    quality: fc.integer({ min: 0, max: 0xffffffff }),
  },
  { requiredKeys: ['id', 'transportType', 'status', 'sources', 'quality'], noNullPrototype: true },
);

const transport: fc.Arbitrary<TransportSnapshot> = fc.record(
  {
    sequence: count,
    generatedAt: instant,
    sources: fc.array(
      fc.record(
        { vendorId: text, sequence: count, collectedAt: instant, recordCount: count },
        { noNullPrototype: true },
      ),
      { maxLength: 4 },
    ),
    vehicles: fc.array(vehicle, { maxLength: 12 }),
  },
  { noNullPrototype: true },
);

const record = fc.record(
  {
    vehicleKey: text,
    observedAt: instant,
    transportType: fc.constantFrom(...TRANSPORT_TYPES),
    position,
    bearing: double,
    speed: double,
    delay: double,
    fuel: double,
    routeId: text,
    tripId: text,
    status: fc.constantFrom(...VEHICLE_STATUSES),
  },
  { requiredKeys: ['vehicleKey', 'observedAt'], noNullPrototype: true },
);

const vendor: fc.Arbitrary<VendorSnapshot> = fc
  .record(
    { vendorId: text, sequence: count, collectedAt: instant, records: fc.array(record, { maxLength: 12 }) },
    { noNullPrototype: true },
  )
  .map((s) => ({ ...s, records: s.records.map((r): VendorRecord => ({ vendorId: s.vendorId, ...r })) }));

describe('valid snapshots round-trip exactly', () => {
  it('transport snapshots', () => {
    fc.assert(
      fc.property(transport, (snapshot) => {
        const blob = encodeTransportSnapshot(snapshot);
        const decoded = decodeTransportSnapshot(blob);
        expect(decoded).toEqual(snapshot);
        expect(encodeTransportSnapshot(decoded)).toEqual(blob);
      }),
      { numRuns: 300 },
    );
  });

  it('vendor snapshots', () => {
    fc.assert(
      fc.property(vendor, (snapshot) => {
        const blob = encodeVendorSnapshot(snapshot);
        const decoded = decodeVendorSnapshot(blob);
        expect(decoded).toEqual(snapshot);
        expect(encodeVendorSnapshot(decoded)).toEqual(blob);
      }),
      { numRuns: 500 },
    );
  });
});
