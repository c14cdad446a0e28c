// What each simulated vendor serves, split the way the source system's vendors were, each with its own vehicle
// keys: A "positions" (GTFS-RT VehiclePositions, GTFS vehicle id), B "delays" (GTFS-RT TripUpdates, trip id only),
// C "fuel" (JSON records pushed to the receiver, fleet number), D "speed" (SIRI-VM XML, tracker IMEI). The fleet
// registry document maps every key back to the canonical vehicle, so the composer's matchers have real work.

import type { VendorRecord } from '@transit-fusion/model';
import type { VehicleTruth } from './fleet.js';
import {
  delimitedSize,
  floatFieldSize,
  int32FieldSize,
  ProtobufWriter,
  stringSize,
  varintFieldSize,
} from './protobuf-writer.js';

export const VENDOR_IDS = ['positions', 'delays', 'fuel', 'speed'] as const;
export type VendorId = (typeof VENDOR_IDS)[number];

/** Vendor A's key: the GTFS vehicle id. */
export function positionsKey(fleetNumber: number): string {
  return `gtfs-${fleetNumber}`;
}

/** Vendor C's key: the fleet number painted on the vehicle. */
export function fuelKey(fleetNumber: number): string {
  return String(fleetNumber);
}

/** Vendor D's key: a 15-digit tracker IMEI (14 digits and a Luhn check digit, like a real one). */
export function speedKey(fleetNumber: number): string {
  const body = `35${String(fleetNumber).padStart(12, '0')}`;
  return body + luhnDigit(body);
}

function luhnDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export interface FleetRegistryDocument {
  vehicles: { vehicleId: string; label: string; transportType: string; keys: Record<string, string> }[];
}

/**
 * The registry `parseFleetRegistry` reads. Vendor B ("delays") has no entry: its TripUpdates carry trip ids only,
 * which change every trip, and the composer matches them through the positions vendor's trip.
 */
export function fleetRegistryDocument(
  vehicles: readonly VehicleTruth[],
  options: { readonly trackers?: number } = {},
): FleetRegistryDocument {
  const trackers = options.trackers ?? 0;
  return {
    vehicles: vehicles.map((v, i) => ({
      vehicleId: v.vehicleId,
      label: String(v.fleetNumber),
      transportType: v.transportType,
      keys: {
        positions: positionsKey(v.fleetNumber),
        fuel: fuelKey(v.fleetNumber),
        speed: speedKey(v.fleetNumber),
        // The first `trackers` vehicles carry a GPS tracker (tracker mode, through the device gateway): the
        // device the SIRI vendor reads, so the same IMEI. Only they have the key, so the composer expects
        // tracker records from them alone (no other vehicle is flagged partial for lacking one).
        ...(i < trackers ? { trackers: speedKey(v.fleetNumber) } : {}),
      },
    })),
  };
}

// GTFS-RT field numbers (gtfs-realtime.proto) used by the hand-written encoders; FULL_DATASET is 0.
const FEED = { header: 1, entity: 2 } as const;
const HEADER = { version: 1, incrementality: 2, timestamp: 3 } as const;
const ENTITY = { id: 1, vehicle: 4 } as const;
const VEHICLE_POSITION = {
  trip: 1,
  position: 2,
  currentStatus: 4,
  timestamp: 5,
  stopId: 7,
  vehicle: 8,
} as const;
const TRIP = { tripId: 1, routeId: 5 } as const;
const POSITION = { latitude: 1, longitude: 2, bearing: 3, speed: 5 } as const;
const DESCRIPTOR = { id: 1, label: 2 } as const;
const STOPPED_AT = 1;
const IN_TRANSIT_TO = 2;

/**
 * Vendor A: every vehicle (parked ones without a trip) as a GTFS-RT VehiclePosition. Written with a sized
 * protobuf writer rather than protobufjs (several times faster at 50,000 vehicles); the tests decode it with
 * gtfs-realtime-bindings.
 */
export function encodeVehiclePositions(vehicles: readonly VehicleTruth[], timestampMs: number): Uint8Array {
  const seconds = Math.floor(timestampMs / 1000);
  const headerLength =
    stringSize(HEADER.version, '2.0') +
    varintFieldSize(HEADER.incrementality, 0) +
    varintFieldSize(HEADER.timestamp, seconds);
  const positionLength = 4 * floatFieldSize(POSITION.latitude);
  // Sizes first (one pass), then bytes into one buffer (second pass).
  const entityLengths = new Int32Array(vehicles.length);
  const vehicleLengths = new Int32Array(vehicles.length);
  const tripLengths = new Int32Array(vehicles.length);
  const descriptorLengths = new Int32Array(vehicles.length);
  let total = delimitedSize(FEED.header, headerLength);
  for (let i = 0; i < vehicles.length; i++) {
    const v = vehicles[i]!;
    const id = positionsKey(v.fleetNumber);
    const label = String(v.fleetNumber);
    const tripLength = v.tripId ? stringSize(TRIP.tripId, v.tripId) + stringSize(TRIP.routeId, v.routeId) : 0;
    const descriptorLength = stringSize(DESCRIPTOR.id, id) + stringSize(DESCRIPTOR.label, label);
    const vehicleLength =
      (v.tripId ? delimitedSize(VEHICLE_POSITION.trip, tripLength) : 0) +
      delimitedSize(VEHICLE_POSITION.position, positionLength) +
      varintFieldSize(VEHICLE_POSITION.currentStatus, IN_TRANSIT_TO) +
      varintFieldSize(VEHICLE_POSITION.timestamp, seconds) +
      (v.nextStopId ? stringSize(VEHICLE_POSITION.stopId, v.nextStopId) : 0) +
      delimitedSize(VEHICLE_POSITION.vehicle, descriptorLength);
    const entityLength = stringSize(ENTITY.id, id) + delimitedSize(ENTITY.vehicle, vehicleLength);
    tripLengths[i] = tripLength;
    descriptorLengths[i] = descriptorLength;
    vehicleLengths[i] = vehicleLength;
    entityLengths[i] = entityLength;
    total += delimitedSize(FEED.entity, entityLength);
  }
  const w = new ProtobufWriter(total);
  w.delimited(FEED.header, headerLength)
    .string(HEADER.version, '2.0')
    .uint(HEADER.incrementality, 0) // FULL_DATASET
    .uint(HEADER.timestamp, seconds);
  for (let i = 0; i < vehicles.length; i++) {
    const v = vehicles[i]!;
    const id = positionsKey(v.fleetNumber);
    w.delimited(FEED.entity, entityLengths[i]!)
      .string(ENTITY.id, id)
      .delimited(ENTITY.vehicle, vehicleLengths[i]!);
    if (v.tripId) {
      w.delimited(VEHICLE_POSITION.trip, tripLengths[i]!)
        .string(TRIP.tripId, v.tripId)
        .string(TRIP.routeId, v.routeId);
    }
    w.delimited(VEHICLE_POSITION.position, positionLength)
      .float(POSITION.latitude, v.lat)
      .float(POSITION.longitude, v.lon)
      .float(POSITION.bearing, v.bearing)
      .float(POSITION.speed, v.speed)
      .uint(
        VEHICLE_POSITION.currentStatus,
        v.speed === 0 && v.status === 'on_duty' ? STOPPED_AT : IN_TRANSIT_TO,
      )
      .uint(VEHICLE_POSITION.timestamp, seconds);
    if (v.nextStopId) w.string(VEHICLE_POSITION.stopId, v.nextStopId);
    w.delimited(VEHICLE_POSITION.vehicle, descriptorLengths[i]!)
      .string(DESCRIPTOR.id, id)
      .string(DESCRIPTOR.label, String(v.fleetNumber));
  }
  return w.finish();
}

const TRIP_ENTITY = { id: 1, tripUpdate: 3 } as const;
const TRIP_UPDATE = { trip: 1, stopTimeUpdate: 2, timestamp: 4, delay: 5 } as const;
const STOP_TIME_UPDATE = { stopSequence: 1, arrival: 2, stopId: 4 } as const;
const STOP_TIME_EVENT = { delay: 1 } as const;

/**
 * Vendor B: one TripUpdate per vehicle on a trip, keyed by the trip alone (no vehicle descriptor), with the delay
 * as `delay` and as the next stop's `arrival.delay`. Same sized writer as vendor A.
 */
export function encodeTripUpdates(vehicles: readonly VehicleTruth[], timestampMs: number): Uint8Array {
  const seconds = Math.floor(timestampMs / 1000);
  const headerLength =
    stringSize(HEADER.version, '2.0') +
    varintFieldSize(HEADER.incrementality, 0) +
    varintFieldSize(HEADER.timestamp, seconds);
  const onTrip = vehicles.filter((v) => v.tripId !== undefined);
  const sizes = new Int32Array(onTrip.length * 5);
  let total = delimitedSize(FEED.header, headerLength);
  for (let i = 0; i < onTrip.length; i++) {
    const v = onTrip[i]!;
    const tripLength = stringSize(TRIP.tripId, v.tripId!) + stringSize(TRIP.routeId, v.routeId);
    const arrivalLength = int32FieldSize(STOP_TIME_EVENT.delay, v.delay);
    const stopTimeLength =
      varintFieldSize(STOP_TIME_UPDATE.stopSequence, v.nextStopSequence ?? 1) +
      delimitedSize(STOP_TIME_UPDATE.arrival, arrivalLength) +
      (v.nextStopId ? stringSize(STOP_TIME_UPDATE.stopId, v.nextStopId) : 0);
    const updateLength =
      delimitedSize(TRIP_UPDATE.trip, tripLength) +
      delimitedSize(TRIP_UPDATE.stopTimeUpdate, stopTimeLength) +
      varintFieldSize(TRIP_UPDATE.timestamp, seconds) +
      int32FieldSize(TRIP_UPDATE.delay, v.delay);
    const entityLength =
      stringSize(TRIP_ENTITY.id, v.tripId!) + delimitedSize(TRIP_ENTITY.tripUpdate, updateLength);
    sizes.set([entityLength, updateLength, tripLength, stopTimeLength, arrivalLength], i * 5);
    total += delimitedSize(FEED.entity, entityLength);
  }
  const w = new ProtobufWriter(total);
  w.delimited(FEED.header, headerLength)
    .string(HEADER.version, '2.0')
    .uint(HEADER.incrementality, 0)
    .uint(HEADER.timestamp, seconds);
  for (let i = 0; i < onTrip.length; i++) {
    const v = onTrip[i]!;
    w.delimited(FEED.entity, sizes[i * 5]!)
      .string(TRIP_ENTITY.id, v.tripId!)
      .delimited(TRIP_ENTITY.tripUpdate, sizes[i * 5 + 1]!)
      .delimited(TRIP_UPDATE.trip, sizes[i * 5 + 2]!)
      .string(TRIP.tripId, v.tripId!)
      .string(TRIP.routeId, v.routeId)
      .delimited(TRIP_UPDATE.stopTimeUpdate, sizes[i * 5 + 3]!)
      .uint(STOP_TIME_UPDATE.stopSequence, v.nextStopSequence ?? 1)
      .delimited(STOP_TIME_UPDATE.arrival, sizes[i * 5 + 4]!)
      .int32(STOP_TIME_EVENT.delay, v.delay);
    if (v.nextStopId) w.string(STOP_TIME_UPDATE.stopId, v.nextStopId);
    w.uint(TRIP_UPDATE.timestamp, seconds).int32(TRIP_UPDATE.delay, v.delay);
  }
  return w.finish();
}

/** Vendor C: fuel (battery for electric types) as unified records, as pushed to the receiver. */
export function fuelRecords(vehicles: readonly VehicleTruth[], timestampMs: number): VendorRecord[] {
  return vehicles.map((v) => ({
    vendorId: 'fuel',
    vehicleKey: fuelKey(v.fleetNumber),
    observedAt: timestampMs,
    transportType: v.transportType,
    fuel: v.fuel,
  }));
}

/**
 * Vendor D: SIRI-VM `VehicleMonitoringDelivery`, one `VehicleActivity` per vehicle keyed by tracker IMEI
 * (`VehicleRef`), speed in m/s in `MonitoredVehicleJourney/Velocity`, with location and bearing. Written as
 * strings rather than through an XML builder: at 50,000 vehicles the builder takes most of a second.
 */
export function encodeSiriVm(vehicles: readonly VehicleTruth[], timestampMs: number): string {
  const at = new Date(timestampMs).toISOString();
  const validUntil = new Date(timestampMs + 60_000).toISOString();
  const day = at.slice(0, 10);
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Siri xmlns="http://www.siri.org.uk/siri" version="2.0"><ServiceDelivery>',
    `<ResponseTimestamp>${at}</ResponseTimestamp><ProducerRef>speed</ProducerRef>`,
    `<VehicleMonitoringDelivery version="2.0"><ResponseTimestamp>${at}</ResponseTimestamp>`,
  ];
  for (const v of vehicles) {
    const journey = v.tripId
      ? `<FramedVehicleJourneyRef><DataFrameRef>${day}</DataFrameRef><DatedVehicleJourneyRef>${escapeXml(v.tripId)}</DatedVehicleJourneyRef></FramedVehicleJourneyRef>`
      : '';
    parts.push(
      `<VehicleActivity><RecordedAtTime>${at}</RecordedAtTime><ValidUntilTime>${validUntil}</ValidUntilTime>` +
        `<MonitoredVehicleJourney><LineRef>${escapeXml(v.routeId)}</LineRef>` +
        `<VehicleMode>${v.transportType === 'ferry' ? 'water' : v.transportType}</VehicleMode>${journey}` +
        `<VehicleRef>${speedKey(v.fleetNumber)}</VehicleRef>` +
        `<VehicleLocation><Longitude>${v.lon}</Longitude><Latitude>${v.lat}</Latitude></VehicleLocation>` +
        `<Bearing>${v.bearing}</Bearing><Velocity>${v.speed}</Velocity></MonitoredVehicleJourney></VehicleActivity>`,
    );
  }
  parts.push('</VehicleMonitoringDelivery></ServiceDelivery></Siri>');
  return parts.join('');
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!) : text;
}
