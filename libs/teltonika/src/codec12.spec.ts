// Codec 12: the wiki's command and reply examples decode and encode byte for byte; replies come out as text;
// anything inconsistent inside a well-framed packet is a recoverable TeltonikaError naming the field.

import { describe, expect, it } from 'vitest';
import { withCrc } from '../test/arbitraries.js';
import {
  createFrameReader,
  decodeAvlPacket,
  decodeCodec12Packet,
  encodeCodec12Command,
  encodeCodec12Response,
} from './index.js';
import { thrown } from '../test/thrown.js';

// Teltonika wiki, "Codec 12" examples.
const GETINFO_COMMAND = '000000000000000F0C010500000007676574696E666F0100004312';
const GETINFO_REPLY =
  '00000000000000900C010600000088494E493A323031392F372F323220373A3232205254433A323031392F372F323220373A3533' +
  '205253543A32204552523A312053523A302042523A302043463A302046473A3020464C3A302054553A302F302055543A3020534D' +
  '533A30204E4F4750533A303A3330204750533A31205341543A302052533A332052463A36352053463A31204D443A30010000C78F';
const GETIO_REPLY =
  '00000000000000370C01060000002F4449313A31204449323A30204449333A302041494E313A302041494E323A313639323420' +
  '444F313A3020444F323A3101000066E3';

describe('Codec 12', () => {
  it('encodes the getinfo command exactly as the wiki does', () => {
    expect(encodeCodec12Command('getinfo').toString('hex').toUpperCase()).toBe(GETINFO_COMMAND);
    expect(decodeCodec12Packet(Buffer.from(GETINFO_COMMAND, 'hex'))).toMatchObject({
      type: 'command',
      text: 'getinfo',
    });
  });

  it("parses a device's getinfo and getio replies as text", () => {
    const getinfo = decodeCodec12Packet(Buffer.from(GETINFO_REPLY, 'hex'));
    expect(getinfo.type).toBe('response');
    expect(getinfo.text).toBe(
      'INI:2019/7/22 7:22 RTC:2019/7/22 7:53 RST:2 ERR:1 SR:0 BR:0 CF:0 FG:0 FL:0 TU:0/0 UT:0 SMS:0 ' +
        'NOGPS:0:30 GPS:1 SAT:0 RS:3 RF:65 SF:1 MD:0',
    );
    const getio = decodeCodec12Packet(Buffer.from(GETIO_REPLY, 'hex'));
    expect(getio.text).toBe('DI1:1 DI2:0 DI3:0 AIN1:0 AIN2:16924 DO1:0 DO2:1');
    expect(encodeCodec12Response(getio.text!).toString('hex').toUpperCase()).toBe(GETIO_REPLY);
  });

  it('reads replies through a connection, between AVL packets', () => {
    const reader = createFrameReader({ expectLogin: false });
    const frames = reader.push(Buffer.from(GETIO_REPLY + GETINFO_REPLY, 'hex'));
    expect(frames.map((f) => (f.kind === 'codec12' ? f.message.text?.slice(0, 8) : f.kind))).toEqual([
      'DI1:1 DI',
      'INI:2019',
    ]);
  });

  it('keeps binary payloads as bytes, with no text', () => {
    const bytes = Buffer.from([0x01, 0x00, 0xff, 0x7f, 0x41]);
    expect(decodeCodec12Packet(encodeCodec12Command(bytes))).toEqual({
      codec: 0x0c,
      type: 'command',
      payload: bytes,
      text: undefined,
    });
    expect(decodeCodec12Packet(encodeCodec12Response(''))).toMatchObject({
      payload: Buffer.alloc(0),
      text: '',
    });
  });

  it('refuses non-ASCII command text rather than guess an encoding', () => {
    expect(thrown(() => encodeCodec12Command('setparam 2001:café')).code).toBe('INVALID_ARGUMENT');
  });

  it('rejects an unknown type, a size that disagrees with the length, and differing quantities', () => {
    const packet = Buffer.from(GETINFO_COMMAND, 'hex');
    const badType = Buffer.from(packet);
    badType[10] = 0x07;
    expect(thrown(() => decodeCodec12Packet(withCrc(badType)))).toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('type 0x07'),
    });
    const badSize = Buffer.from(packet);
    badSize.writeUInt32BE(6, 11);
    expect(thrown(() => decodeCodec12Packet(withCrc(badSize)))).toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('size field says 6'),
    });
    const badQuantity = Buffer.from(packet);
    badQuantity[packet.length - 5] = 2;
    expect(thrown(() => decodeCodec12Packet(withCrc(badQuantity)))).toMatchObject({
      code: 'COUNT_MISMATCH',
      fatal: false,
    });
  });

  it('is not an AVL packet, and an AVL packet is not Codec 12', () => {
    expect(thrown(() => decodeAvlPacket(Buffer.from(GETINFO_COMMAND, 'hex'))).code).toBe('UNKNOWN_CODEC');
  });
});
