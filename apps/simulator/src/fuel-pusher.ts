// Vendor C pushes instead of being polled: every interval its fuel records go to the receiver as
// `{ records: [...] }` with the vendor's API key, in chunks below the receiver's per-push record limit. Faults act
// on the pushes: latency before each, a share of them sent corrupt (the receiver must refuse those), vehicles
// missing, a skewed clock. Outcomes are counted, never thrown: the next interval sends fresh values anyway.

import type { FleetState } from './fleet.js';
import { snapshotAt } from './fleet.js';
import { faultsFor, malformedPushBody, vendorVehicles, type FaultSettings } from './faults.js';
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
  /** Decides which pushes are sent corrupt and how; default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PushResult {
  /** Records in this round (after missing vehicles), whether or not their push got through. */
  readonly records: number;
  readonly pushes: number;
  /** Pushes the receiver refused (4xx other than 408/429: invalid body, credentials, size); resending won't help. */
  readonly rejected: number;
  /** Pushes that did not get through for a transient reason: network error, timeout, 5xx, 408, 429. */
  readonly failed: number;
  /** Pushes sent with a corrupt body on purpose (the malformed fault); the receiver should have rejected them. */
  readonly malformed: number;
}

export function createFuelPusher(deps: FuelPusherDeps): { pushOnce(): Promise<PushResult> } {
  const doFetch = deps.fetch ?? fetch;
  const chunkSize = deps.chunkSize ?? 5_000;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const faults = faultsFor(deps.faults, 'fuel');
  const url = new URL(
    'v1/vendors/fuel/records',
    deps.receiverUrl.endsWith('/') ? deps.receiverUrl : `${deps.receiverUrl}/`,
  );
  return {
    async pushOnce() {
      const snapshot = snapshotAt(deps.fleet);
      const vehicles = vendorVehicles(snapshot.vehicles, 'fuel', deps.faults);
      const records = fuelRecords(vehicles, snapshot.timestampMs + faults.clockSkewMs);
      let pushes = 0;
      let rejected = 0;
      let failed = 0;
      let malformed = 0;
      for (let i = 0; i < records.length; i += chunkSize) {
        pushes++;
        const chunk = records.slice(i, i + chunkSize);
        let body: string;
        if (faults.malformedRate > 0 && random() < faults.malformedRate) {
          malformed++;
          body = malformedPushBody(chunk, random).body;
        } else {
          body = JSON.stringify({ records: chunk });
        }
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        const response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': deps.apiKey },
          body,
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        if (response === undefined || (!response.ok && isTransient(response.status))) failed++;
        else if (!response.ok) rejected++;
        await response?.body?.cancel();
      }
      return { records: records.length, pushes, rejected, failed, malformed };
    },
  };
}

/** 5xx, timeouts and rate limits pass; other 4xx say the push itself was refused. */
function isTransient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429 || status < 400;
}
