// Per-device calibration (a fuel sender that reads 8 % high, a speed sensor with the wrong wheel size): an offset
// and scale per vehicle and field, loaded lazily from wherever the operator keeps them and cached, so a 1 Hz tick
// asks the source only about vehicles it has not seen recently, in one batch.

import type { Clock } from './clock.js';

export const CALIBRATED_FIELDS = ['speed', 'fuel', 'bearing', 'delay'] as const;
export type CalibratedField = (typeof CALIBRATED_FIELDS)[number];

/** calibrated = raw × scale + offset. */
export interface FieldCalibration {
  readonly offset?: number;
  readonly scale?: number;
}

export type DeviceCalibration = { readonly [F in CalibratedField]?: FieldCalibration };

/** Where calibrations live (a table, a file, an API). Vehicles without one are simply absent from the result. */
export interface CalibrationSource {
  load(vehicleIds: readonly string[]): Promise<ReadonlyMap<string, DeviceCalibration>>;
}

export interface CalibrationCache {
  /** The cached calibration: `null` when the vehicle has none, `undefined` when it was never loaded. */
  get(vehicleId: string): DeviceCalibration | null | undefined;
  /** Loads, in one batch, the vehicles never loaded or loaded longer ago than the TTL. */
  ensure(vehicleIds: readonly string[]): Promise<void>;
}

export interface CalibrationCacheOptions {
  readonly source: CalibrationSource;
  readonly clock: Clock;
  /** How long a loaded calibration (or its absence) is trusted. Default 10 minutes. */
  readonly ttlMs?: number;
  /** Entries kept at most; the oldest loaded go first. Default 200,000. */
  readonly maxEntries?: number;
}

interface Cached {
  readonly value: DeviceCalibration | null;
  readonly loadedAt: number;
}

export function createCalibrationCache(options: CalibrationCacheOptions): CalibrationCache {
  const { source, clock } = options;
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const maxEntries = options.maxEntries ?? 200_000;
  const cache = new Map<string, Cached>();

  return {
    get: (vehicleId) => cache.get(vehicleId)?.value,
    async ensure(vehicleIds) {
      const now = clock.now();
      const due: string[] = [];
      for (const id of vehicleIds) {
        const cached = cache.get(id);
        if (cached === undefined || now - cached.loadedAt >= ttlMs) due.push(id);
      }
      if (due.length === 0) return;
      // On a failed load the previous values stay (stale beats none); the caller counts the failure.
      const loaded = await source.load(due);
      for (const id of due) {
        cache.delete(id); // re-insert so Map order is load order, for eviction
        cache.set(id, { value: loaded.get(id) ?? null, loadedAt: now });
      }
      for (const id of cache.keys()) {
        if (cache.size <= maxEntries) break;
        cache.delete(id);
      }
    },
  };
}
