// One composer tick, in order: lease (lead or stay idle) → claim the sequence (fenced) → read every vendor's latest
// snapshot in parallel (conditional on ETags, so unchanged vendors cost a 304; a leader prefetches what changed a
// little before each tick, so the tick's read is mostly 304s) → compose (matchers, pre-processors,
// per-transport-type processors concurrently, post-processors) → encode → store blob + time-index row (retried
// with backoff within the tick's budget) → announce on the snapshots topic. Device state and the data-quality
// monitor are fed from the composed snapshot off this path.
//
// Composing ahead: the prefetch that knows the next tick's time also composes and encodes for it, from exactly
// what it read. The tick uses that result only when its own conditional read proves every vendor unchanged since
// (all 304s with the same ETags), for the same tick time, sequence and fleet registry: then composing again would
// give the same snapshot, byte for byte. Anything else and the tick composes as above (decision 0017).
//
// The snapshot's generatedAt is the tick's scheduled second, not the moment composing ended: the time index then
// holds one row per second a user can ask for, and two replicas could only ever collide on the same id — which
// the fenced claim rules out.

import { decodeVendorSnapshot, encodeTransportSnapshot } from '@transit-fusion/codec';
import type { OutgoingMessage } from '@transit-fusion/messaging';
import type { TransportSnapshot, VendorSnapshot } from '@transit-fusion/model';
import {
  createCompositionEngine,
  defaultSteps,
  type ComposeResult,
  type CompositionEngine,
  type FleetRegistry,
  type VendorRule,
} from '@transit-fusion/pipeline';
import type {
  LeaderLease,
  SnapshotDescriptor,
  SnapshotStore,
  VendorReadResult,
  VendorSnapshotRepository,
} from '@transit-fusion/storage';
import { createChangeTracker, type ChangeSummary } from './change-summary.js';
import { ComposerError } from './composer-error.js';
import type { RegistrySource } from './registry-source.js';

/** The small message announcing a stored snapshot (the snapshot itself stays in Blob storage). */
export interface SnapshotAnnouncement {
  readonly snapshotId: string;
  readonly blobName: string;
  readonly sequence: number;
  readonly generatedAt: number;
  readonly vehicleCount: number;
  readonly bytes: number;
  readonly changes: ChangeSummary;
  /** Per vendor: the vendor snapshot fused, and whether it was older than the stale age. */
  readonly sources: readonly { vendorId: string; sequence: number; collectedAt: number; stale: boolean }[];
}

export interface StageMs {
  read: number;
  match: number;
  process: number;
  encode: number;
  write: number;
  announce: number;
}

export type TickReport =
  | { readonly role: 'follower' }
  /** Lost the lease between checking and claiming: nothing stored. */
  | { readonly role: 'deposed' }
  | {
      readonly role: 'leader';
      readonly sequence: number;
      readonly descriptor: SnapshotDescriptor;
      readonly snapshot: TransportSnapshot;
      readonly stageMs: StageMs;
      readonly staleVendors: readonly string[];
      readonly missingVendors: readonly string[];
      readonly failedVendors: readonly string[];
      readonly writeAttempts: number;
      /**
       * 'used': composed and encoded ahead (stageMs' match, process and encode are that work's, done before the
       * tick); 'discarded': composed ahead but a vendor changed since (or the sequence or registry did), so the
       * tick composed again; 'none': nothing composed ahead for this tick.
       */
      readonly ahead: 'used' | 'discarded' | 'none';
    };

export interface ComposerDeps {
  readonly vendors: readonly VendorRule[];
  readonly priority?: readonly string[];
  readonly staleAfterMs: number;
  readonly lease: LeaderLease;
  readonly registry: RegistrySource;
  readonly vendorSnapshots: VendorSnapshotRepository;
  readonly store: SnapshotStore;
  readonly announce: (message: OutgoingMessage) => Promise<void>;
  readonly logger: { warn(obj: object, msg: string): void };
  /** Called with every snapshot stored (device state, quality monitor). */
  readonly onStored?: (snapshot: TransportSnapshot) => void;
  readonly clock?: { now(): number };
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Composer {
  /** One tick for the scheduled time `tickAt`; gives up storing once `deadline` (epoch ms) passes. */
  tick(tickAt: number, deadline: number): Promise<TickReport>;
  /**
   * Downloads the vendor snapshots that changed since the last read, ahead of the next tick: that tick's own
   * conditional read then costs a 304 per vendor that has not changed again since. Given the next tick's
   * scheduled time (a leader's schedule does), also composes and encodes that tick's snapshot from what it
   * read, for the tick to use if nothing changed in between. Never throws.
   */
  prefetch(nextTickAt?: number): Promise<void>;
}

/** How long a tick waits for a prefetch still running before reading on its own. */
const PREFETCH_WAIT_MS = 100;

const WRITE_BACKOFF_MS = [25, 50, 100, 200, 400];

export function createComposer(deps: ComposerDeps): Composer {
  const clock = deps.clock ?? Date;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let tickAt = 0;
  const engine: CompositionEngine = createCompositionEngine({
    vendors: deps.vendors,
    ...(deps.priority ? { priority: deps.priority } : {}),
    steps: defaultSteps({ freshness: { maxAgeMs: deps.staleAfterMs } }),
    // The engine's "now" is the tick's scheduled second: generatedAt and freshness refer to it.
    clock: { now: () => tickAt },
  });
  const vendorIds = deps.vendors.map((v) => v.vendorId);
  /**
   * Each vendor's last snapshot as bytes, decoded again only when the next read says 'unchanged'. Holding the
   * decoded records between ticks made them survivors that every young-generation collection copied: ~12 ms
   * of collector time per tick at 40,000 records.
   */
  const cache = new Map<string, Uint8Array>();
  const etags = new Map<string, string>();
  const changes = createChangeTracker();
  let lastSequence = 0;
  /** Counts the ticks' reads: a prefetch that finishes after a tick read has nothing newer to offer. */
  let tickReads = 0;
  let prefetching: Promise<void> | undefined;
  /**
   * What the last prefetch decoded, for the next tick only: held for the few hundred idle milliseconds before
   * it, not across a tick's allocations, so the garbage collector does not copy them.
   */
  const prefetched = new Map<string, { etag: string; snapshot: VendorSnapshot }>();
  /** The next tick's snapshot, composed and encoded by the prefetch, with what it was composed from. */
  let ahead: ComposedAhead | undefined;

  function prefetch(nextTickAt?: number): Promise<void> {
    if (prefetching) return prefetching;
    const startedAfter = tickReads;
    ahead = undefined;
    prefetching = deps.vendorSnapshots
      .readAll(vendorIds, etags)
      .then(async (results) => {
        if (tickReads !== startedAfter) return;
        // Missing and failed vendors are left to the tick's read, which reports them.
        for (const [vendorId, result] of results) {
          if (result.status !== 'changed') continue;
          cache.set(vendorId, result.body);
          etags.set(vendorId, result.etag);
          prefetched.set(vendorId, result);
        }
        if (nextTickAt !== undefined) await composeAhead(nextTickAt, results, startedAfter);
      })
      .catch((error: unknown) => {
        ahead = undefined;
        deps.logger.warn({ err: error }, 'composing ahead failed; the tick composes');
      })
      .finally(() => (prefetching = undefined));
    return prefetching;
  }

  async function composeAhead(
    nextTickAt: number,
    results: ReadonlyMap<string, VendorReadResult>,
    startedAfter: number,
  ): Promise<void> {
    const registry = deps.registry.current();
    if (!registry) return;
    const used = new Map<string, string>();
    const snapshots: VendorSnapshot[] = [];
    for (const vendorId of vendorIds) {
      const result = results.get(vendorId);
      // A missing or unreadable vendor is the tick's to report; nothing ahead then.
      if (result?.status === 'changed') snapshots.push(result.snapshot);
      else if (result?.status === 'unchanged' && cache.has(vendorId)) {
        const snapshot = decodeVendorSnapshot(cache.get(vendorId)!);
        // Kept for the tick too, in case another vendor changes and it composes after all.
        prefetched.set(vendorId, { etag: result.etag, snapshot });
        snapshots.push(snapshot);
      } else return;
      used.set(vendorId, result.etag);
    }
    const sequence = lastSequence + 1;
    const result = await composeAndEncode(nextTickAt, sequence, snapshots, registry);
    if (tickReads !== startedAfter) return; // the tick did not wait for this
    ahead = { tickAt: nextTickAt, sequence, registry, etags: used, ...result };
  }

  /** Composes the snapshot of the tick at `at` and encodes it, timing the encoding. */
  async function composeAndEncode(
    at: number,
    sequence: number,
    snapshots: VendorSnapshot[],
    registry: FleetRegistry,
  ): Promise<ComposedAndEncoded> {
    tickAt = at; // the engine reads it once, as compose starts
    const composed = await engine.compose({ sequence, snapshots, registry });
    const t = performance.now();
    const encoded = encodeTransportSnapshot(composed.snapshot);
    return { composed, encoded, encodeMs: performance.now() - t };
  }

  /** The result composed ahead, if the tick's read proves it is what composing now would give. */
  function aheadFor(
    scheduledAt: number,
    sequence: number,
    registry: FleetRegistry,
    results: ReadonlyMap<string, VendorReadResult>,
  ): ComposedAhead | undefined {
    if (
      !ahead ||
      ahead.tickAt !== scheduledAt ||
      ahead.sequence !== sequence ||
      ahead.registry !== registry
    ) {
      return undefined;
    }
    for (const vendorId of vendorIds) {
      const result = results.get(vendorId);
      if (result?.status !== 'unchanged' || result.etag !== ahead.etags.get(vendorId)) return undefined;
    }
    return ahead;
  }

  async function readVendors(): Promise<ReadonlyMap<string, VendorReadResult>> {
    if (prefetching) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        prefetching,
        new Promise((resolve) => (timer = setTimeout(resolve, PREFETCH_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    tickReads++;
    return deps.vendorSnapshots.readAll(vendorIds, etags);
  }

  /** The snapshots to compose from the tick's read: changed ones as read, the rest as last read. */
  function vendorsOf(results: ReadonlyMap<string, VendorReadResult>): {
    snapshots: VendorSnapshot[];
    missing: string[];
    failed: string[];
  } {
    const snapshots: VendorSnapshot[] = [];
    const missing: string[] = [];
    const failed: string[] = [];
    for (const [vendorId, result] of results) {
      if (result.status === 'changed') {
        cache.set(vendorId, result.body);
        etags.set(vendorId, result.etag);
        snapshots.push(result.snapshot);
        continue;
      }
      if (result.status === 'missing') {
        cache.delete(vendorId);
        etags.delete(vendorId);
        missing.push(vendorId);
        continue;
      }
      if (result.status === 'failed') {
        // The last snapshot read stays in use: its records' ages make it stale soon enough.
        failed.push(vendorId);
        deps.logger.warn(
          { vendorId, err: result.error },
          'vendor snapshot unreadable; using the last one read',
        );
      }
      const ahead = prefetched.get(vendorId);
      if (ahead && result.status === 'unchanged' && ahead.etag === result.etag) {
        snapshots.push(ahead.snapshot);
        continue;
      }
      const body = cache.get(vendorId);
      if (body) snapshots.push(decodeVendorSnapshot(body));
    }
    return { snapshots, missing, failed };
  }

  async function store(snapshot: TransportSnapshot, encoded: Uint8Array, deadline: number) {
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        return { descriptor: await deps.store.write(snapshot, { encoded }), attempts };
      } catch (error) {
        const wait = WRITE_BACKOFF_MS[Math.min(attempts - 1, WRITE_BACKOFF_MS.length - 1)]!;
        if (clock.now() + wait >= deadline) {
          throw new ComposerError(
            'STORE_FAILED',
            `snapshot ${snapshot.sequence} not stored after ${attempts} attempt(s): ${(error as Error).message}`,
            { cause: error },
          );
        }
        await sleep(wait);
      }
    }
  }

  async function tick(scheduledAt: number, deadline: number): Promise<TickReport> {
    let state;
    try {
      state = await deps.lease.check(scheduledAt);
    } catch (error) {
      throw new ComposerError('LEASE_FAILED', (error as Error).message, { cause: error });
    }
    if (state.role !== 'leader') {
      // Lost the lease since the prefetch: what it read and composed is of no use to a follower.
      ahead = undefined;
      prefetched.clear();
      return { role: 'follower' };
    }

    const registry: FleetRegistry = deps.registry.current() ?? (await deps.registry.load());
    deps.registry.refreshIfDue(clock.now());

    const sequence = Math.max(state.lastSequence, lastSequence) + 1;
    // The claim and the reads go out together: the claim only has to land before anything is stored, and a
    // refused claim just discards what was read.
    let t = performance.now();
    const [claimed, results] = await Promise.all([
      deps.lease.claim(sequence, scheduledAt).catch((error: unknown) => {
        throw new ComposerError('LEASE_FAILED', (error as Error).message, { cause: error });
      }),
      readVendors(),
    ]);
    const read = performance.now() - t;
    const usable = aheadFor(scheduledAt, sequence, registry, results);
    const aheadOutcome = usable ? 'used' : ahead ? 'discarded' : 'none';
    ahead = undefined;
    if (!claimed) {
      prefetched.clear();
      return { role: 'deposed' };
    }
    lastSequence = sequence;

    let missing: string[] = [];
    let failed: string[] = [];
    let result: ComposedAndEncoded | undefined = usable;
    if (!result) {
      const vendors = vendorsOf(results);
      ({ missing, failed } = vendors);
      result = await composeAndEncode(scheduledAt, sequence, vendors.snapshots, registry);
    }
    const { composed, encoded, encodeMs: encode } = result;
    prefetched.clear();
    const { snapshot, report } = composed;
    const staleVendors = snapshot.sources
      .filter((s) => scheduledAt - s.collectedAt > deps.staleAfterMs)
      .map((s) => s.vendorId);

    t = performance.now();
    const { descriptor, attempts } = await store(snapshot, encoded, deadline);
    const write = performance.now() - t;

    t = performance.now();
    const announcement: SnapshotAnnouncement = {
      snapshotId: descriptor.id,
      blobName: descriptor.blobName,
      sequence,
      generatedAt: snapshot.generatedAt,
      vehicleCount: descriptor.vehicleCount,
      bytes: descriptor.bytes,
      changes: changes.summarise(snapshot),
      sources: snapshot.sources.map((s) => ({
        vendorId: s.vendorId,
        sequence: s.sequence,
        collectedAt: s.collectedAt,
        stale: staleVendors.includes(s.vendorId),
      })),
    };
    try {
      await deps.announce({
        body: announcement,
        messageId: `snapshot-${sequence}`,
        subject: 'snapshot',
        applicationProperties: { sequence, generatedAt: snapshot.generatedAt },
      });
    } catch (error) {
      // Stored but not announced: the snapshot is queryable, and the next announcement supersedes it.
      throw new ComposerError('ANNOUNCE_FAILED', `snapshot ${sequence}: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      deps.onStored?.(snapshot);
    }
    const announce = performance.now() - t;

    return {
      role: 'leader',
      sequence,
      descriptor,
      snapshot,
      stageMs: {
        read,
        match: report.stageMs.match,
        process: report.stageMs.pre + report.stageMs.perType + report.stageMs.post,
        encode,
        write,
        announce,
      },
      staleVendors,
      missingVendors: missing,
      failedVendors: failed,
      writeAttempts: attempts,
      ahead: aheadOutcome,
    };
  }

  return { tick, prefetch };
}

interface ComposedAndEncoded {
  readonly composed: ComposeResult;
  readonly encoded: Uint8Array;
  readonly encodeMs: number;
}

interface ComposedAhead extends ComposedAndEncoded {
  readonly tickAt: number;
  readonly sequence: number;
  readonly registry: FleetRegistry;
  /** The ETag of each vendor's snapshot it was composed from. */
  readonly etags: ReadonlyMap<string, string>;
}
