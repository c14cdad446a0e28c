// The frame: every header failure has its own code, and truncation anywhere is told apart from corruption.

import { describe, expect, it } from 'vitest';
import { craftBlob, transportSnapshot, vendorSnapshot } from '../test/fixtures.js';
import {
  CODEC_VERSION,
  CodecError,
  decodeTransportSnapshot,
  decodeVendorSnapshot,
  encodeTransportSnapshot,
  encodeVendorSnapshot,
  isCodecError,
  peekHeader,
  type CodecErrorCode,
} from './index.js';

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function codeOf(run: () => unknown): CodecErrorCode | 'no error' {
  const error = thrownBy(run);
  if (error === undefined) return 'no error';
  if (isCodecError(error)) return error.code;
  throw error;
}

describe('header', () => {
  const transport = encodeTransportSnapshot(transportSnapshot(3));
  const vendor = encodeVendorSnapshot(vendorSnapshot(3));

  it('is TF, version, kind and the big-endian payload length', () => {
    expect(CODEC_VERSION).toBe(1);
    expect([...transport.subarray(0, 4)]).toEqual([0x54, 0x46, 1, 1]);
    expect(vendor[3]).toBe(2);
    const length = new DataView(transport.buffer, transport.byteOffset).getUint32(4);
    expect(length).toBe(transport.length - 8);
  });

  it('peekHeader reads version and kind from the first 8 bytes alone', () => {
    expect(peekHeader(transport)).toEqual({ version: 1, kind: 'transport' });
    expect(peekHeader(vendor.subarray(0, 8))).toEqual({ version: 1, kind: 'vendor' });
  });

  it('BAD_MAGIC for anything not starting with TF, even a single byte', () => {
    const json = new TextEncoder().encode('{"sequence":1}');
    expect(codeOf(() => decodeTransportSnapshot(json))).toBe('BAD_MAGIC');
    expect(codeOf(() => peekHeader(Uint8Array.of(0x00)))).toBe('BAD_MAGIC');
    expect(codeOf(() => decodeVendorSnapshot(craftBlob('vendor', {}, { magic: 'TG' })))).toBe('BAD_MAGIC');
  });

  it('UNSUPPORTED_VERSION names the version, before looking at the kind', () => {
    const newer = craftBlob('transport', {}, { version: 2, kindByte: 9 });
    expect(() => decodeTransportSnapshot(newer)).toThrow(/^UNSUPPORTED_VERSION: format version 2/);
    expect(codeOf(() => peekHeader(newer.subarray(0, 3)))).toBe('UNSUPPORTED_VERSION');
  });

  it('WRONG_KIND when a decoder gets the other kind (or an unknown one)', () => {
    expect(() => decodeTransportSnapshot(vendor)).toThrow(/^WRONG_KIND: expected a transport snapshot/);
    expect(codeOf(() => decodeVendorSnapshot(transport))).toBe('WRONG_KIND');
    expect(codeOf(() => decodeVendorSnapshot(craftBlob('vendor', {}, { kindByte: 7 })))).toBe('WRONG_KIND');
  });

  it('peekHeader calls an unknown kind byte MALFORMED (nobody asked for a kind)', () => {
    expect(codeOf(() => peekHeader(craftBlob('vendor', {}, { kindByte: 0 })))).toBe('MALFORMED');
  });

  it('TRUNCATED for every strict prefix, from the empty array on', () => {
    for (const blob of [transport, vendor]) {
      for (let length = 0; length < blob.length; length++) {
        const prefix = blob.slice(0, length);
        const decode = blob === transport ? decodeTransportSnapshot : decodeVendorSnapshot;
        expect(
          codeOf(() => decode(prefix)),
          `prefix of ${length} bytes`,
        ).toBe('TRUNCATED');
      }
    }
    expect(codeOf(() => peekHeader(transport.subarray(0, 7)))).toBe('TRUNCATED');
  });

  it('MALFORMED for trailing bytes after the payload', () => {
    const longer = new Uint8Array(transport.length + 1);
    longer.set(transport);
    expect(() => decodeTransportSnapshot(longer)).toThrow(/^MALFORMED: 1 trailing bytes/);
  });

  it('MALFORMED when the declared payload holds more than one MessagePack value', () => {
    // msgpackr itself refuses data left over after the first value; the codec reports it as MALFORMED.
    const payload = Uint8Array.of(0x80, 0xc0);
    const blob = Uint8Array.of(0x54, 0x46, 1, 1, 0, 0, 0, 2, ...payload);
    expect(() => decodeTransportSnapshot(blob)).toThrow(/^MALFORMED: payload is not valid MessagePack/);
  });

  it('MALFORMED for an empty payload, with msgpackr’s error kept as the cause', () => {
    const blob = Uint8Array.of(0x54, 0x46, 1, 2, 0, 0, 0, 0);
    const error = thrownBy(() => decodeVendorSnapshot(blob));
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).code).toBe('MALFORMED');
    expect((error as CodecError).cause).toBeInstanceOf(Error);
  });

  it('decodes from a view into a larger buffer, leaving the buffer untouched', () => {
    const big = new Uint8Array(transport.length + 20).fill(0xee);
    big.set(transport, 10);
    const before = big.slice();
    expect(decodeTransportSnapshot(big.subarray(10, 10 + transport.length))).toEqual(transportSnapshot(3));
    expect(big).toEqual(before);
  });
});

describe('CodecError', () => {
  it('carries its code, a message starting with it, and a name', () => {
    const cause = new Error('inner');
    const error = new CodecError('TRUNCATED', '3 bytes', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CodecError');
    expect(error.code).toBe('TRUNCATED');
    expect(error.message).toBe('TRUNCATED: 3 bytes');
    expect(error.cause).toBe(cause);
    expect(isCodecError(error)).toBe(true);
    expect(isCodecError(new Error('TRUNCATED: 3 bytes'))).toBe(false);
  });

  it('rejects a non-Uint8Array as MALFORMED rather than failing somewhere inside', () => {
    expect(codeOf(() => decodeTransportSnapshot([0x54, 0x46] as unknown as Uint8Array))).toBe('MALFORMED');
  });
});
