// Codec 12: GPRS commands from the server to a device (type 0x05) and the device's replies (type 0x06), one
// text per packet, in the same framing as AVL data. The gateway encodes commands; the simulator, playing a
// device, encodes replies.

import { asBuffer, checkPacket, CODEC_12, framePacket, hex } from './packet-framing.js';
import { TeltonikaError } from './teltonika-error.js';

export type Codec12Type = 'command' | 'response';

export interface Codec12Message {
  codec: typeof CODEC_12;
  type: Codec12Type;
  /** The command or reply bytes as sent (a copy). */
  payload: Buffer;
  /**
   * The payload as text when it is printable ASCII (tab, CR and LF allowed), which every text command and reply
   * is; undefined for binary payloads, which only `payload` carries.
   */
  text: string | undefined;
}

const TYPE_COMMAND = 0x05;
const TYPE_RESPONSE = 0x06;
/** Codec id, quantity, type, 4-byte size, quantity again: a data field's bytes besides the payload. */
const OVERHEAD_BYTES = 8;

/** Decodes one whole Codec 12 packet (preamble to CRC field, nothing more): checks framing and CRC first. */
export function decodeCodec12Packet(bytes: Uint8Array): Codec12Message {
  const buffer = asBuffer(bytes);
  const { dataStart, dataEnd } = checkPacket(buffer);
  return decodeCodec12Data(buffer, dataStart, dataEnd);
}

/** Decodes a data field `[start, end)` whose framing and CRC were checked. */
export function decodeCodec12Data(buf: Buffer, start: number, end: number): Codec12Message {
  const codec = buf[start]!;
  if (codec !== CODEC_12) {
    throw new TeltonikaError('UNKNOWN_CODEC', `codec 0x${hex(codec, 2)} is not Codec 12 (0x0C)`);
  }
  if (end - start < OVERHEAD_BYTES) {
    throw new TeltonikaError('MALFORMED', `a Codec 12 data field is at least 8 bytes, got ${end - start}`);
  }
  const quantity = buf[start + 1]!;
  const typeByte = buf[start + 2]!;
  if (typeByte !== TYPE_COMMAND && typeByte !== TYPE_RESPONSE) {
    throw new TeltonikaError('MALFORMED', `Codec 12 type 0x${hex(typeByte, 2)} is not 0x05 or 0x06`);
  }
  const size = buf.readUInt32BE(start + 3);
  if (size !== end - start - OVERHEAD_BYTES) {
    throw new TeltonikaError(
      'MALFORMED',
      `Codec 12 size field says ${size} bytes but the data field leaves ${end - start - OVERHEAD_BYTES}`,
    );
  }
  const quantity2 = buf[end - 1]!;
  if (quantity2 !== quantity) {
    throw new TeltonikaError('COUNT_MISMATCH', `first quantity is ${quantity}, second is ${quantity2}`);
  }
  const payload = Buffer.from(buf.subarray(start + 7, end - 1));
  return {
    codec: CODEC_12,
    type: typeByte === TYPE_COMMAND ? 'command' : 'response',
    payload,
    text: isPrintable(payload) ? payload.toString('latin1') : undefined,
  };
}

/** A Codec 12 command packet, server to device (`getinfo`, `getver`, `setdigout 1`...). */
export function encodeCodec12Command(command: string | Uint8Array): Buffer {
  return encodeCodec12(TYPE_COMMAND, command);
}

/** A Codec 12 reply packet, device to server: what the simulator answers a command with. */
export function encodeCodec12Response(reply: string | Uint8Array): Buffer {
  return encodeCodec12(TYPE_RESPONSE, reply);
}

function encodeCodec12(type: number, payload: string | Uint8Array): Buffer {
  let bytes: Uint8Array;
  if (typeof payload === 'string') {
    // eslint-disable-next-line no-control-regex
    if (/[^\x00-\x7f]/.test(payload)) {
      throw new TeltonikaError(
        'INVALID_ARGUMENT',
        'a Codec 12 text must be ASCII; pass bytes for anything else',
      );
    }
    bytes = Buffer.from(payload, 'latin1');
  } else {
    bytes = payload;
  }
  return framePacket(OVERHEAD_BYTES + bytes.length, (packet, offset) => {
    packet[offset] = CODEC_12;
    packet[offset + 1] = 1;
    packet[offset + 2] = type;
    packet.writeUInt32BE(bytes.length, offset + 3);
    packet.set(bytes, offset + 7);
    packet[offset + 7 + bytes.length] = 1;
  });
}

function isPrintable(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 || b > 0x7e) && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}
