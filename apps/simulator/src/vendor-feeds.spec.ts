// Each vendor's encoding decodes with the real libraries (gtfs-realtime-bindings, fast-xml-parser) and carries the
// vendor's own keys and the fleet's true values; the registry ties every key to exactly one vehicle.

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { XMLParser } from 'fast-xml-parser';
import { parseVendorRecord } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { createFleet, snapshotAt, step } from './fleet.js';
import {
  encodeSiriVm,
  encodeTripUpdates,
  encodeVehiclePositions,
  fleetRegistryDocument,
  fuelRecords,
  positionsKey,
  speedKey,
  VENDOR_IDS,
} from './vendor-feeds.js';

const { transit_realtime } = GtfsRealtimeBindings;

const fleet = createFleet({ vehicles: 200, seed: 21 });
for (let s = 0; s < 30; s++) step(fleet, 1_000);
const { vehicles, timestampMs } = snapshotAt(fleet);
const byFleetNumber = new Map(vehicles.map((v) => [v.fleetNumber, v]));

describe('encodeVehiclePositions (vendor A)', () => {
  it('decodes as a GTFS-RT feed with every vehicle under its GTFS vehicle id', () => {
    const feed = transit_realtime.FeedMessage.decode(encodeVehiclePositions(vehicles, timestampMs));
    expect(feed.header.gtfsRealtimeVersion).toBe('2.0');
    expect(Number(feed.header.timestamp)).toBe(Math.floor(timestampMs / 1000));
    expect(feed.entity).toHaveLength(vehicles.length);
    for (const entity of feed.entity) {
      const truth = byFleetNumber.get(Number(entity.vehicle!.vehicle!.label))!;
      expect(entity.id).toBe(positionsKey(truth.fleetNumber));
      expect(entity.vehicle!.vehicle!.id).toBe(`gtfs-${truth.fleetNumber}`);
      expect(entity.vehicle!.position!.latitude).toBeCloseTo(truth.lat, 4);
      expect(entity.vehicle!.position!.longitude).toBeCloseTo(truth.lon, 4);
      expect(entity.vehicle!.position!.bearing).toBeCloseTo(truth.bearing, 1);
      expect(entity.vehicle!.position!.speed).toBeCloseTo(truth.speed, 2);
      expect(entity.vehicle!.trip?.tripId ?? undefined).toBe(truth.tripId);
    }
  });

  it('gives the same feed as protobufjs would', () => {
    const sample = vehicles.slice(0, 40);
    const reference = transit_realtime.FeedMessage.encode(
      transit_realtime.FeedMessage.fromObject({
        header: { gtfsRealtimeVersion: '2.0', incrementality: 0, timestamp: Math.floor(timestampMs / 1000) },
        entity: sample.map((v) => ({
          id: positionsKey(v.fleetNumber),
          vehicle: {
            ...(v.tripId ? { trip: { tripId: v.tripId, routeId: v.routeId } } : {}),
            position: { latitude: v.lat, longitude: v.lon, bearing: v.bearing, speed: v.speed },
            currentStatus: v.speed === 0 && v.status === 'on_duty' ? 1 : 2,
            timestamp: Math.floor(timestampMs / 1000),
            ...(v.nextStopId ? { stopId: v.nextStopId } : {}),
            vehicle: { id: positionsKey(v.fleetNumber), label: String(v.fleetNumber) },
          },
        })),
      }),
    ).finish();
    expect(Buffer.from(encodeVehiclePositions(sample, timestampMs))).toEqual(Buffer.from(reference));
  });
});

describe('encodeTripUpdates (vendor B)', () => {
  it('decodes with one update per vehicle on a trip, keyed by trip id only, carrying the delay', () => {
    const feed = transit_realtime.FeedMessage.decode(encodeTripUpdates(vehicles, timestampMs));
    const onTrip = vehicles.filter((v) => v.tripId);
    expect(onTrip.length).toBeLessThan(vehicles.length); // parked vehicles have no trip
    expect(feed.entity).toHaveLength(onTrip.length);
    const byTrip = new Map(onTrip.map((v) => [v.tripId, v]));
    for (const entity of feed.entity) {
      const update = entity.tripUpdate!;
      const truth = byTrip.get(update.trip.tripId!)!;
      expect(truth).toBeDefined();
      expect(update.vehicle).toBeNull();
      expect(update.trip.routeId).toBe(truth.routeId);
      expect(update.delay).toBe(truth.delay);
      expect(update.stopTimeUpdate![0]!.arrival!.delay).toBe(truth.delay);
      expect(update.stopTimeUpdate![0]!.stopId).toBe(truth.nextStopId);
    }
  });
});

describe('encodeTripUpdates byte-for-byte', () => {
  it('gives the same feed as protobufjs would, negative delays included', () => {
    const sample = vehicles.filter((v) => v.tripId).slice(0, 40);
    const early = sample.map((v, i) => (i % 2 === 0 ? { ...v, delay: -i * 13 } : v));
    expect(early.some((v) => v.delay < 0)).toBe(true);
    const seconds = Math.floor(timestampMs / 1000);
    const reference = transit_realtime.FeedMessage.encode(
      transit_realtime.FeedMessage.fromObject({
        header: { gtfsRealtimeVersion: '2.0', incrementality: 0, timestamp: seconds },
        entity: early.map((v) => ({
          id: v.tripId,
          tripUpdate: {
            trip: { tripId: v.tripId, routeId: v.routeId },
            stopTimeUpdate: [
              { stopSequence: v.nextStopSequence, arrival: { delay: v.delay }, stopId: v.nextStopId },
            ],
            timestamp: seconds,
            delay: v.delay,
          },
        })),
      }),
    ).finish();
    expect(Buffer.from(encodeTripUpdates(early, timestampMs))).toEqual(Buffer.from(reference));
  });
});

describe('fuelRecords (vendor C)', () => {
  it('gives valid VendorRecords keyed by fleet number', () => {
    const records = fuelRecords(vehicles, timestampMs);
    expect(records).toHaveLength(vehicles.length);
    for (const [i, record] of records.entries()) {
      expect(parseVendorRecord(record)).toEqual(record);
      expect(record).toMatchObject({
        vendorId: 'fuel',
        vehicleKey: String(vehicles[i]!.fleetNumber),
        observedAt: timestampMs,
        fuel: vehicles[i]!.fuel,
      });
    }
  });
});

describe('encodeSiriVm (vendor D)', () => {
  it('parses as SIRI-VM with VehicleRef = 15-digit IMEI and Velocity = speed', () => {
    const xml = encodeSiriVm(vehicles, timestampMs);
    const parsed = new XMLParser({
      ignoreAttributes: false,
      parseTagValue: true,
      isArray: (name) => name === 'VehicleActivity',
    }).parse(xml);
    const delivery = parsed.Siri.ServiceDelivery.VehicleMonitoringDelivery;
    expect(parsed.Siri['@_xmlns']).toBe('http://www.siri.org.uk/siri');
    expect(delivery.ResponseTimestamp).toBe(new Date(timestampMs).toISOString());
    expect(delivery.VehicleActivity).toHaveLength(vehicles.length);
    const byImei = new Map(vehicles.map((v) => [speedKey(v.fleetNumber), v]));
    for (const activity of delivery.VehicleActivity) {
      const journey = activity.MonitoredVehicleJourney;
      const imei = String(journey.VehicleRef);
      expect(imei).toMatch(/^\d{15}$/);
      const truth = byImei.get(imei)!;
      expect(truth).toBeDefined();
      expect(journey.Velocity).toBeCloseTo(truth.speed, 2);
      expect(journey.VehicleLocation.Latitude).toBeCloseTo(truth.lat, 6);
      expect(journey.VehicleLocation.Longitude).toBeCloseTo(truth.lon, 6);
      expect(journey.LineRef).toBe(truth.routeId);
    }
  });

  it('gives valid IMEIs (Luhn check digit)', () => {
    for (const n of [1000, 1042, 50_999]) {
      const digits = speedKey(n).split('').map(Number);
      const sum = digits
        .reverse()
        .map((d, i) => (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d))
        .reduce((a, b) => a + b, 0);
      expect(sum % 10).toBe(0);
    }
  });
});

describe('fleetRegistryDocument', () => {
  it('maps every vendor key to exactly one vehicle, and gives every vehicle a key per keyed vendor', () => {
    const document = fleetRegistryDocument(vehicles);
    expect(document.vehicles).toHaveLength(vehicles.length);
    for (const vendor of ['positions', 'fuel', 'speed']) {
      const keys = document.vehicles.map((v) => v.keys[vendor]);
      expect(keys.every((k) => typeof k === 'string' && k.length > 0)).toBe(true);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(document.vehicles.every((v) => v.keys['delays'] === undefined)).toBe(true);
    expect(VENDOR_IDS).toContain('delays');
  });

  it('gives a trackers key, the IMEI the SIRI vendor uses, to the vehicles carrying a tracker only', () => {
    const document = fleetRegistryDocument(vehicles, { trackers: 3 });
    const withTracker = document.vehicles.filter((v) => v.keys['trackers'] !== undefined);
    expect(withTracker.map((v) => v.vehicleId)).toEqual(vehicles.slice(0, 3).map((v) => v.vehicleId));
    for (const v of withTracker) expect(v.keys['trackers']).toBe(v.keys['speed']);
    expect(fleetRegistryDocument(vehicles).vehicles.some((v) => v.keys['trackers'])).toBe(false);
  });

  it('holds the keys the feeds actually use', () => {
    const document = fleetRegistryDocument(vehicles);
    const positionIds = new Set(
      transit_realtime.FeedMessage.decode(encodeVehiclePositions(vehicles, timestampMs)).entity.map(
        (e) => e.vehicle!.vehicle!.id,
      ),
    );
    const fuelKeys = new Set(fuelRecords(vehicles, timestampMs).map((r) => r.vehicleKey));
    const siri = encodeSiriVm(vehicles, timestampMs);
    for (const entry of document.vehicles) {
      expect(positionIds.has(entry.keys['positions']!)).toBe(true);
      expect(fuelKeys.has(entry.keys['fuel']!)).toBe(true);
      expect(siri).toContain(`<VehicleRef>${entry.keys['speed']}</VehicleRef>`);
      expect(entry.vehicleId).toBe(`veh-${entry.label}`);
    }
  });
});
