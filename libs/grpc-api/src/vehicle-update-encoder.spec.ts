// The direct VehicleUpdate encoder against the general path (toWireVehicle + proto-loader's serializer, i.e.
// protobufjs from the .proto): for any update both decode to the same object, with the .proto's own decoder.

import {
  FUSED_FIELDS,
  QualityFlag,
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type FieldSources,
  type Vehicle,
} from '@transit-fusion/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeVehicleUpdate, fromWireVehicle, loadTransitFusionProto, toWireVehicle } from './index.js';

const method = () => loadTransitFusionProto().VehicleFeed.service['Subscribe']!;
const decode = (bytes: Buffer) => method().responseDeserialize(bytes) as Record<string, unknown>;

// Any text, and ASCII (written char by char below 128 bytes) around that bound, non-ASCII late in it too.
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 140 }),
  fc.string({ unit: 'binary-ascii', minLength: 120, maxLength: 135 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
  fc
    .tuple(
      fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 127 }),
      fc.constantFrom('é', '↔', '\ud800'),
    )
    .map(([ascii, other]) => ascii + other),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const double = fc.double({ noNaN: true });
const time = fc.integer({ min: 0, max: 2 ** 53 - 1 });
// Beyond the model's validated range too (negative, fractional, past 2^53, not finite): written as protobufjs
// writes them, never a hang or a throw.
const anyInt64 = fc.oneof(time, fc.double(), fc.integer({ min: -(2 ** 31), max: -1 }));
const source = fc.record(
  { vendorId: text, observedAt: anyInt64, stale: fc.constant(true) },
  { requiredKeys: ['vendorId', 'observedAt'] },
);
const vehicle: fc.Arbitrary<Vehicle> = fc
  .record({
    id: text,
    label: maybe(text),
    transportType: fc.constantFrom(...TRANSPORT_TYPES),
    status: fc.constantFrom(...VEHICLE_STATUSES),
    position: maybe(fc.record({ lat: double, lon: double })),
    bearing: maybe(double),
    speed: maybe(double),
    delay: maybe(double),
    fuel: maybe(double),
    routeId: maybe(text),
    tripId: maybe(text),
    sources: fc.dictionary(fc.constantFrom(...FUSED_FIELDS), source) as fc.Arbitrary<FieldSources>,
    quality: fc.nat({ max: 2 ** 32 - 1 }),
  })
  .map((v) => {
    // Absent, not undefined-valued: the model's optional fields.
    const out: Record<string, unknown> = {};
    for (const [k, value] of Object.entries(v)) if (value !== undefined) out[k] = value;
    return out as unknown as Vehicle;
  });
const update = fc.record({
  sequence: fc.nat(),
  generatedAtMs: anyInt64,
  keyframe: fc.boolean(),
  vehicles: fc.array(vehicle, { maxLength: 8 }),
  removed: fc.array(text, { maxLength: 4 }),
  previousSequence: fc.nat(),
});

describe('encodeVehicleUpdate', () => {
  it('decodes to what the general serializer gives, for any update', () => {
    fc.assert(
      fc.property(update, (u) => {
        const general = method().responseSerialize({ ...u, vehicles: u.vehicles.map(toWireVehicle) });
        expect(decode(encodeVehicleUpdate(u))).toEqual(decode(general));
      }),
      { numRuns: 500 },
    );
  });

  it('grows its buffer for a message larger than it holds, mid-message', () => {
    const big: Vehicle = {
      id: 'x'.repeat(300_000),
      label: 'ü'.repeat(100_000),
      transportType: 'bus',
      status: 'parked',
      sources: { position: { vendorId: 'v'.repeat(70_000), observedAt: 1 } },
      quality: 0,
    };
    const u = {
      sequence: 1,
      generatedAtMs: 2,
      keyframe: true,
      vehicles: [big, big],
      removed: [],
      previousSequence: 0,
    };
    const general = method().responseSerialize({ ...u, vehicles: u.vehicles.map(toWireVehicle) });
    const direct = encodeVehicleUpdate(u);
    expect(direct.length).toBeGreaterThan(900_000);
    expect(decode(direct)).toEqual(decode(general));
  });

  it('round-trips a realistic vehicle to the model, long strings and quality flags included', () => {
    const v: Vehicle = {
      id: `bus-${'x'.repeat(300)}`,
      label: 'Ülemiste ↔ Kadriorg',
      transportType: 'tram',
      status: 'on_duty',
      position: { lat: 59.437, lon: 24.7536 },
      bearing: 0,
      sources: {
        position: { vendorId: 'positions', observedAt: Date.UTC(2026, 10, 22, 8, 47) },
        status: { vendorId: 'fleet', observedAt: 1, stale: true },
      },
      quality: QualityFlag.Stale | QualityFlag.Partial,
    };
    const decoded = decode(
      encodeVehicleUpdate({
        sequence: 2 ** 40,
        generatedAtMs: Date.UTC(2026, 10, 22),
        keyframe: false,
        vehicles: [v],
        removed: ['gone'],
        previousSequence: 2 ** 40 - 1,
      }),
    );
    expect(decoded).toMatchObject({
      sequence: 2 ** 40,
      previousSequence: 2 ** 40 - 1,
      keyframe: false,
      removed: ['gone'],
    });
    const [wire] = decoded['vehicles'] as Parameters<typeof fromWireVehicle>[0][];
    expect(wire!.qualityFlags).toEqual(expect.arrayContaining(['Stale', 'Partial']));
    expect(fromWireVehicle(wire!)).toEqual(v);
  });
});
