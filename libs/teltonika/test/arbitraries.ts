// fast-check generators shared by the property tests: AVL records either codec can carry, whole packets, and
// streams of frames as a device would send them, with the frames a reader should get out of them.

import fc from 'fast-check';
import {
  CODEC_8,
  CODEC_8E,
  crc16Ibm,
  encodeAvlPacket,
  encodeCodec12Response,
  encodeLogin,
  type AvlCodec,
  type AvlRecord,
  type IoValue,
} from '../src/index.js';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

/** Values in the form the decoder gives them back: a bigint only above 2^53 - 1. */
function ioValue(codec: AvlCodec): fc.Arbitrary<IoValue> {
  const fixed: fc.Arbitrary<IoValue>[] = [
    fc.integer({ min: 0, max: 0xff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.maxSafeNat(),
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
  ];
  if (codec === CODEC_8) return fc.oneof(...fixed);
  return fc.oneof(
    ...fixed,
    fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  );
}

/** The decoder's notion of a fix, written out independently. */
export function expectedGpsValid(r: Pick<AvlRecord, 'satellites' | 'latitude' | 'longitude'>): boolean {
  return (
    r.satellites > 0 &&
    !(r.latitude === 0 && r.longitude === 0) &&
    Math.abs(r.latitude) <= 90 &&
    Math.abs(r.longitude) <= 180
  );
}

export function avlRecord(codec: AvlCodec): fc.Arbitrary<AvlRecord> {
  const id = fc.integer({ min: 0, max: codec === CODEC_8 ? 0xff : 0xffff });
  return fc
    .record({
      timestamp: fc.oneof(
        fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.maxSafeNat(),
      ),
      priority: fc.constantFrom(0 as const, 1 as const, 2 as const),
      longitude: int32.map((n) => n / 1e7),
      latitude: int32.map((n) => n / 1e7),
      altitude: fc.integer({ min: -32768, max: 32767 }),
      angle: fc.integer({ min: 0, max: 0xffff }),
      satellites: fc.integer({ min: 0, max: 0xff }),
      speed: fc.integer({ min: 0, max: 0xffff }),
      eventIoId: id,
      io: fc
        .uniqueArray(fc.tuple(id, ioValue(codec)), { selector: ([k]) => k, maxLength: 10 })
        .map((entries) => new Map(entries)),
    })
    .map((r) => ({ ...r, gpsValid: expectedGpsValid(r) }));
}

export const avlCodec = fc.constantFrom<AvlCodec>(CODEC_8, CODEC_8E);

export function avlRecords(codec: AvlCodec, maxLength = 4): fc.Arbitrary<AvlRecord[]> {
  return fc.array(avlRecord(codec), { maxLength });
}

/** A frame's bytes and what a reader should make of it, in a form `toEqual` compares. */
export interface StreamPart {
  bytes: Buffer;
  expected: unknown;
}

const avlPart: fc.Arbitrary<StreamPart> = avlCodec.chain((codec) =>
  avlRecords(codec, 3).map((records) => ({
    bytes: encodeAvlPacket(codec, records),
    expected: { kind: 'avl', packet: { codec, records } },
  })),
);

const codec12Part: fc.Arbitrary<StreamPart> = fc
  .string({ unit: fc.constantFrom(...'abcXYZ019 :/,.=\r\n'), maxLength: 60 })
  .map((text) => ({
    bytes: encodeCodec12Response(text),
    expected: {
      kind: 'codec12',
      message: { codec: 0x0c, type: 'response', payload: Buffer.from(text, 'latin1'), text },
    },
  }));

/** A packet whose CRC field is wrong: the reader rejects it and stays in sync. */
const badCrcPart: fc.Arbitrary<StreamPart> = fc
  .tuple(avlPart, fc.integer({ min: 1, max: 0xffff }))
  .map(([part, delta]) => {
    const bytes = Buffer.from(part.bytes);
    const crcAt = bytes.length - 2;
    bytes.writeUInt16BE((bytes.readUInt16BE(crcAt) + delta) & 0xffff, crcAt);
    return { bytes, expected: { kind: 'rejected', code: 'BAD_CRC' } };
  });

/** A device's stream: its login, then packets. */
export const deviceStream: fc.Arbitrary<StreamPart[]> = fc
  .tuple(
    fc.stringMatching(/^[0-9]{15}$/),
    fc.array(fc.oneof({ arbitrary: avlPart, weight: 4 }, codec12Part, badCrcPart), { maxLength: 6 }),
  )
  .map(([imei, packets]) => [{ bytes: encodeLogin(imei), expected: { kind: 'login', imei } }, ...packets]);

/** Cuts `bytes` at the given positions (any order, duplicates and out-of-range ones allowed). */
export function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const at = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

/** Recomputes a packet's CRC field after its data field was changed on purpose. */
export function withCrc(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  const dataEnd = copy.length - 4;
  copy.writeUInt32BE(crc16Ibm(copy, 8, dataEnd), dataEnd);
  return copy;
}

export type Mutation = { at: number; op: 'set' | 'insert' | 'delete'; byte: number };

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 4 },
);

export function mutate(bytes: Buffer, changes: readonly Mutation[]): Buffer {
  const out = [...bytes];
  for (const { at, op, byte } of changes) {
    const i = at % (out.length + 1);
    if (op === 'insert') out.splice(i, 0, byte);
    else if (i < out.length) {
      if (op === 'set') out[i] = byte;
      else out.splice(i, 1);
    }
  }
  return Buffer.from(out);
}
