/**
 * Vendor adapters: real feed formats (GTFS-Realtime, SIRI-VM, a vendor's own JSON) into the model's vendor
 * records. Pure functions over bytes or text: fetching, ETags and gzip belong to the collector.
 *
 * @example
 * ```ts
 * import { createFeedDecoder, toVendorSnapshot, isVendorFeedError } from '@transit-fusion/vendors';
 * const decode = createFeedDecoder('gtfs-rt-vehicle-positions'); // or 'siri-vm', or 'json' with a mapping
 * const result = decode(body, { vendorId: 'A', now: Date.now() }); // throws VendorFeedError MALFORMED_FEED
 * for (const r of result.rejected) log.warn({ index: r.index, code: r.code }, r.reason);
 * await repository.save(toVendorSnapshot(result, { vendorId: 'A', sequence, collectedAt: Date.now() }));
 * ```
 */
export { VendorFeedError, isVendorFeedError, type VendorFeedErrorCode } from './vendor-feed-error.js';
export {
  toVendorSnapshot,
  type FeedResult,
  type FeedRejection,
  type RejectionCode,
  type KeySource,
  type DecodeOptions,
} from './feed-result.js';
export { decodeGtfsRtVehiclePositions } from './gtfs-rt-vehicle-positions.js';
export { decodeGtfsRtTripUpdates } from './gtfs-rt-trip-updates.js';
export { parseSiriVm, parseIsoDurationSeconds } from './siri-vm.js';
export {
  mapJsonRecords,
  parseJsonFieldMapping,
  MAPPABLE_FIELDS,
  type JsonFieldMapping,
  type MappableField,
} from './json-field-mapping.js';
export { createFeedDecoder, FEED_FORMATS, type FeedFormat, type FeedDecoder } from './feed-decoder.js';
