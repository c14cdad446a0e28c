// AVL packets: encode/decode roundtrips for any record either codec carries (properties), and each way a
// packet can be wrong reported as the TeltonikaError that names it — never a RangeError from reading past the
// end, whatever the bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avlCodec, avlRecords, mutate, mutations, withCrc } from '../test/arbitraries.js';
import { crc16Ibm, decodeAvlPacket, encodeAvlPacket, isTeltonikaError, type AvlRecordInit } from './index.js';
import { sampleRecord } from '../test/sample-record.js';
import { thrown } from '../test/thrown.js';

const RECORD: AvlRecordInit = sampleRecord({
  io: new Map([
    [239, 1],
    [66, 24_100],
  ]),
});

describe('encode/decode roundtrip (properties)', () => {
  it('gives back every record of either codec, IO values included', () => {
    fc.assert(
      fc.property(
        avlCodec.chain((codec) => fc.tuple(fc.constant(codec), avlRecords(codec))),
        ([codec, records]) => {
          expect(decodeAvlPacket(encodeAvlPacket(codec, records))).toEqual({ codec, records });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('re-encodes what it decodes to the same bytes', () => {
    fc.assert(
      fc.property(
        avlCodec.chain((codec) => fc.tuple(fc.constant(codec), avlRecords(codec))),
        ([codec, records]) => {
          const bytes = encodeAvlPacket(codec, records);
          const decoded = decodeAvlPacket(bytes);
          expect(encodeAvlPacket(decoded.codec, decoded.records).equals(bytes)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('hostile packets (properties)', () => {
  it('decodes mutated packets (CRC recomputed, so the parser sees them) or throws only a TeltonikaError', () => {
    fc.assert(
      fc.property(
        avlCodec.chain((codec) => fc.tuple(fc.constant(codec), avlRecords(codec, 3))),
        mutations,
        fc.boolean(),
        ([codec, records], changes, fixLength) => {
          const mutated = mutate(encodeAvlPacket(codec, records), changes);
          if (fixLength && mutated.length >= 12) mutated.writeUInt32BE(mutated.length - 12, 4);
          const packet = mutated.length >= 12 ? withCrc(mutated) : mutated;
          try {
            decodeAvlPacket(packet);
          } catch (error) {
            if (!isTeltonikaError(error)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('decodeAvlPacket', () => {
  const packet = encodeAvlPacket(0x08, [RECORD]);

  it('detects a CRC mismatch, naming both values', () => {
    const corrupt = Buffer.from(packet);
    corrupt[20] = corrupt[20]! ^ 0x01;
    const error = thrown(() => decodeAvlPacket(corrupt));
    expect(error).toMatchObject({ code: 'BAD_CRC', fatal: false });
    expect(error.message).toMatch(/CRC field is 0x0000[0-9A-F]{4} but the data field's CRC-16\/IBM is 0x/);
  });

  it('wants the CRC in the low 16 bits and zeros above', () => {
    const high = Buffer.from(packet);
    high[high.length - 4] = 0x01;
    expect(thrown(() => decodeAvlPacket(high)).code).toBe('BAD_CRC');
  });

  it('reports differing record counts', () => {
    const twice = encodeAvlPacket(0x08, [RECORD, RECORD]);
    twice[twice.length - 5] = 1;
    expect(thrown(() => decodeAvlPacket(withCrc(twice)))).toMatchObject({
      code: 'COUNT_MISMATCH',
      message: expect.stringContaining('first record count is 2, second is 1'),
    });
  });

  it('reports an IO total count that is not the sum of the groups', () => {
    const bad = Buffer.from(packet);
    bad[8 + 2 + 24 + 1] = 3; // Codec 8: the total count follows the event IO id
    expect(thrown(() => decodeAvlPacket(withCrc(bad)))).toMatchObject({
      code: 'COUNT_MISMATCH',
      message: 'COUNT_MISMATCH: record 0: IO total count is 3 but its groups hold 2 values',
    });
  });

  it('reports a record count promising more records than the bytes hold', () => {
    const bad = Buffer.from(packet);
    bad[9] = 2;
    bad[bad.length - 5] = 2;
    expect(thrown(() => decodeAvlPacket(withCrc(bad)))).toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('record 1: timestamp, priority and GPS element run past the end'),
    });
  });

  it('reports bytes left between the records and the second count', () => {
    const bad = Buffer.concat([packet.subarray(0, packet.length - 5), Buffer.from([0, 1, 0, 0, 0, 0])]);
    bad.writeUInt32BE(bad.length - 12, 4);
    expect(thrown(() => decodeAvlPacket(withCrc(bad)))).toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('1 bytes between the last of 1 records and the second record count'),
    });
  });

  it('reports a priority other than low, high or panic', () => {
    const bad = Buffer.from(packet);
    bad[8 + 2 + 8] = 3;
    expect(thrown(() => decodeAvlPacket(withCrc(bad))).message).toContain('priority 3 is not 0, 1 or 2');
  });

  it('reports an unknown codec', () => {
    const bad = Buffer.from(packet);
    bad[8] = 0x10;
    expect(thrown(() => decodeAvlPacket(withCrc(bad)))).toMatchObject({
      code: 'UNKNOWN_CODEC',
      message: expect.stringContaining('codec 0x10'),
    });
  });

  it('wants exactly one whole packet', () => {
    expect(thrown(() => decodeAvlPacket(packet.subarray(0, 10))).code).toBe('MALFORMED');
    expect(thrown(() => decodeAvlPacket(Buffer.concat([packet, Buffer.alloc(1)]))).code).toBe('MALFORMED');
    const preamble = Buffer.from(packet);
    preamble[0] = 1;
    expect(thrown(() => decodeAvlPacket(preamble)).code).toBe('BAD_PREAMBLE');
  });

  it('flags positions that are not a fix, and still decodes the record', () => {
    const noFix = { ...RECORD, satellites: 0 };
    const nullIsland = { ...RECORD, latitude: 0, longitude: 0 };
    const offTheMap = { ...RECORD, latitude: 95 };
    const decoded = decodeAvlPacket(encodeAvlPacket(0x08, [RECORD, noFix, nullIsland, offTheMap]));
    expect(decoded.records.map((r) => r.gpsValid)).toEqual([true, false, false, false]);
    expect(decoded.records[1]!.io.get(66)).toBe(24_100);
  });

  it('keeps 8-byte values as numbers up to 2^53 - 1 and as bigints above', () => {
    const io = new Map<number, number | bigint>([
      [1, Number.MAX_SAFE_INTEGER],
      [2, 2n ** 53n],
      [3, 2n ** 64n - 1n],
    ]);
    const [record] = decodeAvlPacket(encodeAvlPacket(0x08, [{ ...RECORD, io }])).records;
    expect(record!.io).toEqual(io);
  });

  it('carries variable-length values in Codec 8 Extended only', () => {
    const io = new Map([[200, Buffer.from('89370012345678901234', 'ascii')]]);
    const [record] = decodeAvlPacket(encodeAvlPacket(0x8e, [{ ...RECORD, io }])).records;
    expect(record!.io).toEqual(io);
    expect(thrown(() => encodeAvlPacket(0x08, [{ ...RECORD, io }]))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('only Codec 8 Extended'),
    });
  });
});

describe('encodeAvlPacket', () => {
  it('writes a CRC-16/IBM the decoder accepts, in the low half of the CRC field', () => {
    const packet = encodeAvlPacket(0x8e, [RECORD]);
    expect(packet.readUInt32BE(packet.length - 4)).toBe(crc16Ibm(packet, 8, packet.length - 4));
    expect(packet.readUInt32BE(4)).toBe(packet.length - 12);
  });

  it('encodes an empty packet', () => {
    expect(decodeAvlPacket(encodeAvlPacket(0x08, []))).toEqual({ codec: 0x08, records: [] });
  });

  it('names the record and field that does not fit', () => {
    const cases: [AvlRecordInit, string][] = [
      [{ ...RECORD, latitude: 215 }, 'record 0: latitude × 10^7'],
      [{ ...RECORD, altitude: 40_000 }, 'record 0: altitude is 40000'],
      [{ ...RECORD, speed: 12.5 }, 'record 0: speed is 12.5'],
      [{ ...RECORD, io: new Map([[300, 1]]) }, 'record 0: IO id is 300'],
      [{ ...RECORD, io: new Map([[1, -1]]) }, 'record 0: IO 1 value is -1'],
    ];
    for (const [record, message] of cases) {
      expect(thrown(() => encodeAvlPacket(0x08, [record]))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining(message),
      });
    }
    expect(thrown(() => encodeAvlPacket(0x08, Array(256).fill(RECORD))).message).toContain('at most 255');
  });

  it('honours a declared IO width, and refuses a value too wide for it', () => {
    const ioWidths = new Map([[239, 8] as const]);
    const packet = encodeAvlPacket(0x08, [RECORD], { ioWidths });
    expect(packet.length).toBe(encodeAvlPacket(0x08, [RECORD]).length + 7);
    expect(decodeAvlPacket(packet).records[0]!.io).toEqual(RECORD.io);
    const narrow = new Map([[66, 1] as const]);
    expect(thrown(() => encodeAvlPacket(0x08, [RECORD], { ioWidths: narrow })).message).toContain(
      'IO 66 value is 24100',
    );
  });
});
