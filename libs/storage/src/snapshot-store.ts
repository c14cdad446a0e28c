// The time machine: every composed snapshot as a MessagePack blob with a human-readable, time-derived name, and a
// Table storage index over them, so anyone can ask for the network as it was at 08:47:00 or replay a range.
//
// Index layout (docs/decisions/0006-snapshot-time-index.md). Partitions are UTC hours (`2026112008`): the history
// is never one hot partition. In each hour partition:
//   s<time>   one row per snapshot, pointing at its blob (blob name, generated-at, sequence, vehicles, bytes);
//   m<MM>     a minute bucket listing that minute's snapshots (offset, sequence, vehicles, bytes);
//   h         the hour's 60-minute bitmap.
// and in a day partition (`d20261120`), row `d`: the day's 24-hour bitmap. Every lookup by time is a handful of
// point reads (the cheapest, most predictable Table operation; Azurite answers queries with full scans), never a
// range query. A snapshot's row, bucket entry and hour bit are written in one transaction after its blob: a row
// never exists without its blob, and a snapshot is visible only when complete.

import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import { decodeTransportSnapshot, encodeTransportSnapshot, isCodecError } from '@transit-fusion/codec';
import type { TransportSnapshot } from '@transit-fusion/model';
import type { StorageClients } from './storage-clients.js';
import type { StorageConfig } from './storage-config.js';
import { readBody } from './blob-body.js';
import { StorageError, isStorageError, statusOf } from './storage-error.js';
import { silentLogger, type StorageLogger } from './storage-logger.js';

/** What the index knows of one stored snapshot, without reading its blob. */
export interface SnapshotDescriptor {
  /** The snapshot's id: its generatedAt as ISO-8601 UTC with milliseconds, e.g. `2026-11-21T08:47:00.000Z`. */
  readonly id: string;
  readonly blobName: string;
  readonly generatedAt: number;
  readonly sequence: number;
  readonly vehicleCount: number;
  readonly bytes: number;
}

export interface SnapshotPage {
  readonly descriptors: readonly SnapshotDescriptor[];
  /** Present when more descriptors follow; pass it back to get the next page. */
  readonly continuationToken?: string;
}

/** A stored snapshot that could not be read during a range read, and why; the range read goes on. */
export interface SkippedSnapshot {
  readonly descriptor: SnapshotDescriptor;
  readonly error: Error;
}

export interface SweepReport {
  /** Snapshots older than the retention age removed (row pair and blob). */
  readonly expired: number;
  /** Blobs without an index row (a write that crashed between blob and row), older than the grace period. */
  readonly orphansRemoved: number;
}

export interface SnapshotStore {
  /** Creates the container and table if missing. */
  ensure(): Promise<void>;
  /**
   * Stores a snapshot: the blob first, then its index rows in one transaction, so it becomes visible only
   * once complete. Writing the same snapshot (same generatedAt) again is idempotent. `encoded` may carry the
   * snapshot's bytes when the caller encoded it already (to time the encoding as its own stage).
   */
  write(snapshot: TransportSnapshot, options?: { encoded?: Uint8Array }): Promise<SnapshotDescriptor>;
  /** The snapshot nearest to `t` (either side; the earlier one on a tie). */
  closestAt(t: number): Promise<SnapshotDescriptor | undefined>;
  /** The newest snapshot generated at or before `t`. */
  latestAtOrBefore(t: number): Promise<SnapshotDescriptor | undefined>;
  /** The newest snapshot of all. */
  latest(): Promise<SnapshotDescriptor | undefined>;
  /** Descriptors with from ≤ generatedAt ≤ to, oldest first, fetched page by page. */
  between(from: number, to: number): AsyncIterable<SnapshotDescriptor>;
  /** One page of {@link between}, for APIs that hand pages to clients. */
  listPage(
    from: number,
    to: number,
    options?: { pageSize?: number; continuationToken?: string },
  ): Promise<SnapshotPage>;
  /** The descriptor of one snapshot by id; NOT_FOUND when there is none. */
  describe(id: string): Promise<SnapshotDescriptor>;
  /** Reads and decodes one snapshot. Throws StorageError NOT_FOUND, MISSING_BLOB or CORRUPT_BLOB. */
  get(id: string): Promise<TransportSnapshot>;
  /** `abortSignal` cancels the download (a live consumer drops a download a newer snapshot overtook). */
  read(descriptor: SnapshotDescriptor, options?: { abortSignal?: AbortSignal }): Promise<TransportSnapshot>;
  /**
   * Snapshots with from ≤ generatedAt ≤ to, oldest first. One that cannot be read is reported to `onSkip`
   * (and logged) and the iteration goes on.
   */
  readRange(
    from: number,
    to: number,
    options?: { onSkip?: (skipped: SkippedSnapshot) => void },
  ): AsyncIterable<{ descriptor: SnapshotDescriptor; snapshot: TransportSnapshot }>;
  /** Deletes snapshots older than the retention age and orphan blobs older than the grace period. */
  sweep(now: number): Promise<SweepReport>;
  /**
   * Indexes many stored snapshots at once, an hour partition at a time in 100-entity transactions: for
   * rebuilding the index (see {@link rebuildIndex}) and for importing history. Existing entries are kept.
   */
  reindex(descriptors: Iterable<SnapshotDescriptor>): Promise<number>;
  /**
   * Rebuilds the index of [from, to] from the blobs themselves (their names and metadata), e.g. after restoring
   * blobs from a backup; returns how many snapshots it indexed.
   */
  rebuildIndex(from: number, to: number): Promise<number>;
}

export interface SnapshotStoreOptions {
  readonly clients: StorageClients;
  readonly container: string;
  readonly table: string;
  /** Snapshots older than this are removed by {@link SnapshotStore.sweep}. */
  readonly retentionMs: number;
  /** Blobs younger than this are never treated as orphans (their index write may be in flight). Default 5 min. */
  readonly orphanGraceMs?: number;
  /** How far (in hours) lookups search past empty hours for the nearest snapshot. Default: the retention. */
  readonly maxGapHours?: number;
  readonly logger?: StorageLogger;
  /** Default: the system clock. Used by `latest()` and to stop forward searches at the present. */
  readonly clock?: { now(): number };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const TIME_DIGITS = 15;
const CONTENT_TYPE = 'application/vnd.transit-fusion.transport-snapshot';
const ID_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/**
 * Optimistic-concurrency attempts for one index write. One leader writes, so conflicts are rare (a fail-over
 * overlap, the day row at the top of an hour); backoff is exponential with jitter, capped at 500 ms.
 */
const WRITE_ATTEMPTS = 10;

type SnapshotRow = {
  partitionKey: string;
  rowKey: string;
  id: string;
  blobName: string;
  generatedAt: number;
  sequence: number;
  vehicleCount: number;
  bytes: number;
};

/** One snapshot as listed in its minute bucket; the id and blob name follow from the time. */
interface BucketEntry {
  offset: number;
  sequence: number;
  vehicleCount: number;
  bytes: number;
}

interface Bucket {
  entries: BucketEntry[];
  etag?: string;
}

interface Bitmap {
  bits: string;
  etag?: string;
}

export function createSnapshotStore(options: SnapshotStoreOptions): SnapshotStore {
  const container: ContainerClient = options.clients.container(options.container);
  const table: TableClient = options.clients.table(options.table);
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? { now: () => Date.now() };
  const graceMs = options.orphanGraceMs ?? 5 * 60_000;
  const maxGapHours = options.maxGapHours ?? Math.ceil(options.retentionMs / HOUR_MS);
  /** Hours (epoch hour numbers) below this were fully checked for orphans by an earlier sweep. */
  let verifiedBelowHour = -Infinity;
  /** Hours whose bit this process already set in their day row: one day-row write per hour, not per snapshot. */
  const markedHours = new Set<number>();
  /**
   * The minute bucket and hour bitmap as this writer last wrote them, with their ETags: the next second's write
   * needs no reads. Another writer's change makes the ETag stale, the transaction fails with 412, and the retry
   * reads afresh.
   */
  let lastBucket: { minute: number; bucket: Bucket } | undefined;
  let lastHourBits: { hour: number; bits: Bitmap } | undefined;

  // ---- point reads -------------------------------------------------------------------------------------------

  async function readEntity<T extends object>(
    partitionKey: string,
    rowKey: string,
  ): Promise<(T & { etag: string }) | undefined> {
    try {
      return (await table.getEntity<T>(partitionKey, rowKey)) as T & { etag: string };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable('reading the snapshot index', error);
    }
  }

  async function readBucket(minute: number): Promise<Bucket> {
    const row = await readEntity<{ entries: string }>(
      partitionOf(hourOf(minute * MINUTE_MS)),
      bucketKey(minute),
    );
    return row ? { entries: parseEntries(row.entries), etag: row.etag } : { entries: [] };
  }

  async function readHourBits(hour: number): Promise<Bitmap> {
    const row = await readEntity<{ bits: string }>(partitionOf(hour), 'h');
    return row ? { bits: row.bits, etag: row.etag } : { bits: '0'.repeat(60) };
  }

  async function readDayBits(day: number): Promise<Bitmap> {
    const row = await readEntity<{ bits: string }>(dayPartitionOf(day), 'd');
    return row ? { bits: row.bits, etag: row.etag } : { bits: '0'.repeat(24) };
  }

  // ---- writing -----------------------------------------------------------------------------------------------

  async function write(
    snapshot: TransportSnapshot,
    options: { encoded?: Uint8Array } = {},
  ): Promise<SnapshotDescriptor> {
    const bytes = options.encoded ?? encodeTransportSnapshot(snapshot);
    const t = snapshot.generatedAt;
    const descriptor: SnapshotDescriptor = {
      id: snapshotId(t),
      blobName: blobNameOf(t),
      generatedAt: t,
      sequence: snapshot.sequence,
      vehicleCount: snapshot.vehicles.length,
      bytes: bytes.byteLength,
    };
    try {
      await container.getBlockBlobClient(descriptor.blobName).uploadData(bytes, {
        blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
        metadata: { sequence: String(snapshot.sequence), vehicles: String(snapshot.vehicles.length) },
      });
    } catch (error) {
      throw unavailable(`writing blob ${descriptor.blobName}`, error, descriptor.blobName);
    }
    // The day bit first: a bit for an hour that ends up empty only costs a reader one extra point read, while
    // a missing bit would hide the hour from searches across days.
    await markHourInDay(hourOf(t));
    await indexInHour(descriptor);
    return descriptor;
  }

  async function markHourInDay(hour: number): Promise<void> {
    if (markedHours.has(hour)) return;
    const day = Math.floor((hour * HOUR_MS) / DAY_MS);
    const bit = hour - day * 24;
    await withConcurrencyRetry(`day row ${dayPartitionOf(day)}`, async () => {
      const current = await readDayBits(day);
      if (current.bits[bit] === '1') return;
      const entity = { partitionKey: dayPartitionOf(day), rowKey: 'd', bits: setBit(current.bits, bit) };
      if (current.etag) await table.updateEntity(entity, 'Replace', { etag: current.etag });
      else await table.createEntity(entity);
    });
    markedHours.add(hour);
    if (markedHours.size > 1000) markedHours.clear();
  }

  /** The snapshot row, its minute-bucket entry and its hour bit, in one transaction (one partition). */
  async function indexInHour(d: SnapshotDescriptor): Promise<void> {
    const t = d.generatedAt;
    const hour = hourOf(t);
    const minute = minuteOf(t);
    const partitionKey = partitionOf(hour);
    await withConcurrencyRetry(`snapshot index ${d.id}`, async () => {
      const [bucket, hourBits] = await Promise.all([
        lastBucket?.minute === minute ? lastBucket.bucket : readBucket(minute),
        lastHourBits?.hour === hour ? lastHourBits.bits : readHourBits(hour),
      ]);
      lastBucket = lastHourBits = undefined; // until this write's outcome is known
      const entry: BucketEntry = {
        offset: t - minute * MINUTE_MS,
        sequence: d.sequence,
        vehicleCount: d.vehicleCount,
        bytes: d.bytes,
      };
      // Replacing an entry at the same offset keeps re-writes of one tick idempotent.
      const entries = [...bucket.entries.filter((e) => e.offset !== entry.offset), entry].sort(
        (a, b) => a.offset - b.offset,
      );
      const row: SnapshotRow = { partitionKey, rowKey: snapshotKey(t), ...d };
      const bucketEntity = { partitionKey, rowKey: bucketKey(minute), entries: formatEntries(entries) };
      const actions: TransactionAction[] = [
        ['upsert', row, 'Replace'],
        bucket.etag ? ['update', bucketEntity, 'Replace', { etag: bucket.etag }] : ['create', bucketEntity],
      ];
      const bit = minute - hour * 60;
      if (hourBits.bits[bit] !== '1') {
        const hourEntity = { partitionKey, rowKey: 'h', bits: setBit(hourBits.bits, bit) };
        actions.push(
          hourBits.etag ? ['update', hourEntity, 'Replace', { etag: hourBits.etag }] : ['create', hourEntity],
        );
      }
      const response = await table.submitTransaction(actions);
      const bucketEtag = response.getResponseForEntity(bucketKey(minute))?.etag;
      if (bucketEtag) lastBucket = { minute, bucket: { entries, etag: bucketEtag } };
      if (hourBits.bits[bit] === '1') lastHourBits = { hour, bits: hourBits };
      else {
        const hourEtag = response.getResponseForEntity('h')?.etag;
        if (hourEtag) lastHourBits = { hour, bits: { bits: setBit(hourBits.bits, bit), etag: hourEtag } };
      }
    });
  }

  /** Runs a read-modify-write; another writer winning (409 on create, 412 on If-Match) means read again. */
  async function withConcurrencyRetry(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        const status = statusOf(error) ?? statusOf((error as { cause?: unknown }).cause);
        const conflict =
          status === 409 ||
          status === 412 ||
          /EntityAlreadyExists|UpdateConditionNotSatisfied/.test(String(error));
        if (!conflict || i >= WRITE_ATTEMPTS) throw unavailable(`writing ${what}`, error);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * Math.min(500, 5 * 2 ** i)));
      }
    }
  }

  // ---- finding by time ---------------------------------------------------------------------------------------

  function toDescriptor(minute: number, e: BucketEntry): SnapshotDescriptor {
    const t = minute * MINUTE_MS + e.offset;
    return {
      id: snapshotId(t),
      blobName: blobNameOf(t),
      generatedAt: t,
      sequence: e.sequence,
      vehicleCount: e.vehicleCount,
      bytes: e.bytes,
    };
  }

  /** The newest snapshot at or before t (direction -1) or the oldest at or after t (+1). */
  async function nearest(t: number, direction: 1 | -1): Promise<SnapshotDescriptor | undefined> {
    const minute = minuteOf(t);
    const hour = hourOf(t);
    const offset = t - minute * MINUTE_MS;
    const pick = (bucketMinute: number, entries: readonly BucketEntry[], bound?: number) => {
      const candidates =
        bound === undefined
          ? entries
          : entries.filter((e) => (direction < 0 ? e.offset <= bound : e.offset >= bound));
      const e = direction < 0 ? candidates.at(-1) : candidates[0];
      return e && toDescriptor(bucketMinute, e);
    };
    // Its own minute and its hour's bitmap, together.
    const [bucket, hourBits] = await Promise.all([readBucket(minute), readHourBits(hour)]);
    const inMinute = pick(minute, bucket.entries, offset);
    if (inMinute) return inMinute;
    const otherMinute = findBit(hourBits.bits, minute - hour * 60, direction);
    if (otherMinute !== undefined) {
      const m = hour * 60 + otherMinute;
      const found = pick(m, (await readBucket(m)).entries);
      if (found) return found;
    }
    // Other hours: through the day bitmaps, one day at a time, up to the gap limit.
    const lastHour =
      direction < 0 ? hour - maxGapHours : Math.min(hour + maxGapHours, hourOf(clock.now()) + 1);
    let day = Math.floor((hour * HOUR_MS) / DAY_MS);
    let fromHourInDay = hour - day * 24;
    for (;;) {
      const dayBits = await readDayBits(day);
      for (
        let h = findBit(dayBits.bits, fromHourInDay, direction);
        h !== undefined;
        h = findBit(dayBits.bits, h, direction)
      ) {
        const candidateHour = day * 24 + h;
        if (direction < 0 ? candidateHour < lastHour : candidateHour > lastHour) return undefined;
        const bits = await readHourBits(candidateHour);
        const m = findBit(bits.bits, direction < 0 ? 60 : -1, direction);
        if (m === undefined) continue;
        const found = pick(candidateHour * 60 + m, (await readBucket(candidateHour * 60 + m)).entries);
        if (found) return found;
      }
      day += direction;
      fromHourInDay = direction < 0 ? 24 : -1;
      if (direction < 0 ? (day + 1) * 24 <= lastHour : day * 24 > lastHour) return undefined;
    }
  }

  async function latestAtOrBefore(t: number): Promise<SnapshotDescriptor | undefined> {
    assertTime(t, 't');
    return nearest(t, -1);
  }

  async function closestAt(t: number): Promise<SnapshotDescriptor | undefined> {
    assertTime(t, 't');
    const [before, after] = await Promise.all([nearest(t, -1), nearest(t, 1)]);
    if (!before) return after;
    if (!after) return before;
    return t - before.generatedAt <= after.generatedAt - t ? before : after;
  }

  // ---- ranges ------------------------------------------------------------------------------------------------

  /** Descriptors with start ≤ t ≤ to, oldest first, up to `limit`, reading only minutes that have snapshots. */
  async function collect(start: number, to: number, limit: number): Promise<SnapshotDescriptor[]> {
    const out: SnapshotDescriptor[] = [];
    for (let day = Math.floor(start / DAY_MS); day * DAY_MS <= to && out.length < limit; day++) {
      const dayBits = await readDayBits(day);
      for (let h = 0; h < 24 && out.length < limit; h++) {
        const hour = day * 24 + h;
        if (dayBits.bits[h] !== '1' || (hour + 1) * HOUR_MS <= start || hour * HOUR_MS > to) continue;
        const bits = (await readHourBits(hour)).bits;
        const minutes: number[] = [];
        for (let m = 0; m < 60; m++) {
          const minute = hour * 60 + m;
          if (bits[m] === '1' && (minute + 1) * MINUTE_MS > start && minute * MINUTE_MS <= to)
            minutes.push(minute);
        }
        // The hour's minutes in parallel, a few at a time; order is kept.
        for (let i = 0; i < minutes.length && out.length < limit; i += 8) {
          const chunk = minutes.slice(i, i + 8);
          const buckets = await Promise.all(chunk.map(readBucket));
          chunk.forEach((minute, k) => {
            for (const e of buckets[k]!.entries) {
              const t = minute * MINUTE_MS + e.offset;
              if (t >= start && t <= to && out.length < limit) out.push(toDescriptor(minute, e));
            }
          });
        }
      }
    }
    return out;
  }

  async function listPage(
    from: number,
    to: number,
    pageOptions: { pageSize?: number; continuationToken?: string } = {},
  ): Promise<SnapshotPage> {
    assertTime(from, 'from');
    assertTime(to, 'to');
    const pageSize = pageOptions.pageSize ?? 500;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new StorageError('INVALID_ARGUMENT', 'pageSize must be a whole number from 1 to 1000');
    }
    const start = pageOptions.continuationToken ? parseCursor(pageOptions.continuationToken, from, to) : from;
    // One more than asked tells whether another page follows.
    const found = await collect(start, to, pageSize + 1);
    if (found.length <= pageSize) return { descriptors: found };
    const descriptors = found.slice(0, pageSize);
    return { descriptors, continuationToken: formatCursor(found[pageSize]!.generatedAt, from, to) };
  }

  async function* between(from: number, to: number): AsyncIterable<SnapshotDescriptor> {
    let token: string | undefined;
    do {
      const page = await listPage(from, to, {
        pageSize: 1000,
        ...(token ? { continuationToken: token } : {}),
      });
      yield* page.descriptors;
      token = page.continuationToken;
    } while (token);
  }

  async function describe(id: string): Promise<SnapshotDescriptor> {
    const t = parseSnapshotId(id);
    const row = await readEntity<SnapshotRow>(partitionOf(hourOf(t)), snapshotKey(t));
    if (!row) throw new StorageError('NOT_FOUND', `no snapshot ${id}`);
    return {
      id: row.id,
      blobName: row.blobName,
      generatedAt: Number(row.generatedAt),
      sequence: Number(row.sequence),
      vehicleCount: Number(row.vehicleCount),
      bytes: Number(row.bytes),
    };
  }

  async function read(
    descriptor: SnapshotDescriptor,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<TransportSnapshot> {
    let bytes: Buffer;
    try {
      const response = await container
        .getBlobClient(descriptor.blobName)
        .download(0, undefined, options.abortSignal ? { abortSignal: options.abortSignal } : {});
      bytes = await readBody(response.readableStreamBody);
      // A body cut short is a failed read (try again), not a corrupt blob.
      if (response.contentLength !== undefined && bytes.byteLength !== response.contentLength) {
        throw new Error(`got ${bytes.byteLength} of ${response.contentLength} bytes`);
      }
    } catch (error) {
      if (options.abortSignal?.aborted) throw error;
      if (statusOf(error) === 404) {
        logger.warn(
          { blobName: descriptor.blobName, id: descriptor.id },
          'index row points at a missing blob',
        );
        throw new StorageError(
          'MISSING_BLOB',
          `snapshot ${descriptor.id}: blob ${descriptor.blobName} is missing`,
          {
            blobName: descriptor.blobName,
          },
        );
      }
      throw unavailable(`reading blob ${descriptor.blobName}`, error, descriptor.blobName);
    }
    try {
      return decodeTransportSnapshot(bytes);
    } catch (error) {
      if (!isCodecError(error)) throw error;
      logger.warn(
        { blobName: descriptor.blobName, id: descriptor.id, reason: error.message },
        'corrupt snapshot blob',
      );
      throw new StorageError(
        'CORRUPT_BLOB',
        `snapshot ${descriptor.id}: blob ${descriptor.blobName}: ${error.message}`,
        {
          cause: error,
          blobName: descriptor.blobName,
        },
      );
    }
  }

  async function* readRange(
    from: number,
    to: number,
    rangeOptions: { onSkip?: (skipped: SkippedSnapshot) => void } = {},
  ): AsyncIterable<{ descriptor: SnapshotDescriptor; snapshot: TransportSnapshot }> {
    // Reads run a few ahead of the consumer (in order) so a replay is not one round trip per snapshot.
    const ahead: { descriptor: SnapshotDescriptor; result: Promise<TransportSnapshot | Error> }[] = [];
    const settle = (descriptor: SnapshotDescriptor) => ({
      descriptor,
      result: read(descriptor).catch((error: unknown) =>
        error instanceof Error ? error : new Error(String(error)),
      ),
    });
    const drainOne = async () => {
      const { descriptor, result } = ahead.shift()!;
      const outcome = await result;
      if (!(outcome instanceof Error)) return { descriptor, snapshot: outcome };
      if (!isStorageError(outcome) || (outcome.code !== 'MISSING_BLOB' && outcome.code !== 'CORRUPT_BLOB'))
        throw outcome;
      rangeOptions.onSkip?.({ descriptor, error: outcome });
      return undefined;
    };
    for await (const descriptor of between(from, to)) {
      ahead.push(settle(descriptor));
      if (ahead.length >= 4) {
        const item = await drainOne();
        if (item) yield item;
      }
    }
    while (ahead.length > 0) {
      const item = await drainOne();
      if (item) yield item;
    }
  }

  /**
   * Retention works on whole hours: an hour is deleted (index partition, then blobs) once all of it is older
   * than the retention age, so a snapshot goes at most an hour after it expires. Orphans: in settled hours not
   * checked before, blobs that no minute bucket lists (a write that stopped between blob and index) are deleted.
   */
  async function sweep(now: number): Promise<SweepReport> {
    assertTime(now, 'now');
    const cutoff = now - options.retentionMs;
    const settledBefore = now - graceMs;
    let expired = 0;
    let orphansRemoved = 0;
    const oldest = await oldestBlobHour();
    if (oldest === undefined) return { expired, orphansRemoved };
    for (let hour = oldest; hour <= hourOf(settledBefore); hour++) {
      const blobs = await blobsOfHour(hour);
      if ((hour + 1) * HOUR_MS <= cutoff) {
        // Index first: a row must never point at a deleted blob.
        const indexed = await deleteIndexOfHour(hour);
        for (const blobName of blobs.values()) await deleteBlob(blobName);
        expired += Math.max(indexed, blobs.size);
        continue;
      }
      if (hour < verifiedBelowHour || blobs.size === 0) continue;
      const listed = new Set(
        (await collect(hour * HOUR_MS, (hour + 1) * HOUR_MS - 1, Infinity)).map((d) => d.id),
      );
      for (const [id, blobName] of blobs) {
        if (listed.has(id) || Date.parse(id) >= settledBefore) continue;
        logger.warn({ blobName }, 'removing orphan snapshot blob (a write stopped between blob and index)');
        await deleteBlob(blobName);
        orphansRemoved++;
      }
      if ((hour + 1) * HOUR_MS <= settledBefore) verifiedBelowHour = Math.max(verifiedBelowHour, hour + 1);
    }
    return { expired, orphansRemoved };
  }

  async function oldestBlobHour(): Promise<number | undefined> {
    try {
      for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 1 })) {
        const name = page.segment.blobItems[0]?.name;
        if (name) return hourOf(timeOfBlobName(name) ?? 0);
      }
      return undefined;
    } catch (error) {
      throw unavailable('listing snapshot blobs', error);
    }
  }

  async function blobsOfHour(hour: number): Promise<Map<string, string>> {
    const blobs = new Map<string, string>();
    for await (const blob of container.listBlobsFlat({ prefix: hourPrefix(hour) })) {
      const t = timeOfBlobName(blob.name);
      if (t !== undefined) blobs.set(snapshotId(t), blob.name);
    }
    return blobs;
  }

  /** Deletes an hour's whole index partition (and its day row once the day is over); returns snapshot rows deleted. */
  async function deleteIndexOfHour(hour: number): Promise<number> {
    const partitionKey = partitionOf(hour);
    const keys: string[] = [];
    try {
      const rows = table.listEntities({
        queryOptions: { filter: `PartitionKey eq '${partitionKey}'`, select: ['RowKey'] },
      });
      for await (const row of rows) keys.push(row.rowKey!);
      for (let i = 0; i < keys.length; i += 100) {
        await table.submitTransaction(
          keys.slice(i, i + 100).map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]),
        );
      }
      if ((hour + 1) % 24 === 0) {
        await table
          .deleteEntity(dayPartitionOf(Math.floor((hour * HOUR_MS) / DAY_MS)), 'd')
          .catch((error: unknown) => {
            if (statusOf(error) !== 404) throw error;
          });
      }
    } catch (error) {
      throw unavailable(`deleting index partition ${partitionKey}`, error);
    }
    return keys.filter((k) => k.startsWith('s')).length;
  }

  async function deleteBlob(blobName: string): Promise<void> {
    await container.getBlockBlobClient(blobName).deleteIfExists();
  }

  async function reindex(descriptors: Iterable<SnapshotDescriptor>): Promise<number> {
    const byHour = new Map<number, SnapshotDescriptor[]>();
    let count = 0;
    for (const d of descriptors) {
      const hour = hourOf(d.generatedAt);
      let list = byHour.get(hour);
      if (!list) byHour.set(hour, (list = []));
      list.push(d);
      count++;
    }
    const hours = [...byHour.keys()].sort((a, b) => a - b);
    for (const hour of hours) await markHourInDay(hour);
    // Hours are independent partitions: a few at a time.
    for (let i = 0; i < hours.length; i += 4) {
      await Promise.all(hours.slice(i, i + 4).map((hour) => reindexHour(hour, byHour.get(hour)!)));
    }
    return count;
  }

  async function reindexHour(hour: number, descriptors: readonly SnapshotDescriptor[]): Promise<void> {
    const partitionKey = partitionOf(hour);
    const byMinute = new Map<number, BucketEntry[]>();
    const actions: TransactionAction[] = [];
    for (const d of descriptors) {
      const minute = minuteOf(d.generatedAt);
      let entries = byMinute.get(minute);
      if (!entries) byMinute.set(minute, (entries = []));
      entries.push({
        offset: d.generatedAt - minute * MINUTE_MS,
        sequence: d.sequence,
        vehicleCount: d.vehicleCount,
        bytes: d.bytes,
      });
      const row: SnapshotRow = { partitionKey, rowKey: snapshotKey(d.generatedAt), ...d };
      actions.push(['upsert', row, 'Replace']);
    }
    const hourBits = await readHourBits(hour);
    let bits = hourBits.bits;
    for (const minute of byMinute.keys()) bits = setBit(bits, minute - hour * 60);
    // Snapshot rows first, then buckets and the bitmap: a bucket never lists a snapshot without its row.
    for (let i = 0; i < actions.length; i += 100) {
      await withConcurrencyRetry(`reindexing ${partitionKey}`, () =>
        table.submitTransaction(actions.slice(i, i + 100)).then(() => {}),
      );
    }
    const minutes = [...byMinute.keys()];
    for (let i = 0; i < minutes.length; i += 20) {
      await Promise.all(
        minutes.slice(i, i + 20).map((minute) =>
          withConcurrencyRetry(`reindexing bucket ${bucketKey(minute)} of ${partitionKey}`, async () => {
            const bucket = await readBucket(minute);
            const merged = new Map(bucket.entries.map((e) => [e.offset, e]));
            for (const e of byMinute.get(minute)!) merged.set(e.offset, e);
            const entity = {
              partitionKey,
              rowKey: bucketKey(minute),
              entries: formatEntries([...merged.values()].sort((a, b) => a.offset - b.offset)),
            };
            if (bucket.etag) await table.updateEntity(entity, 'Replace', { etag: bucket.etag });
            else await table.createEntity(entity);
          }),
        ),
      );
    }
    await withConcurrencyRetry(`reindexing hour ${partitionKey}`, async () => {
      const current = await readHourBits(hour);
      let merged = current.bits;
      for (let m = 0; m < 60; m++) if (bits[m] === '1') merged = setBit(merged, m);
      const entity = { partitionKey, rowKey: 'h', bits: merged };
      if (current.etag) await table.updateEntity(entity, 'Replace', { etag: current.etag });
      else await table.createEntity(entity);
    });
  }

  async function rebuildIndex(from: number, to: number): Promise<number> {
    assertTime(from, 'from');
    assertTime(to, 'to');
    const found: SnapshotDescriptor[] = [];
    try {
      for (let hour = hourOf(from); hour <= hourOf(to); hour++) {
        for await (const blob of container.listBlobsFlat({
          prefix: hourPrefix(hour),
          includeMetadata: true,
        })) {
          const t = timeOfBlobName(blob.name);
          const sequence = Number(blob.metadata?.sequence);
          const vehicleCount = Number(blob.metadata?.vehicles);
          if (t === undefined || t < from || t > to) continue;
          if (!Number.isSafeInteger(sequence) || !Number.isSafeInteger(vehicleCount)) {
            logger.warn({ blobName: blob.name }, 'not reindexed: blob has no sequence/vehicles metadata');
            continue;
          }
          found.push({
            id: snapshotId(t),
            blobName: blob.name,
            generatedAt: t,
            sequence,
            vehicleCount,
            bytes: blob.properties.contentLength ?? 0,
          });
        }
      }
    } catch (error) {
      throw unavailable('listing snapshot blobs to rebuild the index', error);
    }
    return reindex(found);
  }

  return {
    ensure: async () => {
      try {
        await Promise.all([container.createIfNotExists(), table.createTable()]);
      } catch (error) {
        throw unavailable('creating the snapshot container and index table', error);
      }
    },
    write,
    closestAt,
    latestAtOrBefore,
    latest: () => latestAtOrBefore(clock.now() + HOUR_MS),
    between,
    listPage,
    describe,
    get: async (id) => read(await describe(id)),
    read,
    readRange,
    sweep,
    reindex,
    rebuildIndex,
  };
}

/** The id of a snapshot generated at `t`: ISO-8601 UTC with milliseconds. */
export function snapshotId(t: number): string {
  return new Date(t).toISOString();
}

/** Parses a snapshot id; INVALID_ARGUMENT unless it is exactly the ISO form {@link snapshotId} produces. */
export function parseSnapshotId(id: string): number {
  const t = ID_PATTERN.test(id) ? Date.parse(id) : Number.NaN;
  if (!Number.isFinite(t)) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `snapshot id must look like 2026-11-21T08:47:00.000Z, got "${id.slice(0, 40)}"`,
    );
  }
  return t;
}

/** `2026/11/21/08/2026-11-21T08:47:00.000Z.msgpack`: readable, and sorted by name is sorted by time. */
export function blobNameOf(t: number): string {
  return `${hourPrefix(hourOf(t))}${snapshotId(t)}.msgpack`;
}

function hourPrefix(hour: number): string {
  const iso = new Date(hour * HOUR_MS).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/`;
}

function timeOfBlobName(name: string): number | undefined {
  const match = /\/([^/]+)\.msgpack$/.exec(name);
  if (!match || !ID_PATTERN.test(match[1]!)) return undefined;
  return Date.parse(match[1]!);
}

function hourOf(t: number): number {
  return Math.floor(t / HOUR_MS);
}

function minuteOf(t: number): number {
  return Math.floor(t / MINUTE_MS);
}

/** `2026112008`: the UTC hour, sortable. */
function partitionOf(hour: number): string {
  const iso = new Date(hour * HOUR_MS).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
}

/** `d20261120`: the partition of a UTC day's hour bitmap. */
function dayPartitionOf(day: number): string {
  const iso = new Date(day * DAY_MS).toISOString();
  return `d${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

function snapshotKey(t: number): string {
  return `s${String(t).padStart(TIME_DIGITS, '0')}`;
}

function bucketKey(minute: number): string {
  return `m${String(minute % 60).padStart(2, '0')}`;
}

function setBit(bits: string, index: number): string {
  return bits.slice(0, index) + '1' + bits.slice(index + 1);
}

/** The nearest set bit strictly after (direction 1) or before (-1) `from`, if any. */
function findBit(bits: string, from: number, direction: 1 | -1): number | undefined {
  for (let i = from + direction; i >= 0 && i < bits.length; i += direction) if (bits[i] === '1') return i;
  return undefined;
}

/** Bucket entries as `offset:sequence:vehicles:bytes;…`: compact, and well within a property's 64 KiB. */
function formatEntries(entries: readonly BucketEntry[]): string {
  return entries.map((e) => `${e.offset}:${e.sequence}:${e.vehicleCount}:${e.bytes}`).join(';');
}

function parseEntries(text: string | undefined): BucketEntry[] {
  if (!text) return [];
  return text.split(';').map((part) => {
    const [offset, sequence, vehicleCount, bytes] = part.split(':').map(Number);
    return { offset: offset!, sequence: sequence!, vehicleCount: vehicleCount!, bytes: bytes! };
  });
}

function assertTime(t: number, name: string): void {
  if (!Number.isFinite(t) || t < 0 || t > 8.64e15) {
    throw new StorageError('INVALID_ARGUMENT', `${name} must be epoch milliseconds`);
  }
}

/** Continuation tokens name the range they belong to, so one cannot be replayed against another range. */
function formatCursor(next: number, from: number, to: number): string {
  return Buffer.from(JSON.stringify({ n: next, f: from, u: to })).toString('base64url');
}

function parseCursor(token: string, from: number, to: number): number {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      n: unknown;
      f: unknown;
      u: unknown;
    };
    if (
      c.f === from &&
      c.u === to &&
      Number.isSafeInteger(c.n) &&
      (c.n as number) >= from &&
      (c.n as number) <= to
    ) {
      return c.n as number;
    }
  } catch {
    // fall through to the error below
  }
  throw new StorageError('INVALID_ARGUMENT', 'continuationToken does not belong to this range');
}

function unavailable(what: string, error: unknown, blobName?: string): StorageError {
  if (isStorageError(error)) return error;
  return new StorageError(
    'UNAVAILABLE',
    `${what}: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
      ...(blobName ? { blobName } : {}),
    },
  );
}

/** The snapshot store the settings name (container, index table, retention), on the given clients. */
export function snapshotStoreFor(
  clients: StorageClients,
  config: Pick<StorageConfig, 'snapshotContainer' | 'snapshotIndexTable' | 'retentionMs'>,
  logger?: StorageLogger,
): SnapshotStore {
  return createSnapshotStore({
    clients,
    container: config.snapshotContainer,
    table: config.snapshotIndexTable,
    retentionMs: config.retentionMs,
    ...(logger ? { logger } : {}),
  });
}
