import { QualityFlag, type Vehicle } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { createCompositionEngine, createFleetRegistry, type ComposeInput, type VendorRule } from './index.js';
import { fixedClock, rec, registry, RULES, snap, T0 } from '../test/fixtures.js';

const noSteps = { pre: [], perType: [], post: [] };

async function compose(
  snapshots: ComposeInput['snapshots'],
  rules: VendorRule[] = RULES,
  priority?: string[],
) {
  const engine = createCompositionEngine({
    vendors: rules,
    steps: noSteps,
    clock: fixedClock(),
    ...(priority ? { priority } : {}),
  });
  return engine.compose({ sequence: 1, snapshots, registry: registry() });
}

const byId = (vehicles: Vehicle[]) => new Map(vehicles.map((v) => [v.id, v]));
const reportOf = (r: Awaited<ReturnType<typeof compose>>, vendorId: string) =>
  r.report.vendors.find((v) => v.vendorId === vendorId)!;

describe('matching vendor records into vehicles', () => {
  it('joins four differently keyed vendors into one vehicle per registry entry', async () => {
    const r = await compose([
      snap('A', [rec('A', 'g1', { position: { lat: 59.43, lon: 24.75 }, tripId: 'trip-1', routeId: '5' })]),
      snap('B', [rec('B', 'tu-1', { tripId: 'trip-1', delay: 90 })]),
      snap('C', [rec('C', '1001', { fuel: 61 })]),
      snap('D', [rec('D', '35000001', { speed: 8.5 })]),
    ]);
    expect(r.snapshot.vehicles).toHaveLength(1);
    const bus = r.snapshot.vehicles[0]!;
    expect(bus).toMatchObject({
      id: 'bus-1',
      label: '1001',
      transportType: 'bus',
      position: { lat: 59.43, lon: 24.75 },
      delay: 90,
      fuel: 61,
      speed: 8.5,
      tripId: 'trip-1',
      routeId: '5',
    });
    expect(bus.sources.position?.vendorId).toBe('A');
    expect(bus.sources.delay?.vendorId).toBe('B');
    expect(bus.sources.fuel?.vendorId).toBe('C');
    expect(bus.sources.speed).toEqual({ vendorId: 'D', observedAt: T0 - 1000 });
    expect(bus.quality & QualityFlag.Partial).toBe(0);
    expect(r.report.vendors.map((v) => v.matched)).toEqual([1, 1, 1, 1]);
  });

  it('keeps a vehicle known to one vendor only, flagged partial when another vendor has a key for it', async () => {
    const r = await compose([
      snap('A', [
        rec('A', 'g1', { position: { lat: 1, lon: 1 } }),
        rec('A', 'g9', { position: { lat: 2, lon: 2 } }),
      ]),
      snap('C', []),
      snap('D', []),
    ]);
    const v = byId(r.snapshot.vehicles);
    expect(v.get('bus-1')!.quality & QualityFlag.Partial).toBe(QualityFlag.Partial);
    // ferry-9 is keyed by vendor A only: A reported it, so nothing is missing.
    expect(v.get('ferry-9')!.quality & QualityFlag.Partial).toBe(0);
    expect(r.report.flags.Partial).toBe(1);
  });

  it('a vehicle seen only by a non-position vendor still appears, without a position', async () => {
    const r = await compose([snap('A', []), snap('C', [rec('C', '1002', { fuel: 30 })])]);
    expect(r.snapshot.vehicles).toEqual([
      expect.objectContaining({ id: 'bus-2', fuel: 30, quality: QualityFlag.Partial }),
    ]);
    expect(r.snapshot.vehicles[0]!.position).toBeUndefined();
  });

  it('counts and samples keys the registry does not know, and never invents a vehicle for them', async () => {
    const r = await compose([snap('A', [rec('A', 'g1'), rec('A', 'ghost-1'), rec('A', 'ghost-2')])]);
    expect(r.snapshot.vehicles.map((v) => v.id)).toEqual(['bus-1']);
    expect(reportOf(r, 'A')).toMatchObject({
      records: 3,
      matched: 1,
      unknownKeys: 2,
      samples: ['ghost-1', 'ghost-2'],
    });
  });

  it('a key known to the registry for another vendor is still unknown for this one', async () => {
    const r = await compose([snap('C', [rec('C', 'g1', { fuel: 50 })])]);
    expect(r.snapshot.vehicles).toEqual([]);
    expect(reportOf(r, 'C').unknownKeys).toBe(1);
  });

  it('bounds the samples of unknown keys', async () => {
    const records = Array.from({ length: 50 }, (_, i) => rec('A', `x${i}`));
    const r = await compose([snap('A', records)]);
    expect(reportOf(r, 'A').unknownKeys).toBe(50);
    expect(reportOf(r, 'A').samples).toHaveLength(10);
  });

  it('duplicate keys within a vendor: counted, one vehicle, newest field wins', async () => {
    const r = await compose([
      snap('A', [
        rec('A', 'g1', { observedAt: T0 - 3000, position: { lat: 1, lon: 1 }, routeId: 'old' }),
        rec('A', 'g1', { observedAt: T0 - 1000, position: { lat: 2, lon: 2 } }),
        rec('A', 'g1', { observedAt: T0 - 2000, position: { lat: 3, lon: 3 } }),
      ]),
    ]);
    expect(r.snapshot.vehicles).toHaveLength(1);
    const bus = r.snapshot.vehicles[0]!;
    expect(bus.position).toEqual({ lat: 2, lon: 2 });
    expect(bus.sources.position?.observedAt).toBe(T0 - 1000);
    expect(bus.routeId).toBe('old'); // only the oldest record had it
    expect(reportOf(r, 'A').duplicates).toBe(2);
    // Duplicates of one vendor are not a conflict between vendors.
    expect(bus.quality & QualityFlag.Conflict).toBe(0);
  });

  it('duplicate records with equal times keep the first', async () => {
    const r = await compose([snap('A', [rec('A', 'g1', { speed: 1 }), rec('A', 'g1', { speed: 2 })])]);
    expect(r.snapshot.vehicles[0]!.speed).toBe(1);
  });

  describe('conflicting fields between vendors', () => {
    it('the newest observation wins and is recorded, and the vehicle is flagged', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { observedAt: T0 - 5000, speed: 10 })]),
        snap('D', [rec('D', '35000001', { observedAt: T0 - 1000, speed: 12 })]),
      ]);
      const bus = r.snapshot.vehicles[0]!;
      expect(bus.speed).toBe(12);
      expect(bus.sources.speed).toEqual({ vendorId: 'D', observedAt: T0 - 1000 });
      expect(bus.quality & QualityFlag.Conflict).toBe(QualityFlag.Conflict);
    });

    it('the newest wins regardless of the order vendors are processed in', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { observedAt: T0 - 1000, speed: 10 })]),
        snap('D', [rec('D', '35000001', { observedAt: T0 - 5000, speed: 12 })]),
      ]);
      expect(r.snapshot.vehicles[0]!.speed).toBe(10);
      expect(r.snapshot.vehicles[0]!.sources.speed?.vendorId).toBe('A');
    });

    it('ties go to the configured priority, in either processing order', async () => {
      const snapshots = [
        snap('A', [rec('A', 'g1', { speed: 10 })]),
        snap('D', [rec('D', '35000001', { speed: 12 })]),
      ];
      expect((await compose(snapshots)).snapshot.vehicles[0]!.speed).toBe(10); // default: config order
      const dFirst = await compose(snapshots, RULES, ['D', 'A']);
      expect(dFirst.snapshot.vehicles[0]!.speed).toBe(12);
      expect(dFirst.snapshot.vehicles[0]!.sources.speed?.vendorId).toBe('D');
      const reversed = await compose([...snapshots].reverse(), RULES, ['D', 'A']);
      expect(reversed.snapshot.vehicles[0]!.speed).toBe(12);
    });

    it('equal values from two vendors are no conflict', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { speed: 10, position: { lat: 1, lon: 2 } })]),
        snap('D', [rec('D', '35000001', { speed: 10, position: { lat: 1, lon: 2 } })]),
      ]);
      expect(r.snapshot.vehicles[0]!.quality & QualityFlag.Conflict).toBe(0);
    });
  });

  describe('attribute matching (delays by trip)', () => {
    it('joins a trip update to the vehicle serving the trip', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { tripId: 't1' }), rec('A', 'g2', { tripId: 't2' })]),
        snap('B', [rec('B', 'x', { tripId: 't2', delay: -30 })]),
      ]);
      const v = byId(r.snapshot.vehicles);
      expect(v.get('bus-2')!.delay).toBe(-30);
      expect(v.get('bus-1')!.delay).toBeUndefined();
    });

    it('counts a trip no vehicle serves and a record without a trip as unmatched', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { tripId: 't1' })]),
        snap('B', [rec('B', 'x', { tripId: 'nobody', delay: 5 }), rec('B', 'y', { delay: 5 })]),
      ]);
      expect(reportOf(r, 'B')).toMatchObject({
        matched: 0,
        unmatched: 2,
        samples: ['nobody', '(no tripId) y'],
      });
    });

    it('does not guess when two vehicles claim the same trip', async () => {
      const r = await compose([
        snap('A', [rec('A', 'g1', { tripId: 't1' }), rec('A', 'g2', { tripId: 't1' })]),
        snap('B', [rec('B', 'x', { tripId: 't1', delay: 5 })]),
      ]);
      expect(r.snapshot.vehicles.every((v) => v.delay === undefined)).toBe(true);
      expect(reportOf(r, 'B').ambiguous).toBe(1);
    });

    it('joins through a trip that a later key vendor reported, whatever the rule order', async () => {
      const rules: VendorRule[] = [
        { vendorId: 'B', match: { by: 'attribute', attribute: 'tripId' } },
        { vendorId: 'D', match: { by: 'key' } },
      ];
      const r = await compose(
        [
          snap('B', [rec('B', 'x', { tripId: 't9', delay: 7 })]),
          snap('D', [rec('D', '35000007', { tripId: 't9' })]),
        ],
        rules,
      );
      expect(r.snapshot.vehicles[0]).toMatchObject({ id: 'tram-7', delay: 7 });
    });
  });

  describe('empty and one-sided input', () => {
    it('no snapshots at all: an empty snapshot, every vendor reported absent', async () => {
      const r = await compose([]);
      expect(r.snapshot.vehicles).toEqual([]);
      expect(r.snapshot.sources).toEqual([]);
      expect(r.report.vendors.map((v) => v.present)).toEqual([false, false, false, false]);
    });

    it('a vendor snapshot with no vehicles is present with zero records', async () => {
      const r = await compose([snap('C', [])]);
      expect(reportOf(r, 'C')).toMatchObject({ present: true, records: 0, matched: 0 });
      expect(r.snapshot.sources).toEqual([
        { vendorId: 'C', sequence: 1, collectedAt: T0 - 500, recordCount: 0 },
      ]);
    });

    it('only attribute vendors present: nothing to join, all unmatched', async () => {
      const r = await compose([snap('B', [rec('B', 'x', { tripId: 't1', delay: 1 })])]);
      expect(r.snapshot.vehicles).toEqual([]);
      expect(reportOf(r, 'B').unmatched).toBe(1);
    });

    it('ignores and reports snapshots of vendors no rule configures', async () => {
      const r = await compose([snap('Z', [rec('Z', 'g1', { speed: 1 })])]);
      expect(r.snapshot.vehicles).toEqual([]);
      expect(r.report.ignoredVendors).toEqual(['Z']);
    });
  });

  it('takes the transport type from the registry, else from a vendor hint', async () => {
    const r = await compose([
      snap('A', [rec('A', 'g1', { transportType: 'tram' }), rec('A', 'g9', { transportType: 'ferry' })]),
    ]);
    const v = byId(r.snapshot.vehicles);
    expect(v.get('bus-1')!.transportType).toBe('bus');
    expect(v.get('ferry-9')!.transportType).toBe('ferry');
  });

  it('vehicles come out in match order: deterministic for equal input', async () => {
    const input = [snap('A', [rec('A', 'g9'), rec('A', 'g2'), rec('A', 'g1')])];
    expect((await compose(input)).snapshot.vehicles.map((v) => v.id)).toEqual(['ferry-9', 'bus-2', 'bus-1']);
  });
});

describe('key resolution across ticks', () => {
  it('stays correct when a vendor reorders, replaces or drops keys between ticks, and when the registry changes', async () => {
    const engine = createCompositionEngine({ vendors: RULES, steps: noSteps, clock: fixedClock() });
    const compose = (records: ReturnType<typeof rec>[], reg = registry()) =>
      engine.compose({ sequence: 1, snapshots: [snap('A', records)], registry: reg });
    const reg = registry();
    const ids = async (records: ReturnType<typeof rec>[], r = reg) =>
      (await compose(records, r)).snapshot.vehicles.map((v) => `${v.id}:${v.speed}`);

    expect(await ids([rec('A', 'g1', { speed: 1 }), rec('A', 'g2', { speed: 2 })])).toEqual([
      'bus-1:1',
      'bus-2:2',
    ]);
    // Same order, fresh string objects: positional reuse.
    expect(await ids([rec('A', `g${'1'}`, { speed: 3 }), rec('A', 'g2', { speed: 4 })])).toEqual([
      'bus-1:3',
      'bus-2:4',
    ]);
    // Swapped order: each position's key changed, so both fall back to the registry.
    expect(await ids([rec('A', 'g2', { speed: 5 }), rec('A', 'g1', { speed: 6 })])).toEqual([
      'bus-2:5',
      'bus-1:6',
    ]);
    // A key at a known position replaced by an unknown one, then by another known one.
    const unknown = await compose([rec('A', 'ghost'), rec('A', 'g1')], reg);
    expect(unknown.report.vendors[0]!.unknownKeys).toBe(1);
    expect(await ids([rec('A', 'g7', { speed: 7 }), rec('A', 'g1', { speed: 8 })])).toEqual([
      'tram-7:7',
      'bus-1:8',
    ]);
    // A new registry instance that maps g1 elsewhere: nothing cached against the old one is reused.
    const remapped = createFleetRegistry([{ vehicleId: 'bus-99', keys: { A: 'g1' } }]);
    expect(await ids([rec('A', 'g7', { speed: 9 }), rec('A', 'g1', { speed: 10 })], remapped)).toEqual([
      'bus-99:10',
    ]);
  });
});

describe('fleet registry', () => {
  it('rejects one vendor key naming two vehicles, and a vehicle listed twice', () => {
    expect(() =>
      createFleetRegistry([
        { vehicleId: 'a', keys: { A: 'k' } },
        { vehicleId: 'b', keys: { A: 'k' } },
      ]),
    ).toThrow(/INVALID_REGISTRY: vendor "A" key "k" maps to both "a" and "b"/);
    expect(() =>
      createFleetRegistry([
        { vehicleId: 'a', keys: {} },
        { vehicleId: 'a', keys: {} },
      ]),
    ).toThrow(/listed twice/);
  });
});
