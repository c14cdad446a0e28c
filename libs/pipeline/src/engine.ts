// The composition engine: vendor snapshots in, one fused TransportSnapshot out, through named stages in a fixed
// order — match → common pre-processors → per-transport-type processors (concurrently per type) → common
// post-processors. It does no I/O of its own: the registry, the clock and any processor's sources come in.

import {
  QualityFlag,
  TRANSPORT_TYPES,
  qualityFlagNames,
  type QualityFlagName,
  type SnapshotSource,
  type TransportSnapshot,
  type TransportType,
  type Vehicle,
  type VendorSnapshot,
} from '@transit-fusion/model';
import { systemClock, type Clock } from './clock.js';
import type { FleetRegistry } from './fleet-registry.js';
import type { VendorRule } from './match-rule.js';
import { matchVendorSnapshots, type KeyResolutionCache, type VendorMatchReport } from './matching.js';
import { PipelineError } from './pipeline-error.js';
import type { PipelineSteps, ProcessContext, Processor } from './processor.js';
import { defaultSteps } from './steps.js';

/** The most vendors one engine fuses (vendor sets are bit masks in the hot path). */
export const MAX_VENDORS = 31;

export interface CompositionEngineOptions {
  /** Every vendor the composer fuses and how its records are matched. */
  readonly vendors: readonly VendorRule[];
  /** Vendor ids, best first, to break ties between observations of equal time. Default: the order of `vendors`. */
  readonly priority?: readonly string[];
  /** Default: {@link defaultSteps}(). */
  readonly steps?: PipelineSteps;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

export interface ComposeInput {
  /** The sequence number the composed snapshot gets. */
  readonly sequence: number;
  /** The latest snapshot of each vendor; a configured vendor may be missing (its vehicles come out partial). */
  readonly snapshots: readonly VendorSnapshot[];
  readonly registry: FleetRegistry;
}

export interface StageTimings {
  match: number;
  pre: number;
  perType: number;
  post: number;
}

export interface ComposeReport {
  readonly sequence: number;
  readonly vehicles: number;
  readonly vendors: readonly VendorMatchReport[];
  readonly ignoredVendors: readonly string[];
  /** Vehicles carrying each quality flag. */
  readonly flags: Readonly<Partial<Record<QualityFlagName, number>>>;
  /** Counters the processors added, by `step.counter` name. */
  readonly counters: Readonly<Record<string, number>>;
  /** Milliseconds per stage. */
  readonly stageMs: StageTimings;
}

export interface ComposeResult {
  readonly snapshot: TransportSnapshot;
  readonly report: ComposeReport;
}

export interface CompositionEngine {
  compose(input: ComposeInput): Promise<ComposeResult>;
  /** The step names per stage, in run order (for logs and health). */
  readonly stepNames: { readonly pre: string[]; readonly perType: string[]; readonly post: string[] };
}

export function createCompositionEngine(options: CompositionEngineOptions): CompositionEngine {
  const rules = options.vendors;
  const steps = options.steps ?? defaultSteps();
  const clock = options.clock ?? systemClock;
  const rankOf = vendorRanks(rules, options.priority);
  validateSteps(steps);
  const keyCache: KeyResolutionCache = new Map();

  async function compose(input: ComposeInput): Promise<ComposeResult> {
    const now = clock.now();
    const counters: Record<string, number> = {};
    const context: ProcessContext = {
      sequence: input.sequence,
      now,
      count(counter, n = 1) {
        counters[counter] = (counters[counter] ?? 0) + n;
      },
    };
    const stageMs: StageTimings = { match: 0, pre: 0, perType: 0, post: 0 };

    let t = performance.now();
    const matched = matchVendorSnapshots(input.snapshots, rules, rankOf, input.registry, keyCache);
    stageMs.match = lap();
    let vehicles = await runChain(steps.pre, matched.vehicles, context);
    stageMs.pre = lap();
    vehicles = await runPerType(steps.perType, vehicles, context);
    stageMs.perType = lap();
    vehicles = await runChain(steps.post, vehicles, context);
    stageMs.post = lap();

    const snapshot: TransportSnapshot = {
      sequence: input.sequence,
      generatedAt: now,
      sources: sourcesOf(input.snapshots, rankOf),
      vehicles,
    };
    const report: ComposeReport = {
      sequence: input.sequence,
      vehicles: vehicles.length,
      vendors: matched.vendors,
      ignoredVendors: matched.ignoredVendors,
      flags: countFlags(vehicles),
      counters,
      stageMs,
    };
    return { snapshot, report };

    function lap(): number {
      const end = performance.now();
      const ms = end - t;
      t = end;
      return ms;
    }
  }

  return {
    compose,
    stepNames: {
      pre: steps.pre.map((s) => s.name),
      perType: steps.perType.map((s) => s.name),
      post: steps.post.map((s) => s.name),
    },
  };
}

async function runChain(chain: readonly Processor[], vehicles: Vehicle[], context: ProcessContext) {
  let batch = vehicles;
  for (const step of chain) {
    let result;
    try {
      result = await step.process(batch, context);
    } catch (error) {
      throw new PipelineError('PROCESSOR_FAILED', `step "${step.name}" failed: ${String(error)}`, {
        cause: error,
      });
    }
    if (result) batch = result;
  }
  return batch;
}

/**
 * Groups by transport type and runs each type's chain concurrently. Output order is stable: types in
 * TRANSPORT_TYPES order, vehicles in match order within a type.
 */
async function runPerType(chain: readonly Processor[], vehicles: Vehicle[], context: ProcessContext) {
  if (chain.length === 0) return vehicles;
  const groups = new Map<TransportType, Vehicle[]>(TRANSPORT_TYPES.map((type) => [type, []]));
  for (const vehicle of vehicles) groups.get(vehicle.transportType)!.push(vehicle);
  const results = await Promise.all(
    TRANSPORT_TYPES.map((type) => {
      const group = groups.get(type)!;
      if (group.length === 0) return group;
      const applicable = chain.filter(
        (s) => s.transportTypes === undefined || s.transportTypes.includes(type),
      );
      return runChain(applicable, group, context);
    }),
  );
  return results.length === 1 ? results[0]! : ([] as Vehicle[]).concat(...results);
}

function vendorRanks(rules: readonly VendorRule[], priority: readonly string[] | undefined) {
  if (rules.length === 0) throw new PipelineError('INVALID_CONFIG', 'no vendors configured');
  if (rules.length > MAX_VENDORS) {
    throw new PipelineError('INVALID_CONFIG', `at most ${MAX_VENDORS} vendors, got ${rules.length}`);
  }
  const ids = rules.map((r) => r.vendorId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new PipelineError('INVALID_CONFIG', `vendor "${duplicate}" is configured twice`);
  const order = priority ?? ids;
  const unknown = order.find((id) => !ids.includes(id));
  if (unknown) throw new PipelineError('INVALID_CONFIG', `priority names unknown vendor "${unknown}"`);
  const ranks = new Map<string, number>();
  order.forEach((id, rank) => {
    if (!ranks.has(id)) ranks.set(id, rank);
  });
  // Vendors left out of the priority list rank after it, in configuration order: ties stay deterministic.
  for (const id of ids) if (!ranks.has(id)) ranks.set(id, order.length + ids.indexOf(id));
  return ranks;
}

function validateSteps(steps: PipelineSteps): void {
  const names = [...steps.pre, ...steps.perType, ...steps.post].map((s) => s.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new PipelineError('INVALID_CONFIG', `step "${duplicate}" appears twice`);
}

function sourcesOf(
  snapshots: readonly VendorSnapshot[],
  rankOf: ReadonlyMap<string, number>,
): SnapshotSource[] {
  return snapshots
    .filter((s) => rankOf.has(s.vendorId))
    .map((s) => ({
      vendorId: s.vendorId,
      sequence: s.sequence,
      collectedAt: s.collectedAt,
      recordCount: s.records.length,
    }));
}

const FLAGS = Object.entries(QualityFlag) as [QualityFlagName, number][];

function countFlags(vehicles: readonly Vehicle[]): Partial<Record<QualityFlagName, number>> {
  let union = 0;
  for (const v of vehicles) union |= v.quality;
  const counts: Partial<Record<QualityFlagName, number>> = {};
  for (const name of qualityFlagNames(union)) counts[name] = 0;
  if (union === 0) return counts;
  const present = FLAGS.filter(([name]) => name in counts);
  for (const v of vehicles) {
    if (v.quality === 0) continue;
    for (const [name, bit] of present) if ((v.quality & bit) !== 0) counts[name]!++;
  }
  return counts;
}
