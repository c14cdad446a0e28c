// What changed since the previous snapshot, in the announcement: counts only (the broadcaster computes its own
// per-client deltas from the snapshots), so a subscriber can tell a quiet tick from a busy one without a download.

import type { TransportSnapshot } from '@transit-fusion/model';

export interface ChangeSummary {
  readonly added: number;
  readonly removed: number;
  /** Vehicles present in both whose position, status, delay or trip changed. */
  readonly changed: number;
  readonly unchanged: number;
}

interface Fingerprint {
  lat: number;
  lon: number;
  status: string;
  delay: number;
  tripId: string;
}

export interface ChangeTracker {
  /** Summarises `snapshot` against the one before it and remembers it for the next. */
  summarise(snapshot: TransportSnapshot): ChangeSummary;
}

export function createChangeTracker(): ChangeTracker {
  let previous = new Map<string, Fingerprint>();
  return {
    summarise(snapshot) {
      const next = new Map<string, Fingerprint>();
      let added = 0;
      let changed = 0;
      let unchanged = 0;
      for (const v of snapshot.vehicles) {
        const print: Fingerprint = {
          lat: v.position?.lat ?? Number.NaN,
          lon: v.position?.lon ?? Number.NaN,
          status: v.status,
          delay: v.delay ?? Number.NaN,
          tripId: v.tripId ?? '',
        };
        next.set(v.id, print);
        const before = previous.get(v.id);
        if (!before) added++;
        else if (same(before, print)) unchanged++;
        else changed++;
      }
      let removed = 0;
      for (const id of previous.keys()) if (!next.has(id)) removed++;
      previous = next;
      return { added, removed, changed, unchanged };
    },
  };
}

function same(a: Fingerprint, b: Fingerprint): boolean {
  return (
    Object.is(a.lat, b.lat) &&
    Object.is(a.lon, b.lon) &&
    a.status === b.status &&
    Object.is(a.delay, b.delay) &&
    a.tripId === b.tripId
  );
}
