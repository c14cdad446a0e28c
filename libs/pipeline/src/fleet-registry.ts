// The fleet registry maps each vendor's own vehicle key to the operator's canonical vehicle: positions keyed by
// GTFS vehicle id, fuel by fleet number, speed by tracker IMEI all land on one vehicle. It is the only place where
// vehicle identity is decided; the matchers never invent an id for a key it does not know.

import { z } from 'zod';
import { TRANSPORT_TYPES, type TransportType } from '@transit-fusion/model';
import { PipelineError } from './pipeline-error.js';

export interface FleetEntry {
  /** Canonical vehicle id. */
  readonly vehicleId: string;
  /** Human label, e.g. the fleet number painted on the vehicle. */
  readonly label?: string;
  readonly transportType?: TransportType;
  /** vendor id → that vendor's key for this vehicle. */
  readonly keys: Readonly<Record<string, string>>;
}

export interface FleetRegistry {
  /** The entry a vendor's key belongs to, or undefined when the registry does not know it. */
  lookup(vendorId: string, vehicleKey: string): FleetEntry | undefined;
  /**
   * One vendor's keys → dense entry index (0 ≤ index < size): the matcher resolves a whole snapshot against it
   * and keeps its per-vehicle state in arrays instead of hashing entries.
   */
  keysOf(vendorId: string): ReadonlyMap<string, number>;
  /** The entry at a dense index from {@link keysOf}. */
  at(index: number): FleetEntry;
  readonly size: number;
  entries(): Iterable<FleetEntry>;
}

const NO_KEYS: ReadonlyMap<string, number> = new Map();

/** Builds an in-memory registry; throws INVALID_REGISTRY when one vendor key would name two vehicles. */
export function createFleetRegistry(entries: Iterable<FleetEntry>): FleetRegistry {
  const byVendor = new Map<string, Map<string, number>>();
  const byId = new Map<string, FleetEntry>();
  const list: FleetEntry[] = [];
  for (const entry of entries) {
    if (byId.has(entry.vehicleId)) {
      throw new PipelineError('INVALID_REGISTRY', `vehicle "${entry.vehicleId}" is listed twice`);
    }
    byId.set(entry.vehicleId, entry);
    const index = list.push(entry) - 1;
    for (const vendorId in entry.keys) {
      const key = entry.keys[vendorId]!;
      let keys = byVendor.get(vendorId);
      if (!keys) byVendor.set(vendorId, (keys = new Map()));
      const other = keys.get(key);
      if (other !== undefined) {
        throw new PipelineError(
          'INVALID_REGISTRY',
          `vendor "${vendorId}" key "${key}" maps to both "${list[other]!.vehicleId}" and "${entry.vehicleId}"`,
        );
      }
      keys.set(key, index);
    }
  }
  return {
    lookup(vendorId, vehicleKey) {
      const index = byVendor.get(vendorId)?.get(vehicleKey);
      return index === undefined ? undefined : list[index];
    },
    keysOf: (vendorId) => byVendor.get(vendorId) ?? NO_KEYS,
    at: (index) => list[index]!,
    size: list.length,
    entries: () => byId.values(),
  };
}

const registryKey = z.string().min(1).max(128);

const fleetRegistrySchema = z.object({
  vehicles: z
    .array(
      z.object({
        vehicleId: registryKey,
        label: registryKey.optional(),
        transportType: z.enum(TRANSPORT_TYPES).optional(),
        keys: z.record(registryKey, registryKey),
      }),
    )
    .max(1_000_000),
});

/** Parses a registry document (`{ "vehicles": [{ vehicleId, label?, transportType?, keys }] }`) from JSON. */
export function parseFleetRegistry(document: unknown): FleetRegistry {
  const result = fleetRegistrySchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new PipelineError('INVALID_REGISTRY', `${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  return createFleetRegistry(result.data.vehicles);
}
