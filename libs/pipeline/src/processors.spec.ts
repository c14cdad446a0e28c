import { QualityFlag, type Vehicle } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import {
  calibrate,
  createCalibrationCache,
  deriveStatus,
  detectTransportType,
  filterInvalidPositions,
  isValidPosition,
  markFreshness,
  validateRanges,
  type CalibrationSource,
  type DeviceCalibration,
  type ProcessContext,
  type Processor,
} from './index.js';
import { T0 } from '../test/fixtures.js';

function vehicle(fields: Partial<Vehicle> = {}): Vehicle {
  return { id: 'v1', transportType: 'bus', status: 'unknown', sources: {}, quality: 0, ...fields };
}

function context(now = T0) {
  const counters: Record<string, number> = {};
  const ctx: ProcessContext = {
    sequence: 1,
    now,
    count: (name, n = 1) => void (counters[name] = (counters[name] ?? 0) + n),
  };
  return { ctx, counters };
}

async function run(step: Processor, vehicles: Vehicle[], now = T0) {
  const { ctx, counters } = context(now);
  const result = await step.process(vehicles, ctx);
  return { vehicles: result ?? vehicles, counters };
}

const src = (vendorId: string, ageMs = 0) => ({ vendorId, observedAt: T0 - ageMs });

describe('detect-transport-type', () => {
  const step = detectTransportType({
    routeTypes: new Map([['5', 'trolleybus']]),
    routePatterns: [{ pattern: '^T\\d+$', transportType: 'tram' }],
  });

  it('types an untyped vehicle by the route table, then by pattern', async () => {
    const vs = [
      vehicle({ id: 'a', transportType: 'other', routeId: '5' }),
      vehicle({ id: 'b', transportType: 'other', routeId: 'T4' }),
      vehicle({ id: 'c', transportType: 'other', routeId: '99' }),
      vehicle({ id: 'd', transportType: 'other' }),
    ];
    const { counters } = await run(step, vs);
    expect(vs.map((v) => v.transportType)).toEqual(['trolleybus', 'tram', 'other', 'other']);
    expect(counters['detect-transport-type.by-route']).toBe(2);
  });

  it('never overrides a type the registry or a vendor gave', async () => {
    const v = vehicle({ transportType: 'bus', routeId: 'T4' });
    await run(step, [v]);
    expect(v.transportType).toBe('bus');
  });
});

describe('filter-invalid-positions', () => {
  it.each([
    ['Null Island', { lat: 0, lon: 0 }],
    ['latitude out of range', { lat: 91, lon: 24 }],
    ['longitude out of range', { lat: 59, lon: -180.5 }],
    ['not finite', { lat: Number.NaN, lon: 24 }],
  ])('removes %s and flags the vehicle', async (_, position) => {
    const v = vehicle({ position, sources: { position: src('A') }, speed: 3 });
    const { counters } = await run(filterInvalidPositions(), [v]);
    expect(v.position).toBeUndefined();
    expect(v.sources.position).toBeUndefined();
    expect(v.speed).toBe(3); // the rest of the vehicle stays
    expect(v.quality).toBe(QualityFlag.InvalidPosition);
    expect(counters['filter-invalid-positions.removed']).toBe(1);
  });

  it('keeps valid positions, including the equator, the meridian and the poles', async () => {
    for (const p of [
      { lat: 0, lon: 24 },
      { lat: 59, lon: 0 },
      { lat: -90, lon: 180 },
      { lat: 90, lon: -180 },
    ]) {
      expect(isValidPosition(p)).toBe(true);
      const v = vehicle({ position: p });
      await run(filterInvalidPositions(), [v]);
      expect(v.position).toEqual(p);
      expect(v.quality).toBe(0);
    }
  });
});

describe('validate-ranges', () => {
  it('removes and flags speed beyond the type limit, per type', async () => {
    const bus = vehicle({ id: 'bus', transportType: 'bus', speed: 40, sources: { speed: src('D') } });
    const train = vehicle({ id: 'train', transportType: 'rail', speed: 40 });
    const { counters } = await run(validateRanges(), [bus, train]);
    expect(bus.speed).toBeUndefined();
    expect(bus.sources.speed).toBeUndefined();
    expect(bus.quality).toBe(QualityFlag.SpeedOutOfRange);
    expect(train.speed).toBe(40);
    expect(counters['validate-ranges.speed']).toBe(1);
  });

  it('rejects negative speed, fuel outside 0–100 and absurd delays; keeps the bounds themselves', async () => {
    const bad = vehicle({ speed: -1, fuel: 100.5, delay: 7 * 3600 });
    const edge = vehicle({ speed: 0, fuel: 100, delay: -6 * 3600 });
    const low = vehicle({ fuel: -0.1 });
    await run(validateRanges(), [bad, edge, low]);
    expect([bad.speed, bad.fuel, bad.delay]).toEqual([undefined, undefined, undefined]);
    expect(bad.quality).toBe(
      QualityFlag.SpeedOutOfRange | QualityFlag.FuelOutOfRange | QualityFlag.DelayOutOfRange,
    );
    expect(edge).toMatchObject({ speed: 0, fuel: 100, delay: -6 * 3600, quality: 0 });
    expect(low.quality).toBe(QualityFlag.FuelOutOfRange);
  });

  it('takes overridden limits', async () => {
    const v = vehicle({ transportType: 'ferry', speed: 20, delay: 2000 });
    await run(validateRanges({ maxSpeed: { ferry: 15 } as never, maxDelay: 1800 }), [v]);
    expect(v.quality).toBe(QualityFlag.SpeedOutOfRange | QualityFlag.DelayOutOfRange);
  });

  it('normalises bearings into [0, 360) and drops non-finite ones', async () => {
    const vs = [
      vehicle({ bearing: -90 }),
      vehicle({ bearing: 450 }),
      vehicle({ bearing: Number.POSITIVE_INFINITY }),
    ];
    await run(validateRanges(), vs);
    expect(vs.map((v) => v.bearing)).toEqual([270, 90, undefined]);
    expect(vs[2]!.quality).toBe(QualityFlag.BearingOutOfRange);
  });
});

describe('mark-freshness', () => {
  it('marks fields older than the age limit stale and flags the vehicle, keeping the value', async () => {
    const v = vehicle({
      position: { lat: 59, lon: 24 },
      speed: 5,
      sources: { position: src('A', 91_000), speed: src('D', 89_000) },
    });
    const { counters } = await run(markFreshness(), [v]);
    expect(v.sources.position).toEqual({ vendorId: 'A', observedAt: T0 - 91_000, stale: true });
    expect(v.sources.speed?.stale).toBeUndefined();
    expect(v.position).toEqual({ lat: 59, lon: 24 });
    expect(v.quality).toBe(QualityFlag.Stale);
    expect(counters['mark-freshness.stale-vehicles']).toBe(1);
  });

  it('honours per-field ages', async () => {
    const v = vehicle({ fuel: 50, speed: 3, sources: { fuel: src('C', 300_000), speed: src('D', 20_000) } });
    await run(markFreshness({ maxAgeMs: 10_000, fieldMaxAgeMs: { fuel: 600_000 } }), [v]);
    expect(v.sources.fuel?.stale).toBeUndefined();
    expect(v.sources.speed?.stale).toBe(true);
  });

  it('leaves fresh vehicles unflagged', async () => {
    const v = vehicle({ speed: 3, sources: { speed: src('D', 1000) } });
    const { counters } = await run(markFreshness(), [v]);
    expect(v.quality).toBe(0);
    expect(counters).toEqual({});
  });
});

describe('derive-status', () => {
  const step = deriveStatus();

  it('a current vendor status wins', async () => {
    const v = vehicle({ status: 'parked', tripId: 't', sources: { status: src('A'), tripId: src('A') } });
    await run(step, [v]);
    expect(v.status).toBe('parked');
  });

  it('serving a current trip means on duty', async () => {
    const v = vehicle({ tripId: 't', speed: 0, sources: { tripId: src('A'), speed: src('D') } });
    await run(step, [v]);
    expect(v.status).toBe('on_duty');
  });

  it('standing still with no trip means parked; moving with no trip is unknown', async () => {
    const standing = vehicle({ speed: 0.2, sources: { speed: src('D') } });
    const moving = vehicle({ speed: 9, sources: { speed: src('D') } });
    await run(step, [standing, moving]);
    expect([standing.status, moving.status]).toEqual(['parked', 'unknown']);
  });

  it('stale evidence decides nothing', async () => {
    const v = vehicle({
      status: 'on_duty',
      tripId: 't',
      speed: 0,
      sources: {
        status: { ...src('A'), stale: true },
        tripId: { ...src('A'), stale: true },
        speed: { ...src('D'), stale: true },
      },
    });
    await run(step, [v]);
    expect(v.status).toBe('unknown');
  });
});

describe('calibrate', () => {
  function countingSource(table: Record<string, DeviceCalibration>) {
    const calls: string[][] = [];
    let failing = false;
    const source: CalibrationSource = {
      async load(ids) {
        calls.push([...ids]);
        if (failing) throw new Error('calibration store unreachable');
        return new Map(ids.filter((id) => table[id]).map((id) => [id, table[id]!]));
      },
    };
    return { source, calls, fail: (on: boolean) => (failing = on) };
  }

  it('applies offset and scale per vehicle and field, and flags the vehicle', async () => {
    const { source } = countingSource({ v1: { fuel: { scale: 0.5, offset: 10 }, speed: { offset: -1 } } });
    const cache = createCalibrationCache({ source, clock: { now: () => T0 } });
    const v1 = vehicle({ id: 'v1', fuel: 80, speed: 5, delay: 30 });
    const v2 = vehicle({ id: 'v2', fuel: 80 });
    const { counters } = await run(calibrate({ cache }), [v1, v2]);
    expect(v1).toMatchObject({ fuel: 50, speed: 4, delay: 30, quality: QualityFlag.Calibrated });
    expect(v2).toMatchObject({ fuel: 80, quality: 0 });
    expect(counters['calibrate.applied']).toBe(1);
  });

  it('loads lazily, once per TTL, in one batch, caching absence too', async () => {
    let now = T0;
    const { source, calls } = countingSource({ v1: { fuel: { offset: 1 } } });
    const cache = createCalibrationCache({ source, clock: { now: () => now }, ttlMs: 60_000 });
    const step = calibrate({ cache });
    await run(step, [vehicle({ id: 'v1', fuel: 1 }), vehicle({ id: 'v2', fuel: 1 })]);
    await run(step, [vehicle({ id: 'v1', fuel: 1 }), vehicle({ id: 'v2', fuel: 1 })]);
    expect(calls).toEqual([['v1', 'v2']]);
    await run(step, [vehicle({ id: 'v3', fuel: 1 }), vehicle({ id: 'v1', fuel: 1 })]);
    expect(calls).toEqual([['v1', 'v2'], ['v3']]);
    now += 60_000;
    await run(step, [vehicle({ id: 'v1', fuel: 1 })]);
    expect(calls.at(-1)).toEqual(['v1']);
  });

  it('a failing source leaves values raw, counts the failure, and keeps earlier calibrations', async () => {
    let now = T0;
    const s = countingSource({ v1: { fuel: { offset: 5 } } });
    const cache = createCalibrationCache({ source: s.source, clock: { now: () => now }, ttlMs: 1000 });
    const step = calibrate({ cache });
    await run(step, [vehicle({ id: 'v1', fuel: 10 })]);
    s.fail(true);
    now += 5000;
    const v1 = vehicle({ id: 'v1', fuel: 10 });
    const v9 = vehicle({ id: 'v9', fuel: 10 });
    const { counters } = await run(step, [v1, v9]);
    expect(counters['calibrate.load-failed']).toBe(1);
    expect(v1.fuel).toBe(15); // stale calibration beats none
    expect(v9).toMatchObject({ fuel: 10, quality: 0 });
  });

  it('evicts the oldest entries beyond maxEntries', async () => {
    const { source, calls } = countingSource({});
    const cache = createCalibrationCache({ source, clock: { now: () => T0 }, maxEntries: 2 });
    await cache.ensure(['a', 'b', 'c']);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeNull();
    await cache.ensure(['a']);
    expect(calls.at(-1)).toEqual(['a']);
  });
});
