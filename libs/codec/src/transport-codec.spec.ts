// Transport snapshots: exact round trips, the compact wire shape, and decode refusing anything off-model with a
// path, whether it comes from a bit flip or from a hand-made payload.

import {
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  type TransportSnapshot,
  type Vehicle,
} from '@transit-fusion/model';
import { describe, expect, it, vi } from 'vitest';
import {
  GENERATED_AT,
  VENDORS,
  craftBlob,
  fullVehicle,
  minimalVehicle,
  rawPayload,
  seededRandom,
  transportSnapshot,
  vendorSnapshot,
} from '../test/fixtures.js';
import {
  decodeTransportSnapshot,
  decodeVendorSnapshot,
  encodeTransportSnapshot,
  encodeVendorSnapshot,
  isCodecError,
} from './index.js';
import { statusCode, typeCode } from './transport-codec.js';

const roundTrip = (s: TransportSnapshot) => decodeTransportSnapshot(encodeTransportSnapshot(s));

function snapshotOf(vehicles: Vehicle[]): TransportSnapshot {
  return { sequence: 1, generatedAt: GENERATED_AT, sources: [], vehicles };
}

const WIRE_KEYS =
  'seq gen sources n id label type st q has lat lon brg spd dly fuel routes route trip vendors pm sm pv pa'.split(
    ' ',
  );
const VEHICLE_KEYS =
  'id label transportType position bearing speed delay fuel routeId tripId status sources quality';

describe('transport snapshot round trip', () => {
  it('is exact for a realistic snapshot (all fields, gaps, bare vehicles, stale sources)', () => {
    const snapshot = transportSnapshot(200);
    expect(snapshot.vehicles.some((v) => v.sources.position?.stale)).toBe(true);
    expect(roundTrip(snapshot)).toEqual(snapshot);
  });

  it('gives every vehicle one shape: all keys present, undefined where absent (as the pipeline makes them)', () => {
    const decoded = roundTrip(snapshotOf([minimalVehicle(7), fullVehicle(8, seededRandom(8))])).vehicles;
    for (const v of decoded) {
      expect(Object.keys(v).join(' ')).toBe(VEHICLE_KEYS);
      expect(Object.keys(v.sources).join(' ')).toBe(
        'position bearing speed delay fuel routeId tripId status',
      );
    }
    expect(decoded[0]).toEqual({
      id: 'tram-00007',
      transportType: 'tram',
      status: 'unknown',
      sources: {},
      quality: 0,
    });
    expect(decoded[0]!.position).toBeUndefined();
  });

  it('writes stale only when true', () => {
    const v = fullVehicle(1, seededRandom(1));
    v.sources.speed = { vendorId: 'x', observedAt: GENERATED_AT, stale: false };
    v.sources.delay = { vendorId: 'x', observedAt: GENERATED_AT, stale: true };
    const decoded = roundTrip(snapshotOf([v])).vehicles[0]!;
    expect(decoded.sources.speed).toStrictEqual({ vendorId: 'x', observedAt: GENERATED_AT });
    expect(decoded.sources.delay).toStrictEqual({ vendorId: 'x', observedAt: GENERATED_AT, stale: true });
  });

  it('handles an empty network and a snapshot without sources', () => {
    const empty: TransportSnapshot = { sequence: 0, generatedAt: GENERATED_AT, sources: [], vehicles: [] };
    expect(roundTrip(empty)).toEqual(empty);
  });

  it('keeps unicode ids, labels, vendor ids and route ids', () => {
    const v: Vehicle = {
      id: 'трамвай-7 🚋',
      label: 'Ääni №5',
      transportType: 'tram',
      status: 'on_duty',
      routeId: '路線-12',
      sources: { routeId: { vendorId: 'vendør-ü', observedAt: GENERATED_AT - 1 } },
      quality: 0,
    };
    const s: TransportSnapshot = { ...snapshotOf([v]), sources: [] };
    s.sources.push({ vendorId: 'vendør-ü', sequence: 3, collectedAt: GENERATED_AT, recordCount: 1 });
    expect(roundTrip(s)).toEqual(s);
  });

  it('keeps doubles bit-exact, and ages from sources observed after generatedAt', () => {
    const v = fullVehicle(2, seededRandom(2));
    v.position = { lat: 0.1 + 0.2, lon: -179.99999999999997 };
    v.speed = Number.MIN_VALUE;
    v.fuel = 1e308;
    v.delay = -(2 ** 40);
    v.sources.position = { vendorId: 'clock-ahead', observedAt: GENERATED_AT + 1_500 };
    v.sources.speed = { vendorId: 'old', observedAt: 0 };
    expect(roundTrip(snapshotOf([v]))).toEqual(snapshotOf([v]));
  });

  it('keeps -0, NaN and infinities bit-exact (float64 columns)', () => {
    const v = fullVehicle(3, seededRandom(3));
    v.bearing = -0;
    v.speed = Number.NaN;
    v.delay = Number.NEGATIVE_INFINITY;
    const decoded = roundTrip(snapshotOf([v])).vehicles[0]!;
    expect(Object.is(decoded.bearing, -0)).toBe(true);
    expect(decoded.speed).toBeNaN();
    expect(decoded.delay).toBe(Number.NEGATIVE_INFINITY);
  });

  it('keeps ages beyond the int32 range', () => {
    const v = fullVehicle(5, seededRandom(5));
    v.sources.fuel = { vendorId: 'archive', observedAt: GENERATED_AT - 40 * 86_400_000 };
    expect(roundTrip(snapshotOf([minimalVehicle(1), v]))).toEqual(snapshotOf([minimalVehicle(1), v]));
  });

  it('decodes many snapshots in a row, every blob standing alone', () => {
    const blobs = [20, 0, 5, 1].map((n, k) => encodeTransportSnapshot(transportSnapshot(n, k)));
    const reversed = blobs.map((_, k) => decodeTransportSnapshot(blobs[blobs.length - 1 - k]!)).reverse();
    expect(reversed).toEqual([20, 0, 5, 1].map((n, k) => transportSnapshot(n, k)));
  });

  it('does not hand out one blob’s memory to the next encode', () => {
    const first = encodeTransportSnapshot(transportSnapshot(10, 1));
    const copy = first.slice();
    encodeTransportSnapshot(transportSnapshot(30, 2));
    expect(first).toEqual(copy);
  });
});

describe('transport wire form', () => {
  const snapshot = transportSnapshot(50);
  const blob = encodeTransportSnapshot(snapshot);

  it('is self-contained columns: a fresh msgpackr Unpackr reads typed arrays of one entry per vehicle', () => {
    const raw = rawPayload(blob);
    expect(Object.keys(raw)).toEqual(WIRE_KEYS);
    expect(raw.n).toBe(50);
    for (const [key, kind] of [
      ['type', Uint8Array],
      ['st', Uint8Array],
      ['q', Uint32Array],
      ['has', Uint8Array],
      ['lat', Float64Array],
      ['fuel', Float64Array],
      ['route', Uint32Array],
      ['pm', Uint8Array],
      ['sm', Uint8Array],
    ] as const) {
      expect(raw[key]).toBeInstanceOf(kind);
      expect((raw[key] as ArrayLike<number>).length).toBe(50);
    }
    expect(raw.id).toHaveLength(50);
    // The dictionaries hold each vendor and route once, in order of first use.
    expect([...(raw.vendors as string[])].sort()).toEqual([...VENDORS].sort());
    const routes = raw.routes as string[];
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('writes each column name once per blob, not once per vehicle', () => {
    const text = Buffer.from(blob).toString('latin1');
    expect(text.split('fuel').length - 1).toBe(1);
    expect(text.split('routes').length - 1).toBe(1);
  });

  it('stores enums as indexes, absent values as cleared bits, and provenance as masks, vendors and ages', () => {
    const v = fullVehicle(1, seededRandom(9), { fuel: false, label: false });
    const w = rawPayload(encodeTransportSnapshot(snapshotOf([v])));
    expect(w.label).toEqual([null]);
    expect([...(w.type as Uint8Array)]).toEqual([1]);
    expect([...(w.st as Uint8Array)]).toEqual([0]);
    expect((w.has as Uint8Array)[0]! & 0b1_0000).toBe(0); // no fuel
    expect([...(w.pm as Uint8Array)]).toEqual([0b1110_1111]);
    expect([...(w.pa as Int32Array)]).toEqual([
      GENERATED_AT - v.sources.position!.observedAt,
      GENERATED_AT - v.sources.bearing!.observedAt,
      GENERATED_AT - v.sources.speed!.observedAt,
      GENERATED_AT - v.sources.delay!.observedAt,
      GENERATED_AT - v.sources.routeId!.observedAt,
      GENERATED_AT - v.sources.tripId!.observedAt,
      GENERATED_AT - v.sources.status!.observedAt,
    ]);
    expect((w.pv as Uint8Array).length).toBe(7);
  });

  it('decodes after a fresh import, in the opposite order of encoding', async () => {
    const a = transportSnapshot(30, 5);
    const b = vendorSnapshot(12);
    const c = snapshotOf([minimalVehicle(1)]);
    const blobs = [encodeTransportSnapshot(a), encodeVendorSnapshot(b), encodeTransportSnapshot(c)];
    vi.resetModules();
    const fresh = await import('./index.js');
    expect(fresh.decodeTransportSnapshot).not.toBe(decodeTransportSnapshot);
    expect(fresh.decodeTransportSnapshot(blobs[2]!)).toEqual(c);
    expect(fresh.decodeVendorSnapshot(blobs[1]!)).toEqual(b);
    expect(fresh.decodeTransportSnapshot(blobs[0]!)).toEqual(a);
    expect(decodeVendorSnapshot(blobs[1]!)).toEqual(b);
  });
});

describe('encodeTransportSnapshot refuses what the wire cannot carry', () => {
  const base = () => fullVehicle(4, seededRandom(4));

  it.each([
    ['an unknown transport type', (v: Vehicle) => Object.assign(v, { transportType: 'zeppelin' })],
    ['an unknown status', (v: Vehicle) => Object.assign(v, { status: 'flying' })],
    ['a fractional quality', (v: Vehicle) => Object.assign(v, { quality: 1.5 })],
    ['a fractional observedAt', (v: Vehicle) => void (v.sources.fuel!.observedAt += 0.25)],
    ['a vendor id that is not a string', (v: Vehicle) => Object.assign(v.sources.speed!, { vendorId: 7 })],
  ])('%s, naming the path', (_, spoil) => {
    const v = base();
    spoil(v);
    expect(() => encodeTransportSnapshot(snapshotOf([minimalVehicle(0), v]))).toThrow(
      /^MALFORMED: vehicles\[1\]\./,
    );
  });

  it('a fractional generatedAt or a negative sequence', () => {
    expect(() => encodeTransportSnapshot({ ...snapshotOf([]), generatedAt: 1.5 })).toThrow(/generatedAt/);
    expect(() => encodeTransportSnapshot({ ...snapshotOf([]), sequence: -1 })).toThrow(
      /^MALFORMED: sequence/,
    );
  });

  it('still encodes correctly after a failed encode', () => {
    const bad = base();
    Object.assign(bad, { status: 'flying' });
    const good = transportSnapshot(20);
    expect(() => encodeTransportSnapshot(snapshotOf([...good.vehicles.slice(0, 10), bad]))).toThrow();
    expect(roundTrip(good)).toEqual(good);
  });
});

describe('decodeTransportSnapshot validates every value', () => {
  const valid = rawPayload(encodeTransportSnapshot(transportSnapshot(15)));
  const decodeWith = (patch: (w: Record<string, unknown>) => void) => {
    const w = structuredClone(valid);
    patch(w);
    return () => decodeTransportSnapshot(craftBlob('transport', w));
  };
  type Wire = Record<string, unknown>;
  /** A vehicle whose sources do not cover every field, so a stale bit outside pm exists. */
  const notFull = (valid.pm as Uint8Array).findIndex((mask) => mask !== 0xff);
  const at = (w: Wire, key: string) => w[key] as unknown[] & Record<number, unknown>;

  it.each([
    ['lat must be a Float64Array', (w: Wire) => (w.lat = Array.from(w.lat as Float64Array))],
    ['lon must be 15 entries long', (w: Wire) => (w.lon = new Float64Array(14))],
    ['id[0] must be a string', (w: Wire) => (at(w, 'id')[0] = 42)],
    ['label must be 15 entries long', (w: Wire) => at(w, 'label').pop()],
    ['trip[3] must be a string or null', (w: Wire) => (at(w, 'trip')[3] = 7)],
    ['type[2] must be an index', (w: Wire) => ((w.type as Uint8Array)[2] = 6)],
    ['st[2] must be an index', (w: Wire) => ((w.st as Uint8Array)[2] = 3)],
    ['q must be a Uint32Array', (w: Wire) => (w.q = new Int32Array(15))],
    ['has[4] must be a mask of known fields', (w: Wire) => ((w.has as Uint8Array)[4] = 0xff)],
    [
      `sm[${notFull}] must be a bit mask within pm`,
      (w: Wire) => ((w.sm as Uint8Array)[notFull] = ~(w.pm as Uint8Array)[notFull]! & 0xff),
    ],
    ['pv must be', (w: Wire) => (w.pv = (w.pv as Uint8Array).subarray(1))],
    ['pv[2] must be an index', (w: Wire) => ((w.pv as Uint8Array)[2] = 200)],
    ['pa must be', (w: Wire) => (w.pa = [1, 2])],
    ['route[', (w: Wire) => ((w.route as Uint32Array).fill(99_999), (w.has as Uint8Array).fill(0b10_0000))],
    ['vendors[1] must be a string', (w: Wire) => (at(w, 'vendors')[1] = null)],
    ['routes must be an array', (w: Wire) => (w.routes = 'R1')],
    ['sources[0].n must be', (w: Wire) => ((w.sources as Wire[])[0]!.n = -3)],
    ['gen must be whole epoch milliseconds', (w: Wire) => (w.gen = 1.5)],
    ['seq must be', (w: Wire) => delete w.seq],
    ['n must be a non-negative integer', (w: Wire) => (w.n = -1)],
  ])('MALFORMED: %s', (message, patch) => {
    expect(decodeWith(patch)).toThrow(`MALFORMED: ${message}`);
  });

  it('rejects a payload that is not an object', () => {
    expect(() => decodeTransportSnapshot(craftBlob('transport', [1, 2, 3]))).toThrow(
      /^MALFORMED: the payload/,
    );
  });

  it('accepts a value that only looks odd (an age in the future, a NaN speed)', () => {
    const ok = decodeWith((w) => {
      (w.pa as Int32Array)[0] = -5000;
      (w.spd as Float64Array)[2] = Number.NaN;
      (w.has as Uint8Array)[2]! |= 0b100;
    })();
    const first = ok.vehicles.find((v) => Object.values(v.sources).some(Boolean))!;
    const firstSource = Object.values(first.sources).find(Boolean)!;
    expect(firstSource.observedAt).toBe(GENERATED_AT + 5000);
    expect(ok.vehicles[2]!.speed).toBeNaN();
  });
});

describe('decodeTransportSnapshot on corrupted blobs', () => {
  it('every single-bit flip gives a CodecError or a snapshot that re-encodes exactly', () => {
    const blob = encodeTransportSnapshot(transportSnapshot(3));
    let decoded = 0;
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const flipped = blob.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      let result: TransportSnapshot | undefined;
      try {
        result = decodeTransportSnapshot(flipped);
      } catch (error) {
        if (!isCodecError(error)) throw new Error(`bit ${bit}: ${String(error)}`, { cause: error });
        continue;
      }
      decoded++;
      expect(roundTrip(result)).toEqual(result);
    }
    // Most flips land in numbers and strings, which stay valid values.
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('enum codes', () => {
  it('agree with the model lists, in order, and reject anything else', () => {
    expect(TRANSPORT_TYPES.map(typeCode)).toEqual(TRANSPORT_TYPES.map((_, i) => i));
    expect(VEHICLE_STATUSES.map(statusCode)).toEqual(VEHICLE_STATUSES.map((_, i) => i));
    expect([typeCode('zeppelin'), statusCode('flying')]).toEqual([-1, -1]);
  });
});
