// Unit tests of the wire formats: framing round trips (VarInt prefixes of every length), parsing of valid
// and invalid client messages, and the lazy per-protocol encoding of broadcasts.

import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { frameFor, webSocketFrameFor } from './encoded-message.js';
import { webSocketFrame } from './websocket-frame.js';
import {
  PING_FRAMES,
  ProtocolViolation,
  closeFrame,
  completionFrame,
  messagePackFrame,
  parseJsonMessages,
  parseMessagePackMessages,
} from './hub-protocol.js';
import { encodeInvocation, isSignalRHubError } from './index.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

function violation(parse: () => unknown): ProtocolViolation {
  try {
    parse();
  } catch (error) {
    if (error instanceof ProtocolViolation) return error;
    throw error;
  }
  throw new Error('expected a ProtocolViolation');
}

describe('MessagePack framing', () => {
  it.each([0, 100, 127, 128, 16_383, 16_384, 70_000])('round-trips a %i-character argument', (length) => {
    const text = 'x'.repeat(length);
    const frame = messagePackFrame([1, {}, null, 'update', [text]]);
    expect(parseMessagePackMessages(frame)).toEqual([
      {
        kind: 'invocation',
        streaming: false,
        target: 'update',
        args: [text],
        invocationId: undefined,
        streamCount: 0,
      },
    ]);
  });

  it('frames the ping as 02 91 06 and a close with its error and allowReconnect', () => {
    expect([...PING_FRAMES.messagepack]).toEqual([0x02, 0x91, 0x06]);
    expect(PING_FRAMES.json.toString()).toBe('{"type":6}\u001e');
    const close = closeFrame('messagepack', 'bye', true);
    expect(unpackr.unpack(close.subarray(1))).toEqual([7, 'bye', true]);
    expect(closeFrame('json', undefined, false).toString()).toBe('{"type":7,"allowReconnect":false}\u001e');
  });

  it('frames completions: error, void and result kinds', () => {
    const decode = (frame: Buffer): unknown => unpackr.unpack(frame.subarray(1));
    expect(decode(completionFrame('messagepack', '1', { error: 'no' }))).toEqual([3, {}, '1', 1, 'no']);
    expect(decode(completionFrame('messagepack', '2', { result: undefined }))).toEqual([3, {}, '2', 2]);
    expect(decode(completionFrame('messagepack', '3', { result: null }))).toEqual([3, {}, '3', 3, null]);
    expect(completionFrame('json', '4', { result: undefined }).toString()).toBe(
      '{"type":3,"invocationId":"4"}\u001e',
    );
  });

  it('encodes objects as plain maps (no msgpackr records) and undefined as JSON does: nil in arrays, left out of objects', () => {
    const args = [undefined, { a: undefined, b: [1.5, 'x', undefined], c: null }];
    const frame = messagePackFrame([1, {}, null, 't', args]);
    expect(frame.includes(0xd4)).toBe(false); // msgpackr's undefined extension
    const decoded = unpackr.unpack(frame.subarray(1)) as unknown[];
    expect(decoded).toEqual([1, {}, null, 't', [null, { b: [1.5, 'x', null], c: null }]]);
    expect(Object.keys((decoded[4] as Record<string, unknown>[])[1]!)).toEqual(['b', 'c']);
    expect((decoded[4] as unknown[])[1]).toEqual(JSON.parse(JSON.stringify(args))[1]);
  });

  it('refuses frames that are cut off, oversized prefixes and non-arrays', () => {
    expect(violation(() => parseMessagePackMessages(Buffer.from([0x05, 0x91]))).reason).toBe(
      'incomplete_message',
    );
    expect(
      violation(() => parseMessagePackMessages(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]))).reason,
    ).toBe('invalid_message');
    expect(violation(() => parseMessagePackMessages(Buffer.from([0x01, 0x06]))).reason).toBe(
      'invalid_message',
    );
    expect(violation(() => parseMessagePackMessages(Buffer.from([0x00]))).reason).toBe('invalid_message');
  });
});

describe('JSON parsing', () => {
  it('parses several messages per frame and classifies them', () => {
    const messages = parseJsonMessages(
      '{"type":1,"target":"a","arguments":[1]}\u001e{"type":6}\u001e{"type":7}\u001e' +
        '{"type":4,"invocationId":"9","target":"s","arguments":[]}\u001e{"type":5,"invocationId":"9"}\u001e' +
        '{"type":3,"invocationId":"1"}\u001e{"type":42}\u001e',
    );
    expect(messages.map((m) => m.kind)).toEqual([
      'invocation',
      'ping',
      'close',
      'invocation',
      'cancel',
      'ignored',
      'ignored',
    ]);
    expect(messages[3]).toMatchObject({ streaming: true, invocationId: '9' });
    expect(messages[5]).toEqual({ kind: 'ignored', type: 3, known: true });
    expect(messages[6]).toEqual({ kind: 'ignored', type: 42, known: false });
  });

  it.each([
    ['{"type":1,"target":"","arguments":[]}\u001e', 'invalid_message'],
    ['{"type":1,"target":"a","arguments":[],"invocationId":7}\u001e', 'invalid_message'],
    ['{"type":1,"target":"a","arguments":[],"streamIds":[1]}\u001e', 'invalid_message'],
    ['{"type":4,"target":"a","arguments":[]}\u001e', 'invalid_message'],
    ['{"type":5}\u001e', 'invalid_message'],
    ['{"type":"1"}\u001e', 'invalid_message'],
    ['null\u001e', 'invalid_message'],
    ['\u001e', 'invalid_json'],
    ['{"type":6}', 'incomplete_message'],
  ])('refuses %s', (text, reason) => {
    expect(violation(() => parseJsonMessages(text)).reason).toBe(reason);
  });

  it('keeps a __proto__ key as data', () => {
    const [message] = parseJsonMessages(
      '{"type":1,"target":"a","arguments":[{"__proto__":{"polluted":1}}]}\u001e',
    );
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect(message).toMatchObject({ kind: 'invocation' });
  });
});

describe('webSocketFrame', () => {
  // RFC 6455 §5.2: 7-bit lengths up to 125, then 126 + 16 bits, then 127 + 64 bits; never masked from a server.
  it.each([
    [0, [0x81, 0]],
    [125, [0x81, 125]],
    [126, [0x81, 126, 0, 126]],
    [65_535, [0x81, 126, 0xff, 0xff]],
    [65_536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
  ])('frames a %i-byte text payload with the shortest length encoding', (length, header) => {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'x'.repeat(length % 2); // UTF-8 bytes, not characters
    const frame = webSocketFrame(text);
    expect([...frame.subarray(0, header.length)]).toEqual(header);
    expect(frame.subarray(header.length).toString('utf8')).toBe(text);
    expect(frame.length).toBe(header.length + length);
  });

  it('frames bytes as a binary frame', () => {
    const frame = webSocketFrame(Uint8Array.of(1, 2, 3));
    expect([...frame]).toEqual([0x82, 3, 1, 2, 3]);
  });

  it('is built once per protocol and message', () => {
    const message = encodeInvocation('update', [{ id: 1 }]);
    expect(webSocketFrameFor(message, 'json')).toBe(webSocketFrameFor(message, 'json'));
    expect(webSocketFrameFor(message, 'json')!.subarray(2).toString()).toBe(message.json);
    expect(webSocketFrameFor(message, 'messagepack')!.subarray(2)).toEqual(Buffer.from(message.messagepack));
    expect(webSocketFrameFor({ json: '{}\u001e', messagepack: Uint8Array.of(0) }, 'json')).toBeUndefined();
  });
});

describe('encodeInvocation', () => {
  it('encodes each protocol once, on first use', () => {
    const message = encodeInvocation('update', [{ id: 1 }]);
    expect(message.messagepack).toBe(message.messagepack);
    expect(frameFor(message, 'json')).toBe(message.json);
    expect(message.json).toBe('{"type":1,"target":"update","arguments":[{"id":1}]}\u001e');
    expect(unpackr.unpack(message.messagepack.subarray(1))).toEqual([1, {}, null, 'update', [{ id: 1 }]]);
  });

  it('never encodes the protocol nobody asks for', () => {
    const message = encodeInvocation('big', [10n]); // a BigInt: fine in MessagePack, impossible in JSON
    expect(message.messagepack.length).toBeGreaterThan(0);
    let caught: unknown;
    try {
      void message.json;
    } catch (error) {
      caught = error;
    }
    expect(isSignalRHubError(caught) && caught.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an empty target or non-array arguments', () => {
    expect(() => encodeInvocation('', [])).toThrow(/INVALID_ARGUMENT/);
    expect(() => encodeInvocation('x', {} as unknown as unknown[])).toThrow(/INVALID_ARGUMENT/);
  });
});
