import type { VendorRecord } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { createPushVendorState } from './push-state.js';

const record = (vehicleKey: string, observedAt: number, fuel: number): VendorRecord => ({
  vendorId: 'fuel',
  vehicleKey,
  observedAt,
  fuel,
});

describe('push vendor state', () => {
  it('keeps the newest record per vehicle, whatever order pushes arrive in', () => {
    const state = createPushVendorState('fuel', 60_000);
    expect(state.merge([record('a', 1_000, 50), record('b', 1_000, 40)])).toEqual({
      applied: 2,
      outdated: 0,
      overCapacity: 0,
    });
    // A redelivered old push and a late one: neither rolls a vehicle back.
    expect(state.merge([record('a', 1_000, 50), record('a', 500, 70), record('b', 2_000, 39)])).toEqual({
      applied: 1,
      outdated: 2,
      overCapacity: 0,
    });
    const snapshot = state.snapshot(3_000);
    expect(snapshot.records.map((r) => [r.vehicleKey, r.fuel])).toEqual([
      ['a', 50],
      ['b', 39],
    ]);
    expect(snapshot).toMatchObject({ vendorId: 'fuel', collectedAt: 3_000, sequence: 3_000 });
  });

  it('drops vehicles not heard of for maxRecordAgeMs and keeps sequences increasing', () => {
    const state = createPushVendorState('fuel', 10_000);
    state.merge([record('old', 1_000, 10), record('new', 9_000, 20)]);
    const first = state.snapshot(12_000);
    expect(first.records.map((r) => r.vehicleKey)).toEqual(['new']);
    expect(state.size).toBe(1);
    // Two snapshots in the same millisecond still get distinct, increasing sequences.
    const second = state.snapshot(12_000);
    expect(second.sequence).toBeGreaterThan(first.sequence);
  });

  it('continues from a stored snapshot: its vehicles and its sequence', () => {
    const state = createPushVendorState('fuel', 60_000);
    state.load({
      vendorId: 'fuel',
      sequence: 5_000_000,
      collectedAt: 4_000,
      records: [record('a', 4_000, 33)],
    });
    state.merge([record('b', 4_500, 44)]);
    const snapshot = state.snapshot(5_000);
    expect(snapshot.records.map((r) => r.vehicleKey).sort()).toEqual(['a', 'b']);
    expect(snapshot.sequence).toBe(5_000_001);
  });
});
