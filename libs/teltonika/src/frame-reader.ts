// One connection's incoming byte stream into frames: the IMEI login first, then AVL and Codec 12 packets. TCP
// splits and joins packets at any byte, so the reader keeps at most one partial frame — a header of up to 8
// bytes, then, once the header's length has been checked against the limit, one buffer of exactly the frame's
// size. A hostile length is rejected before anything of that size is allocated, and a packet trickling in byte
// by byte costs one copy per byte, never a re-concatenation of everything so far.

import { decodeAvlData, type AvlPacket } from './avl-packet.js';
import { decodeCodec12Data, type Codec12Message } from './codec12.js';
import { MAX_IMEI_LENGTH, readImei } from './login.js';
import {
  asBuffer,
  badLength,
  badPreamble,
  checkCrc,
  CODEC_12,
  CODEC_8,
  CODEC_8E,
  CRC_BYTES,
  DEFAULT_MAX_PACKET_BYTES,
  HEADER_BYTES,
  hex,
  MIN_DATA_BYTES,
  tooLarge,
} from './packet-framing.js';
import { isTeltonikaError, TeltonikaError } from './teltonika-error.js';

export type TeltonikaFrame =
  /** The device's IMEI: answer LOGIN_ACCEPT or LOGIN_REJECT. */
  | { kind: 'login'; imei: string }
  /** Records to forward, then acknowledge with `encodeAck(packet.records.length)`. */
  | { kind: 'avl'; packet: AvlPacket }
  /** A device's reply to a command (or, on a device's side of the stream, a server's command). */
  | { kind: 'codec12'; message: Codec12Message }
  /**
   * A well-framed packet that could not be used (BAD_CRC, UNKNOWN_CODEC, MALFORMED, COUNT_MISMATCH). The reader is
   * still in sync; send no ack, and the device sends the packet again.
   */
  | { kind: 'rejected'; error: TeltonikaError };

export interface FrameReaderOptions {
  /**
   * The longest data field (codec id to second record count) accepted, in bytes; default 65,536. A longer one is
   * TOO_LARGE, fatal. The reader never holds more than this plus 12 bytes of header and CRC.
   */
  maxPacketBytes?: number;
  /** Whether the stream opens with the IMEI login; default true. False reads packets only. */
  expectLogin?: boolean;
}

export type FrameReaderState =
  /** Waiting for the IMEI. */
  | 'login'
  /** Reading packets. */
  | 'data'
  /** A fatal error was thrown; every later push throws it again. Close the connection. */
  | 'failed';

export interface FrameReader {
  /**
   * Consumes the bytes of one read and returns the frames completed by them, in stream order (none when a frame
   * is still partial). Throws a fatal TeltonikaError (BAD_LOGIN, BAD_PREAMBLE, TOO_LARGE, BAD_LENGTH) when the
   * stream cannot be trusted any more; frames completed earlier in the same chunk are then not returned, which
   * loses nothing, because none of them was acknowledged and the device sends them again on its next connection.
   * The chunk is not retained: it may be reused once push returns.
   */
  push(chunk: Uint8Array): TeltonikaFrame[];
  readonly state: FrameReaderState;
  /** The IMEI from the login frame, once read. */
  readonly imei: string | undefined;
  /** Bytes held for a partial frame (allocated size). */
  readonly bufferedBytes: number;
}

const LOGIN_HEADER_BYTES = 2;

/** A reader for one connection's stream. Throws INVALID_ARGUMENT for a bad option. */
export function createFrameReader(options: FrameReaderOptions = {}): FrameReader {
  const max = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  if (!Number.isInteger(max) || max < MIN_DATA_BYTES || max > 2 ** 30) {
    throw new TeltonikaError('INVALID_ARGUMENT', `maxPacketBytes ${max} must be an integer in 3..2^30`);
  }
  return new StreamFrameReader(max, options.expectLogin ?? true);
}

class StreamFrameReader implements FrameReader {
  state: FrameReaderState;
  imei: string | undefined = undefined;
  /** A header split across reads. */
  private readonly head = Buffer.alloc(HEADER_BYTES);
  private headLength = 0;
  /** A frame whose header was checked, sized exactly, filling up. */
  private body: Buffer | undefined = undefined;
  private bodyLength = 0;
  private failure: unknown = undefined;

  constructor(
    private readonly maxPacketBytes: number,
    expectLogin: boolean,
  ) {
    this.state = expectLogin ? 'login' : 'data';
  }

  get bufferedBytes(): number {
    return this.body === undefined ? this.headLength : this.body.length;
  }

  push(input: Uint8Array): TeltonikaFrame[] {
    if (this.state === 'failed') throw this.failure;
    const frames: TeltonikaFrame[] = [];
    try {
      this.read(asBuffer(input), frames);
    } catch (error) {
      this.state = 'failed';
      this.failure = error;
      this.body = undefined;
      this.headLength = 0;
      throw error;
    }
    return frames;
  }

  private read(chunk: Buffer, frames: TeltonikaFrame[]): void {
    const end = chunk.length;
    let pos = 0;
    for (;;) {
      if (this.body !== undefined) {
        const n = Math.min(this.body.length - this.bodyLength, end - pos);
        chunk.copy(this.body, this.bodyLength, pos, pos + n);
        this.bodyLength += n;
        pos += n;
        if (this.bodyLength < this.body.length) return;
        const frame = this.body;
        this.body = undefined;
        this.bodyLength = 0;
        this.emit(frame, 0, frame.length, frames);
        continue;
      }
      if (pos >= end) return;
      const headerBytes = this.state === 'login' ? LOGIN_HEADER_BYTES : HEADER_BYTES;
      if (this.headLength === 0 && end - pos >= headerBytes) {
        // The common case: a whole header in this read, often the whole frame, decoded in place.
        const size = this.frameSize(chunk, pos);
        if (end - pos >= size) {
          this.emit(chunk, pos, pos + size, frames);
          pos += size;
          continue;
        }
        this.body = Buffer.allocUnsafe(size);
        this.bodyLength = chunk.copy(this.body, 0, pos, end);
        return;
      }
      const n = Math.min(headerBytes - this.headLength, end - pos);
      chunk.copy(this.head, this.headLength, pos, pos + n);
      this.headLength += n;
      pos += n;
      this.checkPartialHeader();
      if (this.headLength < headerBytes) return;
      const size = this.frameSize(this.head, 0);
      this.body = Buffer.allocUnsafe(size);
      this.bodyLength = this.head.copy(this.body, 0, 0, headerBytes);
      this.headLength = 0;
    }
  }

  /** The whole frame's size from its complete header; throws the fatal errors. */
  private frameSize(buf: Buffer, pos: number): number {
    if (this.state === 'login') {
      const length = buf.readUInt16BE(pos);
      if (length < 1 || length > MAX_IMEI_LENGTH) {
        throw new TeltonikaError('BAD_LOGIN', `IMEI length ${length} is not 1..${MAX_IMEI_LENGTH}`);
      }
      return LOGIN_HEADER_BYTES + length;
    }
    const preamble = buf.readUInt32BE(pos);
    if (preamble !== 0) throw badPreamble(preamble);
    const length = buf.readUInt32BE(pos + 4);
    if (length > this.maxPacketBytes) throw tooLarge(length, this.maxPacketBytes);
    if (length < MIN_DATA_BYTES) throw badLength(length);
    return HEADER_BYTES + length + CRC_BYTES;
  }

  /** Fails as soon as a partial header's bytes rule it out, rather than waiting for the rest. */
  private checkPartialHeader(): void {
    const head = this.head;
    if (this.state === 'login') {
      if (head[0] !== 0) {
        throw new TeltonikaError('BAD_LOGIN', `IMEI length starts with 0x${hex(head[0]!, 2)}, over 255`);
      }
      return;
    }
    for (let i = 0; i < Math.min(this.headLength, 4); i++) {
      if (head[i] !== 0) {
        throw new TeltonikaError(
          'BAD_PREAMBLE',
          `a packet must start with 00000000, got ${head.toString('hex', 0, i + 1).toUpperCase()}…`,
        );
      }
    }
  }

  /** Decodes the complete frame `[start, end)`; recoverable errors become 'rejected' frames. */
  private emit(buf: Buffer, start: number, end: number, frames: TeltonikaFrame[]): void {
    if (this.state === 'login') {
      this.imei = readImei(buf, start + LOGIN_HEADER_BYTES, end);
      this.state = 'data';
      frames.push({ kind: 'login', imei: this.imei });
      return;
    }
    const dataStart = start + HEADER_BYTES;
    const dataEnd = end - CRC_BYTES;
    try {
      checkCrc(buf, dataStart, dataEnd);
      const codec = buf[dataStart]!;
      if (codec === CODEC_8 || codec === CODEC_8E) {
        frames.push({ kind: 'avl', packet: decodeAvlData(buf, dataStart, dataEnd) });
      } else if (codec === CODEC_12) {
        frames.push({ kind: 'codec12', message: decodeCodec12Data(buf, dataStart, dataEnd) });
      } else {
        throw new TeltonikaError('UNKNOWN_CODEC', `codec 0x${hex(codec, 2)} is not 0x08, 0x8E or 0x0C`);
      }
    } catch (error) {
      if (!isTeltonikaError(error) || error.fatal) throw error;
      frames.push({ kind: 'rejected', error });
    }
  }
}
