// SIRI Vehicle Monitoring (XML) → vendor records ("vendor D" of the source system). Namespace prefixes are
// stripped before reading, so `<siri:VehicleRef>` and `<VehicleRef>` read the same.

import type { VendorRecord } from '@transit-fusion/model';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  FeedResultBuilder,
  hasData,
  reject,
  type DecodeOptions,
  type FeedResult,
  type KeySource,
} from './feed-result.js';
import { VendorFeedError } from './vendor-feed-error.js';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Ids like "0042" must stay strings; numbers are parsed field by field.
  parseTagValue: false,
  trimValues: true,
  // No DOCTYPE entity expansion: a feed has no use for it and it is the XML-bomb vector.
  processEntities: false,
});

/**
 * Parses a SIRI `Siri/ServiceDelivery/VehicleMonitoringDelivery` document. Every VehicleActivity becomes a
 * record or a rejection; text that is not such a document throws VendorFeedError MALFORMED_FEED, and a
 * delivery reporting an ErrorCondition throws VENDOR_ERROR.
 */
export function parseSiriVm(xml: string, options: DecodeOptions): FeedResult {
  const builder = new FeedResultBuilder(options);
  const serviceDelivery = serviceDeliveryOf(xml);
  const feedTimestamp = instantOf(serviceDelivery['ResponseTimestamp']);
  const delivered = serviceDelivery['VehicleMonitoringDelivery'];
  if (delivered === undefined) {
    throw new VendorFeedError(
      'MALFORMED_FEED',
      'SIRI ServiceDelivery has no VehicleMonitoringDelivery (another SIRI service?)',
    );
  }
  let index = 0;
  // An empty <VehicleMonitoringDelivery/> parses as '': a delivery with no vehicles, not an error.
  for (const delivery of Array.isArray(delivered) ? delivered : [delivered]) {
    if (!isNode(delivery)) continue;
    vendorErrorOf(delivery);
    const deliveryTime = instantOf(delivery['ResponseTimestamp']);
    for (const activity of asArray(delivery['VehicleActivity'])) {
      const journey = isNode(activity) ? activity['MonitoredVehicleJourney'] : undefined;
      const entityId = isNode(journey) ? stringOf(journey['VehicleRef']) : undefined;
      builder.add(index++, entityId, () => activityRecord(activity, builder, deliveryTime ?? feedTimestamp));
    }
  }
  if (feedTimestamp !== undefined) builder.result.feedTimestamp = feedTimestamp;
  return builder.result;
}

function serviceDeliveryOf(xml: string): XmlNode {
  if (typeof xml !== 'string') throw new VendorFeedError('MALFORMED_FEED', 'SIRI feed must be text');
  if (xml.trim() === '') throw new VendorFeedError('MALFORMED_FEED', 'SIRI feed is empty');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new VendorFeedError('MALFORMED_FEED', `not well-formed XML at line ${line}, column ${col}: ${msg}`);
  }
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch (error) {
    throw new VendorFeedError('MALFORMED_FEED', `XML does not parse: ${String(error)}`, { cause: error });
  }
  const roots = isNode(document) ? Object.keys(document) : [];
  if (roots.length !== 1 || roots[0] !== 'Siri') {
    throw new VendorFeedError(
      'MALFORMED_FEED',
      `root element is ${roots.join(', ') || 'missing'}, expected Siri`,
    );
  }
  const siri = (document as XmlNode)['Siri'];
  const serviceDelivery = isNode(siri) ? siri['ServiceDelivery'] : undefined;
  if (!isNode(serviceDelivery)) {
    throw new VendorFeedError('MALFORMED_FEED', 'Siri document has no ServiceDelivery');
  }
  return serviceDelivery;
}

function vendorErrorOf(delivery: XmlNode): void {
  const status = stringOf(delivery['Status']);
  if (status !== 'false') return;
  const condition = delivery['ErrorCondition'];
  const description = isNode(condition) ? stringOf(condition['Description']) : undefined;
  const kind = isNode(condition) ? Object.keys(condition).find((k) => k !== 'Description') : undefined;
  throw new VendorFeedError(
    'VENDOR_ERROR',
    `VehicleMonitoringDelivery reports Status false${kind ? ` (${kind})` : ''}${description ? `: ${description}` : ''}`,
  );
}

function activityRecord(
  activity: unknown,
  builder: FeedResultBuilder,
  fallbackTime: number | undefined,
): { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource } {
  if (!isNode(activity)) return reject('NO_DATA', 'VehicleActivity is empty');
  const journey = activity['MonitoredVehicleJourney'];
  if (!isNode(journey)) return reject('NO_DATA', 'VehicleActivity has no MonitoredVehicleJourney');
  const vehicleKey = stringOf(journey['VehicleRef']);
  if (vehicleKey === undefined) return reject('NO_VEHICLE_KEY', 'MonitoredVehicleJourney has no VehicleRef');

  const record: Omit<VendorRecord, 'vendorId' | 'vehicleKey' | 'observedAt'> = {};
  const location = journey['VehicleLocation'];
  if (location !== undefined) {
    if (!isNode(location)) return reject('INVALID_FIELD', 'VehicleLocation has no Latitude/Longitude');
    record.position = {
      lat: numberField(location, 'Latitude', 'VehicleLocation.Latitude', true)!,
      lon: numberField(location, 'Longitude', 'VehicleLocation.Longitude', true)!,
    };
  }
  const bearing = numberField(journey, 'Bearing', 'Bearing');
  if (bearing !== undefined) record.bearing = bearing;
  const speed = speedOf(activity, journey);
  if (speed !== undefined) record.speed = speed;
  if (journey['Delay'] !== undefined) {
    const raw = stringOf(journey['Delay']);
    const delay = raw === undefined ? undefined : parseIsoDurationSeconds(raw);
    if (delay === undefined)
      reject('INVALID_FIELD', `Delay ${JSON.stringify(raw ?? '')} is not an ISO-8601 duration`);
    record.delay = delay;
  }
  const routeId = stringOf(journey['LineRef']);
  if (routeId !== undefined) record.routeId = routeId;
  const framed = journey['FramedVehicleJourneyRef'];
  const tripId =
    (isNode(framed) ? stringOf(framed['DatedVehicleJourneyRef']) : undefined) ??
    stringOf(journey['DatedVehicleJourneyRef']);
  if (tripId !== undefined) record.tripId = tripId;
  if (!hasData(record)) reject('NO_DATA', 'vehicle has no location, bearing, speed, delay, line or journey');

  let recordedAt: number | undefined;
  if (activity['RecordedAtTime'] !== undefined) {
    recordedAt = instantOf(activity['RecordedAtTime']);
    if (recordedAt === undefined) {
      reject('INVALID_FIELD', 'RecordedAtTime is not an ISO-8601 date-time with a zone');
    }
  }
  const observedAt = builder.observedAt(recordedAt, fallbackTime);
  return { record: { vehicleKey, observedAt, ...record }, keySource: 'vehicle-ref' };
}

/**
 * SIRI-VM has no speed in its core profile; several producers add one. Accepted, in metres per second:
 * `Speed` or `Velocity` on the MonitoredVehicleJourney, or inside an `Extensions` element of the journey or
 * the VehicleActivity — first found wins.
 */
function speedOf(activity: XmlNode, journey: XmlNode): number | undefined {
  for (const [node, where] of [
    [journey, ''],
    [journey['Extensions'], 'Extensions.'],
    [activity['Extensions'], 'VehicleActivity.Extensions.'],
  ] as const) {
    if (!isNode(node)) continue;
    for (const name of ['Speed', 'Velocity']) {
      const value = numberField(node, name, `${where}${name}`);
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

const DURATION =
  /^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * An ISO-8601 duration (`PT2M`, `-PT30S`, `P1DT2H`) in seconds; undefined when it is not one. Years and
 * months are refused: their length in seconds depends on the calendar, and no delay needs them.
 */
export function parseIsoDurationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim().endsWith('T') || /^-?P$/.test(text.trim())) return undefined;
  const [, sign, days, hours, minutes, seconds] = match;
  const total =
    Number(days ?? 0) * 86_400 +
    Number(hours ?? 0) * 3_600 +
    Number(minutes ?? 0) * 60 +
    Number(seconds ?? 0);
  return sign ? -total : total;
}

const ZONED_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO-8601 date-time with a zone as epoch ms; a zoneless time would be read in the server's zone. */
function instantOf(value: unknown): number | undefined {
  const text = stringOf(value);
  if (text === undefined || !ZONED_DATE_TIME.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function numberField(node: XmlNode, name: string, path: string, required = false): number | undefined {
  const value = node[name];
  if (value === undefined) {
    return required ? reject('INVALID_FIELD', `${path} is missing`) : undefined;
  }
  const text = stringOf(value);
  const number = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(number)) {
    return reject('INVALID_FIELD', `${path} ${JSON.stringify(text ?? '')} is not a number`);
  }
  return number;
}

/** The text of a leaf element; undefined when absent, empty or not a leaf. */
function stringOf(value: unknown): string | undefined {
  if (Array.isArray(value)) return stringOf(value[0]);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isNode(value: unknown): value is XmlNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [value];
}
