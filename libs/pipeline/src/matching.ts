// The matchers: regroup records that arrive grouped by vendor into one fused record per vehicle. Key-matched
// vendors go first (their keys say which vehicle); attribute-matched vendors then join the vehicles those produced.
// Every record either lands on a vehicle or is counted in the vendor's report with why it did not.

import {
  QualityFlag,
  createVehicle,
  type Vehicle,
  type VendorRecord,
  type VendorSnapshot,
} from '@transit-fusion/model';
import type { FleetRegistry } from './fleet-registry.js';
import { fuseRecord, type RankOf } from './fusion.js';
import type { VendorRule } from './match-rule.js';

/** How many unknown keys or unmatched values a vendor report keeps for logs. */
const MAX_SAMPLES = 10;

export interface VendorMatchReport {
  readonly vendorId: string;
  /** False when no snapshot of this vendor was given to the composer. */
  present: boolean;
  records: number;
  matched: number;
  /** Key-matched records whose key the fleet registry does not know. */
  unknownKeys: number;
  /** Attribute-matched records whose attribute no vehicle currently has (or that lack the attribute). */
  unmatched: number;
  /** Attribute-matched records whose attribute value several vehicles share: not joined to any. */
  ambiguous: number;
  /** Records for a vehicle this vendor already reported in the same snapshot (fused, newest field wins). */
  duplicates: number;
  /** Up to ten of the unknown keys or unmatched values, for the logs. */
  samples: string[];
}

export interface MatchOutcome {
  vehicles: Vehicle[];
  vendors: VendorMatchReport[];
  /** Vendor snapshots given that no rule configures: ignored. */
  ignoredVendors: string[];
}

/**
 * Per-vehicle matching state, in arrays indexed by the registry's dense entry index: no per-record hashing of
 * entries and no per-vehicle bookkeeping objects in the 1 Hz hot path.
 */
interface MatchState {
  readonly registry: FleetRegistry;
  readonly rankOf: RankOf;
  readonly vehicleAt: (Vehicle | undefined)[];
  /** Bit per vendor rule that reported the vehicle at that index. */
  readonly vendorMaskAt: Int32Array;
  /** Registry indices in first-match order: the output order. */
  readonly order: number[];
}

/**
 * Last tick's key resolution per vendor, by record position. Vendors send their fleet in a stable order, so
 * comparing this tick's key with last tick's key at the same position (a short string compare) usually replaces
 * a lookup in a fleet-sized Map (a cache miss or two per record). Correct in any order: a mismatch falls back to
 * the Map. Owned by one engine; tied to the registry instance it was computed against.
 */
export type KeyResolutionCache = Map<
  string,
  { registry: FleetRegistry; keys: string[]; indices: Int32Array }
>;

export function matchVendorSnapshots(
  snapshots: readonly VendorSnapshot[],
  rules: readonly VendorRule[],
  rankOf: RankOf,
  registry: FleetRegistry,
  keyCache: KeyResolutionCache = new Map(),
): MatchOutcome {
  const byVendor = new Map<string, VendorSnapshot>();
  const ignoredVendors: string[] = [];
  const configured = new Set(rules.map((r) => r.vendorId));
  for (const snapshot of snapshots) {
    if (!configured.has(snapshot.vendorId)) ignoredVendors.push(snapshot.vendorId);
    else byVendor.set(snapshot.vendorId, snapshot);
  }

  const state: MatchState = {
    registry,
    rankOf,
    vehicleAt: new Array<Vehicle | undefined>(registry.size),
    vendorMaskAt: new Int32Array(registry.size),
    order: [],
  };
  const reports: VendorMatchReport[] = [];

  // Key-matched vendors first, in rule order, then the attribute-matched ones: an attribute join needs the
  // attribute values the key-matched vendors reported.
  for (const pass of ['key', 'attribute'] as const) {
    let tripIndex: Map<string, number> | undefined;
    for (let bit = 0; bit < rules.length; bit++) {
      const rule = rules[bit]!;
      if (rule.match.by !== pass) continue;
      const snapshot = byVendor.get(rule.vendorId);
      const report = newReport(rule.vendorId, snapshot);
      reports[bit] = report;
      if (!snapshot) continue;
      const rank = rankOf.get(rule.vendorId)!;
      if (rule.match.by === 'key') {
        const indices = resolveKeys(snapshot.records, rule.vendorId, registry, keyCache);
        matchByKey(state, snapshot.records, indices, 1 << bit, rank, report);
      } else {
        tripIndex ??= indexByTrip(state);
        matchByTrip(state, snapshot.records, tripIndex, 1 << bit, rank, report);
      }
    }
  }

  const expectedAt = expectedVendorMasks(registry, rules);
  const vehicles: Vehicle[] = new Array<Vehicle>(state.order.length);
  for (let i = 0; i < state.order.length; i++) {
    const index = state.order[i]!;
    const vehicle = state.vehicleAt[index]!;
    if ((expectedAt[index]! & ~state.vendorMaskAt[index]!) !== 0) vehicle.quality |= QualityFlag.Partial;
    vehicles[i] = vehicle;
  }
  return { vehicles, vendors: reports, ignoredVendors };
}

/** Registry index per record (-1: unknown key), reusing last tick's resolution where the key is unchanged. */
function resolveKeys(
  records: readonly VendorRecord[],
  vendorId: string,
  registry: FleetRegistry,
  cache: KeyResolutionCache,
): Int32Array {
  const keys = registry.keysOf(vendorId);
  const previous = cache.get(vendorId);
  const prevKeys = previous?.registry === registry ? previous.keys : [];
  const prevIndices = previous?.indices;
  const n = records.length;
  const nowKeys = new Array<string>(n);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = records[i]!.vehicleKey;
    nowKeys[i] = key;
    indices[i] = i < prevKeys.length && prevKeys[i] === key ? prevIndices![i]! : (keys.get(key) ?? -1);
  }
  cache.set(vendorId, { registry, keys: nowKeys, indices });
  return indices;
}

function matchByKey(
  state: MatchState,
  records: readonly VendorRecord[],
  indices: Int32Array,
  vendorBit: number,
  rank: number,
  report: VendorMatchReport,
): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const index = indices[i]!;
    if (index === -1) {
      report.unknownKeys++;
      sample(report, record.vehicleKey);
      continue;
    }
    land(state, index, record, vendorBit, rank, report);
  }
}

/** Joins by trip: GTFS-RT TripUpdates often name only the trip, not the vehicle serving it. */
function matchByTrip(
  state: MatchState,
  records: readonly VendorRecord[],
  tripIndex: ReadonlyMap<string, number>,
  vendorBit: number,
  rank: number,
  report: VendorMatchReport,
): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const trip = record.tripId;
    const index = trip === undefined ? undefined : tripIndex.get(trip);
    if (index === undefined) {
      report.unmatched++;
      sample(report, trip ?? `(no tripId) ${record.vehicleKey}`);
    } else if (index === AMBIGUOUS) {
      report.ambiguous++;
      sample(report, trip!);
    } else {
      land(state, index, record, vendorBit, rank, report);
    }
  }
}

const AMBIGUOUS = -1;

/** tripId → registry index of the one vehicle serving it, or AMBIGUOUS when several claim it. */
function indexByTrip(state: MatchState): Map<string, number> {
  const index = new Map<string, number>();
  for (const i of state.order) {
    const trip = state.vehicleAt[i]!.tripId;
    if (trip !== undefined) index.set(trip, index.has(trip) ? AMBIGUOUS : i);
  }
  return index;
}

function land(
  state: MatchState,
  index: number,
  record: VendorRecord,
  vendorBit: number,
  rank: number,
  report: VendorMatchReport,
): void {
  let vehicle = state.vehicleAt[index];
  if (vehicle === undefined) {
    const entry = state.registry.at(index);
    const type = entry.transportType ?? record.transportType ?? 'other';
    vehicle = state.vehicleAt[index] = createVehicle(entry.vehicleId, type, entry.label);
    state.order.push(index);
  } else if (vehicle.transportType === 'other' && record.transportType !== undefined) {
    // A vendor's type hint fills in only where the registry is silent and no earlier vendor gave one.
    if (state.registry.at(index).transportType === undefined) vehicle.transportType = record.transportType;
  }
  const mask = state.vendorMaskAt[index]!;
  if ((mask & vendorBit) !== 0) report.duplicates++;
  state.vendorMaskAt[index] = mask | vendorBit;
  fuseRecord(vehicle, record, rank, state.rankOf);
  report.matched++;
}

function newReport(vendorId: string, snapshot: VendorSnapshot | undefined): VendorMatchReport {
  return {
    vendorId,
    present: snapshot !== undefined,
    records: snapshot?.records.length ?? 0,
    matched: 0,
    unknownKeys: 0,
    unmatched: 0,
    ambiguous: 0,
    duplicates: 0,
    samples: [],
  };
}

function sample(report: VendorMatchReport, value: string): void {
  if (report.samples.length < MAX_SAMPLES) report.samples.push(value);
}

/**
 * Per registry index, the bits of the key-matched vendors that have a key for that vehicle, i.e. should have
 * reported it. Computed once per registry instance and rule list (a registry is reloaded rarely, composed with
 * every second).
 */
const expectedMaskCache = new WeakMap<FleetRegistry, { rules: readonly VendorRule[]; masks: Int32Array }>();

function expectedVendorMasks(registry: FleetRegistry, rules: readonly VendorRule[]): Int32Array {
  const cached = expectedMaskCache.get(registry);
  if (cached?.rules === rules) return cached.masks;
  const masks = new Int32Array(registry.size);
  for (let index = 0; index < registry.size; index++) {
    const keys = registry.at(index).keys;
    for (let bit = 0; bit < rules.length; bit++) {
      const rule = rules[bit]!;
      if (rule.match.by === 'key' && keys[rule.vendorId] !== undefined) masks[index]! |= 1 << bit;
    }
  }
  expectedMaskCache.set(registry, { rules, masks });
  return masks;
}
