// A connection's frame reader: frames come out the same however TCP splits or joins them (property), absurd
// lengths fail before anything of their size is held, garbage in any chunking fails only with a fatal
// TeltonikaError and never grows the buffer past the limit (property), and a bad CRC skips one packet only.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cut, deviceStream, mutate, mutations } from '../test/arbitraries.js';
import { sampleRecord } from '../test/sample-record.js';
import {
  createFrameReader,
  encodeAvlPacket,
  encodeCodec12Response,
  encodeLogin,
  isTeltonikaError,
  type AvlRecordInit,
  type FrameReader,
  type TeltonikaError,
  type TeltonikaFrame,
} from './index.js';

const IMEI = '356307042441013';
const RECORD: AvlRecordInit = sampleRecord({ priority: 1, eventIoId: 239, io: new Map([[239, 1]]) });
const PACKET = encodeAvlPacket(0x08, [RECORD, RECORD]);

/** The frames as `toEqual` should compare them: a rejected frame by its code. */
function comparable(frames: readonly TeltonikaFrame[]): unknown[] {
  return frames.map((f) => (f.kind === 'rejected' ? { kind: 'rejected', code: f.error.code } : f));
}

function pushThrown(reader: FrameReader, chunk: Uint8Array): TeltonikaError {
  try {
    reader.push(chunk);
  } catch (error) {
    return error as TeltonikaError;
  }
  throw new Error('expected push to throw');
}

describe('createFrameReader', () => {
  it('reads the login, then packets; several in one chunk', () => {
    const reader = createFrameReader();
    expect(reader.state).toBe('login');
    const frames = reader.push(Buffer.concat([encodeLogin(IMEI), PACKET, encodeCodec12Response('OK')]));
    expect(frames.map((f) => f.kind)).toEqual(['login', 'avl', 'codec12']);
    expect(reader).toMatchObject({ state: 'data', imei: IMEI, bufferedBytes: 0 });
    const [, avl] = frames;
    expect(avl?.kind === 'avl' && avl.packet.records).toHaveLength(2);
  });

  it('holds a partial packet until its last byte arrives', () => {
    const reader = createFrameReader({ expectLogin: false });
    expect(reader.push(PACKET.subarray(0, 5))).toEqual([]);
    expect(reader.bufferedBytes).toBe(5);
    expect(reader.push(PACKET.subarray(5, 30))).toEqual([]);
    expect(reader.bufferedBytes).toBe(PACKET.length);
    expect(reader.push(PACKET.subarray(30)).map((f) => f.kind)).toEqual(['avl']);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('does not keep the chunk: a caller may reuse its read buffer', () => {
    const reader = createFrameReader({ expectLogin: false });
    const scratch = Buffer.alloc(PACKET.length);
    PACKET.copy(scratch, 0, 0, 40);
    reader.push(scratch.subarray(0, 40));
    scratch.fill(0xee);
    PACKET.copy(scratch, 0, 40);
    const [frame] = reader.push(scratch.subarray(0, PACKET.length - 40));
    expect(frame).toMatchObject({
      kind: 'avl',
      packet: { records: [{ eventIoId: 239 }, { eventIoId: 239 }] },
    });
  });

  it('rejects a packet with a bad CRC and reads the next one', () => {
    const reader = createFrameReader();
    const corrupt = Buffer.from(PACKET);
    corrupt[30] = corrupt[30]! ^ 0xff;
    const frames = reader.push(Buffer.concat([encodeLogin(IMEI), corrupt, PACKET]));
    expect(comparable(frames).map((f) => (f as { kind: string }).kind)).toEqual(['login', 'rejected', 'avl']);
    const rejected = frames[1] as Extract<TeltonikaFrame, { kind: 'rejected' }>;
    expect(rejected.error).toMatchObject({ code: 'BAD_CRC', fatal: false });
    expect(reader.state).toBe('data');
  });

  it('rejects a length over the limit from its header alone, holding nothing of that size', () => {
    const reader = createFrameReader({ expectLogin: false, maxPacketBytes: 1024 });
    const header = Buffer.from('000000007fffffff', 'hex');
    const error = pushThrown(reader, header);
    expect(error).toMatchObject({ code: 'TOO_LARGE', fatal: true });
    expect(error.message).toBe('TOO_LARGE: data-field length 2147483647 is over the limit of 1024 bytes');
    expect(reader.state).toBe('failed');
    expect(reader.bufferedBytes).toBe(0);
  });

  it('accepts a packet of exactly the limit', () => {
    const packet = encodeCodec12Response('x'.repeat(100));
    const reader = createFrameReader({ expectLogin: false, maxPacketBytes: packet.length - 12 });
    expect(reader.push(packet).map((f) => f.kind)).toEqual(['codec12']);
    const tighter = createFrameReader({ expectLogin: false, maxPacketBytes: packet.length - 13 });
    expect(pushThrown(tighter, packet).code).toBe('TOO_LARGE');
  });

  it('fails on the first non-zero preamble byte, without waiting for a whole header', () => {
    const reader = createFrameReader({ expectLogin: false });
    expect(reader.push(Buffer.from([0, 0]))).toEqual([]);
    const error = pushThrown(reader, Buffer.from('G'));
    expect(error).toMatchObject({ code: 'BAD_PREAMBLE', fatal: true });
    expect(error.message).toContain('got 000047…');
    const http = createFrameReader({ expectLogin: false });
    expect(pushThrown(http, Buffer.from('GET / HTTP/1.1\r\n')).code).toBe('BAD_PREAMBLE');
  });

  it('fails on a data-field length too short for any codec', () => {
    const reader = createFrameReader({ expectLogin: false });
    expect(pushThrown(reader, Buffer.from('000000000000000200', 'hex')).code).toBe('BAD_LENGTH');
  });

  it('fails on a login that is not an IMEI', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from('0000', 'hex'), 'IMEI length 0'],
      [Buffer.from('0015', 'hex'), 'IMEI length 21'],
      [Buffer.from('01', 'hex'), 'IMEI length starts with 0x01'],
      [Buffer.from(IMEI), 'IMEI length 13109 is not 1..20'], // digits without their length
      [Buffer.concat([Buffer.from('0003', 'hex'), Buffer.from('12a')]), 'IMEI byte 2 is 0x61'],
    ];
    for (const [bytes, message] of cases) {
      const error = pushThrown(createFrameReader(), bytes);
      expect(error).toMatchObject({ code: 'BAD_LOGIN', fatal: true });
      expect(error.message).toContain(message);
    }
  });

  it('throws the same fatal error on every push after it', () => {
    const reader = createFrameReader({ expectLogin: false });
    const first = pushThrown(reader, Buffer.from([1]));
    expect(pushThrown(reader, PACKET)).toBe(first);
  });

  it('refuses a limit it cannot honour', () => {
    for (const maxPacketBytes of [0, 2, 1.5, 2 ** 31]) {
      expect(() => createFrameReader({ maxPacketBytes })).toThrow(/INVALID_ARGUMENT: maxPacketBytes/);
    }
  });
});

describe('createFrameReader (properties)', () => {
  it('yields the same frames however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(deviceStream, fc.array(fc.nat(), { maxLength: 30 }), (parts, cuts) => {
        const stream = Buffer.concat(parts.map((p) => p.bytes));
        const reader = createFrameReader();
        const frames = cut(stream, cuts).flatMap((chunk) => reader.push(chunk));
        expect(comparable(frames)).toEqual(parts.map((p) => p.expected));
        expect(reader.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('given garbage or mutated streams in any chunks, throws only fatal TeltonikaErrors and stays bounded', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc
        .tuple(deviceStream, mutations)
        .map(([parts, changes]) => mutate(Buffer.concat(parts.map((p) => p.bytes)), changes)),
    );
    fc.assert(
      fc.property(
        input,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom(16, 64, 300, 65_536),
        (bytes, cuts, expectLogin, maxPacketBytes) => {
          const reader = createFrameReader({ expectLogin, maxPacketBytes });
          for (const chunk of cut(bytes, cuts)) {
            let frames: TeltonikaFrame[];
            try {
              frames = reader.push(chunk);
            } catch (error) {
              if (!isTeltonikaError(error) || !error.fatal) throw error;
              expect(reader.state).toBe('failed');
              return;
            }
            for (const frame of frames) {
              if (frame.kind === 'rejected') expect(frame.error.fatal).toBe(false);
            }
            expect(reader.bufferedBytes).toBeLessThanOrEqual(maxPacketBytes + 12);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
