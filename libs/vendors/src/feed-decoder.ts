// The one seam a collector needs: its configuration names a feed format, and it gets back a function from
// the fetched body (already un-gzipped) to a FeedResult. Fetching, ETags and scheduling stay in the collector.

import { z } from 'zod';
import type { DecodeOptions, FeedResult } from './feed-result.js';
import { decodeGtfsRtTripUpdates } from './gtfs-rt-trip-updates.js';
import { decodeGtfsRtVehiclePositions } from './gtfs-rt-vehicle-positions.js';
import { mapJsonRecords, parseJsonFieldMapping } from './json-field-mapping.js';
import { parseSiriVm } from './siri-vm.js';
import { VendorFeedError } from './vendor-feed-error.js';

export const FEED_FORMATS = ['gtfs-rt-vehicle-positions', 'gtfs-rt-trip-updates', 'siri-vm', 'json'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** Decodes one fetched body. Throws VendorFeedError for a feed that cannot be read at all. */
export type FeedDecoder = (body: Uint8Array, options: DecodeOptions) => FeedResult;

const formatSchema = z.enum(FEED_FORMATS);

/**
 * The decoder for a configured format; `json` needs a mapping (validated here, once). Throws VendorFeedError
 * INVALID_MAPPING for an unknown format or a bad mapping, so a collector fails at start-up, not per tick.
 */
export function createFeedDecoder(format: string, mapping?: unknown): FeedDecoder {
  const parsed = formatSchema.safeParse(format);
  if (!parsed.success) {
    throw new VendorFeedError(
      'INVALID_MAPPING',
      `unknown feed format ${JSON.stringify(format)}; expected one of ${FEED_FORMATS.join(', ')}`,
    );
  }
  switch (parsed.data) {
    case 'gtfs-rt-vehicle-positions':
      return decodeGtfsRtVehiclePositions;
    case 'gtfs-rt-trip-updates':
      return decodeGtfsRtTripUpdates;
    case 'siri-vm':
      return (body, options) => parseSiriVm(utf8(body, 'SIRI'), options);
    case 'json': {
      if (mapping === undefined)
        throw new VendorFeedError('INVALID_MAPPING', 'the json format needs a field mapping');
      const valid = parseJsonFieldMapping(mapping);
      return (body, options) => mapJsonRecords(parseJson(utf8(body, 'JSON')), valid, options);
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(body: Uint8Array, what: string): string {
  try {
    return decoder.decode(body);
  } catch (error) {
    throw new VendorFeedError('MALFORMED_FEED', `${what} feed is not UTF-8 text`, { cause: error });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VendorFeedError('MALFORMED_FEED', `JSON feed does not parse: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
