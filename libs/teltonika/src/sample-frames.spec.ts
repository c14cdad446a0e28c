// The frames of ../shared/data/teltonika/frames.txt decode to the values their bytes define (each worked out
// by hand below from the Teltonika wiki's layout), through the one-shot decoders and through a connection's
// frame reader, split at every byte.

import { parseVendorRecord } from '@transit-fusion/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { framesMissing, readSampleFrames, sampleFrame, type SampleFrame } from '../test/sample-frames.js';
import {
  createFrameReader,
  decodeAvlPacket,
  decodeCodec12Packet,
  encodeAvlPacket,
  encodeLogin,
  readIo,
  toVendorRecord,
  type TeltonikaFrame,
} from './index.js';

describe.skipIf(framesMissing)('sample frames (frames.txt)', () => {
  let frames: SampleFrame[];
  beforeAll(() => {
    frames = readSampleFrames();
  });

  it('holds two logins, four AVL packets and a Codec 12 reply', () => {
    expect(frames.map((f) => f.description)).toEqual([
      'IMEI 356307042441013',
      'IMEI 123456789012345',
      'Codec 8, 1 record (wiki example 1)',
      'Codec 8, 1 record (wiki example 2)',
      'Codec 8 Extended (0x8E), 1 record (wiki example)',
      'Codec 8, 1 record with real coordinates',
      "Codec 12 (0x0C), a device's reply to a GPRS command",
    ]);
  });

  it('reads each login as the IMEI in its comment, and encodeLogin reproduces it', () => {
    for (const imei of ['356307042441013', '123456789012345']) {
      const bytes = sampleFrame(frames, `IMEI ${imei}`);
      expect(createFrameReader().push(bytes)).toEqual([{ kind: 'login', imei }]);
      expect(encodeLogin(imei)).toEqual(bytes);
    }
  });

  it('decodes wiki Codec 8 example 1', () => {
    const packet = decodeAvlPacket(sampleFrame(frames, 'wiki example 1'));
    expect(packet.codec).toBe(0x08);
    expect(packet.records).toEqual([
      {
        timestamp: 0x16b40d8ea30,
        priority: 1,
        longitude: 0,
        latitude: 0,
        altitude: 0,
        angle: 0,
        satellites: 0,
        speed: 0,
        gpsValid: false,
        eventIoId: 1,
        io: new Map([
          [21, 3],
          [1, 1],
          [66, 0x5e0f],
          [241, 0x601a],
          [78, 0],
        ]),
      },
    ]);
    expect(new Date(packet.records[0]!.timestamp).toISOString()).toBe('2019-06-10T10:04:46.000Z');
  });

  it('decodes wiki Codec 8 example 2', () => {
    const packet = decodeAvlPacket(sampleFrame(frames, 'wiki example 2'));
    expect(packet.codec).toBe(0x08);
    expect(packet.records).toHaveLength(1);
    const [record] = packet.records;
    expect(new Date(record!.timestamp).toISOString()).toBe('2019-06-10T10:05:36.000Z');
    expect(record).toMatchObject({ priority: 1, eventIoId: 1, satellites: 0, gpsValid: false });
    expect(record!.io).toEqual(
      new Map([
        [21, 3],
        [1, 1],
        [66, 0x5e10],
      ]),
    );
  });

  it('decodes the wiki Codec 8 Extended example, 2-byte ids and all', () => {
    const packet = decodeAvlPacket(sampleFrame(frames, 'Codec 8 Extended'));
    expect(packet.codec).toBe(0x8e);
    expect(packet.records).toHaveLength(1);
    const [record] = packet.records;
    expect(new Date(record!.timestamp).toISOString()).toBe('2019-06-10T11:36:32.000Z');
    expect(record).toMatchObject({ priority: 1, eventIoId: 1, longitude: 0, latitude: 0, gpsValid: false });
    expect(record!.io).toEqual(
      new Map([
        [0x0001, 0x01],
        [0x0011, 0x001d],
        [0x0010, 0x015e2c88],
        [0x000b, 0x3544c87a],
        [0x000e, 0x1dd7e06a],
      ]),
    );
  });

  it('decodes the packet with real coordinates (Vienna) and its 15 IO values', () => {
    const packet = decodeAvlPacket(sampleFrame(frames, 'real coordinates'));
    expect(packet.codec).toBe(0x08);
    expect(packet.records).toEqual([
      {
        timestamp: 0x16818d50058,
        priority: 0,
        longitude: 16.3745183,
        latitude: 48.1523066,
        altitude: 190,
        angle: 198,
        satellites: 15,
        speed: 83,
        gpsValid: true,
        eventIoId: 0,
        io: new Map([
          [240, 1],
          [21, 3],
          [200, 0],
          [1, 1],
          [29, 0],
          [252, 0],
          [66, 0x3799],
          [24, 83],
          [205, 0xf80d],
          [206, 0x426f],
          [67, 0x0f88],
          [25, 0x0bb8],
          [86, 0x0bb8],
          [241, 0x5aa1],
          [16, 0x2887e0],
        ]),
      },
    ]);
    expect(new Date(packet.records[0]!.timestamp).toISOString()).toBe('2019-01-04T12:27:19.000Z');
  });

  it('maps the real-coordinates record through the default IO mapping into a valid vendor record', () => {
    const [record] = decodeAvlPacket(sampleFrame(frames, 'real coordinates')).records;
    expect(readIo(record!)).toEqual({
      movement: 1,
      gsmSignal: 3,
      externalVoltage: expect.closeTo(14.233, 9),
      batteryVoltage: expect.closeTo(3.976, 9),
      odometer: 2656224,
    });
    const vendorRecord = toVendorRecord('356307042441013', record!, { vendorId: 'trackers' });
    expect(vendorRecord).toEqual({
      vendorId: 'trackers',
      vehicleKey: '356307042441013',
      observedAt: Date.UTC(2019, 0, 4, 12, 27, 19),
      position: { lat: 48.1523066, lon: 16.3745183 },
      bearing: 198,
      speed: expect.closeTo(83 / 3.6, 9),
    });
    expect(parseVendorRecord(vendorRecord)).toEqual(vendorRecord);
  });

  it('gives the wiki records (no fix) no position, bearing or speed', () => {
    const [record] = decodeAvlPacket(sampleFrame(frames, 'wiki example 1')).records;
    expect(toVendorRecord('356307042441013', record!, { vendorId: 'trackers' })).toEqual({
      vendorId: 'trackers',
      vehicleKey: '356307042441013',
      observedAt: 0x16b40d8ea30,
    });
  });

  it('decodes the Codec 12 reply: a binary payload, so no text', () => {
    const message = decodeCodec12Packet(sampleFrame(frames, 'Codec 12'));
    expect(message).toEqual({
      codec: 0x0c,
      type: 'response',
      payload: Buffer.from('010300010015d5c5', 'hex'),
      text: undefined,
    });
  });

  it('re-encodes every AVL packet byte for byte, given the widths the device used', () => {
    const widths = {
      'wiki example 1': new Map([
        [241, 4],
        [78, 8],
      ] as const),
      'wiki example 2': new Map(),
      'Codec 8 Extended': new Map([
        [0x0011, 2],
        [0x0010, 4],
        [0x000b, 8],
        [0x000e, 8],
      ] as const),
      'real coordinates': new Map([
        [200, 1],
        [29, 1],
        [252, 1],
        [24, 2],
        [25, 2],
        [86, 2],
        [241, 4],
        [16, 4],
      ] as const),
    };
    for (const [description, ioWidths] of Object.entries(widths)) {
      const bytes = sampleFrame(frames, description);
      const { codec, records } = decodeAvlPacket(bytes);
      expect(encodeAvlPacket(codec, records, { ioWidths }).toString('hex'), description).toBe(
        bytes.toString('hex'),
      );
    }
  });

  describe('as one connection (a login, then every packet)', () => {
    let stream: Buffer;
    let expected: TeltonikaFrame[];
    beforeAll(() => {
      const [login, , ...packets] = frames;
      stream = Buffer.concat([login!.bytes, ...packets.map((p) => p.bytes)]);
      expected = createFrameReader().push(stream);
    });

    it('yields the login, four AVL packets and the Codec 12 reply, in order', () => {
      expect(expected.map((f) => f.kind)).toEqual(['login', 'avl', 'avl', 'avl', 'avl', 'codec12']);
    });

    it('yields the same frames whichever byte the stream is split at', () => {
      for (let at = 0; at <= stream.length; at++) {
        const reader = createFrameReader();
        const got = [...reader.push(stream.subarray(0, at)), ...reader.push(stream.subarray(at))];
        expect(got, `split at ${at}`).toEqual(expected);
        expect(reader.bufferedBytes).toBe(0);
      }
    });

    it('yields the same frames fed one byte at a time', () => {
      const reader = createFrameReader();
      const got: TeltonikaFrame[] = [];
      for (let i = 0; i < stream.length; i++) got.push(...reader.push(stream.subarray(i, i + 1)));
      expect(got).toEqual(expected);
    });
  });
});
