// Device state off the tick's path: each composed snapshot adds one observation per vehicle to a map keyed by
// vehicle (coalesced: newest time and position, quality bits ORed, messages counted), and a background flush
// writes the map to the device state table every few seconds in per-partition batches. Ten thousand
// read-modify-writes cannot fit in a one-second tick; coalescing makes the table's cost independent of the
// tick rate, the map never holds more than one entry per vehicle, and the flush writes in per-partition
// transactions. A flush that fails keeps its observations for the next one.

import type { TransportSnapshot } from '@transit-fusion/model';
import { deviceStatePartition, type DeviceObservation, type DeviceStateTable } from '@transit-fusion/storage';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface DeviceStateWriter {
  add(snapshot: TransportSnapshot): void;
  /** Writes what is pending; resolves with how many vehicles were written and how many failed. */
  flush(): Promise<{ written: number; failed: number }>;
  readonly pending: number;
}

export function createDeviceStateWriter(
  table: DeviceStateTable,
  options: {
    logger: { warn(obj: object, msg: string): void };
    /** Pause between partitions during a flush (spreads the flush over time). */
    pauseMs?: number;
  },
): DeviceStateWriter {
  let pending = new Map<string, DeviceObservation>();
  let flushing: Promise<{ written: number; failed: number }> | undefined;

  async function flushNow(): Promise<{ written: number; failed: number }> {
    const batch = pending;
    pending = new Map();
    // One partition at a time, spaced out: the flush is background work and must not take the storage
    // service's attention from the ticks all at once (on Azurite, one burst of 10,000 entities stalled ticks
    // by 100 ms and more).
    const byPartition = new Map<string, Map<string, DeviceObservation>>();
    for (const [id, observation] of batch) {
      const key = deviceStatePartition(id);
      let group = byPartition.get(key);
      if (!group) byPartition.set(key, (group = new Map()));
      group.set(id, observation);
    }
    let written = 0;
    let failed = 0;
    for (const group of byPartition.values()) {
      try {
        // Per partition one query and transactions of 100: ~130 requests for 10,000 vehicles, not 20,000.
        const { updated, gaveUp } = await table.recordMany(group);
        written += updated;
        failed += gaveUp;
      } catch (error) {
        if (failed === 0)
          options.logger.warn({ err: error }, 'device state flush failed; the next one retries');
        failed += group.size;
        requeue(group);
      }
      if (options.pauseMs) await sleep(options.pauseMs);
    }
    return { written, failed };
  }

  /** Puts observations a failed write did not store back, merged with what arrived since. */
  function requeue(group: ReadonlyMap<string, DeviceObservation>): void {
    for (const [id, observation] of group) {
      const held = pending.get(id);
      if (!held) {
        pending.set(id, observation);
        continue;
      }
      held.count = (held.count ?? 1) + (observation.count ?? 1);
      held.quality = (held.quality ?? 0) | (observation.quality ?? 0);
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
