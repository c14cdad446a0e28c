// A push vendor's picture of its fleet: pushes carry some vehicles at a time, the vendor snapshot must carry
// all of them, so the collector keeps the newest record per vehicle key and saves the whole map. Merging is by
// observation time, never by arrival: a message redelivered after its lock expired, or overtaken by a later
// push, cannot roll a vehicle back — which is what makes redelivery harmless (the drainer's handlers must be
// idempotent). Vehicles not heard of for maxRecordAgeMs leave the snapshot.

import { MAX_RECORDS, type VendorRecord, type VendorSnapshot } from '@transit-fusion/model';

export interface MergeCounts {
  /** Records that replaced an older one or added a vehicle. */
  readonly applied: number;
  /** Records older than (or as old as) what was already held for their vehicle. */
  readonly outdated: number;
  /** New vehicles refused because the snapshot already holds MAX_RECORDS. */
  readonly overCapacity: number;
}

export interface PushVendorState {
  readonly vendorId: string;
  readonly size: number;
  /** The sequence of the last snapshot made (or loaded). */
  readonly lastSequence: number;
  /** Continues from a stored snapshot (at start-up, so a restart keeps the vehicles pushed before it). */
  load(snapshot: VendorSnapshot): void;
  merge(records: readonly VendorRecord[]): MergeCounts;
  /** Drops vehicles older than maxRecordAgeMs at `now` and returns the snapshot to save. */
  snapshot(now: number): VendorSnapshot;
}

export function createPushVendorState(vendorId: string, maxRecordAgeMs: number): PushVendorState {
  const byKey = new Map<string, VendorRecord>();
  let lastSequence = 0;

  return {
    vendorId,
    get size() {
      return byKey.size;
    },
    get lastSequence() {
      return lastSequence;
    },
    load(snapshot) {
      for (const record of snapshot.records) {
        const held = byKey.get(record.vehicleKey);
        if (!held || held.observedAt < record.observedAt) byKey.set(record.vehicleKey, record);
      }
      lastSequence = Math.max(lastSequence, snapshot.sequence);
    },
    merge(records) {
      let applied = 0;
      let outdated = 0;
      let overCapacity = 0;
      for (const record of records) {
        const held = byKey.get(record.vehicleKey);
        if (held) {
          if (held.observedAt < record.observedAt) {
            byKey.set(record.vehicleKey, record);
            applied++;
          } else {
            outdated++;
          }
        } else if (byKey.size >= MAX_RECORDS) {
          overCapacity++;
        } else {
          byKey.set(record.vehicleKey, record);
          applied++;
        }
      }
      return { applied, outdated, overCapacity };
    },
    snapshot(now) {
      const oldest = now - maxRecordAgeMs;
      const records: VendorRecord[] = [];
      for (const [key, record] of byKey) {
        if (record.observedAt < oldest) byKey.delete(key);
        else records.push(record);
      }
      // Epoch milliseconds keep sequences increasing across restarts even when the stored one was not read.
      lastSequence = Math.max(lastSequence + 1, now);
      return { vendorId, sequence: lastSequence, collectedAt: now, records };
    },
  };
}
