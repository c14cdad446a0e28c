// What every adapter returns, and the bookkeeping they share: each entity of a feed ends up either as a record
// that passed the model's validation or as a rejection saying why, so collectors can count both per reason.

import {
  isModelError,
  MAX_RECORDS,
  parseInstant,
  parseVendorRecord,
  vendorRecordSchema,
  type VendorRecord,
  type VendorSnapshot,
} from '@transit-fusion/model';
import { VendorFeedError } from './vendor-feed-error.js';

/** Why an entity did not become a record; stable, so metrics can count by it. */
export type RejectionCode =
  /** No vehicle id, label, entity id, VehicleRef or mapped key to key the record by. */
  | 'NO_VEHICLE_KEY'
  /** Keyed, but carries nothing the model uses (no position, trip, route, delay, speed...). */
  | 'NO_DATA'
  /** Neither the entity, the feed header nor the caller gave an observation time. */
  | 'NO_TIMESTAMP'
  /** A field has the wrong type or fails the model's validation (NaN coordinates, a 200-character id...). */
  | 'INVALID_FIELD'
  /** The entity is of another kind (an alert in a VehiclePositions feed) or is marked deleted. */
  | 'NOT_APPLICABLE';

export interface FeedRejection {
  /** Position of the entity in the feed (GTFS-RT entity, SIRI VehicleActivity, JSON array item). */
  index: number;
  /** The feed's own id for the entity, when it has one. */
  entityId?: string;
  code: RejectionCode;
  reason: string;
}

/** Where a record's vehicleKey came from, so the composer knows what kind of key it is matching. */
export type KeySource = 'vehicle-id' | 'vehicle-label' | 'entity-id' | 'trip-id' | 'vehicle-ref' | 'mapped';

export interface FeedResult {
  records: VendorRecord[];
  /** `keySources[i]` says where `records[i].vehicleKey` came from. */
  keySources: KeySource[];
  rejected: FeedRejection[];
  /** The feed's own timestamp (GTFS-RT header, SIRI ResponseTimestamp), epoch milliseconds. */
  feedTimestamp?: number;
}

export interface DecodeOptions {
  /** Stamped on every record; must be a valid model id. */
  vendorId: string;
  /** Epoch milliseconds: the last-resort observation time when neither entity nor feed carries one. */
  now?: number;
}

/** A rejection raised while building one entity's record; caught by {@link FeedResultBuilder.add}. */
export class EntityRejection extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}

export function reject(code: RejectionCode, reason: string): never {
  throw new EntityRejection(code, reason);
}

/** Collects records and rejections, validating each record against the model. */
export class FeedResultBuilder {
  readonly result: FeedResult = { records: [], keySources: [], rejected: [] };

  constructor(readonly options: DecodeOptions) {
    checkVendorId(options.vendorId);
    if (options.now !== undefined) checkInstant(options.now, 'now');
  }

  /** Runs `build` for entity `index`; whatever it returns is validated, whatever it rejects is recorded. */
  add(
    index: number,
    entityId: string | undefined,
    build: () => { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource },
  ): void {
    try {
      const { record, keySource } = build();
      const valid = parseVendorRecord({ vendorId: this.options.vendorId, ...record });
      this.result.records.push(valid);
      this.result.keySources.push(keySource);
    } catch (error) {
      if (error instanceof EntityRejection) {
        this.rejected(index, entityId, error.code, error.message);
      } else if (isModelError(error)) {
        this.rejected(index, entityId, 'INVALID_FIELD', error.message);
      } else {
        throw error;
      }
    }
  }

  rejected(index: number, entityId: string | undefined, code: RejectionCode, reason: string): void {
    this.result.rejected.push(
      entityId === undefined ? { index, code, reason } : { index, entityId, code, reason },
    );
  }

  /** The observation time from the first source that has one, else a NO_TIMESTAMP rejection. */
  observedAt(...candidates: (number | undefined)[]): number {
    for (const ms of [...candidates, this.options.now]) if (ms !== undefined) return ms;
    return reject('NO_TIMESTAMP', 'no observation time in the entity or the feed, and no `now` given');
  }
}

/** True when the record carries something the composer can use besides its key and time. */
export function hasData(record: Omit<VendorRecord, 'vendorId' | 'vehicleKey' | 'observedAt'>): boolean {
  return (
    record.position !== undefined ||
    record.bearing !== undefined ||
    record.speed !== undefined ||
    record.delay !== undefined ||
    record.fuel !== undefined ||
    record.routeId !== undefined ||
    record.tripId !== undefined ||
    record.status !== undefined
  );
}

function checkVendorId(vendorId: string): void {
  const result = vendorRecordSchema.shape.vendorId.safeParse(vendorId);
  if (!result.success) {
    throw new VendorFeedError('INVALID_ARGUMENT', `vendorId ${JSON.stringify(vendorId)} is not a valid id`);
  }
}

function checkInstant(ms: number, name: string): void {
  try {
    parseInstant(ms, name);
  } catch (error) {
    throw new VendorFeedError('INVALID_ARGUMENT', `${name} must be epoch milliseconds`, { cause: error });
  }
}

/**
 * Wraps a result in the vendor snapshot a collector saves. Records were validated when built, so only the
 * snapshot's own fields and the vendor of each record are checked here (not the 10,000 records again).
 */
export function toVendorSnapshot(
  result: FeedResult,
  options: { vendorId: string; sequence: number; collectedAt: number },
): VendorSnapshot {
  const { vendorId, sequence, collectedAt } = options;
  checkVendorId(vendorId);
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new VendorFeedError('INVALID_ARGUMENT', `sequence must be a non-negative integer, got ${sequence}`);
  }
  checkInstant(collectedAt, 'collectedAt');
  if (result.records.length > MAX_RECORDS) {
    throw new VendorFeedError(
      'TOO_LARGE',
      `${result.records.length} records exceed the ${MAX_RECORDS} one vendor snapshot may hold`,
    );
  }
  const foreign = result.records.find((r) => r.vendorId !== vendorId);
  if (foreign) {
    throw new VendorFeedError(
      'INVALID_ARGUMENT',
      `record of vehicle ${foreign.vehicleKey} belongs to vendor ${foreign.vendorId}, not ${vendorId}`,
    );
  }
  return { vendorId, sequence, collectedAt, records: result.records };
}
