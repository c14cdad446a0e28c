// SIRI-VM parsing on documents written after real producers' output: prefixed and default namespaces,
// framed and plain journey refs, negative delays, vendor speed extensions, and entities that must be rejected.

import { describe, expect, it } from 'vitest';
import { isVendorFeedError, parseIsoDurationSeconds, parseSiriVm } from './index.js';

const plain = `<?xml version="1.0" encoding="UTF-8"?>
<Siri xmlns="http://www.siri.org.uk/siri" version="2.0">
  <ServiceDelivery>
    <ResponseTimestamp>2026-11-21T08:47:05Z</ResponseTimestamp>
    <VehicleMonitoringDelivery version="2.0">
      <ResponseTimestamp>2026-11-21T08:47:04Z</ResponseTimestamp>
      <VehicleActivity>
        <RecordedAtTime>2026-11-21T08:47:00+02:00</RecordedAtTime>
        <ItemIdentifier>a1</ItemIdentifier>
        <MonitoredVehicleJourney>
          <LineRef>0042</LineRef>
          <FramedVehicleJourneyRef>
            <DataFrameRef>2026-11-21</DataFrameRef>
            <DatedVehicleJourneyRef>J-1001</DatedVehicleJourneyRef>
          </FramedVehicleJourneyRef>
          <VehicleLocation><Longitude>24.9384</Longitude><Latitude>60.1699</Latitude></VehicleLocation>
          <Bearing>90</Bearing>
          <Delay>PT2M</Delay>
          <VehicleRef>0815</VehicleRef>
          <Extensions><Speed>8.5</Speed></Extensions>
        </MonitoredVehicleJourney>
      </VehicleActivity>
      <VehicleActivity>
        <RecordedAtTime>2026-11-21T06:46:58Z</RecordedAtTime>
        <MonitoredVehicleJourney>
          <LineRef>7</LineRef>
          <DatedVehicleJourneyRef>J-7</DatedVehicleJourneyRef>
          <Delay>-PT30S</Delay>
          <VehicleRef>0816</VehicleRef>
        </MonitoredVehicleJourney>
      </VehicleActivity>
    </VehicleMonitoringDelivery>
  </ServiceDelivery>
</Siri>`;

const prefixed = `<siri:Siri xmlns:siri="http://www.siri.org.uk/siri">
  <siri:ServiceDelivery>
    <siri:ResponseTimestamp>2026-11-21T08:47:05Z</siri:ResponseTimestamp>
    <siri:VehicleMonitoringDelivery>
      <siri:VehicleActivity>
        <siri:MonitoredVehicleJourney>
          <siri:VehicleLocation><siri:Longitude>24.5</siri:Longitude><siri:Latitude>60.5</siri:Latitude></siri:VehicleLocation>
          <siri:Velocity>3.25</siri:Velocity>
          <siri:Delay>-P0DT1H0M1.5S</siri:Delay>
          <siri:VehicleRef>T-9</siri:VehicleRef>
        </siri:MonitoredVehicleJourney>
      </siri:VehicleActivity>
    </siri:VehicleMonitoringDelivery>
  </siri:ServiceDelivery>
</siri:Siri>`;

function activity(
  journey: string,
  recordedAt = '<RecordedAtTime>2026-11-21T08:47:00Z</RecordedAtTime>',
): string {
  return `<VehicleActivity>${recordedAt}<MonitoredVehicleJourney>${journey}</MonitoredVehicleJourney></VehicleActivity>`;
}

function siri(activities: string, deliveryExtra = ''): string {
  return `<Siri><ServiceDelivery><VehicleMonitoringDelivery>${deliveryExtra}${activities}</VehicleMonitoringDelivery></ServiceDelivery></Siri>`;
}

describe('parseSiriVm', () => {
  it('maps a default-namespace delivery: refs as strings, position, bearing, delay, extension speed, time zone', () => {
    const result = parseSiriVm(plain, { vendorId: 'D' });
    expect(result.rejected).toEqual([]);
    expect(result.feedTimestamp).toBe(Date.parse('2026-11-21T08:47:05Z'));
    expect(result.keySources).toEqual(['vehicle-ref', 'vehicle-ref']);
    expect(result.records).toEqual([
      {
        vendorId: 'D',
        vehicleKey: '0815',
        observedAt: Date.parse('2026-11-21T06:47:00Z'),
        position: { lat: 60.1699, lon: 24.9384 },
        bearing: 90,
        speed: 8.5,
        delay: 120,
        routeId: '0042',
        tripId: 'J-1001',
      },
      {
        vendorId: 'D',
        vehicleKey: '0816',
        observedAt: Date.parse('2026-11-21T06:46:58Z'),
        delay: -30,
        routeId: '7',
        tripId: 'J-7',
      },
    ]);
  });

  it('reads prefixed namespaces the same, with the delivery time standing in for a missing RecordedAtTime', () => {
    const result = parseSiriVm(prefixed, { vendorId: 'D' });
    expect(result.records).toEqual([
      {
        vendorId: 'D',
        vehicleKey: 'T-9',
        observedAt: Date.parse('2026-11-21T08:47:05Z'),
        position: { lat: 60.5, lon: 24.5 },
        speed: 3.25,
        delay: -3601.5,
      },
    ]);
  });

  it('reports each unusable vehicle activity with its reason and keeps the others', () => {
    const xml = siri(
      [
        activity('<LineRef>1</LineRef>'),
        activity('<VehicleRef>V2</VehicleRef>'),
        activity(
          '<VehicleRef>V3</VehicleRef><VehicleLocation><Latitude>north</Latitude><Longitude>1</Longitude></VehicleLocation>',
        ),
        activity('<VehicleRef>V4</VehicleRef><Delay>two minutes</Delay>'),
        activity(
          '<VehicleRef>V5</VehicleRef><LineRef>5</LineRef>',
          '<RecordedAtTime>2026-11-21T08:47:00</RecordedAtTime>',
        ),
        activity('<VehicleRef>V6</VehicleRef><LineRef>6</LineRef>', ''),
        '<VehicleActivity/>',
        activity('<VehicleRef>V8</VehicleRef><VehicleLocation><Latitude>1</Latitude></VehicleLocation>'),
        activity('<VehicleRef>V9</VehicleRef><LineRef>9</LineRef>'),
      ].join(''),
    );
    const result = parseSiriVm(xml, { vendorId: 'D' });
    expect(result.records.map((r) => r.vehicleKey)).toEqual(['V9']);
    expect(result.rejected.map((r) => [r.index, r.entityId, r.code])).toEqual([
      [0, undefined, 'NO_VEHICLE_KEY'],
      [1, 'V2', 'NO_DATA'],
      [2, 'V3', 'INVALID_FIELD'],
      [3, 'V4', 'INVALID_FIELD'],
      [4, 'V5', 'INVALID_FIELD'],
      [5, 'V6', 'NO_TIMESTAMP'],
      [6, undefined, 'NO_DATA'],
      [7, 'V8', 'INVALID_FIELD'],
    ]);
    expect(result.rejected[2]!.reason).toContain('VehicleLocation.Latitude "north" is not a number');
    expect(result.rejected[3]!.reason).toContain('not an ISO-8601 duration');
    expect(result.rejected[7]!.reason).toContain('VehicleLocation.Longitude is missing');
  });

  it('accepts an empty delivery as an empty result', () => {
    expect(parseSiriVm(siri(''), { vendorId: 'D' })).toEqual({ records: [], keySources: [], rejected: [] });
  });

  it.each([
    ['not XML at all', 'hello world', /not well-formed XML/],
    ['empty text', '   ', /empty/],
    ['unclosed elements', plain.slice(0, plain.length / 2), /not well-formed XML/],
    ['another root element', '<Feed><ServiceDelivery/></Feed>', /root element is Feed, expected Siri/],
    ['no ServiceDelivery', '<Siri><ServiceRequest/></Siri>', /no ServiceDelivery/],
    [
      'another SIRI service',
      '<Siri><ServiceDelivery><StopMonitoringDelivery/></ServiceDelivery></Siri>',
      /no VehicleMonitoringDelivery/,
    ],
  ])('throws MALFORMED_FEED for %s', (_name, xml, message) => {
    expect(() => parseSiriVm(xml, { vendorId: 'D' })).toThrow(message);
    try {
      parseSiriVm(xml, { vendorId: 'D' });
    } catch (error) {
      expect(isVendorFeedError(error) && error.code).toBe('MALFORMED_FEED');
    }
  });

  it('throws VENDOR_ERROR when the delivery reports an error condition', () => {
    const xml = siri(
      '',
      '<Status>false</Status><ErrorCondition><AccessNotAllowedError/><Description>key expired</Description></ErrorCondition>',
    );
    expect(() => parseSiriVm(xml, { vendorId: 'D' })).toThrow(
      expect.objectContaining({ code: 'VENDOR_ERROR', message: expect.stringContaining('key expired') }),
    );
  });
});

describe('parseIsoDurationSeconds', () => {
  it.each([
    ['PT2M', 120],
    ['-PT30S', -30],
    ['PT0S', 0],
    ['P1DT1H1M1S', 90_061],
    ['PT1.5S', 1.5],
    ['P1Y', undefined],
    ['P', undefined],
    ['PT', undefined],
    ['2M', undefined],
    ['', undefined],
  ])('%s → %s', (text, seconds) => {
    expect(parseIsoDurationSeconds(text)).toBe(seconds);
  });
});
