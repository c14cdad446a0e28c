// Device state off the tick's path: each composed snapshot adds one observation per vehicle to a map keyed by
// vehicle (coalesced: newest time and position, quality bits ORed, messages counted), and a background flush
// writes the map to the device state table every few seconds in per-partition batches. Ten thousand
// read-modify-writes cannot fit in a one-second tick; coalescing makes the table's cost independent of the
// tick rate, the map never holds more than one entry per vehicle, and the flush writes in per-partition
// transactions. A flush that fails keeps its observations for the next one.

import type { TransportSnapshot } from '@transit-fusion/model';
import type { DeviceObservation, DeviceStateTable } from '@transit-fusion/storage';

export interface DeviceStateWriter {
  add(snapshot: TransportSnapshot): void;
  /** Writes what is pending; resolves with how many vehicles were written and how many failed. */
  flush(): Promise<{ written: number; failed: number }>;
  readonly pending: number;
}

export function createDeviceStateWriter(
  table: DeviceStateTable,
  options: { logger: { warn(obj: object, msg: string): void } },
): DeviceStateWriter {
  let pending = new Map<string, DeviceObservation>();
  let flushing: Promise<{ written: number; failed: number }> | undefined;

  async function flushNow(): Promise<{ written: number; failed: number }> {
    const batch = pending;
    pending = new Map();
    if (batch.size === 0) return { written: 0, failed: 0 };
    try {
      // Per partition one query and transactions of 100: ~130 requests for 10,000 vehicles instead of 20,000.
      const { updated, gaveUp } = await table.recordMany(batch);
      return { written: updated, failed: gaveUp };
    } catch (error) {
      options.logger.warn(
        { err: error, vehicles: batch.size },
        'device state flush failed; the next one retries',
      );
      // Merge back what is not newer already, so the observations are counted by the next flush.
      for (const [id, observation] of batch) {
        const held = pending.get(id);
        if (!held) pending.set(id, observation);
        else {
          held.count = (held.count ?? 1) + (observation.count ?? 1);
          held.quality = (held.quality ?? 0) | (observation.quality ?? 0);
        }
      }
      return { written: 0, failed: batch.size };
    }
  }

  return {
    add(snapshot) {
      for (const v of snapshot.vehicles) {
        const seenAt = newestObservation(v.sources, snapshot.generatedAt);
        const held = pending.get(v.id);
        if (!held) {
          pending.set(v.id, {
            seenAt,
            ...(v.position ? { position: { lat: v.position.lat, lon: v.position.lon } } : {}),
            quality: v.quality,
            count: 1,
          });
          continue;
        }
        held.count = (held.count ?? 1) + 1;
        held.quality = (held.quality ?? 0) | v.quality;
        if (seenAt >= held.seenAt) {
          held.seenAt = seenAt;
          // In place: entries live until the next flush, and fresh objects each tick would be survivors for the
          // garbage collector to copy.
          if (v.position && held.position) {
            held.position.lat = v.position.lat;
            held.position.lon = v.position.lon;
          } else if (v.position) {
            held.position = { lat: v.position.lat, lon: v.position.lon };
          }
        }
      }
    },
    flush() {
      flushing ??= flushNow().finally(() => (flushing = undefined));
      return flushing;
    },
    get pending() {
      return pending.size;
    },
  };
}

function newestObservation(
  sources: Readonly<Record<string, { observedAt: number } | undefined>>,
  fallback: number,
) {
  let newest = 0;
  for (const key in sources) {
    const at = sources[key]?.observedAt;
    if (at !== undefined && at > newest) newest = at;
  }
  return newest > 0 ? newest : fallback;
}
