// GTFS-Realtime decoders against the real Caltrain and BART feeds (values checked against what the bindings
// read directly), and against small feeds built here for the fallbacks the real feeds do not exercise.

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { describe, expect, it } from 'vitest';
import { readSharedFile, SHARED_DATA_DIR, sharedDataMissing } from '@transit-fusion/testing';
import { readCsv, readZipEntry } from '../test/static-gtfs.js';
import { decodeGtfsRtTripUpdates, decodeGtfsRtVehiclePositions, type FeedResult } from './index.js';

const { transit_realtime } = GtfsRealtimeBindings;

function rawFeed(bytes: Uint8Array) {
  return transit_realtime.FeedMessage.toObject(transit_realtime.FeedMessage.decode(bytes), {
    longs: Number,
  }) as { header: { timestamp: number }; entity: Record<string, any>[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function encodeFeed(
  entity: object[],
  header: object = { gtfsRealtimeVersion: '2.0', timestamp: 1_700_000_000 },
) {
  return transit_realtime.FeedMessage.encode(
    transit_realtime.FeedMessage.fromObject({ header, entity }),
  ).finish();
}

function accounted(result: FeedResult, total: number): void {
  expect(result.records.length + result.rejected.length).toBe(total);
  expect(result.keySources).toHaveLength(result.records.length);
}

describe.skipIf(sharedDataMissing)(`real feeds from ${SHARED_DATA_DIR}gtfs-rt`, () => {
  it('decodes all 14 Caltrain vehicle positions with ids, positions and timestamps as the feed has them', () => {
    const bytes = readSharedFile('gtfs-rt/ct-vehicle-positions.pb');
    const raw = rawFeed(bytes);
    const result = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'caltrain' });

    expect(result.records).toHaveLength(14);
    expect(result.rejected).toEqual([]);
    expect(result.feedTimestamp).toBe(raw.header.timestamp * 1000);
    expect(result.keySources.every((s) => s === 'vehicle-id')).toBe(true);
    for (const id of ['124', '710']) {
      const entity = raw.entity.find((e) => e['vehicle'].vehicle.id === id)!;
      const record = result.records.find((r) => r.vehicleKey === id)!;
      expect(record).toEqual({
        vendorId: 'caltrain',
        vehicleKey: id,
        observedAt: entity['vehicle'].timestamp * 1000,
        position: { lat: entity['vehicle'].position.latitude, lon: entity['vehicle'].position.longitude },
        tripId: entity['vehicle'].trip.tripId,
        routeId: entity['vehicle'].trip.routeId,
      });
    }
    expect(result.records.find((r) => r.vehicleKey === '124')).toMatchObject({
      observedAt: 1_699_405_549_000,
      routeId: 'L1',
      position: { lat: expect.closeTo(37.37046, 5), lon: expect.closeTo(-121.99604, 5) },
    });
  });

  it('decodes all 19 Caltrain trip updates keyed by vehicle id, without delays the feed does not give', () => {
    const bytes = readSharedFile('gtfs-rt/ct-trip-updates.pb');
    const raw = rawFeed(bytes);
    const result = decodeGtfsRtTripUpdates(bytes, { vendorId: 'caltrain-tu' });

    expect(result.records).toHaveLength(19);
    expect(result.rejected).toEqual([]);
    expect(result.records.map((r) => r.vehicleKey)).toEqual(
      raw.entity.map((e) => e['tripUpdate'].vehicle.id),
    );
    expect(result.records.map((r) => r.tripId)).toEqual(raw.entity.map((e) => e['tripUpdate'].trip.tripId));
    // Schedule-based vehicles carry a block id as vehicle id, not the trip id: the key is still the vehicle's.
    expect(result.records.find((r) => r.tripId === '128')).toMatchObject({
      vehicleKey: 'block_128_schedBasedVehicle',
      routeId: 'L1',
      observedAt: 1_699_405_520_000,
    });
    // Caltrain predicts absolute times only, no delay fields at all.
    expect(result.records.every((r) => r.delay === undefined)).toBe(true);
  });

  it('decodes all 91 BART trip updates keyed by trip id, with the first stop delay set', () => {
    const bytes = readSharedFile('gtfs-rt/bart-trip-updates.pb');
    const raw = rawFeed(bytes);
    const result = decodeGtfsRtTripUpdates(bytes, { vendorId: 'bart' });

    expect(result.records).toHaveLength(91);
    expect(result.rejected).toEqual([]);
    expect(result.keySources.every((s) => s === 'trip-id')).toBe(true);
    // No trip timestamps in this feed: every record takes the header's.
    expect(new Set(result.records.map((r) => r.observedAt))).toEqual(new Set([raw.header.timestamp * 1000]));
    const expected = raw.entity.map((e) => {
      const first = e['tripUpdate'].stopTimeUpdate.find(
        (s: any) => s.arrival?.delay !== undefined || s.departure?.delay !== undefined, // eslint-disable-line @typescript-eslint/no-explicit-any
      );
      return first?.arrival?.delay ?? first?.departure?.delay;
    });
    expect(result.records.map((r) => r.delay)).toEqual(expected);
    expect(result.records.find((r) => r.vehicleKey === '1011112WKDY')).toEqual({
      vendorId: 'bart',
      vehicleKey: '1011112WKDY',
      tripId: '1011112WKDY',
      delay: 29,
      observedAt: 1_565_199_921_000,
    });
    expect(result.records.find((r) => r.vehicleKey === '1090942WKDY')?.delay).toBe(80);
  });

  it('gives Caltrain trip and route ids that its static GTFS knows, each trip on its scheduled route', () => {
    const zip = readSharedFile('gtfs/caltrain-gtfs.zip');
    const routes = new Set(readCsv(readZipEntry(zip, 'routes.txt')).map((r) => r['route_id']));
    const routeOfTrip = new Map(
      readCsv(readZipEntry(zip, 'trips.txt')).map((t) => [t['trip_id'], t['route_id']]),
    );
    const records = [
      ...decodeGtfsRtVehiclePositions(readSharedFile('gtfs-rt/ct-vehicle-positions.pb'), { vendorId: 'ct' })
        .records,
      ...decodeGtfsRtTripUpdates(readSharedFile('gtfs-rt/ct-trip-updates.pb'), { vendorId: 'ct' }).records,
    ];
    expect(records).toHaveLength(33);
    for (const record of records) {
      expect(routes.has(record.routeId)).toBe(true);
      expect(routeOfTrip.get(record.tripId!)).toBe(record.routeId);
    }
  });

  it('rejects every entity of a trip-updates feed handed to the vehicle-positions decoder, saying why', () => {
    const result = decodeGtfsRtVehiclePositions(readSharedFile('gtfs-rt/ct-trip-updates.pb'), {
      vendorId: 'x',
    });
    expect(result.records).toEqual([]);
    expect(result.rejected).toHaveLength(19);
    expect(result.rejected[0]).toMatchObject({ index: 0, entityId: '124', code: 'NOT_APPLICABLE' });
  });
});

describe('decodeGtfsRtVehiclePositions', () => {
  it('keys by vehicle id, else label, else entity id, and says which', () => {
    const position = { latitude: 60.17, longitude: 24.94 };
    const bytes = encodeFeed([
      { id: 'e1', vehicle: { vehicle: { id: 'V1', label: 'L1' }, position } },
      { id: 'e2', vehicle: { vehicle: { label: 'L2' }, position } },
      { id: 'e3', vehicle: { position } },
      { id: '', vehicle: { position } },
    ]);
    const result = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'A' });
    expect(result.records.map((r) => r.vehicleKey)).toEqual(['V1', 'L2', 'e3']);
    expect(result.keySources).toEqual(['vehicle-id', 'vehicle-label', 'entity-id']);
    expect(result.rejected).toEqual([{ index: 3, code: 'NO_VEHICLE_KEY', reason: expect.any(String) }]);
  });

  it('maps bearing, speed (m/s), on-duty status on a trip, and keeps a bearing of 0', () => {
    const bytes = encodeFeed([
      {
        id: 'a',
        vehicle: {
          vehicle: { id: 'V1' },
          trip: { tripId: 'T1', routeId: 'R1' },
          position: { latitude: 1, longitude: 2, bearing: 0, speed: 12.5 },
          currentStatus: 'STOPPED_AT',
          timestamp: 1_700_000_100,
        },
      },
      {
        id: 'b',
        vehicle: {
          vehicle: { id: 'V2' },
          position: { latitude: 1, longitude: 2 },
          currentStatus: 'IN_TRANSIT_TO',
        },
      },
    ]);
    const [onTrip, offTrip] = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'A' }).records;
    expect(onTrip).toEqual({
      vendorId: 'A',
      vehicleKey: 'V1',
      observedAt: 1_700_000_100_000,
      position: { lat: 1, lon: 2 },
      bearing: 0,
      speed: 12.5,
      tripId: 'T1',
      routeId: 'R1',
      status: 'on_duty',
    });
    // No trip: the stop status says nothing about duty; the header time stands in for the vehicle's.
    expect(offTrip).toEqual({
      vendorId: 'A',
      vehicleKey: 'V2',
      observedAt: 1_700_000_000_000,
      position: { lat: 1, lon: 2 },
    });
  });

  it('reports alerts, deleted entities, empty vehicles, NaN coordinates and missing times as rejections', () => {
    const bytes = encodeFeed(
      [
        { id: 'alert', alert: { headerText: { translation: [{ text: 'x' }] } } },
        {
          id: 'gone',
          isDeleted: true,
          vehicle: { vehicle: { id: 'V' }, position: { latitude: 1, longitude: 2 } },
        },
        { id: 'empty', vehicle: { vehicle: { id: 'V3' } } },
        {
          id: 'nan',
          vehicle: {
            vehicle: { id: 'V4' },
            position: { latitude: NaN, longitude: 2 },
            timestamp: 1_700_000_000,
          },
        },
        { id: 'ok', vehicle: { vehicle: { id: 'V5' }, position: { latitude: 1, longitude: 2 } } },
      ],
      { gtfsRealtimeVersion: '2.0' },
    );
    const result = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'A' });
    expect(result.rejected.map((r) => [r.entityId, r.code])).toEqual([
      ['alert', 'NOT_APPLICABLE'],
      ['gone', 'NOT_APPLICABLE'],
      ['empty', 'NO_DATA'],
      ['nan', 'INVALID_FIELD'],
      ['ok', 'NO_TIMESTAMP'],
    ]);
    expect(result.rejected[3]!.reason).toContain('position.lat');
    expect(result.feedTimestamp).toBeUndefined();

    const withNow = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'A', now: 1_700_000_000_123 });
    expect(withNow.records).toEqual([
      { vendorId: 'A', vehicleKey: 'V5', observedAt: 1_700_000_000_123, position: { lat: 1, lon: 2 } },
    ]);
  });

  it('rejects an over-long vehicle id with the model validation message', () => {
    const bytes = encodeFeed([
      { id: 'e', vehicle: { vehicle: { id: 'x'.repeat(200) }, position: { latitude: 1, longitude: 2 } } },
    ]);
    const result = decodeGtfsRtVehiclePositions(bytes, { vendorId: 'A' });
    accounted(result, 1);
    expect(result.rejected[0]).toMatchObject({
      code: 'INVALID_FIELD',
      reason: expect.stringContaining('vehicleKey'),
    });
  });
});

describe('decodeGtfsRtTripUpdates', () => {
  const stop = (sequence: number, extra: object) => ({ stopSequence: sequence, ...extra });

  it('prefers trip_update.delay, else the first stop delay set (arrival before departure), skipping NO_DATA stops', () => {
    const bytes = encodeFeed([
      {
        id: '1',
        tripUpdate: {
          trip: { tripId: 'T1' },
          delay: -30,
          stopTimeUpdate: [stop(1, { arrival: { delay: 99 } })],
        },
      },
      {
        id: '2',
        tripUpdate: {
          trip: { tripId: 'T2', routeId: 'R' },
          vehicle: { id: 'BUS-2' },
          timestamp: 1_700_000_050,
          stopTimeUpdate: [
            stop(1, { scheduleRelationship: 'NO_DATA', arrival: { delay: 500 } }),
            stop(2, { arrival: { time: 1_700_000_500 } }),
            stop(3, { departure: { delay: 120 } }),
            stop(4, { arrival: { delay: 200 } }),
          ],
        },
      },
      {
        id: '3',
        tripUpdate: { trip: { tripId: 'T3' }, stopTimeUpdate: [stop(1, { arrival: { delay: 0 } })] },
      },
    ]);
    const result = decodeGtfsRtTripUpdates(bytes, { vendorId: 'B' });
    expect(result.records.map((r) => [r.vehicleKey, r.delay])).toEqual([
      ['T1', -30],
      ['BUS-2', 120],
      ['T3', 0],
    ]);
    expect(result.keySources).toEqual(['trip-id', 'vehicle-id', 'trip-id']);
    expect(result.records[1]).toMatchObject({ tripId: 'T2', routeId: 'R', observedAt: 1_700_000_050_000 });
  });

  it('rejects updates with no key, no data, or of another kind', () => {
    const bytes = encodeFeed([
      { id: 'nokey', tripUpdate: { trip: { routeId: 'R' } } },
      { id: 'nodata', tripUpdate: { trip: {}, vehicle: { id: 'V' } } },
      { id: 'vp', vehicle: { vehicle: { id: 'V' } } },
    ]);
    const result = decodeGtfsRtTripUpdates(bytes, { vendorId: 'B' });
    expect(result.records).toEqual([]);
    expect(result.rejected.map((r) => r.code)).toEqual(['NO_VEHICLE_KEY', 'NO_DATA', 'NOT_APPLICABLE']);
  });
});
