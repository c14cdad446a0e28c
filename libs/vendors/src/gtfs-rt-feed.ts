// Shared GTFS-Realtime plumbing: decoding the protobuf FeedMessage (any failure becomes one MALFORMED_FEED
// error) and reading proto2 optional fields, whose defaults protobufjs puts on the prototype — so presence is
// an own property, not a truthy value (a bearing of 0 is north, an absent bearing is unknown).

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import type { VendorRecord } from '@transit-fusion/model';
import { FeedResultBuilder, type DecodeOptions, type FeedResult, type KeySource } from './feed-result.js';
import { VendorFeedError } from './vendor-feed-error.js';

const { transit_realtime } = GtfsRealtimeBindings;

export type FeedMessage = GtfsRealtimeBindings.transit_realtime.FeedMessage;
export type FeedEntity = GtfsRealtimeBindings.transit_realtime.IFeedEntity;
export const VehicleStopStatus = transit_realtime.VehiclePosition.VehicleStopStatus;
export const StopTimeScheduleRelationship = transit_realtime.TripUpdate.StopTimeUpdate.ScheduleRelationship;

export function decodeFeedMessage(bytes: Uint8Array): FeedMessage {
  if (!(bytes instanceof Uint8Array)) {
    throw new VendorFeedError('MALFORMED_FEED', 'GTFS-Realtime feed must be bytes (Uint8Array)');
  }
  if (bytes.length === 0) throw new VendorFeedError('MALFORMED_FEED', 'GTFS-Realtime feed is empty');
  try {
    return transit_realtime.FeedMessage.decode(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new VendorFeedError('MALFORMED_FEED', `not a GTFS-Realtime FeedMessage (${why})`, { cause: error });
  }
}

/** Builds a record (or throws a rejection) from one entity of a feed. */
export type EntityMapper = (
  entity: FeedEntity,
  builder: FeedResultBuilder,
  feedTimestamp: number | undefined,
) => { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource };

/** Decodes a feed and maps every entity to a record or a rejection: the loop both GTFS-RT decoders share. */
export function decodeGtfsRtFeed(
  bytes: Uint8Array,
  options: DecodeOptions,
  toRecord: EntityMapper,
): FeedResult {
  const builder = new FeedResultBuilder(options);
  const message = decodeFeedMessage(bytes);
  const feedTimestamp = feedTimestampOf(message);
  message.entity.forEach((entity, index) => {
    builder.add(index, text(entity, 'id'), () => toRecord(entity, builder, feedTimestamp));
  });
  if (feedTimestamp !== undefined) builder.result.feedTimestamp = feedTimestamp;
  return builder.result;
}

/** True when the proto2 optional field was on the wire. */
export function has(message: object | null | undefined, field: string): boolean {
  return message != null && Object.prototype.hasOwnProperty.call(message, field);
}

/** A present uint64 POSIX-seconds field as epoch milliseconds; 0 means "not set" in practice. */
export function secondsToMs(message: object | null | undefined, field: string): number | undefined {
  if (!has(message, field)) return undefined;
  const value: unknown = (message as Record<string, unknown>)[field];
  const seconds =
    typeof value === 'number'
      ? value
      : value !== null && typeof value === 'object' && 'toNumber' in value
        ? (value as { toNumber(): number }).toNumber()
        : undefined;
  return seconds === undefined || seconds === 0 ? undefined : seconds * 1000;
}

/** A present, non-empty string field. */
export function text(message: object | null | undefined, field: string): string | undefined {
  if (!has(message, field)) return undefined;
  const value: unknown = (message as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A present float/int field; NaN and infinities are kept so the model's validation rejects them by name. */
export function num(message: object | null | undefined, field: string): number | undefined {
  if (!has(message, field)) return undefined;
  const value: unknown = (message as Record<string, unknown>)[field];
  return typeof value === 'number' ? value : undefined;
}

export function feedTimestampOf(message: FeedMessage): number | undefined {
  return secondsToMs(message.header, 'timestamp');
}
