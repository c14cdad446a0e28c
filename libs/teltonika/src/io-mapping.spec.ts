// IO mapping and vendor records: configuration validated with messages naming the entry, the default FMB
// mapping read with its units, and vendor records the model accepts (speed in m/s, fix-less positions left out).

import { parseVendorRecord } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IO_MAPPING,
  parseIoMapping,
  readIo,
  toVendorRecord,
  type AvlRecord,
  type IoValue,
} from './index.js';
import { sampleRecord } from '../test/sample-record.js';
import { thrown } from '../test/thrown.js';

function record(io: [number, IoValue][], overrides: Partial<AvlRecord> = {}): AvlRecord {
  return { ...sampleRecord(), gpsValid: true, io: new Map(io), ...overrides };
}

describe('parseIoMapping', () => {
  it('accepts entries and freezes them', () => {
    const mapping = parseIoMapping([
      { io: 89, field: 'fuel' },
      { io: 81, field: 'speed' },
    ]);
    expect(mapping).toEqual([
      { io: 89, field: 'fuel' },
      { io: 81, field: 'speed' },
    ]);
    expect(Object.isFrozen(mapping) && Object.isFrozen(mapping[0])).toBe(true);
    expect(parseIoMapping(mapping)).toBe(mapping);
  });

  it('names every bad entry and setting', () => {
    const error = thrown(() =>
      parseIoMapping([
        { io: 89, field: 'fuel' },
        { io: 70000, field: 'fuel' },
        { io: 1, field: 'colour' },
        { io: 2, field: 'fuel', scale: 0 },
        { io: 3, field: 'fuel', typo: true },
      ]),
    );
    expect(error.code).toBe('INVALID_MAPPING');
    expect(error.message).toContain('[1].io');
    expect(error.message).toContain('[2].field');
    expect(error.message).toContain('[3].scale: must be a finite number other than 0');
    expect(error.message).toContain('[4]');
    expect(thrown(() => parseIoMapping({ io: 1 })).message).toMatch(
      /^INVALID_MAPPING: IO mapping is invalid: mapping:/,
    );
  });
});

describe('readIo', () => {
  it('reads the default FMB ids in their units', () => {
    const readings = readIo(
      record([
        [239, 1],
        [240, 0],
        [66, 24_100],
        [67, 4_012],
        [21, 4],
        [72, 0xffffff9c], // -100 as a signed 32-bit value: -10.0 °C
        [89, 57],
        [16, 123_456_789],
        [1, 1],
      ]),
    );
    expect(readings).toEqual({
      ignition: 1,
      movement: 0,
      externalVoltage: expect.closeTo(24.1, 9),
      batteryVoltage: expect.closeTo(4.012, 9),
      gsmSignal: 4,
      temperature: expect.closeTo(-10, 9),
      fuel: 57,
      odometer: 123_456_789,
    });
    expect(readIo(record([]))).toEqual({});
    expect(DEFAULT_IO_MAPPING.map((e) => e.io)).toEqual([239, 240, 66, 67, 21, 72, 89, 16]);
  });

  it('takes, per field, the first entry whose id the record carries', () => {
    const mapping = parseIoMapping([
      { io: 89, field: 'fuel' },
      { io: 48, field: 'fuel' },
    ]);
    expect(readIo(record([[48, 40]]), mapping)).toEqual({ fuel: 40 });
    expect(
      readIo(
        record([
          [48, 40],
          [89, 41],
        ]),
        mapping,
      ),
    ).toEqual({ fuel: 41 });
  });

  it('reads signed types and 8-byte values, and skips byte values', () => {
    const mapping = parseIoMapping([
      { io: 1, field: 'temperature', type: 'int16', scale: 0.1 },
      { io: 2, field: 'odometer', type: 'int64' },
      { io: 3, field: 'gsmSignal', type: 'int8' },
      { io: 4, field: 'fuel' },
    ]);
    const readings = readIo(
      record([
        [1, 0xff38],
        [2, 2n ** 64n - 5n],
        [3, 0x1ff], // wider than int8: left as it came
        [4, Buffer.from([50])],
      ]),
      mapping,
    );
    expect(readings).toEqual({ temperature: expect.closeTo(-20, 9), odometer: -5, gsmSignal: 0x1ff });
  });
});

describe('toVendorRecord', () => {
  it('keys by IMEI, converts km/h to m/s, takes fuel from IO, and passes the model validation', () => {
    const out = toVendorRecord('356307042441013', record([[89, 57]]), { vendorId: 'trackers' });
    expect(out).toEqual({
      vendorId: 'trackers',
      vehicleKey: '356307042441013',
      observedAt: Date.UTC(2026, 10, 21, 8, 47),
      position: { lat: 60.1699, lon: 24.9384 },
      bearing: 90,
      speed: 10,
      fuel: 57,
    });
    expect(parseVendorRecord(out)).toEqual(out);
  });

  it('leaves out position, bearing and GPS speed without a fix, but keeps a mapped CAN speed', () => {
    const mapping = parseIoMapping([{ io: 81, field: 'speed' }]);
    const noFix = record([[81, 18]], { gpsValid: false, satellites: 0, speed: 0 });
    expect(toVendorRecord('1', noFix, { vendorId: 'trackers', mapping })).toEqual({
      vendorId: 'trackers',
      vehicleKey: '1',
      observedAt: Date.UTC(2026, 10, 21, 8, 47),
      speed: 5,
    });
  });

  it('normalises a heading of 360 to 0', () => {
    expect(toVendorRecord('1', record([], { angle: 360 }), { vendorId: 'v' }).bearing).toBe(0);
  });

  it('refuses a timestamp the model would reject', () => {
    for (const timestamp of [0, Date.UTC(2100, 0, 1)]) {
      expect(thrown(() => toVendorRecord('1', record([], { timestamp }), { vendorId: 'v' }))).toMatchObject({
        code: 'BAD_TIMESTAMP',
        fatal: false,
      });
    }
  });
});
