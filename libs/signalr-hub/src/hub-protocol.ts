// The SignalR hub protocols on the wire (JSON and MessagePack, see /work/shared/notes/signalr-protocol.md):
// parsing what clients send into validated messages, and framing what the server sends. Everything a client
// sends is untrusted: every message is shape-checked here, and a violation is a ProtocolViolation naming the
// reason the hub counts it under.

import { Packr, Unpackr, type Options } from 'msgpackr';

export type HubProtocolName = 'json' | 'messagepack';

export const MessageType = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
  Ack: 8,
  Sequence: 9,
} as const;

export const RECORD_SEPARATOR = 0x1e;
const RECORD_SEPARATOR_CHAR = '\u001e';

/** Why an incoming frame or message was refused (the keys of the hub's `rejected` stats). */
export type ProtocolViolationReason =
  'invalid_json' | 'invalid_messagepack' | 'incomplete_message' | 'invalid_message';

export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
  constructor(
    readonly reason: ProtocolViolationReason,
    message: string,
  ) {
    super(message);
  }
}

/** A client message the hub acts on, after validation. */
export type IncomingMessage =
  | {
      readonly kind: 'invocation';
      /** A StreamInvocation (type 4) rather than an Invocation. */
      readonly streaming: boolean;
      readonly target: string;
      readonly args: readonly unknown[];
      /** Undefined for a fire-and-forget `send()`: no Completion is expected. */
      readonly invocationId: string | undefined;
      /** Client-to-server streams the invocation would use; not supported by this hub. */
      readonly streamCount: number;
    }
  | { readonly kind: 'ping' }
  | { readonly kind: 'close' }
  | { readonly kind: 'cancel'; readonly invocationId: string }
  /** StreamItem, Completion, Ack, Sequence (never asked for by this hub) or a type from a future protocol. */
  | { readonly kind: 'ignored'; readonly type: number; readonly known: boolean };

const PING: IncomingMessage = Object.freeze({ kind: 'ping' });
const CLOSE: IncomingMessage = Object.freeze({ kind: 'close' });

// Plain MessagePack for @msgpack/msgpack (the official client's decoder): no msgpackr records, and undefined
// as nil (msgpackr's default is an extension the client would hand over as an ExtData object). Properties
// whose value is undefined are left out, as JSON.stringify leaves them out, so clients of either protocol see
// the same objects; a vehicle has a dozen such unset fields, a fifth of its bytes.
// (`skipValues` is in msgpackr's README and code but not in its type declarations.)
const packerOptions: Options & { skipValues: readonly unknown[] } = {
  useRecords: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
};
const packr = new Packr(packerOptions);
// mapsAsObjects: maps arrive as plain objects (msgpackr renames a `__proto__` key, so no prototype pollution).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

// ---------------------------------------------------------------------------------------------- parsing

/** Parses one text frame of the JSON protocol: one or more JSON objects, each followed by 0x1E. */
export function parseJsonMessages(text: string): IncomingMessage[] {
  if (text.length === 0 || text.charCodeAt(text.length - 1) !== RECORD_SEPARATOR) {
    throw new ProtocolViolation(
      'incomplete_message',
      'a JSON message must end with the record separator 0x1E',
    );
  }
  const parts = text.split(RECORD_SEPARATOR_CHAR);
  parts.pop(); // the empty string after the last separator
  const messages: IncomingMessage[] = [];
  for (const part of parts) {
    let value: unknown;
    try {
      value = JSON.parse(part);
    } catch {
      throw new ProtocolViolation('invalid_json', 'a message is not valid JSON');
    }
    messages.push(fromJson(value));
  }
  return messages;
}

function fromJson(value: unknown): IncomingMessage {
  if (!isRecord(value)) throw invalid('a JSON message must be an object');
  const type = value['type'];
  if (!Number.isInteger(type)) throw invalid('a JSON message needs an integer "type"');
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      return invocation(
        type === MessageType.StreamInvocation,
        value['target'],
        value['arguments'],
        value['invocationId'],
        value['streamIds'],
      );
    case MessageType.CancelInvocation:
      return cancel(value['invocationId']);
    case MessageType.Ping:
      return PING;
    case MessageType.Close:
      return CLOSE;
    default:
      return ignored(type as number);
  }
}

/**
 * Parses one binary frame of the MessagePack protocol: one or more messages, each a VarInt length prefix
 * (7 bits a byte, least significant first, at most 5 bytes) and a MessagePack array.
 */
export function parseMessagePackMessages(data: Uint8Array): IncomingMessage[] {
  const messages: IncomingMessage[] = [];
  let offset = 0;
  while (offset < data.length) {
    const { size, prefixLength } = readVarInt(data, offset);
    const start = offset + prefixLength;
    const end = start + size;
    if (size === 0) throw invalid('an empty MessagePack message');
    if (end > data.length) {
      throw new ProtocolViolation(
        'incomplete_message',
        `a MessagePack message announces ${size} bytes, ${data.length - start} arrived`,
      );
    }
    let value: unknown;
    try {
      value = unpackr.unpack(data.subarray(start, end));
    } catch {
      throw new ProtocolViolation('invalid_messagepack', 'a message is not valid MessagePack');
    }
    messages.push(fromMessagePack(value));
    offset = end;
  }
  return messages;
}

function readVarInt(data: Uint8Array, offset: number): { size: number; prefixLength: number } {
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const byte = data[offset + i];
    if (byte === undefined) throw new ProtocolViolation('incomplete_message', 'a length prefix is cut off');
    if (i === 4 && byte > 0x07) throw invalid('a length prefix exceeds 2 GB');
    size += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { size, prefixLength: i + 1 };
  }
  throw invalid('a length prefix is longer than 5 bytes');
}

function fromMessagePack(value: unknown): IncomingMessage {
  if (!Array.isArray(value) || value.length === 0)
    throw invalid('a MessagePack message must be a non-empty array');
  const type: unknown = value[0];
  if (!Number.isInteger(type)) throw invalid('a MessagePack message must start with an integer type');
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      // [type, headers, invocationId | nil, target, arguments, streamIds?]
      if (value.length < 5) throw invalid('an Invocation needs at least 5 elements');
      checkHeaders(value[1]);
      return invocation(type === MessageType.StreamInvocation, value[3], value[4], value[2], value[5]);
    case MessageType.CancelInvocation:
      // [5, headers, invocationId]
      if (value.length < 3) throw invalid('a CancelInvocation needs 3 elements');
      checkHeaders(value[1]);
      return cancel(value[2]);
    case MessageType.Ping:
      return PING;
    case MessageType.Close:
      return CLOSE;
    default:
      return ignored(type as number);
  }
}

function checkHeaders(headers: unknown): void {
  if (headers !== null && headers !== undefined && !isRecord(headers)) throw invalid('headers must be a map');
}

function invocation(
  streaming: boolean,
  target: unknown,
  args: unknown,
  invocationId: unknown,
  streamIds: unknown,
): IncomingMessage {
  if (typeof target !== 'string' || target.length === 0)
    throw invalid('an Invocation needs a non-empty target');
  if (!Array.isArray(args)) throw invalid('an Invocation needs an arguments array');
  let id: string | undefined;
  if (invocationId !== undefined && invocationId !== null) {
    if (typeof invocationId !== 'string' || invocationId.length === 0) {
      throw invalid('an invocationId must be a non-empty string');
    }
    id = invocationId;
  } else if (streaming) {
    throw invalid('a StreamInvocation needs an invocationId');
  }
  let streamCount = 0;
  if (streamIds !== undefined && streamIds !== null) {
    if (!Array.isArray(streamIds) || !streamIds.every((s) => typeof s === 'string')) {
      throw invalid('streamIds must be an array of strings');
    }
    streamCount = streamIds.length;
  }
  return { kind: 'invocation', streaming, target, args, invocationId: id, streamCount };
}

function cancel(invocationId: unknown): IncomingMessage {
  if (typeof invocationId !== 'string' || invocationId.length === 0) {
    throw invalid('a CancelInvocation needs an invocationId');
  }
  return { kind: 'cancel', invocationId };
}

function ignored(type: number): IncomingMessage {
  return { kind: 'ignored', type, known: type >= MessageType.StreamItem && type <= MessageType.Sequence };
}

function invalid(message: string): ProtocolViolation {
  return new ProtocolViolation('invalid_message', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------- framing

/** A JSON message with its 0x1E terminator, as the bytes of a text frame. */
export function jsonFrame(message: object): Buffer {
  return Buffer.from(JSON.stringify(message) + RECORD_SEPARATOR_CHAR, 'utf8');
}

/** A MessagePack array with its VarInt length prefix, as the bytes of a binary frame. */
export function messagePackFrame(message: readonly unknown[]): Buffer {
  const body = packr.pack(message);
  let prefixLength = 1;
  for (let rest = body.length >>> 7; rest > 0; rest >>>= 7) prefixLength++;
  const frame = Buffer.allocUnsafe(prefixLength + body.length);
  let size = body.length;
  for (let i = 0; i < prefixLength; i++) {
    frame[i] = (size & 0x7f) | (i < prefixLength - 1 ? 0x80 : 0);
    size >>>= 7;
  }
  frame.set(body, prefixLength);
  return frame;
}

/** The handshake answer `{}` + 0x1E (sent alone: bytes after it would be parsed as messages). */
export const HANDSHAKE_OK: Buffer = jsonFrame({});

export function handshakeErrorFrame(error: string): Buffer {
  return jsonFrame({ error });
}

/** Ping, pre-framed once for every connection of each protocol. */
export const PING_FRAMES: Readonly<Record<HubProtocolName, Buffer>> = Object.freeze({
  json: jsonFrame({ type: MessageType.Ping }),
  messagepack: messagePackFrame([MessageType.Ping]),
});

export function closeFrame(
  protocol: HubProtocolName,
  error: string | undefined,
  allowReconnect: boolean,
): Buffer {
  if (protocol === 'json') {
    return jsonFrame(
      error === undefined
        ? { type: MessageType.Close, allowReconnect }
        : { type: MessageType.Close, error, allowReconnect },
    );
  }
  return messagePackFrame([MessageType.Close, error ?? null, allowReconnect]);
}

/** A Completion: `error` set → error kind; else `result` undefined → void kind; else the result. */
export function completionFrame(
  protocol: HubProtocolName,
  invocationId: string,
  outcome: { readonly error: string } | { readonly result: unknown },
): Buffer {
  if (protocol === 'json') {
    return jsonFrame(
      'error' in outcome
        ? { type: MessageType.Completion, invocationId, error: outcome.error }
        : { type: MessageType.Completion, invocationId, result: outcome.result },
    );
  }
  if ('error' in outcome)
    return messagePackFrame([MessageType.Completion, {}, invocationId, 1, outcome.error]);
  if (outcome.result === undefined) return messagePackFrame([MessageType.Completion, {}, invocationId, 2]);
  return messagePackFrame([MessageType.Completion, {}, invocationId, 3, outcome.result]);
}

/** A broadcast Invocation (no invocationId) in the JSON protocol, as text with its terminator. */
export function jsonInvocationText(target: string, args: readonly unknown[]): string {
  return JSON.stringify({ type: MessageType.Invocation, target, arguments: args }) + RECORD_SEPARATOR_CHAR;
}

/** A broadcast Invocation (no invocationId) in the MessagePack protocol, framed. */
export function messagePackInvocationFrame(target: string, args: readonly unknown[]): Buffer {
  return messagePackFrame([MessageType.Invocation, {}, null, target, args]);
}
