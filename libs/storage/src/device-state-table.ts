// Per-vehicle device state in Table storage: how many messages a vehicle sent, when it was last seen, where,
// and which data-quality flags it raised. Several processes update the same vehicle, so every change is a
// read-modify-write guarded by the entity's ETag (If-Match), retried with jittered backoff when another writer
// got there first, and reported, never dropped, when the retries run out.
//
// Layout: PartitionKey is one of 32 buckets `b00`..`b31` from an FNV-1a hash of the vehicle id, so no partition
// is hot and later batch transactions (one partition each) stay possible; RowKey is the vehicle id with the
// characters Table keys forbid (`/ \ # ?`, control characters) and `%` itself percent-encoded. Escaping rather
// than rejecting, because vehicle ids come from vendors and fleet registries we do not control; escaping only
// those characters keeps ordinary ids readable in Storage Explorer. Ids are rejected (INVALID_ARGUMENT) only
// when empty or when the escaped key exceeds the service's 1 KiB key limit.

import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { qualityFlagNames, type QualityFlagName } from '@transit-fusion/model';
import type { StorageClients } from './storage-clients.js';
import { StorageError, statusOf } from './storage-error.js';
import { silentLogger, type StorageLogger } from './storage-logger.js';

export const DEVICE_STATE_BUCKETS = 32;
/** Table keys may be up to 1 KiB of UTF-16. */
const MAX_KEY_LENGTH = 512;

export interface DeviceState {
  readonly vehicleId: string;
  readonly messageCount: number;
  /** Epoch ms of the newest observation recorded; absent when the vehicle was only ever flagged. */
  readonly lastSeen?: number;
  /** The position of the newest observation that had one. */
  readonly position?: { readonly lat: number; readonly lon: number };
  /** Bit set of the model's QualityFlag, accumulated. */
  readonly quality: number;
  readonly flags: readonly QualityFlagName[];
  /** Epoch ms of the last write. */
  readonly updatedAt: number;
}

export interface DeviceObservation {
  /** Epoch ms. */
  seenAt: number;
  position?: { lat: number; lon: number };
  /** Quality bits to add (OR) to the vehicle's accumulated flags; flags are never cleared by a record. */
  quality?: number;
  /** Messages this observation stands for (default 1): a writer that coalesces observations passes the sum. */
  count?: number;
}

export type RecordOutcome =
  /** The entity holds the change (written now, or a flag that was already set). */
  | { readonly status: 'updated'; readonly attempts: number; readonly state: DeviceState }
  /** Other writers won every attempt; the change was not applied (and was logged and reported). */
  | { readonly status: 'gave-up'; readonly attempts: number };

export interface DeviceStateTable {
  get(vehicleId: string): Promise<DeviceState | undefined>;
  /** Counts one observation. Throws INVALID_ARGUMENT or UNAVAILABLE, never for contention. */
  record(vehicleId: string, observation: DeviceObservation): Promise<RecordOutcome>;
  /**
   * Records one observation for each of many vehicles with few requests: per partition, one query for the
   * current entities, then entity-group transactions of up to 100 conditional writes. A transaction that loses a
   * race (another writer changed one of its entities) is redone vehicle by vehicle through {@link record}.
   * Throws INVALID_ARGUMENT (before writing anything) or UNAVAILABLE.
   */
  recordMany(
    observations: ReadonlyMap<string, DeviceObservation>,
  ): Promise<{ updated: number; gaveUp: number }>;
  /**
   * ORs quality bits (at least one) into the vehicle's flags, creating its entity if needed; no write when they
   * are all set already. Throws INVALID_ARGUMENT or UNAVAILABLE, never for contention.
   */
  flag(vehicleId: string, quality: number): Promise<RecordOutcome>;
}

export interface DeviceStateRetryOptions {
  /** Attempts per change, the first included; default 8. */
  maxAttempts?: number;
  /** Smallest delay before a retry, ms; default 20. */
  baseMs?: number;
  /** Largest delay before a retry, ms; default 1000. */
  capMs?: number;
}

export interface DeviceStateTableOptions {
  clients: StorageClients;
  table: string;
  logger?: StorageLogger;
  retry?: DeviceStateRetryOptions;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called, after logging, when a change is given up on. */
  onRetriesExhausted?: (vehicleId: string, attempts: number) => void;
  /** Epoch ms for `updatedAt`; default Date.now. */
  now?: () => number;
}

/**
 * The delay before retry number `attempt`: uniform in [base, min(cap, base·2^attempt)). Jitter spreads writers
 * that collided apart; the floor keeps them from retrying at once; the cap bounds a single wait.
 */
export function backoffDelay(attempt: number, base: number, cap: number, random: () => number): number {
  return base + random() * (Math.min(cap, base * 2 ** attempt) - base);
}

const utf8 = new TextEncoder();

/** The bucket (0..31) of a vehicle: FNV-1a (32 bit) over the id's UTF-8 bytes. */
export function deviceStateBucket(vehicleId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(vehicleId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % DEVICE_STATE_BUCKETS;
}

/** The partition (`b00`..`b31`) of a vehicle: its bucket. */
export function deviceStatePartition(vehicleId: string): string {
  return `b${String(deviceStateBucket(vehicleId)).padStart(2, '0')}`;
}

// eslint-disable-next-line no-control-regex
const KEY_FORBIDDEN = /[%/\\#?\u0000-\u001f\u007f-\u009f]/g;

/** The RowKey of a vehicle (see the layout above); throws INVALID_ARGUMENT for an id that cannot be one. */
export function deviceStateRowKey(vehicleId: string): string {
  if (typeof vehicleId !== 'string' || vehicleId.length === 0) {
    throw new StorageError('INVALID_ARGUMENT', 'vehicle id must be a non-empty string');
  }
  const key = vehicleId.replace(KEY_FORBIDDEN, (c) => encodeURIComponent(c));
  if (key.length > MAX_KEY_LENGTH) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `vehicle id is too long for a table key: ${vehicleId.slice(0, 40)}…`,
    );
  }
  return key;
}

/** Only our escapes produce `%` in a key, so decoding the key gives the id back exactly. */
function vehicleIdOf(rowKey: string): string {
  return decodeURIComponent(rowKey);
}

/**
 * The stored entity. Counters and times are Edm.Int64 so other readers (queries, Storage Explorer) see integers.
 * A type, not an interface, so it fits the SDK's TableEntity (an index signature) in transactions.
 */
type DeviceStateEntity = {
  partitionKey: string;
  rowKey: string;
  messageCount: { value: string; type: 'Int64' };
  lastSeen?: { value: string; type: 'Int64' };
  lastLat?: { value: number; type: 'Double' };
  lastLon?: { value: number; type: 'Double' };
  quality: { value: number; type: 'Int32' };
  /** JSON array of the flag names, for people reading the table. */
  flags: string;
  updatedAt: { value: string; type: 'Int64' };
  /**
   * Unique per write attempt. When a write's response is lost and the SDK's retry then fails on the ETag our
   * own write changed, this tells "my write landed" from "another writer won", so nothing is counted twice
   * (unless yet another writer replaced it before we looked: a lost response and a race at once).
   */
  writeId: string;
};

/** The new state from the current one, or undefined when nothing needs writing. */
type Change = (previous: DeviceState | undefined) => Omit<DeviceState, 'flags' | 'updatedAt'> | undefined;

export function createDeviceStateTable(options: DeviceStateTableOptions): DeviceStateTable {
  const table: TableClient = options.clients.table(options.table);
  const logger = options.logger ?? silentLogger;
  const maxAttempts = options.retry?.maxAttempts ?? 8;
  const baseMs = options.retry?.baseMs ?? 20;
  const capMs = options.retry?.capMs ?? 1000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const now = options.now ?? Date.now;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || !(baseMs >= 0) || !(capMs >= baseMs)) {
    throw new StorageError('INVALID_CONFIG', 'retry needs a whole maxAttempts ≥ 1 and 0 ≤ baseMs ≤ capMs');
  }

  async function read(
    partitionKey: string,
    rowKey: string,
  ): Promise<{ state: DeviceState; etag: string; writeId: unknown } | undefined> {
    try {
      const entity = await table.getEntity(partitionKey, rowKey);
      return { state: toState(entity), etag: entity.etag, writeId: entity['writeId'] };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable(`could not read device state of ${rowKey}`, error);
    }
  }

  /** The optimistic-concurrency loop every change goes through. */
  async function mutate(vehicleId: string, change: Change): Promise<RecordOutcome> {
    const rowKey = deviceStateRowKey(vehicleId);
    const partitionKey = deviceStatePartition(vehicleId);
    let pendingWriteId: string | undefined;

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const current = await read(partitionKey, rowKey);
      if (pendingWriteId !== undefined && current?.writeId === pendingWriteId) {
        return { status: 'updated', attempts: attempt - 1, state: current.state };
      }
      const next = change(current?.state);
      if (!next) return { status: 'updated', attempts: attempt, state: current!.state };

      const state: DeviceState = { ...next, flags: qualityFlagNames(next.quality), updatedAt: now() };
      const writeId = randomUUID();
      const entity = toEntity(partitionKey, rowKey, state, writeId);
      pendingWriteId = writeId;
      try {
        if (current) await table.updateEntity(entity, 'Replace', { etag: current.etag });
        else await table.createEntity(entity);
        return { status: 'updated', attempts: attempt, state };
      } catch (error) {
        const status = statusOf(error);
        // 412: changed since we read it. 409 on create: another writer created it first. 404 on update: deleted
        // since we read it (a 404 on create is a missing table, not contention).
        const contention = status === 412 || (current ? status === 404 : status === 409);
        if (!contention) throw unavailable(`could not write device state of ${vehicleId}`, error);
      }
      if (attempt < maxAttempts) await sleep(backoffDelay(attempt, baseMs, capMs, random));
    }

    // The last write may still have landed with its response lost; one read settles it.
    const last = await read(partitionKey, rowKey);
    if (pendingWriteId !== undefined && last?.writeId === pendingWriteId) {
      return { status: 'updated', attempts: maxAttempts, state: last.state };
    }
    logger.error(
      { vehicleId, attempts: maxAttempts, table: options.table },
      'device state change given up: other writers kept winning',
    );
    options.onRetriesExhausted?.(vehicleId, maxAttempts);
    return { status: 'gave-up', attempts: maxAttempts };
  }

  /** One partition of {@link DeviceStateTable.recordMany}. */
  async function recordPartition(
    partitionKey: string,
    list: readonly [string, DeviceObservation][],
  ): Promise<{ updated: number; gaveUp: number }> {
    const current = new Map<string, { state: DeviceState; etag: string }>();
    try {
      const entities = table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      });
      for await (const entity of entities) {
        current.set(entity['rowKey'] as string, { state: toState(entity), etag: entity['etag'] as string });
      }
    } catch (error) {
      throw unavailable(`could not read device state partition ${partitionKey}`, error);
    }
    let updated = 0;
    let gaveUp = 0;
    for (let start = 0; start < list.length; start += MAX_TRANSACTION_ACTIONS) {
      const chunk = list.slice(start, start + MAX_TRANSACTION_ACTIONS);
      // One id for the whole transaction: if its response is lost, the redo below sees it landed.
      const writeId = randomUUID();
      const actions: TransactionAction[] = chunk.map(([vehicleId, observation]) => {
        const rowKey = deviceStateRowKey(vehicleId);
        const held = current.get(rowKey);
        const next = observed(vehicleId, held?.state, observation);
        const entity = toEntity(
          partitionKey,
          rowKey,
          { ...next, flags: qualityFlagNames(next.quality), updatedAt: now() },
          writeId,
        );
        return held ? ['update', entity, 'Replace', { etag: held.etag }] : ['create', entity];
      });
      try {
        await table.submitTransaction(actions);
        updated += chunk.length;
        continue;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 409 && status !== 404) {
          throw unavailable(`could not write device state partition ${partitionKey}`, error);
        }
      }
      // Lost a race: vehicle by vehicle, each through the optimistic-concurrency loop.
      for (const [vehicleId, observation] of chunk) {
        const landed = await read(partitionKey, deviceStateRowKey(vehicleId));
        if (landed?.writeId === writeId) {
          updated++;
          continue;
        }
        const outcome = await mutate(vehicleId, (previous) => observed(vehicleId, previous, observation));
        if (outcome.status === 'updated') updated++;
        else gaveUp++;
      }
    }
    return { updated, gaveUp };
  }

  return {
    async get(vehicleId) {
      const rowKey = deviceStateRowKey(vehicleId);
      return (await read(deviceStatePartition(vehicleId), rowKey))?.state;
    },

    async record(vehicleId, observation) {
      checkObservation(observation);
      return mutate(vehicleId, (previous) => observed(vehicleId, previous, observation));
    },

    async recordMany(observations) {
      const byPartition = new Map<string, [string, DeviceObservation][]>();
      for (const [vehicleId, observation] of observations) {
        checkObservation(observation);
        deviceStateRowKey(vehicleId); // throws INVALID_ARGUMENT for an id that cannot be a key
        const partition = deviceStatePartition(vehicleId);
        let list = byPartition.get(partition);
        if (!list) byPartition.set(partition, (list = []));
        list.push([vehicleId, observation]);
      }
      let updated = 0;
      let gaveUp = 0;
      const partitions = [...byPartition];
      let next = 0;
      // A few partitions at a time: each is one query and a handful of transactions.
      const worker = async () => {
        while (next < partitions.length) {
          const [partitionKey, list] = partitions[next++]!;
          const result = await recordPartition(partitionKey, list);
          updated += result.updated;
          gaveUp += result.gaveUp;
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, partitions.length) }, worker));
      return { updated, gaveUp };
    },

    async flag(vehicleId, quality) {
      checkQuality(quality);
      // Flagging nothing would cost a read, or create an entity for a vehicle nobody saw.
      if (quality === 0) throw new StorageError('INVALID_ARGUMENT', 'flag needs at least one quality bit');
      return mutate(vehicleId, (previous) => {
        // Flags are re-raised every tick while a problem lasts; a bit already set needs no write.
        if (previous && (previous.quality | quality) === previous.quality) return undefined;
        return {
          vehicleId,
          messageCount: previous?.messageCount ?? 0,
          ...(previous?.lastSeen !== undefined ? { lastSeen: previous.lastSeen } : {}),
          ...(previous?.position ? { position: previous.position } : {}),
          quality: (previous?.quality ?? 0) | quality,
        };
      });
    },
  };
}

/** Table storage allows at most 100 operations in one entity-group transaction. */
const MAX_TRANSACTION_ACTIONS = 100;

/** The state after counting one observation. */
function observed(
  vehicleId: string,
  previous: DeviceState | undefined,
  observation: DeviceObservation,
): Omit<DeviceState, 'flags' | 'updatedAt'> {
  const { seenAt, position } = observation;
  // Observations arrive out of order; an older one is counted but must not move the vehicle back.
  const newest = previous?.lastSeen === undefined || seenAt >= previous.lastSeen;
  const lastPosition = position && newest ? { lat: position.lat, lon: position.lon } : previous?.position;
  return {
    vehicleId,
    messageCount: (previous?.messageCount ?? 0) + (observation.count ?? 1),
    lastSeen: Math.max(previous?.lastSeen ?? seenAt, seenAt),
    ...(lastPosition ? { position: lastPosition } : {}),
    quality: (previous?.quality ?? 0) | (observation.quality ?? 0),
  };
}

function checkObservation(observation: DeviceObservation): void {
  if (!Number.isSafeInteger(observation.seenAt) || observation.seenAt < 0) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `seenAt must be whole epoch milliseconds, got ${observation.seenAt}`,
    );
  }
  const p = observation.position;
  if (p && !(Number.isFinite(p.lat) && Number.isFinite(p.lon))) {
    throw new StorageError('INVALID_ARGUMENT', `position must be finite, got ${p.lat}, ${p.lon}`);
  }
  if (observation.quality !== undefined) checkQuality(observation.quality);
  if (
    observation.count !== undefined &&
    !(Number.isSafeInteger(observation.count) && observation.count >= 1)
  ) {
    throw new StorageError('INVALID_ARGUMENT', `count must be a positive integer, got ${observation.count}`);
  }
}

function checkQuality(quality: number): void {
  // Stored as Edm.Int32; the model's flags use the low bits.
  if (!Number.isInteger(quality) || quality < 0 || quality > 0x7fffffff) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `quality must be a non-negative 31-bit integer, got ${quality}`,
    );
  }
}

function toEntity(
  partitionKey: string,
  rowKey: string,
  state: DeviceState,
  writeId: string,
): DeviceStateEntity {
  return {
    partitionKey,
    rowKey,
    messageCount: int64(state.messageCount),
    ...(state.lastSeen !== undefined ? { lastSeen: int64(state.lastSeen) } : {}),
    ...(state.position
      ? {
          lastLat: { value: state.position.lat, type: 'Double' as const },
          lastLon: { value: state.position.lon, type: 'Double' as const },
        }
      : {}),
    quality: { value: state.quality, type: 'Int32' },
    flags: JSON.stringify(qualityFlagNames(state.quality)),
    updatedAt: int64(state.updatedAt),
    writeId,
  };
}

function toState(entity: Record<string, unknown> & { rowKey?: string }): DeviceState {
  const lastSeen = numberOf(entity['lastSeen']);
  const lat = numberOf(entity['lastLat']);
  const lon = numberOf(entity['lastLon']);
  const quality = numberOf(entity['quality']) ?? 0;
  return {
    vehicleId: vehicleIdOf(entity.rowKey ?? ''),
    messageCount: numberOf(entity['messageCount']) ?? 0,
    ...(lastSeen !== undefined ? { lastSeen } : {}),
    ...(lat !== undefined && lon !== undefined ? { position: { lat, lon } } : {}),
    quality,
    // Derived from the bits, not parsed from `flags`, so renamed flags read under their current names.
    flags: qualityFlagNames(quality),
    updatedAt: numberOf(entity['updatedAt']) ?? 0,
  };
}

function int64(value: number): { value: string; type: 'Int64' } {
  return { value: String(value), type: 'Int64' };
}

/** The SDK returns Edm.Int64 as a bigint and Int32/Double as numbers. */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' ? value : undefined;
}

function unavailable(message: string, cause: unknown): StorageError {
  const detail = statusOf(cause) ?? (cause instanceof Error ? cause.message : String(cause));
  return new StorageError('UNAVAILABLE', `${message}: ${detail}`, { cause });
}
