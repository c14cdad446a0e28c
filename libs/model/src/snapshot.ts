// Snapshots: what a collector saves for its vendor each tick, and what the composer makes of all of them.

import type { VendorRecord, Vehicle } from './vehicle.js';

/** The latest data of one vendor, as a collector saved it. */
export interface VendorSnapshot {
  vendorId: string;
  /** Increases with every snapshot the collector saves for this vendor. */
  sequence: number;
  /** When the collector finished collecting, epoch milliseconds. */
  collectedAt: number;
  records: VendorRecord[];
}

/** Which vendor snapshot fed a transport snapshot. */
export interface SnapshotSource {
  vendorId: string;
  sequence: number;
  collectedAt: number;
  recordCount: number;
}

/** The fused state of the whole network at one moment. */
export interface TransportSnapshot {
  /** Strictly increasing across ticks, restarts and fail-overs. */
  sequence: number;
  /** When the composer produced it, epoch milliseconds. */
  generatedAt: number;
  sources: SnapshotSource[];
  vehicles: Vehicle[];
}
