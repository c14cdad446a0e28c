// Whatever arrives, a decoder either returns a result whose records all pass the model's validation, or throws
// one VendorFeedError: never another exception, never partial garbage.

import { parseVendorRecord } from '@transit-fusion/model';
import fc from 'fast-check';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { describe, expect, it } from 'vitest';
import { readSharedFile, sharedDataMissing } from '@transit-fusion/testing';
import {
  createFeedDecoder,
  decodeGtfsRtTripUpdates,
  decodeGtfsRtVehiclePositions,
  isVendorFeedError,
  parseSiriVm,
  type FeedResult,
  type VendorFeedErrorCode,
} from './index.js';

const { transit_realtime } = GtfsRealtimeBindings;
const options = { vendorId: 'V', now: 1_700_000_000_000 };

function codeOf(run: () => unknown): VendorFeedErrorCode | 'returned' {
  try {
    run();
    return 'returned';
  } catch (error) {
    if (isVendorFeedError(error)) return error.code;
    throw error;
  }
}

/** Decodes or throws a VendorFeedError; any result must be fully valid and account for no phantom entities. */
function decodesOrRejects(run: () => FeedResult): void {
  let result: FeedResult;
  try {
    result = run();
  } catch (error) {
    if (isVendorFeedError(error)) return;
    throw error;
  }
  expect(result.keySources).toHaveLength(result.records.length);
  for (const record of result.records) expect(parseVendorRecord(record)).toEqual(record);
}

describe('malformed GTFS-Realtime bytes', () => {
  const validVp = transit_realtime.FeedMessage.encode(
    transit_realtime.FeedMessage.fromObject({
      header: { gtfsRealtimeVersion: '2.0', timestamp: 1_700_000_000 },
      entity: [
        { id: 'e', vehicle: { vehicle: { id: 'abcdefgh' }, position: { latitude: 1, longitude: 2 } } },
      ],
    }),
  ).finish();

  it.each([
    ['empty bytes', new Uint8Array()],
    ['text', new TextEncoder().encode('<html>502 Bad Gateway</html>')],
    ['gzip that was not inflated', new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])],
    ['no header', new Uint8Array([0x12, 0x00])],
    ['truncated inside an entity', validVp.subarray(0, validVp.length - 3)],
  ])('%s throws MALFORMED_FEED from both decoders', (_name, bytes) => {
    expect(codeOf(() => decodeGtfsRtVehiclePositions(bytes, options))).toBe('MALFORMED_FEED');
    expect(codeOf(() => decodeGtfsRtTripUpdates(bytes, options))).toBe('MALFORMED_FEED');
  });

  it('names the problem in the message and keeps the cause', () => {
    try {
      decodeGtfsRtVehiclePositions(new Uint8Array([0x0a, 0xff, 0xff]), options);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/^MALFORMED_FEED: not a GTFS-Realtime FeedMessage \(.+\)$/);
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
  });

  it.skipIf(sharedDataMissing)(
    'a real feed cut short at any of 40 points throws or decodes only valid records',
    () => {
      const bytes = readSharedFile('gtfs-rt/bart-trip-updates.pb');
      for (let i = 1; i <= 40; i++) {
        const cut = bytes.subarray(0, Math.floor((bytes.length * i) / 41));
        decodesOrRejects(() => decodeGtfsRtTripUpdates(cut, options));
      }
    },
  );

  it('random bytes decode or throw only VendorFeedError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodesOrRejects(() => decodeGtfsRtVehiclePositions(bytes, options));
        decodesOrRejects(() => decodeGtfsRtTripUpdates(bytes, options));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid feed with random bytes spliced in decodes or throws only VendorFeedError (property)', () => {
    fc.assert(
      fc.property(fc.nat(validVp.length), fc.uint8Array({ minLength: 1, maxLength: 8 }), (at, noise) => {
        const bytes = new Uint8Array([...validVp.subarray(0, at), ...noise, ...validVp.subarray(at)]);
        decodesOrRejects(() => decodeGtfsRtVehiclePositions(bytes, options));
      }),
      { numRuns: 300 },
    );
  });
});

describe('malformed SIRI text', () => {
  it('random strings parse or throw only VendorFeedError (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) =>
        decodesOrRejects(() => parseSiriVm(text, options)),
      ),
      { numRuns: 500 },
    );
  });

  it('random XML-ish strings parse or throw only VendorFeedError (property)', () => {
    const token = fc.constantFrom(
      '<Siri>',
      '</Siri>',
      '<ServiceDelivery>',
      '</ServiceDelivery>',
      '<VehicleMonitoringDelivery>',
      '</VehicleMonitoringDelivery>',
      '<VehicleActivity>',
      '</VehicleActivity>',
      '<MonitoredVehicleJourney>',
      '</MonitoredVehicleJourney>',
      '<VehicleRef>',
      '</VehicleRef>',
      '<Delay>',
      '</Delay>',
      '<Latitude>',
      '</Latitude>',
      '<VehicleLocation>',
      '</VehicleLocation>',
      'PT1M',
      '12',
      'x',
      '<a:b>',
      '&amp;',
      '<!-- c -->',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) =>
        decodesOrRejects(() => parseSiriVm(tokens.join(''), options)),
      ),
      { numRuns: 500 },
    );
  });

  it('does not expand DOCTYPE entities', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE Siri [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
      <Siri><ServiceDelivery><VehicleMonitoringDelivery><VehicleActivity><RecordedAtTime>2026-11-21T08:47:00Z</RecordedAtTime>
      <MonitoredVehicleJourney><VehicleRef>&b;</VehicleRef><LineRef>1</LineRef></MonitoredVehicleJourney>
      </VehicleActivity></VehicleMonitoringDelivery></ServiceDelivery></Siri>`;
    const result = parseSiriVm(bomb, options);
    expect(result.records.map((r) => r.vehicleKey)).toEqual(['&b;']);
  });
});

describe('createFeedDecoder', () => {
  it('decodes bodies of each format and refuses non-UTF-8 or unparsable text as MALFORMED_FEED', () => {
    const json = createFeedDecoder('json', { fields: { vehicleKey: 'id', fuel: 'f' } });
    const body = new TextEncoder().encode('[{"id":"a","f":12}]');
    expect(json(body, options).records).toEqual([
      { vendorId: 'V', vehicleKey: 'a', fuel: 12, observedAt: options.now },
    ]);
    expect(codeOf(() => json(new TextEncoder().encode('[{"id":'), options))).toBe('MALFORMED_FEED');
    expect(codeOf(() => json(new Uint8Array([0xff, 0xfe, 0x00]), options))).toBe('MALFORMED_FEED');
    const siri = createFeedDecoder('siri-vm');
    expect(codeOf(() => siri(new Uint8Array([0xc3, 0x28]), options))).toBe('MALFORMED_FEED');
    expect(createFeedDecoder('gtfs-rt-vehicle-positions')).toBe(decodeGtfsRtVehiclePositions);
    expect(createFeedDecoder('gtfs-rt-trip-updates')).toBe(decodeGtfsRtTripUpdates);
  });

  it('fails at start-up on an unknown format or a json format without a valid mapping', () => {
    expect(codeOf(() => createFeedDecoder('gtfs-rt-alerts'))).toBe('INVALID_MAPPING');
    expect(codeOf(() => createFeedDecoder('json'))).toBe('INVALID_MAPPING');
    expect(codeOf(() => createFeedDecoder('json', { fields: {} }))).toBe('INVALID_MAPPING');
  });

  it('refuses an invalid vendor id or now before reading the feed', () => {
    const decode = createFeedDecoder('gtfs-rt-vehicle-positions');
    expect(codeOf(() => decode(new Uint8Array(), { vendorId: '' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => decode(new Uint8Array(), { vendorId: 'V', now: 1_700_000_000 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
