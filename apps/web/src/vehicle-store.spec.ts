import { describe, expect, it } from 'vitest';
import { QualityFlag, qualityFlagNames } from '@transit-fusion/model';
import {
  age,
  QUALITY_LABELS,
  qualityLabels,
  VehicleStore,
  type MapVehicle,
  type VehicleUpdate,
} from './vehicle-store.js';

const v = (id: string, extra: Partial<MapVehicle> = {}): MapVehicle => ({
  id,
  transportType: 'bus',
  status: 'on_duty',
  position: { lat: 59.4, lon: 24.7 },
  sources: {},
  quality: 0,
  ...extra,
});
const update = (sequence: number, fields: Partial<VehicleUpdate>): VehicleUpdate => ({
  sequence,
  generatedAt: sequence * 1000,
  keyframe: false,
  vehicles: [],
  removed: [],
  ...fields,
});

describe('the map vehicle store', () => {
  it('replaces on keyframes, upserts and removes on deltas, and reports gaps', () => {
    const store = new VehicleStore();
    expect(store.apply(update(5, { previousSequence: 4, vehicles: [v('a')] }))).toBe('gap'); // no base yet
    expect(store.apply(update(5, { keyframe: true, vehicles: [v('a'), v('b')] }))).toBe('applied');
    expect(store.apply(update(6, { previousSequence: 5, vehicles: [v('c')], removed: ['a'] }))).toBe(
      'applied',
    );
    expect([...store.vehicles.keys()]).toEqual(['b', 'c']);
    expect(store.apply(update(6, { previousSequence: 5 }))).toBe('old');
    expect(store.apply(update(8, { previousSequence: 7, vehicles: [v('d')] }))).toBe('gap');
    expect(store.vehicles.has('d')).toBe(false);
    expect(store.apply(update(9, { keyframe: true, vehicles: [v('e')] }))).toBe('applied');
    expect([...store.vehicles.keys()]).toEqual(['e']);
  });

  it('takes an update split into parts', () => {
    const store = new VehicleStore();
    store.apply(update(1, { keyframe: true, vehicles: [v('a')], part: 1, parts: 2 }));
    expect(store.apply(update(1, { vehicles: [v('b')], part: 2, parts: 2 }))).toBe('applied');
    expect([...store.vehicles.keys()]).toEqual(['a', 'b']);
  });

  it('filters by type, duty and search (id, label or route), positioned vehicles only', () => {
    const store = new VehicleStore();
    store.apply(
      update(1, {
        keyframe: true,
        vehicles: [
          v('bus-1', { label: '1001', routeId: '17' }),
          v('tram-2', { transportType: 'tram', routeId: '4' }),
          v('bus-3', { status: 'parked' }),
          v('ferry-4', { transportType: 'ferry', position: undefined }),
        ],
      }),
    );
    const ids = (types: string[], onDutyOnly: boolean, search: string) =>
      store.visible({ types: new Set(types), onDutyOnly, search }).map((x) => x.id);
    expect(ids([], false, '')).toEqual(['bus-1', 'tram-2', 'bus-3']);
    expect(ids(['tram'], false, '')).toEqual(['tram-2']);
    expect(ids([], true, '')).toEqual(['bus-1', 'tram-2']);
    expect(ids([], false, '1001')).toEqual(['bus-1']);
    expect(ids([], false, '4')).toEqual(['tram-2']);
  });

  it('says how old a value is', () => {
    expect(age(1_000, 5_000)).toBe('4 s');
    expect(age(0, 180_000)).toBe('3 min');
  });
});

describe('quality labels', () => {
  it("name the model's flags, bit for bit", () => {
    const all = Object.values(QualityFlag).reduce((a, b) => a | b, 0);
    expect(QUALITY_LABELS).toHaveLength(qualityFlagNames(all).length);
    // Each label is the model's name spelled for people: 'InvalidPosition' → 'invalid position'.
    expect(qualityLabels(all)).toEqual(
      qualityFlagNames(all).map((name) => name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()),
    );
    expect(qualityLabels(QualityFlag.Partial | QualityFlag.Stale)).toEqual(['partial', 'stale']);
    expect(qualityLabels(0)).toEqual([]);
  });
});
