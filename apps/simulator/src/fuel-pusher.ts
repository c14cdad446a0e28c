// Vendor C pushes instead of being polled: every interval its fuel records go to the receiver as
// `{ records: [...] }` with the vendor's API key, in chunks below the receiver's per-push record limit.

import type { FleetState } from './fleet.js';
import { snapshotAt } from './fleet.js';
import { faultsFor, vendorVehicles, type FaultSettings } from './faults.js';
import { fuelRecords } from './vendor-feeds.js';

export interface FuelPusherDeps {
  readonly fleet: FleetState;
  /** Receiver base URL; records go to `<url>/v1/vendors/fuel/records`. */
  readonly receiverUrl: string;
  readonly apiKey: string;
  readonly faults: FaultSettings;
  readonly fetch?: typeof fetch;
  /** Records per push; default 5,000 (the receiver's default limit is 10,000). */
  readonly chunkSize?: number;
}

export interface PushResult {
  readonly records: number;
  readonly pushes: number;
  readonly failed: number;
}

export function createFuelPusher(deps: FuelPusherDeps): { pushOnce(): Promise<PushResult> } {
  const doFetch = deps.fetch ?? fetch;
  const chunkSize = deps.chunkSize ?? 5_000;
  const url = new URL(
    'v1/vendors/fuel/records',
    deps.receiverUrl.endsWith('/') ? deps.receiverUrl : `${deps.receiverUrl}/`,
  );
  return {
    async pushOnce() {
      const snapshot = snapshotAt(deps.fleet);
      const vehicles = vendorVehicles(snapshot.vehicles, 'fuel', deps.faults);
      const records = fuelRecords(
        vehicles,
        snapshot.timestampMs + faultsFor(deps.faults, 'fuel').clockSkewMs,
      );
      let pushes = 0;
      let failed = 0;
      for (let i = 0; i < records.length; i += chunkSize) {
        pushes++;
        const response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': deps.apiKey },
          body: JSON.stringify({ records: records.slice(i, i + chunkSize) }),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        if (!response?.ok) failed++;
        await response?.body?.cancel();
      }
      return { records: records.length, pushes, failed };
    },
  };
}
