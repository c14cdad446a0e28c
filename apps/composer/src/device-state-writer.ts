// Device state off the tick's path: each composed snapshot adds one observation per vehicle to a map keyed by
// vehicle (coalesced: newest time and position, quality bits ORed, messages counted), and a background flush
// writes the map to the device state table every few seconds with bounded concurrency. Ten thousand
// read-modify-writes cannot fit in a one-second tick; coalescing makes the table's cost independent of the
// tick rate, and the map never holds more than one entry per vehicle.

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
  options: { concurrency?: number; logger: { warn(obj: object, msg: string): void } },
): DeviceStateWriter {
  let pending = new Map<string, DeviceObservation>();
  let flushing: Promise<{ written: number; failed: number }> | undefined;
  const concurrency = options.concurrency ?? 16;

  async function flushNow(): Promise<{ written: number; failed: number }> {
    const batch = pending;
    pending = new Map();
    const entries = [...batch];
    let written = 0;
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const [vehicleId, observation] = entries[next++]!;
        try {
          const outcome = await table.record(vehicleId, observation);
          if (outcome.status === 'updated') written++;
          else failed++;
        } catch (error) {
          failed++;
          if (failed === 1) options.logger.warn({ err: error, vehicleId }, 'device state write failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    return { written, failed };
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
