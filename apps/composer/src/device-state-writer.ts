// Device state off the tick's path: each composed snapshot adds one observation per vehicle to an entry keyed by
// vehicle (coalesced: newest time and position, quality bits ORed, messages counted), and a background flush
// writes them to the device state table in per-partition batches.
//
// Not every vehicle on every flush: a vehicle's entry changes every second (its last-seen time and count), so
// writing the whole fleet each flush costs one entity write per vehicle per flush — at 10,000 vehicles and a
// 10 s flush, 1,000 writes a second; on Azurite beside the composer that took the CPU the ticks needed (tick
// p99 330 ms with it, 170 ms without). So the 32 partitions take turns: each flush writes the vehicles of 1/R
// of them (R = heartbeat ÷ flush interval), every vehicle is written at least once per heartbeat, and the write
// rate is the fleet over the heartbeat, whatever the tick rate. Quality alerts do not wait for a turn: the
// data-quality check flags devices directly. Each partition goes in the idle time after a tick (`pace`). A
// flush that fails keeps its observations for the next one; stopping writes everything pending.

import type { TransportSnapshot } from '@transit-fusion/model';
import { deviceStateBucket, type DeviceObservation, type DeviceStateTable } from '@transit-fusion/storage';

export interface DeviceStateWriter {
  add(snapshot: TransportSnapshot): void;
  /**
   * Writes what is due (this turn's partitions), or with `all` everything pending (on stopping); resolves with
   * how many vehicles were written and how many failed.
   */
  flush(options?: { all?: boolean }): Promise<{ written: number; failed: number }>;
  /** Vehicles with observations not yet written. */
  readonly pending: number;
  /** Vehicles held (seen since their last turn); those not seen again are forgotten on their next turn. */
  readonly held: number;
}

export interface DeviceStateWriterOptions {
  readonly logger: { warn(obj: object, msg: string): void };
  /** How often flush() is called; with the heartbeat it sets how many turns the partitions take. */
  readonly flushMs: number;
  /** Every vehicle seen is rewritten at least this often (default 60 s). */
  readonly heartbeatMs?: number;
  /**
   * Awaited before each partition of a periodic flush: the service resolves it right after its next tick ends,
   * so the table writes run in the idle time between ticks instead of competing with one. Default: no wait.
   */
  readonly pace?: () => Promise<void>;
}

/** A vehicle: its newest observation (time, position) and what accumulated since its last write. */
interface Entry {
  /** Its device state bucket (partition). */
  readonly partition: number;
  seenAt: number;
  position: { lat: number; lon: number } | undefined;
  quality: number;
  count: number;
}

export function createDeviceStateWriter(
  table: DeviceStateTable,
  options: DeviceStateWriterOptions,
): DeviceStateWriter {
  const heartbeatMs = options.heartbeatMs ?? 60_000;
  const turns = Math.max(1, Math.round(heartbeatMs / options.flushMs));
  const pace = options.pace ?? (async () => {});
  // Entries live as long as their vehicle is seen, updated in place: fresh objects each tick would be survivors
  // for the garbage collector to copy.
  const entries = new Map<string, Entry>();
  let turn = 0;
  let flushing: Promise<{ written: number; failed: number }> | undefined;

  function track(
    run: Promise<{ written: number; failed: number }>,
  ): Promise<{ written: number; failed: number }> {
    const tracked = run.finally(() => {
      if (flushing === tracked) flushing = undefined;
    });
    flushing = tracked;
    return tracked;
  }

  function due(entry: Entry, all: boolean, thisTurn: number): boolean {
    if (entry.count === 0) return false;
    return all || entry.partition % turns === thisTurn;
  }

  async function flushNow(all: boolean): Promise<{ written: number; failed: number }> {
    const thisTurn = turn++ % turns;
    // Taken out before writing: what arrives during the flush accumulates for the next one.
    const byPartition = new Map<number, Map<string, DeviceObservation>>();
    for (const [id, entry] of entries) {
      if (!due(entry, all, thisTurn)) {
        // Not seen since its last write and its turn has come: the vehicle left; forget it.
        if (entry.count === 0 && entry.partition % turns === thisTurn) entries.delete(id);
        continue;
      }
      let group = byPartition.get(entry.partition);
      if (!group) byPartition.set(entry.partition, (group = new Map()));
      group.set(id, {
        seenAt: entry.seenAt,
        ...(entry.position ? { position: { ...entry.position } } : {}),
        quality: entry.quality,
        count: entry.count,
      });
      entry.count = 0;
      entry.quality = 0;
    }
    let written = 0;
    let failed = 0;
    // One partition at a time, each (but when stopping) in the idle time after a tick: background work must
    // not take the storage service's attention from the ticks.
    for (const group of byPartition.values()) {
      if (!all) await pace();
      try {
        // Per partition one query and transactions of 100.
        const { updated, gaveUp } = await table.recordMany(group);
        written += updated;
        failed += gaveUp;
      } catch (error) {
        if (failed === 0)
          options.logger.warn({ err: error }, 'device state flush failed; the next one retries');
        failed += group.size;
        requeue(group);
      }
    }
    return { written, failed };
  }

  /** Puts observations a failed write did not store back, merged with what arrived since. */
  function requeue(group: ReadonlyMap<string, DeviceObservation>): void {
    for (const [id, observation] of group) {
      const entry = entries.get(id);
      if (!entry) continue;
      // The newest time and position never left the entry; only the counts and bits need putting back.
      entry.count += observation.count ?? 1;
      entry.quality |= observation.quality ?? 0;
    }
  }

  return {
    add(snapshot) {
      for (const v of snapshot.vehicles) {
        const seenAt = newestObservation(v.sources, snapshot.generatedAt);
        let entry = entries.get(v.id);
        if (!entry) {
          entry = {
            partition: deviceStateBucket(v.id),
            seenAt,
            position: v.position ? { lat: v.position.lat, lon: v.position.lon } : undefined,
            quality: v.quality,
            count: 1,
          };
          entries.set(v.id, entry);
          continue;
        }
        entry.quality |= v.quality;
        entry.count++;
        if (seenAt >= entry.seenAt) {
          entry.seenAt = seenAt;
          if (v.position && entry.position) {
            entry.position.lat = v.position.lat;
            entry.position.lon = v.position.lon;
          } else if (v.position) {
            entry.position = { lat: v.position.lat, lon: v.position.lon };
          }
        }
      }
    },
    flush(flushOptions = {}) {
      // One flush at a time: a periodic one joins a flush already running; stopping's runs after it, so
      // nothing pending is left behind.
      if (!flushOptions.all) return flushing ?? track(flushNow(false));
      const after = flushing?.catch(() => undefined) ?? Promise.resolve();
      return track(after.then(() => flushNow(true)));
    },
    get held() {
      return entries.size;
    },
    get pending() {
      let n = 0;
      for (const entry of entries.values()) if (entry.count > 0) n++;
      return n;
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
